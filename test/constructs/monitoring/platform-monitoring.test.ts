import { Duration } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AlertsTopic, type IMonitoredEndpoint, type IMonitoredGpuInstance, PlatformMonitoring, type PlatformMonitoringProps, PropsValidationError,
} from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

/** An endpoint's metrics as `SageMakerEndpoint` renders them (AWS/SageMaker, EndpointName + VariantName). */
class Endpoint implements IMonitoredEndpoint {
  constructor(public readonly endpointName: string) {}
  private m(metricName: string, props: cloudwatch.MetricOptions = {}) {
    return new cloudwatch.Metric({ namespace: 'AWS/SageMaker', metricName, dimensionsMap: { EndpointName: this.endpointName, VariantName: 'primary' }, ...props });
  }
  metricInvocations(p?: cloudwatch.MetricOptions) { return this.m('Invocations', p); }
  metricModelLatency(p?: cloudwatch.MetricOptions) { return this.m('ModelLatency', p); }
  metric5xx(p?: cloudwatch.MetricOptions) { return this.m('Invocation5XXErrors', p); }
  metric4xx(p?: cloudwatch.MetricOptions) { return this.m('Invocation4XXErrors', p); }
}
/** An async endpoint: SageMaker publishes no Invocations metrics for it, so asking for them is a test failure. */
class AsyncEndpoint extends Endpoint {
  readonly mode = 'async' as const;
  readonly variantNames = ['primary', 'canary'];
  override metricInvocations(): cloudwatch.Metric { throw new Error('async endpoints publish no Invocations metric'); }
  override metric5xx(): cloudwatch.Metric { throw new Error('the 5xx rate needs Invocations, which async endpoints do not publish'); }
}
const gpu = (instanceId: string): IMonitoredGpuInstance => ({
  instanceId,
  metricGpuUtilization: (p) => new cloudwatch.Metric({ namespace: 'CdkMlops/GPU', metricName: 'nvidia_smi_utilization_gpu', dimensionsMap: { InstanceId: instanceId }, ...p }),
  metricGpuMemoryUtilization: (p) => new cloudwatch.Metric({ namespace: 'CdkMlops/GPU', metricName: 'nvidia_smi_utilization_memory', dimensionsMap: { InstanceId: instanceId }, ...p }),
});

const alarmsOf = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
const body = (t: Template) => JSON.stringify(Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);

