import { type Template, Template as T } from 'aws-cdk-lib/assertions';
import { loadStageConfig } from '../../lib/config';
import { nagFindings, platformStage } from '../helpers';

const alarmsOf = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
const dashboardBody = (t: Template) => JSON.stringify(Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);

// The dev stage from the built-in defaults, built once for the Monitoring and the Training stack's checks.
const devStage = platformStage('dev');

describe('MonitoringStack in dev (defaults)', () => {
  const stage = devStage;
  const stack = stage.monitoringStack!;
  const dev = loadStageConfig({ stage: 'dev' }).monitoring.alarms;
  let t: Template;
  beforeAll(() => {
    t = T.fromStack(stack);
  });

  test('named <prefix>-<stage>-Monitoring, tracked by the stage, after the stacks it watches', () => {
    expect(stack.stackName).toBe('mlops-dev-Monitoring');
    expect(stage.stacks[stage.stacks.length - 1]).toBe(stack);
    expect(stack.dependencies).toEqual(expect.arrayContaining([stage.alertsStack, stage.inferenceStack, stage.trainingStack]));
  });

  test('dashboard mlops-dev shows Lambda inference, SageMaker endpoints and the EKS cluster', () => {
    const b = dashboardBody(t);
    expect(b).toContain('AWS/Lambda');
    expect(b).toContain('ConcurrentExecutions');
    expect(b).toContain('cluster_node_count');
    if (stage.sageMakerStack && Object.keys(stage.sageMakerStack.endpoints).length > 0) expect(b).toContain('AWS/SageMaker');
    t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'mlops-dev' });
    t.hasOutput('DashboardUrl', {});
  });

  test('Lambda alarms use the dev thresholds and periods from config', () => {
    const lambdaAlarms = alarmsOf(t).filter((a) => JSON.stringify(a).includes('AWS/Lambda'));
    const duration = lambdaAlarms.find((a) => JSON.stringify(a).includes('"MetricName":"Duration"'))!;
    expect(duration).toMatchObject({ Threshold: dev.lambdaDurationP90Ms, EvaluationPeriods: dev.evaluationPeriods, DatapointsToAlarm: dev.datapointsToAlarm });
    expect(JSON.stringify(duration)).toContain(`"Period":${dev.periodMinutes * 60}`);
    expect(lambdaAlarms.find((a) => JSON.stringify(a).includes('"MetricName":"Errors"'))!.Threshold).toBe(dev.lambdaErrorPercent / 100);
  });

  test('the composite notifies the alerts topic (imported from the Alerts stack); its children do not', () => {
    const [composite] = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm')).map((a) => a.Properties);
    expect(composite.AlarmName).toBe('mlops-dev-serving-degraded');
    expect(JSON.stringify(composite.AlarmActions)).toMatch(/"StackName":"mlops-dev-Alerts".*AlertsTopic/);
    expect(alarmsOf(t).length).toBeGreaterThan(0);
    for (const a of alarmsOf(t)) expect(a.AlarmActions).toBeUndefined();
  });

  test('cdk-nag AwsSolutions finds nothing in the stack', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('MonitoringStack in prod', () => {
  test('tighter thresholds, 1-minute periods', () => {
    const stage = platformStage('prod', { lambdaInference: { enabled: true } });
    const prod = loadStageConfig({ stage: 'prod' }).monitoring.alarms;
    const t = T.fromStack(stage.monitoringStack!);
    const duration = alarmsOf(t).find((a) => JSON.stringify(a).includes('"MetricName":"Duration"'))!;
    expect(duration).toMatchObject({ Threshold: prod.lambdaDurationP90Ms, EvaluationPeriods: prod.evaluationPeriods, DatapointsToAlarm: prod.datapointsToAlarm });
    expect(JSON.stringify(duration)).toContain('"Period":60');
    expect(stage.monitoringStack!.terminationProtection).toBe(true);
  });

  test('switched off: no Monitoring stack', () => {
    const stage = platformStage('staging', { monitoring: { enabled: false } });
    expect(stage.monitoringStack).toBeUndefined();
  });
});

describe('EKS observability in the Training stack (dev defaults)', () => {
  const stage = devStage;
  const t = T.fromStack(stage.trainingStack!);
  const charts = Object.values(t.findResources('Custom::AWSCDK-EKS-HelmChart')).map((r) => r.Properties);

  test('kube-prometheus-stack with the dev retention, on the system nodes, after KubeRay and the system node group', () => {
    const chart = charts.find((c) => c.Chart === 'kube-prometheus-stack')!;
    const values = JSON.parse(chart.Values);
    expect(values.prometheus.prometheusSpec).toMatchObject({ retention: '7d', nodeSelector: { 'cdk-mlops/node-group': 'system' } });
    const resources = t.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[]; Properties?: { Chart?: string } }>;
    const [id] = Object.entries(resources).find(([, r]) => r.Type === 'Custom::AWSCDK-EKS-HelmChart' && r.Properties?.Chart === 'kube-prometheus-stack')!;
    const kubeRay = Object.keys(resources).find((k) => resources[k].Properties?.Chart === 'kuberay-operator')!;
    expect(resources[id].DependsOn).toEqual(expect.arrayContaining([kubeRay, expect.stringMatching(/NodegroupSystem/)]));
    t.hasOutput('GrafanaCommand', { Value: 'kubectl -n monitoring port-forward svc/grafana 3000:80' });
  });

  test('Ray monitors for the ray namespace and Container Insights for the dashboard\'s EKS panels', () => {
    const manifests = JSON.stringify(t.findResources('Custom::AWSCDK-EKS-KubernetesResource'));
    expect(manifests).toContain('PodMonitor');
    expect(manifests).toContain('ray-workers');
    t.hasResourceProperties('AWS::EKS::Addon', { AddonName: 'amazon-cloudwatch-observability' });
  });

  test('cdk-nag AwsSolutions finds nothing in the Training stack', () => {
    expect(nagFindings(stage.trainingStack!)).toEqual([]);
  });

  test('rayObservability off: Container Insights only', () => {
    const s = platformStage('dev', { monitoring: { rayObservability: { enabled: false } } });
    const tt = T.fromStack(s.trainingStack!);
    expect(JSON.stringify(tt.findResources('Custom::AWSCDK-EKS-HelmChart'))).not.toContain('kube-prometheus-stack');
    tt.hasResourceProperties('AWS::EKS::Addon', { AddonName: 'amazon-cloudwatch-observability' });
  });
});

