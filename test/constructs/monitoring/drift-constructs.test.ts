import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DriftDetection, type DriftTarget, RetrainingRequestForwarder, RetrainingTrigger } from '../../../constructs/monitoring';
import { DataLake } from '../../../constructs/storage';
import { nagFindings, newStack } from '../../helpers';

const REQUEST = { requestSource: 'cdk-mlops.monitoring', requestDetailType: 'Model Drift Detected' };

describe('DriftDetection, RetrainingTrigger and RetrainingRequestForwarder', () => {
  const stack = newStack('Drift', 'eu-west-1');
  const lake = new DataLake(stack, 'Lake');
  const target: DriftTarget = { name: 'churn', servingPath: 'sagemaker', bucket: lake.artifactsBucket, prefix: 'data-capture/churn/churn/', endpointName: 'mlops-prod-churn' };
  const drift = new DriftDetection(stack, 'Drift', { targets: [target], reportBucket: lake.artifactsBucket, ...REQUEST, windowHours: 6, minRecords: 50 });
  const pipeline = codepipeline.Pipeline.fromPipelineArn(stack, 'Pipeline', 'arn:aws:codepipeline:eu-west-1:111111111111:model-pipeline');
  new RetrainingTrigger(stack, 'Trigger', { pipeline, eventBusName: 'mlops-retraining', sourceAccounts: ['222222222222', '333333333333'], ...REQUEST, cooldown: Duration.hours(12) });
  new RetrainingRequestForwarder(stack, 'Forward', { retrainingBus: events.EventBus.fromEventBusArn(stack, 'Bus', 'arn:aws:events:eu-west-1:111111111111:event-bus/mlops-retraining'), ...REQUEST });
  const t = Template.fromStack(stack);

  test('the drift job runs hourly with the scheduled time, configured with its targets and thresholds', () => {
    t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 hour)', Target: { Input: '{"time":"<aws.scheduler.scheduled-time>"}' } });
    const fn = Object.values(t.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.DRIFT_TARGETS)!;
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Timeout: 900, ReservedConcurrentExecutions: 1, TracingConfig: { Mode: 'Active' } });
    expect(fn.Properties.Environment.Variables).toMatchObject({ WINDOW_HOURS: '6', MIN_RECORDS: '50', PSI_THRESHOLD: '0.2', EVENT_SOURCE: 'cdk-mlops.monitoring', EVENT_BUS_NAME: 'default' });
  });

  test('one alarm per model on drifted features; a dashboard search shows PSI per feature', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DriftedFeatures', Namespace: 'cdk-mlops/Drift', Dimensions: Match.arrayWith([{ Name: 'model', Value: 'churn' }]),
      Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
    });
    expect(JSON.stringify(drift.widgets()[0].toJson())).toContain('SEARCH(\'{cdk-mlops/Drift,feature,model,service} MetricName=\\"FeaturePSI\\" model=\\"churn\\"\'');
  });

  test('the retraining bus accepts only the retraining request, only from the serving accounts', () => {
    const bus = Object.values(t.findResources('AWS::Events::EventBus'))[0].Properties;
    expect(bus.Name).toBe('mlops-retraining');
    expect(bus.Policy.Statement).toEqual([expect.objectContaining({
      Action: 'events:PutEvents',
      Principal: { AWS: [expect.anything(), expect.anything()] },
      Condition: {
        'ForAllValues:StringEquals': { 'events:source': ['cdk-mlops.monitoring'], 'events:detail-type': ['Model Drift Detected'] },
        'Null': { 'events:source': 'false', 'events:detail-type': 'false' },
      },
    })]);
    expect(JSON.stringify(bus.Policy)).toContain('222222222222');
    expect(JSON.stringify(bus.Policy)).toContain('333333333333');
  });

  test('the trigger: serialized, cooldown from props, a KMS table with point-in-time recovery, a dead-letter queue', () => {
    t.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1, Environment: { Variables: Match.objectLike({ COOLDOWN_SECONDS: '43200', REASON_VARIABLE: 'RetrainReason', PIPELINE_NAME: 'model-pipeline' }) } });
    t.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS' }, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
    t.hasResourceProperties('AWS::Events::Rule', { EventBusName: { Ref: Match.stringLikeRegexp('TriggerBus') }, Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 21600 } })] });
  });

  test('the forwarder targets the pipeline account\'s bus from the default bus, with a role and a dead-letter queue', () => {
    const rule = Object.values(t.findResources('AWS::Events::Rule')).find((r) => JSON.stringify(r.Properties.Targets).includes('event-bus/mlops-retraining'))!.Properties;
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.EventPattern).toEqual({ 'source': ['cdk-mlops.monitoring'], 'detail-type': ['Model Drift Detected'] });
    expect(rule.Targets[0]).toMatchObject({ Arn: 'arn:aws:events:eu-west-1:111111111111:event-bus/mlops-retraining', RoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^ForwardRuleEventsRole/), 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/^ForwardDeadLetters/), 'Arn'] } } });
  });

  test('cdk-nag AwsSolutions finds nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  test.each([
    [{ targets: [] }, /targets: 0 — must list at least one model/],
    [{ windowHours: 0 }, /windowHours/],
    [{ psiThreshold: 0 }, /psiThreshold: 0 — must be above 0/],
    [{ pValue: 1 }, /pValue: 1 — must be between 0 and 1/],
    [{ targets: [{ ...target, name: 'bad name' }] }, /targets\[0\]\.name: "bad name"/],
    [{ targets: [{ ...target, prefix: 'no-slash' }] }, /targets\[0\]\.prefix: "no-slash" — must end in "\/"/],
    [{ targets: [{ ...target, baselineUri: 'http://x' }] }, /targets\[0\]\.baselineUri/],
  ])('DriftDetection rejects %j', (override, message) => {
    const s = newStack();
    const bucket = s3.Bucket.fromBucketName(s, 'B', 'lake');
    expect(() => new DriftDetection(s, 'D', { targets: [{ ...target, bucket }], reportBucket: bucket, ...REQUEST, ...override } as never)).toThrow(message);
  });

  test('RetrainingTrigger rejects the default bus, a bad account and a sub-minute cooldown', () => {
    const s = newStack();
    const p = codepipeline.Pipeline.fromPipelineArn(s, 'P', 'arn:aws:codepipeline:eu-west-1:111111111111:p');
    expect(() => new RetrainingTrigger(s, 'T', { pipeline: p, eventBusName: 'default', ...REQUEST })).toThrow(/eventBusName: "default"/);
    expect(() => new RetrainingTrigger(s, 'U', { pipeline: p, eventBusName: 'b', sourceAccounts: ['12'], ...REQUEST })).toThrow(/sourceAccounts\[0\]: "12" — must be a 12-digit account id/);
    expect(() => new RetrainingTrigger(s, 'V', { pipeline: p, eventBusName: 'b', cooldown: Duration.seconds(30), ...REQUEST })).toThrow(/cooldown: "0.5 minutes" — must be 1 minute to 90 days/);
  });
});
