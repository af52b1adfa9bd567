import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stage } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { NIST80053R5Checks } from 'cdk-nag';
import { AlertsTopic, DataLake, PropsValidationError } from '../../../constructs';
import {
  DATA_QUALITY_VIOLATION_EVENT, DataQualityMonitor, type DataQualityMonitorProps, MODEL_MONITOR_IMAGE_ACCOUNTS, ModelImage, SageMakerEndpoint,
} from '../../../constructs/serving';
import { nagFindings, newStack, template } from '../../helpers';

describe('DataQualityMonitor', () => {
  const stack = newStack();
  const lake = new DataLake(stack, 'Lake');
  const alerts = new AlertsTopic(stack, 'Alerts');
  const endpoint = new SageMakerEndpoint(stack, 'Churn', {
    image: ModelImage.fromEcrRepository(new ecr.Repository(stack, 'Repo'), 'v1'),
    endpointName: 'mlops-dev-churn',
    dataCapture: { bucket: lake.artifactsBucket },
  });
  const monitor = new DataQualityMonitor(stack, 'Drift', {
    endpoint,
    baselineStatistics: { bucket: lake.artifactsBucket, key: 'baselines/churn/statistics.json' },
    baselineConstraints: { bucket: lake.artifactsBucket, key: 'baselines/churn/constraints.json' },
    outputBucket: lake.artifactsBucket,
    alarmTopic: alerts.topic,
  });
  // What a retraining pipeline would do with the violation event.
  const retrain = new sqs.Queue(stack, 'Retrain', { enforceSSL: true, encryption: sqs.QueueEncryption.KMS_MANAGED });
  monitor.onViolation('StartRetraining', { target: new targets.SqsQueue(retrain) });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('a data-quality job on the endpoint\'s capture against the baseline, encrypted, publishing metrics', () => {
    t.hasResourceProperties('AWS::SageMaker::DataQualityJobDefinition', {
      DataQualityAppSpecification: {
        ImageUri: { 'Fn::Join': ['', [{ 'Fn::FindInMap': [Match.stringLikeRegexp('AnalyzerAccounts'), { Ref: 'AWS::Region' }, 'account'] }, '.dkr.ecr.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/sagemaker-model-monitor-analyzer']] },
        Environment: { publish_cloudwatch_metrics: 'Enabled' },
      },
      DataQualityBaselineConfig: {
        StatisticsResource: { S3Uri: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('LakeArtifacts') }, '/baselines/churn/statistics.json']] } },
        ConstraintsResource: { S3Uri: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('LakeArtifacts') }, '/baselines/churn/constraints.json']] } },
      },
      DataQualityJobInput: { EndpointInput: { EndpointName: 'mlops-dev-churn', LocalPath: '/opt/ml/processing/input/endpoint' } },
      DataQualityJobOutputConfig: { KmsKeyId: Match.anyValue(), MonitoringOutputs: [{ S3Output: Match.objectLike({ S3UploadMode: 'EndOfJob' }) }] },
      JobResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 20, VolumeKmsKeyId: Match.anyValue() } },
      NetworkConfig: Match.objectLike({ EnableInterContainerTrafficEncryption: true }),
      StoppingCondition: { MaxRuntimeInSeconds: 3000 },
    });
    expect(JSON.stringify(t.toJSON().Mappings)).toContain(MODEL_MONITOR_IMAGE_ACCOUNTS['us-east-1']);
  });

  test('an hourly schedule of that job, after the endpoint exists', () => {
    t.hasResource('AWS::SageMaker::MonitoringSchedule', {
      Properties: {
        MonitoringScheduleName: monitor.monitoringScheduleName,
        MonitoringScheduleConfig: {
          MonitoringType: 'DataQuality',
          ScheduleConfig: { ScheduleExpression: 'cron(0 * ? * * *)' },
          MonitoringJobDefinitionName: { 'Fn::Select': [1, { 'Fn::Split': ['/', { 'Fn::GetAtt': [Match.stringLikeRegexp('DriftJobDefinition'), 'JobDefinitionArn'] }] }] },
        },
      },
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('ChurnEndpoint')]),
    });
  });

  test('violations: an event rule to the alerts topic (the one notification), its MatchedEvents metric and an alarm without action', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: [DATA_QUALITY_VIOLATION_EVENT.source],
        'detail-type': [DATA_QUALITY_VIOLATION_EVENT.detailType],
        detail: {
          MonitoringScheduleArn: [{ 'Fn::Join': ['', Match.arrayWith([`:monitoring-schedule/${monitor.monitoringScheduleName}`])] }],
          ProcessingJobStatus: ['Completed'],
          ExitMessage: [{ prefix: 'CompletedWithViolations' }],
        },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('AlertsTopic') } })],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Events', MetricName: 'MatchedEvents', Statistic: 'Sum', Period: 3600, Threshold: 1,
      Dimensions: [{ Name: 'RuleName', Value: { Ref: Match.stringLikeRegexp('DriftViolationRule') } }],
    });
    // One notification per violation: the rule's message; the alarm (its metric) has no action of its own.
    const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm')).find((a) => a.Properties.MetricName === 'MatchedEvents')!;
    expect(alarm.Properties.AlarmActions).toBeUndefined();
    const toTopic = Object.values(t.findResources('AWS::Events::Rule')).filter((r) => JSON.stringify(r.Properties.EventPattern).includes('CompletedWithViolations') && JSON.stringify(r.Properties.Targets).includes('AlertsTopic'));
    expect(toTopic).toHaveLength(1);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: Match.objectLike({ ProcessingJobStatus: ['Failed'] }) }),
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('AlertsTopic') } })],
    });
  });

  test('the nested requests are flattened by the platform\'s record preprocessor, an asset the role reads exactly', () => {
    const job = Object.values(t.findResources('AWS::SageMaker::DataQualityJobDefinition'))[0].Properties;
    const uri = JSON.stringify(job.DataQualityAppSpecification.RecordPreprocessorSourceUri);
    const asset = monitor.recordPreprocessor!;
    expect(uri).toContain(`/${asset.s3ObjectKey}`);
    expect(asset.s3ObjectKey).toMatch(/\.py$/);
    expect(fs.readFileSync(path.resolve(Stage.of(stack)!.outdir, asset.assetPath), 'utf8')).toContain('def preprocess_handler(inference_record, logger=None)');
    const policy = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('DriftRole'))![1];
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain(`/${asset.s3ObjectKey}"`);
    expect(job.DataQualityAppSpecification.Environment).toEqual({ publish_cloudwatch_metrics: 'Enabled' });
  });

  test('flat endpoints opt out; feature names reach the script; an own preprocessor replaces it', () => {
    const props = { endpoint, baselineStatistics: { bucket: lake.artifactsBucket, key: 's.json' }, baselineConstraints: { bucket: lake.artifactsBucket, key: 'c.json' }, outputBucket: lake.artifactsBucket };
    const s2 = newStack();
    const job = (id: string, extra: Partial<DataQualityMonitorProps>) => {
      const m = new DataQualityMonitor(s2, id, { ...props, endpoint: new SageMakerEndpoint(s2, `Ep${id}`, { image: ModelImage.fromImageUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/m:1'), dataCapture: { bucket: lake.artifactsBucket } }), ...extra });
      return s2.resolve(m.jobDefinition.dataQualityAppSpecification) as { recordPreprocessorSourceUri?: unknown; environment: Record<string, string> };
    };
    expect(job('Flat', { flattenInstances: false }).recordPreprocessorSourceUri).toBeUndefined();
    expect(job('Named', { featureNames: ['tenure', 'spend'] }).environment).toEqual({ publish_cloudwatch_metrics: 'Enabled', FEATURE_NAMES: 'tenure,spend' });
    expect(job('Own', { recordPreprocessorSourceUri: 's3://scripts/pre.py' }).recordPreprocessorSourceUri).toBe('s3://scripts/pre.py');
    expect(() => job('Bad', { recordPreprocessorSourceUri: 's3://scripts/pre.sh', featureNames: ['1x'], flattenInstances: false }))
      .toThrow(/recordPreprocessorSourceUri: "s3:\/\/scripts\/pre.sh" — must be s3:\/\/bucket\/key of a .py file[\s\S]*flattenInstances: false — must not be false with recordPreprocessorSourceUri[\s\S]*featureNames: \["1x"\] — must list/);
  });

  test('onViolation gives other pipelines the same event (e.g. to retrain)', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: Match.objectLike({ ExitMessage: [{ prefix: 'CompletedWithViolations' }] }) }),
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Retrain'), 'Arn'] } })],
    });
  });

  test('the monitoring role reads the baseline objects and the capture prefix, writes its report prefix', () => {
    const policy = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('DriftRole'))![1];
    const text = JSON.stringify(policy.Properties.PolicyDocument);
    expect(text).toContain('/baselines/churn/statistics.json"');
    expect(text).toContain('/data-capture/mlops-dev-churn/*');
    expect(text).toContain('/model-monitor/mlops-dev-churn/data-quality/*');
    expect(text).toContain('"cloudwatch:namespace":"aws/sagemaker/Endpoints/data-metrics"');
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing', () => {
    expect(nagFindings(stack).filter((f) => !f.includes('/Retrain/'))).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks()).filter((f) => !f.includes('/Retrain/'))).toEqual([]);
  });
});

