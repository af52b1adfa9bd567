/**
 * Autoscaling around an instance-type change: SageMaker rejects an UpdateEndpoint that changes the instance type of a
 * variant with a registered scalable target, so the handler saves the target and its policies, deregisters it, lets
 * the update run, and registers the same target and policies again once the endpoint is InService.
 *
 * The update outlives the handler (a blue/green rollout bakes for many minutes), so what to restore travels as an
 * EventBridge event (`cdk-mlops.model-approval` / `Endpoint Scaling Suspended`) routed to the handler's own queue:
 * SQS delivers it again every retry interval while the endpoint is busy, and after the last delivery the event,
 * holding every saved value, lands in the dead-letter queue whose alarm notifies the operators.
 */
import {
  ApplicationAutoScalingClient, DeregisterScalableTargetCommand, DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand, RegisterScalableTargetCommand, type ScalingPolicy,
} from '@aws-sdk/client-application-auto-scaling';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SAGEMAKER_NAMESPACE as NAMESPACE, SCALING_EVENT_SOURCE, SCALING_SUSPENDED, VARIANT_DIMENSION as DIMENSION, variantResourceId } from './scaling-event';

export { SCALING_EVENT_SOURCE, SCALING_SUSPENDED, variantResourceId } from './scaling-event';

export const autoscaling = new ApplicationAutoScalingClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const eventBridge = new EventBridgeClient({ maxAttempts: 6, retryMode: 'adaptive' });


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
 */
export async function restoreScaling(saved: SavedTarget[]): Promise<{ restored: string[]; alreadyRegistered: string[] }> {
  const restored: string[] = [];
  const alreadyRegistered: string[] = [];
  if (saved.length === 0) return { restored, alreadyRegistered };
  const found = await autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: NAMESPACE, ResourceIds: saved.map((t) => t.ResourceId), ScalableDimension: DIMENSION }));
  const registered = new Set((found.ScalableTargets ?? []).map((t) => t.ResourceId));
  for (const t of saved) {
    let existing = new Set<string | undefined>();
    if (registered.has(t.ResourceId)) {
      alreadyRegistered.push(t.VariantName);
      existing = new Set((await describePolicies(t.ResourceId)).map((p) => p.PolicyName));
    } else {
      await autoscaling.send(new RegisterScalableTargetCommand({
        ServiceNamespace: NAMESPACE, ResourceId: t.ResourceId, ScalableDimension: DIMENSION,
        MinCapacity: t.MinCapacity, MaxCapacity: t.MaxCapacity, SuspendedState: t.SuspendedState,
      }));
      restored.push(t.VariantName);
    }
    for (const p of t.Policies.filter((x) => !existing.has(x.PolicyName))) {
      await autoscaling.send(new PutScalingPolicyCommand({ ServiceNamespace: NAMESPACE, ResourceId: t.ResourceId, ScalableDimension: DIMENSION, ...p } as never));
    }
  }
  return { restored, alreadyRegistered };
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