describe('closed retraining loop (dev with a monitored endpoint and a weekly schedule)', () => {
  const DRIFT = { source: 'cdk-mlops.monitoring', detailType: 'Model Drift Detected' };
  const stage = platformStage('dev', {
    sagemaker: {
      endpoints: [{
        name: 'churn', mode: 'real-time', instanceType: 'ml.m5.large', instanceCount: 1, dataCaptureSamplingPercent: 20, modelPackageGroup: 'default',
        dataQuality: { baselineStatisticsKey: 'baselines/churn/statistics.json', baselineConstraintsKey: 'baselines/churn/constraints.json', schedule: 'cron(0 * ? * * *)' },
      }],
    },
    pipelines: { schedule: 'rate(7 days)' },
    monitoring: { mlflow: { enabled: true } },
  });
  const monitoring = stage.monitoringStack!;
  const delivery = stage.deliveryStack!;
  const t = T.fromStack(monitoring);
  const d = T.fromStack(delivery);
  const loop = monitoring.retrainOnDrift!;

  test('a data-quality violation of the endpoint\'s monitoring schedule targets the retraining state machine with the reason as input', () => {
    const rules = Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties)
      .filter((r) => r.EventPattern.source?.[0] === 'aws.sagemaker');
    expect(rules).toHaveLength(1);
    const [rule] = rules;
    const monitor = stage.sageMakerStack!.monitors.churn;
    expect(rule.EventPattern).toEqual(monitoring.resolve({
      'source': ['aws.sagemaker'],
      'detail-type': ['SageMaker Processing Job State Change'],
      'detail': (monitor.violationEventPattern as { detail: unknown }).detail,
    }));
    expect(JSON.stringify(rule.EventPattern.detail)).toContain('CompletedWithViolations');
    expect(rule.Targets).toHaveLength(1);
    expect(rule.Targets[0].Arn).toEqual({ Ref: monitoring.getLogicalId(loop.stateMachine.node.defaultChild as never) });
    const input = rule.Targets[0].InputTransformer.InputTemplate as string;
    expect(input).toContain('"reason":"Drift detected: data-quality violations on churn (<detail-ExitMessage>)"');
    expect(input).toContain('"source":"churn"');
    expect(input).toContain('"processingJobName":<detail-ProcessingJobName>');
  });

  test('the state machine publishes exactly the event the Delivery stack\'s retrain rule matches, and that rule starts the model pipeline', () => {
    const joined = Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0].Properties.DefinitionString['Fn::Join'][1] as unknown[];
    const entry = JSON.parse(joined.map((p) => (typeof p === 'string' ? p : 'aws')).join('')).States.RequestRetraining.Parameters.Entries[0];
    expect({ source: entry.Source, detailType: entry.DetailType }).toEqual(DRIFT);
    expect(entry.Detail['reason.$']).toBe('$.reason');

    // The published request satisfies every field of the forwarding rule's pattern (default bus) and of the
    // retraining trigger's rule (retraining bus), whose handler starts the pipeline.
    const request: Record<string, string> = { 'source': entry.Source, 'detail-type': entry.DetailType };
    const forward = t.toJSON().Resources[monitoring.getLogicalId(monitoring.retrainingForwarder!.rule.node.defaultChild as never)].Properties;
    expect(forward.EventBusName).toBeUndefined();
    for (const [field, allowed] of Object.entries(forward.EventPattern as Record<string, string[]>)) expect(allowed).toContain(request[field]);
    const trigger = delivery.retrainingTrigger!;
    const rule = d.toJSON().Resources[delivery.getLogicalId(trigger.rule.node.defaultChild as never)].Properties;
    for (const [field, allowed] of Object.entries(rule.EventPattern as Record<string, string[]>)) expect(allowed).toContain(request[field]);
    expect(rule.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [delivery.getLogicalId(trigger.function.node.defaultChild as never), 'Arn'] });
    expect(d.toJSON().Resources[delivery.getLogicalId(trigger.function.node.defaultChild as never)].Properties.Environment.Variables.PIPELINE_NAME)
      .toEqual({ Ref: delivery.getLogicalId(delivery.modelPipeline!.pipeline.node.defaultChild as never) });
  });

  test('the dashboard shows the pipeline\'s executions, the scheduled retraining and the drift-triggered starts', () => {
    const b = dashboardBody(t);
    expect(b).toContain('Model pipeline');
    expect(b).toContain('Scheduled retraining starts');
    expect(b).toContain('AWS/Scheduler');
    expect(b).toMatch(/ScheduleGroup\W+default/);
    expect(b).toContain('Automatic starts (rule 1, e.g. drift)');
    const failed = alarmsOf(t).find((a) => a.AlarmName === 'mlops-dev-pipeline-ModelPipeline-failed')!;
    expect(failed.Threshold).toBe(1);
  });

  test('SageMaker training jobs of the pipeline may log to MLflow', () => {
    const policies = JSON.stringify(d.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('sagemaker-mlflow:LogMetric');
  });

  test('cdk-nag AwsSolutions finds nothing in the Monitoring and Delivery stacks', () => {
    expect(nagFindings(monitoring)).toEqual([]);
    expect(nagFindings(delivery)).toEqual([]);
  });
});
