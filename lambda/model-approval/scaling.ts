/**
 * Autoscaling around an instance-type change: SageMaker rejects an UpdateEndpoint that changes the instance type of a
 * variant with a registered scalable target, so the handler saves the target and its policies, deregisters it, lets
 * the update run, and registers the same target and policies again once the endpoint is InService.
 *
 * The update outlives the handler (a blue/green rollout bakes for many minutes), so what to restore travels as an
 * EventBridge event (`cdk-mlops.model-approval` / `Endpoint Scaling Suspended`) routed to the handler's own queue:
 * SQS delivers it again every retry interval while the endpoint is busy, and after the last delivery the event,
 * holding every saved value, lands in the dead-letter queue whose alarm notifies the operators.
 *
 * Deregistration deletes the target's policies, and a policy put again gets a new ARN. Target tracking policies
 * recreate their own alarms; a step scaling policy's alarm (an asynchronous endpoint's scale-from-zero alarm) is the
 * stack's and would keep the deleted ARN, so the handler points it at the live policy (`SCALING_ALARMS`).
 */
import {
  ApplicationAutoScalingClient, DeregisterScalableTargetCommand, DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand, RegisterScalableTargetCommand, type ScalingPolicy,
} from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  SAGEMAKER_NAMESPACE as NAMESPACE, SCALING_ALARMS_ENV, SCALING_EVENT_SOURCE, SCALING_SUSPENDED, type ScalingAlarm, VARIANT_DIMENSION as DIMENSION, variantResourceId,
} from './scaling-event';

export { SCALING_EVENT_SOURCE, SCALING_SUSPENDED, type ScalingAlarm, variantResourceId } from './scaling-event';

export const autoscaling = new ApplicationAutoScalingClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const eventBridge = new EventBridgeClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const cloudWatch = new CloudWatchClient({ maxAttempts: 6, retryMode: 'adaptive' });

/** The alarms running step scaling policies of the endpoint, from the handler's environment (none when unset). */
export function scalingAlarmsFromEnv(): ScalingAlarm[] {
  const raw = process.env[SCALING_ALARMS_ENV];
  return raw ? (JSON.parse(raw) as ScalingAlarm[]) : [];
}


/** A deregistered target as it was: enough to register it and its policies again. */
export interface SavedTarget {
  VariantName: string;
  ResourceId: string;
  MinCapacity: number;
  MaxCapacity: number;
  SuspendedState?: Record<string, boolean>;
  Policies: Pick<ScalingPolicy, 'PolicyName' | 'PolicyType' | 'TargetTrackingScalingPolicyConfiguration' | 'StepScalingPolicyConfiguration'>[];
}

/** The detail of a `Endpoint Scaling Suspended` event. */
export interface ScalingSuspended {
  EndpointName: string;
  /** The config the endpoint ran when the targets were deregistered. */
  FromEndpointConfigName: string;
  /** The config the update rolls out. */
  EndpointConfigName: string;
  Targets: SavedTarget[];
}

/** Variants whose instance type the new config changes: `{ name: [deployed, new] }` for the given variant names. */
export function changedInstanceTypes(
  deployed: { VariantName?: string; InstanceType?: string }[] | undefined,
  wanted: { VariantName?: string; InstanceType?: string }[],
  among: string[],
): string[] {
  const current = new Map((deployed ?? []).map((v) => [v.VariantName, v.InstanceType]));
  return wanted
    .filter((v) => v.VariantName && among.includes(v.VariantName) && current.get(v.VariantName) && v.InstanceType && current.get(v.VariantName) !== v.InstanceType)
    .map((v) => v.VariantName!);
}