describe('DataQualityMonitor validation', () => {
  const base = (): DataQualityMonitorProps => {
    const stack = newStack();
    const lake = new DataLake(stack, 'Lake');
    const endpoint = new SageMakerEndpoint(stack, 'Ep', { mode: 'serverless', image: ModelImage.fromImageUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/m:1') });
    return {
      endpoint,
      baselineStatistics: { bucket: lake.artifactsBucket, key: 'baselines/' },
      baselineConstraints: { bucket: lake.artifactsBucket, key: 'baselines/constraints.json' },
      outputBucket: lake.artifactsBucket,
    };
  };

  test('endpoint without data capture, bad schedule, a prefix as baseline: each names the prop', () => {
    const props = base();
    expect(() => new DataQualityMonitor(props.endpoint.node.scope!, 'Drift0', { ...props, scheduleExpression: 'rate(1 hour)', instanceType: 'm5.large' })).toThrow(PropsValidationError);
    let n = 0;
    const create = () => new DataQualityMonitor(props.endpoint.node.scope!, `Drift${++n}`, { ...props, scheduleExpression: 'rate(1 hour)' });
    expect(create).toThrow(/endpoint: ".*" — the endpoint captures no data/);
    expect(create).toThrow(/scheduleExpression: "rate\(1 hour\)" — must be a cron expression/);
    expect(create).toThrow(/baselineStatistics\.key: "baselines\/" — must be the key of a JSON object/);
  });
});