describe('PlatformMonitoring with every source', () => {
  const stack = newStack();
  const alerts = new AlertsTopic(stack, 'Alerts');
  const fn = lambda.Function.fromFunctionName(stack, 'Fn', 'mlops-dev-inference');
  const pipeline = codepipeline.Pipeline.fromPipelineArn(stack, 'ModelPipeline', 'arn:aws:codepipeline:us-east-1:111111111111:mlops-dev-model');
  const driftRule = new events.Rule(stack, 'Drift', { eventPattern: { source: ['cdk-mlops.monitoring'] } });
  const monitoring = new PlatformMonitoring(stack, 'Monitoring', {
    dashboardName: 'mlops-dev',
    alarmTopic: alerts.topic,
    sagemakerEndpoints: [new Endpoint('mlops-dev-model'), new AsyncEndpoint('mlops-dev-batch')],
    inferenceFunctions: [fn],
    pipelines: [{ pipeline, scheduleGroupName: 'mlops-dev-retraining', triggerRules: [driftRule] }],
    gpuInstances: [gpu('i-0123456789abcdef0')],
    eksClusters: [{ clusterName: 'mlops-dev-training' }],
    thresholds: {
      period: Duration.minutes(1), evaluationPeriods: 5, datapointsToAlarm: 3, sagemakerLatencyP90: Duration.millis(500),
      sagemaker5xxPercent: 2, lambdaDurationP90: Duration.millis(800), lambdaErrorPercent: 3, lambdaThrottles: 5,
    },
  });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('one dashboard with SageMaker, Lambda, pipeline, GPU and EKS sections', () => {
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const b = body(t);
    for (const s of ['AWS/SageMaker', 'ModelLatency', 'Invocation5XXErrors', 'Invocation4XXErrors', 'AWS/Lambda', 'Duration', 'Throttles', 'ConcurrentExecutions',
      'MatchedEvents', 'Scheduled retraining starts', 'AWS/Scheduler', 'mlops-dev-retraining', 'nvidia_smi_utilization_gpu', 'i-0123456789abcdef0',
      'ContainerInsights', 'cluster_node_count', 'namespace_number_of_running_pods', 'Serving degraded (composite)']) {
      expect(b).toContain(s);
    }
  });

  test('SageMaker alarms: p90 latency in ms and 5xx rate in percent, thresholds and periods from props', () => {
    const alarms = alarmsOf(t);
    const latency = alarms.find((a) => JSON.stringify(a.Metrics ?? []).includes('l90 / 1000'))!;
    expect(latency).toMatchObject({ Threshold: 500, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 3 });
    expect(JSON.stringify(latency.Metrics)).toContain('"Stat":"p90"');
    const rate = alarms.find((a) => JSON.stringify(a.Metrics ?? []).includes('100 * e5 / inv'))!;
    expect(rate).toMatchObject({ Threshold: 2, ComparisonOperator: 'GreaterThanThreshold' });
    expect(JSON.stringify(rate.Metrics)).toContain('"Period":60');
  });

  test('Lambda alarms: p90 duration, error rate as a fraction, throttles at or above the threshold', () => {
    const lambdaAlarms = alarmsOf(t).filter((a) => JSON.stringify(a).includes('mlops-dev-inference'));
    const threshold = (metricName: string) => lambdaAlarms.find((a) => JSON.stringify(a).includes(`"MetricName":"${metricName}"`))?.Threshold;
    expect(threshold('Duration')).toBe(800);
    expect(threshold('Errors')).toBe(0.03);
    expect(threshold('Throttles')).toBe(4);
  });

  test('async endpoint: failure rate over processed requests (summed over variants), backlog without capacity, p90 latency', () => {
    const byName = (n: string) => alarmsOf(t).find((a) => a.AlarmName === n)!;
    const rate = JSON.stringify(byName('mlops-dev-endpoint-batch-failure-rate'));
    for (const s of ['"MetricName":"InvocationFailures"', '"MetricName":"InvocationsProcessed"', '"Value":"primary"', '"Value":"canary"', 'MAX([proc, fail])']) expect(rate).toContain(s);
    expect(rate).not.toContain('"MetricName":"Invocations"');
    expect(byName('mlops-dev-endpoint-batch-failure-rate')).toMatchObject({ Threshold: 2, ComparisonOperator: 'GreaterThanThreshold' });
    expect(byName('mlops-dev-endpoint-batch-backlog-without-capacity')).toMatchObject({
      MetricName: 'HasBacklogWithoutCapacity', Dimensions: [{ Name: 'EndpointName', Value: 'mlops-dev-batch' }], Statistic: 'Maximum', Threshold: 1,
    });
    expect(JSON.stringify(byName('mlops-dev-endpoint-batch-latency-p90'))).toContain('"MetricName":"ModelLatency"');
    const b = body(t);
    for (const s of ['ApproximateBacklogSize', 'ApproximateAgeOfOldestRequest', 'SageMaker async endpoint mlops-dev-batch']) expect(b).toContain(s);
  });

  test('alarm names are <dashboard>-<kind>-<name>-<what>, without the repeated prefix', () => {
    expect(alarmsOf(t).map((a) => a.AlarmName).sort()).toEqual([
      'mlops-dev-endpoint-batch-backlog-without-capacity', 'mlops-dev-endpoint-batch-failure-rate', 'mlops-dev-endpoint-batch-latency-p90',
      'mlops-dev-endpoint-model-5xx-rate', 'mlops-dev-endpoint-model-latency-p90',
      'mlops-dev-lambda-Fn-duration-p90', 'mlops-dev-lambda-Fn-error-rate', 'mlops-dev-lambda-Fn-throttles', // imported: a token name
      'mlops-dev-pipeline-ModelPipeline-failed',
    ]);
  });

  test('one notification per incident: only the composite and the failed-execution rule reach the topic', () => {
    const topic = JSON.stringify({ Ref: stack.getLogicalId(alerts.topic.node.defaultChild as never) });
    for (const a of alarmsOf(t)) {
      expect([a.AlarmName, a.AlarmActions ?? [], a.OKActions ?? [], a.InsufficientDataActions ?? []]).toEqual([a.AlarmName, [], [], []]);
    }
    const composites = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm')).map((a) => a.Properties);
    expect(composites.map((c) => JSON.stringify(c.AlarmActions))).toEqual([`[${topic}]`]);
    const ruleTargets = Object.values(t.findResources('AWS::Events::Rule')).filter((r) => JSON.stringify(r.Properties.Targets ?? []).includes(topic));
    expect(ruleTargets.map((r) => r.Properties.EventPattern.detail.state)).toEqual([['FAILED']]);
  });

  test('composite "serving degraded" alarm: any of the eight serving alarms, notifies the topic', () => {
    expect(monitoring.servingAlarms).toHaveLength(8);
    const [composite] = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm')).map((a) => a.Properties);
    expect(composite.AlarmName).toBe('mlops-dev-serving-degraded');
    expect(composite.AlarmActions).toEqual([{ Ref: stack.getLogicalId(alerts.topic.node.defaultChild as never) }]);
    const rule = JSON.stringify(composite.AlarmRule);
    expect(rule.match(/ALARM\(/g)).toHaveLength(8);
    expect(rule).toContain(' OR ');
  });

  test('pipeline executions: rules per state; failures notify the topic and raise a dashboard alarm', () => {
    for (const state of ['STARTED', 'SUCCEEDED', 'FAILED']) {
      t.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { 'source': ['aws.codepipeline'], 'detail-type': ['CodePipeline Pipeline Execution State Change'], 'detail': { pipeline: ['mlops-dev-model'], state: [state] } },
      });
    }
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { state: ['FAILED'] } },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('AlertsTopic') }, InputTransformer: Match.objectLike({ InputTemplate: Match.stringLikeRegexp('FAILED') }) })],
    });
    const failed = alarmsOf(t).find((a) => a.AlarmName === 'mlops-dev-pipeline-ModelPipeline-failed')!;
    expect(failed).toMatchObject({ Threshold: 1, TreatMissingData: 'notBreaching', ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(JSON.stringify(failed)).toMatch(/"Namespace":"AWS\/Events","MetricName":"MatchedEvents"|"MetricName":"MatchedEvents".*"Namespace":"AWS\/Events"/);
  });

  test('cdk-nag AwsSolutions finds nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('PlatformMonitoring without serving', () => {
  test('no serving alarms, no composite; the dashboard still exists', () => {
    const stack = newStack();
    const alerts = new AlertsTopic(stack, 'Alerts');
    const m = new PlatformMonitoring(stack, 'Monitoring', { dashboardName: 'mlops-staging', alarmTopic: alerts.topic, gpuInstances: [gpu('i-0aaaaaaaaaaaaaaaa')] });
    const t = template(stack);
    expect(m.servingDegradedAlarm).toBeUndefined();
    t.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 0);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('PlatformMonitoring of a pipeline that notifies its own failures', () => {
  test('notifyOnFailure false: the failed-execution rule has no target, nothing else notifies', () => {
    const stack = newStack();
    const alerts = new AlertsTopic(stack, 'Alerts');
    const pipeline = codepipeline.Pipeline.fromPipelineArn(stack, 'P', 'arn:aws:codepipeline:us-east-1:111111111111:mlops-dev-model');
    new PlatformMonitoring(stack, 'Monitoring', { dashboardName: 'mlops-dev', alarmTopic: alerts.topic, pipelines: [{ pipeline, name: 'Model', notifyOnFailure: false }] });
    const t = template(stack);
    for (const r of Object.values(t.findResources('AWS::Events::Rule'))) expect(r.Properties.Targets).toBeUndefined();
    expect(alarmsOf(t).map((a) => [a.AlarmName, a.AlarmActions])).toEqual([['mlops-dev-pipeline-Model-failed', undefined]]);
  });
});

describe('PlatformMonitoring validation', () => {
  const make = (props: Partial<PlatformMonitoringProps>) => () => {
    const stack = newStack();
    const alerts = new AlertsTopic(stack, 'Alerts');
    return new PlatformMonitoring(stack, 'M', { dashboardName: 'mlops-dev', alarmTopic: alerts.topic, ...props });
  };
  test.each<[string, Partial<PlatformMonitoringProps>, RegExp]>([
    ['dashboardName', { dashboardName: 'my dashboard' }, /dashboardName: "my dashboard" — must be 1-255 letters, digits/],
    ['period', { thresholds: { period: Duration.minutes(2) } }, /thresholds\.period: "2 minutes" — must be 1, 5, 15 or 60 minutes/],
    ['datapointsToAlarm', { thresholds: { evaluationPeriods: 2, datapointsToAlarm: 4 } }, /thresholds\.datapointsToAlarm: 4 — must not exceed evaluationPeriods \(2\)/],
    ['sagemaker5xxPercent', { thresholds: { sagemaker5xxPercent: 0 } }, /thresholds\.sagemaker5xxPercent: 0 — must be above 0/],
    ['lambdaErrorPercent', { thresholds: { lambdaErrorPercent: 150 } }, /thresholds\.lambdaErrorPercent: 150 — must be above 0 and at most 100/],
    ['lambdaThrottles', { thresholds: { lambdaThrottles: 0 } }, /thresholds\.lambdaThrottles: 0 — must be a whole number between 1 and 1000000/],
    ['pipeline name', { pipelines: [{ pipeline: { node: { id: 'P' }, pipelineName: 'p' } as never, name: 'model pipeline' }] }, /pipelines\[0\]\.name: "model pipeline" — must be 1-64 letters and digits/],
  ])('%s', (_name, props, message) => {
    expect(make(props)).toThrow(PropsValidationError);
    expect(make(props)).toThrow(message);
  });
});