/** Reads the registered targets of these variants and their policies, then deregisters them. Variants without a target are skipped. */
export async function suspendScaling(endpointName: string, variants: string[]): Promise<SavedTarget[]> {
  const ids = variants.map((v) => variantResourceId(endpointName, v));
  if (ids.length === 0) return [];
  const found = await autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: NAMESPACE, ResourceIds: ids, ScalableDimension: DIMENSION }));
  const saved: SavedTarget[] = [];
  for (const t of found.ScalableTargets ?? []) {
    if (!t.ResourceId || t.MinCapacity === undefined || t.MaxCapacity === undefined) continue;
    const policies = await describePolicies(t.ResourceId);
    saved.push({
      VariantName: t.ResourceId.split('/').pop()!,
      ResourceId: t.ResourceId,
      MinCapacity: t.MinCapacity,
      MaxCapacity: t.MaxCapacity,
      SuspendedState: t.SuspendedState as Record<string, boolean> | undefined,
      // Target tracking alarms belong to the policy (Application Auto Scaling recreates them); the rest is configuration.
      Policies: policies.map((p) => ({
        PolicyName: p.PolicyName,
        PolicyType: p.PolicyType,
        TargetTrackingScalingPolicyConfiguration: p.TargetTrackingScalingPolicyConfiguration,
        StepScalingPolicyConfiguration: p.StepScalingPolicyConfiguration,
      })),
    });
  }
  // Saved first, then deregistered.
  const done: SavedTarget[] = [];
  try {
    for (const t of saved) {
      await autoscaling.send(new DeregisterScalableTargetCommand({ ServiceNamespace: NAMESPACE, ResourceId: t.ResourceId, ScalableDimension: DIMENSION }));
      done.push(t);
    }
  } catch (e) {
    await restoreScaling(done); // all or nothing: the update does not start with half the fleet unscaled
    throw e;
  }
  return saved;
}

/**
 * Registers the saved targets again with the same capacity range and puts their policies back. A target registered
 * already (a stack deploy that changed its capacity registered it meanwhile, or an earlier delivery restored it) keeps
 * its capacity: CloudFormation's `AWS::ApplicationAutoScaling::ScalableTarget` is newer than what was saved. Only its
 * missing policies are put back (deregistration deleted them; CloudFormation re-puts only policies it changes).
 * Then each of `alarms` on a restored variant is pointed at its policy's live ARN (also on a repeated delivery, so an
 * alarm left stale by an earlier failure is fixed).
 */
export async function restoreScaling(saved: SavedTarget[], alarms: ScalingAlarm[] = scalingAlarmsFromEnv()): Promise<{ restored: string[]; alreadyRegistered: string[] }> {
  const restored: string[] = [];
  const alreadyRegistered: string[] = [];
  if (saved.length === 0) return { restored, alreadyRegistered };
  const found = await autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: NAMESPACE, ResourceIds: saved.map((t) => t.ResourceId), ScalableDimension: DIMENSION }));
  const registered = new Set((found.ScalableTargets ?? []).map((t) => t.ResourceId));
  for (const t of saved) {
    // Live policy ARNs by name: what is registered already, then what is put back.
    const live = new Map<string | undefined, string | undefined>();
    if (registered.has(t.ResourceId)) {
      alreadyRegistered.push(t.VariantName);
      for (const p of await describePolicies(t.ResourceId)) live.set(p.PolicyName, p.PolicyARN);
    } else {
      await autoscaling.send(new RegisterScalableTargetCommand({
        ServiceNamespace: NAMESPACE, ResourceId: t.ResourceId, ScalableDimension: DIMENSION,
        MinCapacity: t.MinCapacity, MaxCapacity: t.MaxCapacity, SuspendedState: t.SuspendedState,
      }));
      restored.push(t.VariantName);
    }
    for (const p of t.Policies.filter((x) => !live.has(x.PolicyName))) {
      const put = await autoscaling.send(new PutScalingPolicyCommand({ ServiceNamespace: NAMESPACE, ResourceId: t.ResourceId, ScalableDimension: DIMENSION, ...p } as never));
      live.set(p.PolicyName, put.PolicyARN);
    }
    for (const a of alarms.filter((x) => x.VariantName === t.VariantName)) {
      const arn = live.get(a.PolicyName);
      if (arn) await pointAlarmAt(a.AlarmName, t.ResourceId, a.PolicyName, arn);
    }
  }
  return { restored, alreadyRegistered };
}

/** Whether `action` is the ARN of step scaling policy `policyName` of `resourceId` (any generation of it). */
const isPolicyOf = (action: string, resourceId: string, policyName: string): boolean =>
  /^arn:aws[a-z-]*:autoscaling:[^:]*:\d{12}:scalingPolicy:/.test(action) && action.endsWith(`:resource/${NAMESPACE}/${resourceId}:policyName/${policyName}`);

