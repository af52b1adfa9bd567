import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import {
  type CustomMetricGroup, type CustomThreshold, DefaultDashboardFactory, MonitoringFacade, noopAction,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { acknowledgeCheck } from '../core/nag';
import { PropsValidator } from '../core/validation';

/** What the dashboard needs of a SageMaker endpoint (`SageMakerEndpoint` has it). */
export interface IMonitoredEndpoint {
  readonly endpointName: string;
  /**
   * How the endpoint runs. Async endpoints publish no `Invocations` metrics, so they are watched through their
   * async metrics (`InvocationsProcessed`, `InvocationFailures`, `ApproximateBacklogSize`, `HasBacklogWithoutCapacity`).
   * @default 'real-time'
   */
  readonly mode?: 'real-time' | 'serverless' | 'async';
  /** Production variants; async per-variant metrics are summed over them. @default ['AllTraffic'] */
  readonly variantNames?: string[];
  metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Model latency in microseconds. */
  metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metric5xx(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metric4xx(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** What the dashboard needs of a GPU instance (`GpuInstance` has it). */
export interface IMonitoredGpuInstance {
  readonly instanceId: string;
  metricGpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricGpuMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** The EventBridge rules counting one pipeline's executions by state (their `MatchedEvents` metric). */
export interface PipelineExecutionRules {
  readonly started: events.Rule;
  readonly succeeded: events.Rule;
  readonly failed: events.Rule;
}

/** A model delivery pipeline and how it is started automatically. */
export interface MonitoredPipeline {
  readonly pipeline: codepipeline.IPipeline;
  /** Short name for construct ids and alarm names (letters and digits). @default - the pipeline construct's id */
  readonly name?: string;
  /** EventBridge Scheduler group of the scheduled retraining, shown as schedule invocations. @default - no schedule */
  readonly scheduleGroupName?: string;
  /** Rules that start the pipeline automatically (e.g. on drift), shown as their matched events. @default - none */
  readonly triggerRules?: events.IRule[];
  /**
   * Send each failed execution to the alarm topic (one message per execution). Turn it off when the pipeline
   * notifies its own failures (`ModelDeliveryPipeline` does, per failed stage), so an incident notifies once.
   * @default true
   */
  readonly notifyOnFailure?: boolean;
}

/** An EKS cluster running Ray. */
export interface MonitoredEksCluster {
  readonly clusterName: string;
  /** Namespace of the Ray pods. @default 'ray' */
  readonly rayNamespace?: string;
}

/** Serving alarm thresholds; each alarm fires after `datapointsToAlarm` of `evaluationPeriods` bad periods. */
export interface ServingAlarmThresholds {
  /** @default Duration.minutes(5) */
  readonly period?: Duration;
  /** @default 3 */
  readonly evaluationPeriods?: number;
  /** @default 3 */
  readonly datapointsToAlarm?: number;
  /** p90 SageMaker model latency above this. @default Duration.seconds(1) */
  readonly sagemakerLatencyP90?: Duration;
  /** Share of SageMaker invocations answered with 5xx above this (percent). @default 1 */
  readonly sagemaker5xxPercent?: number;
  /** p90 Lambda inference duration above this. @default Duration.seconds(2) */
  readonly lambdaDurationP90?: Duration;
  /** Share of Lambda invocations that error above this (percent). @default 1 */
  readonly lambdaErrorPercent?: number;
  /** Throttled Lambda invocations per period at or above this. @default 1 */
  readonly lambdaThrottles?: number;
}

export interface PlatformMonitoringProps {
  /**
   * Dashboard name, also the prefix of every alarm name: `<dashboardName>-<kind>-<name>-<what>`, e.g.
   * `acme-ml-dev-endpoint-churn-latency-p90` for endpoint `acme-ml-dev-churn` (the prefix is not repeated).
   */
  readonly dashboardName: string;
  /** Topic every alarm (and each failed pipeline execution) notifies, e.g. the `AlertsTopic`'s topic. */
  readonly alarmTopic: sns.ITopic;
  /** @default - none */
  readonly sagemakerEndpoints?: IMonitoredEndpoint[];
  /** Lambda inference functions. @default - none */
  readonly inferenceFunctions?: lambda.IFunction[];
  /** @default - none */
  readonly pipelines?: MonitoredPipeline[];
  /** @default - none */
  readonly gpuInstances?: IMonitoredGpuInstance[];
  /**
   * EKS clusters whose node and pod counts are shown (Container Insights metrics: they appear once the
   * `amazon-cloudwatch-observability` add-on or the CloudWatch agent runs in the cluster).
   * @default - none
   */
  readonly eksClusters?: MonitoredEksCluster[];
  /** @default - the defaults of {@link ServingAlarmThresholds} */
  readonly thresholds?: ServingAlarmThresholds;
}

/**
 * The platform's CloudWatch dashboard and alarms, built with cdk-monitoring-constructs: SageMaker endpoints
 * (invocations, p50/p90 latency, 4xx/5xx; async endpoints: processed, failures, backlog), Lambda inference (duration,
 * errors, throttles, concurrency), model pipelines (executions started/succeeded/failed, scheduled and drift-triggered
 * starts), GPU instances (GPU and GPU memory utilization) and EKS nodes/pods.
 *
 * One notification per incident: the serving alarms (per endpoint p90 latency and 5xx rate, or failure rate and
 * backlog without capacity when async; per function p90 duration, error rate and throttles) have no actions of their
 * own and feed the composite "serving degraded" alarm, which alone notifies the alarm topic. A failed pipeline
 * execution is sent to the topic by its EventBridge rule (unless the pipeline notifies itself); the failed-executions
 * alarm only shows state on the dashboard.
 */
export class PlatformMonitoring extends Construct {
  public readonly facade: MonitoringFacade;
  public readonly dashboard: cloudwatch.Dashboard;
  /** Alarms on endpoints and inference functions: the composite's children, without actions of their own. */
  public readonly servingAlarms: cloudwatch.IAlarm[];
  /** Composite alarm: any serving alarm is in ALARM. Undefined when nothing is served. */
  public readonly servingDegradedAlarm?: cloudwatch.CompositeAlarm;
  /** One per pipeline: failed executions in a period (dashboard state; the failure rule notifies). */
  public readonly pipelineFailureAlarms: cloudwatch.Alarm[] = [];
  /** EventBridge rules counting pipeline executions by state, per pipeline. */
  public readonly pipelineExecutionRules: Record<string, PipelineExecutionRules> = {};
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: PlatformMonitoringProps) {
    super(scope, id);
    const t = props.thresholds ?? {};
    const period = t.period ?? Duration.minutes(5);
    const evaluationPeriods = t.evaluationPeriods ?? 3;
    const datapointsToAlarm = t.datapointsToAlarm ?? 3;
    const sm5xx = t.sagemaker5xxPercent ?? 1;
    const lambdaErrors = t.lambdaErrorPercent ?? 1;

    const v = new PropsValidator(this, 'PlatformMonitoring');
    (props.pipelines ?? []).forEach((p, i) => v.check(p.name === undefined || /^[A-Za-z0-9]{1,64}$/.test(p.name), `pipelines[${i}].name`, p.name,
      'must be 1-64 letters and digits'));
    v.check(/^[A-Za-z0-9_-]{1,255}$/.test(props.dashboardName), 'dashboardName', props.dashboardName,
        'must be 1-255 letters, digits, "-" and "_" (CloudWatch dashboard names)')
      .check([1, 5, 15, 60].includes(period.toMinutes({ integral: false })), 'thresholds.period', period.toHumanString(), 'must be 1, 5, 15 or 60 minutes')
      .intRange('thresholds.evaluationPeriods', evaluationPeriods, 1, 24)
      .intRange('thresholds.datapointsToAlarm', datapointsToAlarm, 1, 24)
      .check(datapointsToAlarm <= evaluationPeriods, 'thresholds.datapointsToAlarm', datapointsToAlarm, `must not exceed evaluationPeriods (${evaluationPeriods})`)
      .check(sm5xx > 0 && sm5xx <= 100, 'thresholds.sagemaker5xxPercent', sm5xx, 'must be above 0 and at most 100 percent')
      .check(lambdaErrors > 0 && lambdaErrors <= 100, 'thresholds.lambdaErrorPercent', lambdaErrors, 'must be above 0 and at most 100 percent')
      .intRange('thresholds.lambdaThrottles', t.lambdaThrottles, 1, 1000000)
      .throwIfInvalid();

    this.prefix = props.dashboardName;
    const dashboards = new DefaultDashboardFactory(this, 'Dashboards', { dashboardNamePrefix: props.dashboardName, createDashboard: true });
    // Serving alarms notify through the composite only (noopAction); every alarm gets an explicit, short name.
    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: { alarmNamePrefix: props.dashboardName, actionsEnabled: true, action: noopAction(), datapointsToAlarm, evaluationPeriods },
      metricFactoryDefaults: { period },
      dashboardFactory: dashboards,
    });
    this.dashboard = dashboards.dashboard!;
    const facade = this.facade;
    const alarmCount = () => facade.createdAlarms().length;

    facade.addLargeHeader(`${props.dashboardName}: ML platform`);

    for (const ep of props.sagemakerEndpoints ?? []) this.monitorEndpoint(ep, period, t.sagemakerLatencyP90 ?? Duration.seconds(1), sm5xx);
    for (const fn of props.inferenceFunctions ?? []) {
      // Generated function names are tokens: then the construct id names it (its parent's when the id is generic).
      const id = ['Function', 'Resource', 'Default'].includes(fn.node.id) && fn.node.scope ? fn.node.scope.node.id : fn.node.id;
      const name = this.alarmName('lambda', this.shortName(fn.functionName, id));
      facade.monitorLambdaFunction({
        lambdaFunction: fn,
        humanReadableName: `Lambda inference ${fn.functionName}`,
        alarmFriendlyName: `LambdaInference-${fn.node.id}`,
        isIterator: false,
        addLatencyP90Alarm: { Warning: { maxLatency: t.lambdaDurationP90 ?? Duration.seconds(2), alarmNameOverride: `${name}-duration-p90` } },
        // Errors as an average of the Errors metric: the share of invocations that failed (0-1).
        addFaultRateAlarm: { Warning: { maxErrorRate: lambdaErrors / 100, alarmNameOverride: `${name}-error-rate` } },
        addThrottlesCountAlarm: { Warning: { maxErrorCount: (t.lambdaThrottles ?? 1) - 1, alarmNameOverride: `${name}-throttles` } },
      });
    }
    this.servingAlarms = facade.createdAlarms().map((a) => a.alarm);
    const servingAlarmCount = alarmCount();
    for (const a of this.servingAlarms) {
      acknowledgeCheck(a, 'alarmAction',
        'Child of the composite "serving degraded" alarm, which notifies the alarm topic: an action here would notify the same incident twice.');
    }

    for (const p of props.pipelines ?? []) this.monitorPipeline(p, period, props.alarmTopic);
    if ((props.gpuInstances ?? []).length > 0) this.monitorGpus(props.gpuInstances!);
    for (const c of props.eksClusters ?? []) this.monitorEks(c.clusterName, c.rayNamespace ?? 'ray');

    if (servingAlarmCount > 0) {
      this.servingDegradedAlarm = new cloudwatch.CompositeAlarm(this, 'ServingDegraded', {
        compositeAlarmName: `${props.dashboardName}-serving-degraded`,
        alarmDescription: 'Serving degraded: at least one inference endpoint or function is slow, failing or throttled. See the dashboard for which.',
        alarmRule: cloudwatch.AlarmRule.anyOf(...this.servingAlarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
      });
      this.servingDegradedAlarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
      facade.addWidget(new cloudwatch.AlarmStatusWidget({
        title: 'Serving degraded (composite)', alarms: [this.servingDegradedAlarm], width: 24, height: 3,
      }));
    }
  }

  /** `<prefix>-<kind>-<name>`: what every alarm name starts with. */
  private alarmName(kind: string, name: string): string {
    return `${this.prefix}-${kind}-${name}`;
  }

  /** A resource name without the dashboard prefix it usually repeats (`acme-ml-dev-churn` → `churn`); tokens fall back. */
  private shortName(name: string, fallback: string): string {
    if (Token.isUnresolved(name)) return fallback;
    return name.startsWith(`${this.prefix}-`) && name.length > this.prefix.length + 1 ? name.slice(this.prefix.length + 1) : name;
  }

  private monitorEndpoint(ep: IMonitoredEndpoint, period: Duration, latencyP90: Duration, max5xxPercent: number): void {
    if (ep.mode === 'async') return this.monitorAsyncEndpoint(ep, period, latencyP90, max5xxPercent);
    const name = this.alarmName('endpoint', this.shortName(ep.endpointName, ep.endpointName));
    const invocations = ep.metricInvocations({ period, statistic: 'Sum', label: 'Invocations' });
    const errors5xx = ep.metric5xx({ period, statistic: 'Sum', label: '5xx' });
    const rate5xx = new cloudwatch.MathExpression({
      expression: 'IF(inv > 0, 100 * e5 / inv, 0)',
      usingMetrics: { inv: invocations, e5: errors5xx },
      label: '5xx rate (%)',
      period,
    });
    const groups: CustomMetricGroup[] = [
      { title: 'Invocations', metrics: [invocations] },
      {
        title: 'Model latency (ms)',
        metrics: [
          // ModelLatency is in microseconds; the dashboard and the threshold use milliseconds.
          new cloudwatch.MathExpression({ expression: 'l50 / 1000', usingMetrics: { l50: ep.metricModelLatency({ period, statistic: 'p50' }) }, label: 'p50', period }),
          {
            metric: new cloudwatch.MathExpression({ expression: 'l90 / 1000', usingMetrics: { l90: ep.metricModelLatency({ period, statistic: 'p90' }) }, label: 'p90', period }),
            alarmFriendlyName: 'LatencyP90',
            addAlarm: latencyP90Alarm(name, ep.endpointName, latencyP90),
          },
        ],
      },
      {
        title: 'Errors',
        metrics: [
          ep.metric4xx({ period, statistic: 'Sum', label: '4xx' }),
          errors5xx,
          {
            metric: rate5xx,
            alarmFriendlyName: '5xxRate',
            addAlarm: {
              Warning: {
                alarmNameOverride: `${name}-5xx-rate`,
                threshold: max5xxPercent,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                additionalDescription: `more than ${max5xxPercent}% of invocations of endpoint ${ep.endpointName} answered 5xx`,
              },
            },
          },
        ],
      },
    ];
    this.facade.monitorCustom({ alarmFriendlyName: `SageMaker-${ep.endpointName}`, humanReadableName: `SageMaker endpoint ${ep.endpointName}`, metricGroups: groups });
  }

  /**
   * Async endpoints publish no `Invocations`/`InvocationsPerInstance`: they are watched through the share of
   * processed requests that failed, the queue, and a queue that has no instance to run on (scale-from-zero stuck).
   */
  private monitorAsyncEndpoint(ep: IMonitoredEndpoint, period: Duration, latencyP90: Duration, maxFailurePercent: number): void {
    const name = this.alarmName('endpoint', this.shortName(ep.endpointName, ep.endpointName));
    const variants = ep.variantNames && ep.variantNames.length > 0 ? ep.variantNames : ['AllTraffic'];
    const m = (metricName: string, statistic: string, variantName?: string) => new cloudwatch.Metric({
      namespace: 'AWS/SageMaker', metricName, statistic, period,
      dimensionsMap: variantName ? { EndpointName: ep.endpointName, VariantName: variantName } : { EndpointName: ep.endpointName },
    });
    // InvocationsProcessed and InvocationFailures carry EndpointName + VariantName: summed over the variants.
    const perVariant = (metricName: string, id: string, label: string) => new cloudwatch.MathExpression({
      expression: variants.map((_, i) => `${id}${i}`).join(' + '),
      usingMetrics: Object.fromEntries(variants.map((v, i) => [`${id}${i}`, m(metricName, 'Sum', v)])),
      label, period,
    });
    const processed = perVariant('InvocationsProcessed', 'p', 'Processed');
    const failures = perVariant('InvocationFailures', 'f', 'Failures');
    // Whether InvocationsProcessed counts failed requests is not documented: dividing by the larger of the two keeps
    // the rate within 0-100% either way.
    const failureRate = new cloudwatch.MathExpression({
      expression: 'IF(MAX([proc, fail]) > 0, 100 * fail / MAX([proc, fail]), 0)',
      usingMetrics: { proc: processed, fail: failures },
      label: 'Failure rate (%)', period,
    });
    const groups: CustomMetricGroup[] = [
      { title: 'Requests (async)', metrics: [processed, failures] },
      {
        title: 'Queue',
        metrics: [
          m('ApproximateBacklogSize', 'Average'),
          m('ApproximateAgeOfOldestRequest', 'Maximum'),
          {
            metric: m('HasBacklogWithoutCapacity', 'Maximum'),
            alarmFriendlyName: 'BacklogWithoutCapacity',
            addAlarm: {
              Warning: {
                alarmNameOverride: `${name}-backlog-without-capacity`,
                threshold: 1,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                additionalDescription: `endpoint ${ep.endpointName} has queued requests and no instance to process them (scaling from zero failed or is stuck)`,
              },
            },
          },
        ],
      },
      {
        title: 'Errors and latency',
        metrics: [
          {
            metric: failureRate,
            alarmFriendlyName: 'FailureRate',
            addAlarm: {
              Warning: {
                alarmNameOverride: `${name}-failure-rate`,
                threshold: maxFailurePercent,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                additionalDescription: `more than ${maxFailurePercent}% of the requests endpoint ${ep.endpointName} processed failed`,
              },
            },
          },
          {
            // ModelLatency is among the metrics async endpoints do publish (microseconds; shown and alarmed in ms).
            metric: new cloudwatch.MathExpression({ expression: 'l90 / 1000', usingMetrics: { l90: m('ModelLatency', 'p90', variants[0]) }, label: 'p90 model latency (ms)', period }),
            alarmFriendlyName: 'LatencyP90',
            addAlarm: latencyP90Alarm(name, ep.endpointName, latencyP90),
          },
        ],
      },
    ];
    this.facade.monitorCustom({ alarmFriendlyName: `SageMaker-${ep.endpointName}`, humanReadableName: `SageMaker async endpoint ${ep.endpointName}`, metricGroups: groups });
  }

  private monitorPipeline(p: MonitoredPipeline, period: Duration, topic: sns.ITopic): void {
    const name = p.pipeline.pipelineName;
    const id = p.name ?? p.pipeline.node.id;
    const rule = (state: string, ruleId: string) => new events.Rule(this, `${id}${ruleId}`, {
      description: `Counts ${state} executions of pipeline ${name} (MatchedEvents metric)`,
      eventPattern: {
        source: ['aws.codepipeline'],
        detailType: ['CodePipeline Pipeline Execution State Change'],
        detail: { pipeline: [name], state: [state] },
      },
    });
    const rules = { started: rule('STARTED', 'Started'), succeeded: rule('SUCCEEDED', 'Succeeded'), failed: rule('FAILED', 'Failed') };
    this.pipelineExecutionRules[id] = rules;
    if (p.notifyOnFailure ?? true) {
      rules.failed.addTarget(new targets.SnsTopic(topic, {
        message: events.RuleTargetInput.fromText(
          `Model pipeline ${name} execution ${events.EventField.fromPath('$.detail.execution-id')} FAILED in ${events.EventField.fromPath('$.region')}.`),
      }));
    }
    const matched = (r: events.IRule, label: string) => new cloudwatch.Metric({
      namespace: 'AWS/Events', metricName: 'MatchedEvents', dimensionsMap: { RuleName: r.ruleName }, statistic: 'Sum', period, label,
    });
    const failures = matched(rules.failed, 'Failed');
    const alarm = failures.createAlarm(this, `${id}FailedAlarm`, {
      alarmName: `${this.alarmName('pipeline', id)}-failed`,
      alarmDescription: `Model pipeline ${name} has a failed execution`,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    acknowledgeCheck(alarm, 'alarmAction',
      'Dashboard state only: each failed execution is already sent to the alarm topic by an EventBridge rule, with its execution id.');
    this.pipelineFailureAlarms.push(alarm);

    const triggers: cloudwatch.Metric[] = [];
    if (p.scheduleGroupName) {
      triggers.push(new cloudwatch.Metric({
        namespace: 'AWS/Scheduler', metricName: 'InvocationAttemptCount', dimensionsMap: { ScheduleGroup: p.scheduleGroupName },
        statistic: 'Sum', period, label: 'Scheduled retraining starts',
      }));
      triggers.push(new cloudwatch.Metric({
        namespace: 'AWS/Scheduler', metricName: 'TargetErrorCount', dimensionsMap: { ScheduleGroup: p.scheduleGroupName },
        statistic: 'Sum', period, label: 'Scheduled starts that failed',
      }));
    }
    (p.triggerRules ?? []).forEach((r, i) => triggers.push(matched(r, `Automatic starts (rule ${i + 1}, e.g. drift)`)));
    this.facade.monitorCustom({
      alarmFriendlyName: `Pipeline-${id}`,
      humanReadableName: `Model pipeline ${name}`,
      metricGroups: [
        { title: 'Executions', metrics: [matched(rules.started, 'Started'), matched(rules.succeeded, 'Succeeded'), failures] },
        ...(triggers.length > 0 ? [{ title: 'Retraining triggers', metrics: triggers }] : []),
      ],
    });
    this.facade.addWidget(new cloudwatch.AlarmStatusWidget({ title: `Pipeline ${name} failures`, alarms: [alarm], width: 24, height: 3 }));
  }

  private monitorGpus(instances: IMonitoredGpuInstance[]): void {
    this.facade.monitorCustom({
      alarmFriendlyName: 'GpuInstances',
      humanReadableName: 'GPU instances',
      metricGroups: [
        { title: 'GPU utilization (%)', metrics: instances.map((i) => i.metricGpuUtilization({ label: i.instanceId })) },
        { title: 'GPU memory utilization (%)', metrics: instances.map((i) => i.metricGpuMemoryUtilization({ label: i.instanceId })) },
      ],
    });
  }

  private monitorEks(clusterName: string, rayNamespace: string): void {
    const ci = (metricName: string, label: string, statistic = 'Average') => new cloudwatch.Metric({
      namespace: 'ContainerInsights', metricName, dimensionsMap: { ClusterName: clusterName }, statistic, label,
    });
    this.facade.monitorCustom({
      alarmFriendlyName: `Eks-${clusterName}`,
      humanReadableName: `EKS cluster ${clusterName} (Ray)`,
      description: 'Container Insights metrics; Ray task and actor metrics are in the in-cluster Grafana (RayObservability).',
      metricGroups: [
        { title: 'Nodes', metrics: [ci('cluster_node_count', 'Nodes'), ci('cluster_failed_node_count', 'Failed nodes')] },
        { title: 'Node CPU / memory (%)', metrics: [ci('node_cpu_utilization', 'CPU'), ci('node_memory_utilization', 'Memory')] },
        {
          title: `Ray pods (namespace ${rayNamespace})`,
          metrics: [new cloudwatch.Metric({
            namespace: 'ContainerInsights', metricName: 'namespace_number_of_running_pods',
            dimensionsMap: { ClusterName: clusterName, Namespace: rayNamespace }, statistic: 'Average', label: 'Running Ray pods',
          })],
        },
      ],
    });
  }
}

/** The p90 model-latency warning of an endpoint (real-time and async alike), in milliseconds. */
function latencyP90Alarm(name: string, endpointName: string, latencyP90: Duration): Record<string, CustomThreshold> {
  return {
    Warning: {
      alarmNameOverride: `${name}-latency-p90`,
      threshold: latencyP90.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      additionalDescription: `p90 model latency of endpoint ${endpointName} above ${latencyP90.toMilliseconds()} ms`,
    },
  };
}