/**
 * Points alarm `alarmName` at `policyArn`: its actions naming any ARN of that policy now name this one (the alarm action
 * is added when none did). PutMetricAlarm replaces the whole alarm, so every other property is written back as read.
 */
export async function pointAlarmAt(alarmName: string, resourceId: string, policyName: string, policyArn: string): Promise<boolean> {
  const found = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: [alarmName], AlarmTypes: ['MetricAlarm'] }));
  const alarm = found.MetricAlarms?.find((a) => a.AlarmName === alarmName);
  if (!alarm) throw new Error(`Scaling alarm ${alarmName} of ${resourceId} not found: it cannot run policy ${policyName} (${policyArn})`);
  const repoint = (actions: string[] | undefined) => actions?.map((x) => (isPolicyOf(x, resourceId, policyName) ? policyArn : x));
  const alarmActions = repoint(alarm.AlarmActions) ?? [];
  if (!alarmActions.includes(policyArn)) alarmActions.push(policyArn);
  const next = { ...alarm, AlarmActions: [...new Set(alarmActions)], OKActions: repoint(alarm.OKActions), InsufficientDataActions: repoint(alarm.InsufficientDataActions) };
  const same = (a?: string[], b?: string[]) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
  if (same(alarm.AlarmActions, next.AlarmActions) && same(alarm.OKActions, next.OKActions) && same(alarm.InsufficientDataActions, next.InsufficientDataActions)) return false;
  await cloudWatch.send(new PutMetricAlarmCommand(alarmDefinition(next)));
  return true;
}

/** The PutMetricAlarm request that writes `alarm` (as DescribeAlarms returns it) back unchanged. */
function alarmDefinition(alarm: MetricAlarm) {
  return {
    AlarmName: alarm.AlarmName!,
    AlarmDescription: alarm.AlarmDescription,
    ActionsEnabled: alarm.ActionsEnabled,
    OKActions: alarm.OKActions,
    AlarmActions: alarm.AlarmActions,
    InsufficientDataActions: alarm.InsufficientDataActions,
    MetricName: alarm.MetricName,
    Namespace: alarm.Namespace,
    Statistic: alarm.Statistic,
    ExtendedStatistic: alarm.ExtendedStatistic,
    Dimensions: alarm.Dimensions,
    Period: alarm.Period,
    Unit: alarm.Unit,
    EvaluationPeriods: alarm.EvaluationPeriods!,
    DatapointsToAlarm: alarm.DatapointsToAlarm,
    Threshold: alarm.Threshold,
    ComparisonOperator: alarm.ComparisonOperator!,
    TreatMissingData: alarm.TreatMissingData,
    EvaluateLowSampleCountPercentile: alarm.EvaluateLowSampleCountPercentile,
    Metrics: alarm.Metrics,
    ThresholdMetricId: alarm.ThresholdMetricId,
  };
}

async function describePolicies(resourceId: string): Promise<ScalingPolicy[]> {
  const policies: ScalingPolicy[] = [];
  let next: string | undefined;
  do {
    const page = await autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: NAMESPACE, ResourceId: resourceId, ScalableDimension: DIMENSION, NextToken: next }));
    policies.push(...(page.ScalingPolicies ?? []));
    next = page.NextToken;
  } while (next);
  return policies;
}

/** Records what to restore as an event on the default bus; the approval rule's sibling routes it to the handler's queue. */
export async function recordSuspended(detail: ScalingSuspended): Promise<void> {
  const out = await eventBridge.send(new PutEventsCommand({
    Entries: [{ Source: SCALING_EVENT_SOURCE, DetailType: SCALING_SUSPENDED, Detail: JSON.stringify(detail), Resources: [] }],
  }));
  if ((out.FailedEntryCount ?? 0) > 0) {
    const e = out.Entries?.find((x) => x.ErrorCode);
    throw new Error(`Could not record the suspended scaling of ${detail.EndpointName}: ${e?.ErrorCode} ${e?.ErrorMessage}`);
  }
}
