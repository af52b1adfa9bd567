import { type App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NIST80053R5Checks } from 'cdk-nag';
import { AlertsTopic, DataLake, lambdaPath, PlatformNetwork, PropsValidationError } from '../../../constructs';
import { isGpuInstanceType, isSageMakerInstanceType, ModelImage, SageMakerEndpoint, type SageMakerEndpointProps } from '../../../constructs/serving';
import { nagFindings, newStack, template } from '../../helpers';

const ecrImage = (stack: ReturnType<typeof newStack>) => ModelImage.fromEcrRepository(new ecr.Repository(stack, 'Repo'), 'v1');

describe('SageMakerEndpoint real-time with every option (platform network, data lake, alerts)', () => {
  const stack = newStack();
  const network = new PlatformNetwork(stack, 'Net', { removalPolicy: RemovalPolicy.DESTROY });
  const lake = new DataLake(stack, 'Lake');
  const alerts = new AlertsTopic(stack, 'Alerts');
  const endpoint = new SageMakerEndpoint(stack, 'Churn', {
    image: ModelImage.fromAsset(lambdaPath('model-server'), { file: 'Dockerfile.sagemaker' }),
    modelData: { bucket: lake.artifactsBucket, key: 'models/churn/model.tar.gz' },
    environment: { LOG_LEVEL: 'info' },
    instanceType: 'ml.c6i.xlarge',
    instanceCount: 2,
    vpc: network.vpc,
    dataCapture: { bucket: lake.artifactsBucket, samplingPercentage: 50 },
    autoScaling: { maxCapacity: 6, targetInvocationsPerInstance: 200 },
    deployment: { trafficShifting: 'linear', linearStepPercent: 25, bakeTime: Duration.minutes(7) },
    alarms: { latencyThreshold: Duration.millis(500) },
    alarmTopic: alerts.topic,
  });
  // A consumer in another stack of the app, so its own inline policy is not part of the checked stack.
  const consumer = new Stack(stack.node.root as App, 'Consumer');
  const invoker = new iam.Role(consumer, 'Invoker', { assumedBy: new iam.AccountRootPrincipal() });
  endpoint.grantInvoke(invoker);
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('a model from the staged image and model data, network-isolated, in the private subnets', () => {
    t.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: {
        Image: { 'Fn::Sub': Match.stringLikeRegexp('container-assets') },
        ModelDataUrl: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('LakeArtifacts') }, '/models/churn/model.tar.gz']] },
        Environment: { LOG_LEVEL: 'info' },
      },
      EnableNetworkIsolation: true,
      VpcConfig: { Subnets: Match.arrayWith([{ Ref: Match.stringLikeRegexp('NetVpc[pP]rivate') }]), SecurityGroupIds: Match.anyValue() },
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('HTTPS out'),
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: Match.anyValue() }],
    });
  });

  test('generated config and model names, config encrypted with the endpoint key, data capture to the artifacts bucket', () => {
    const configs = t.findResources('AWS::SageMaker::EndpointConfig');
    expect(Object.keys(configs)).toHaveLength(1);
    const config = Object.values(configs)[0].Properties;
    expect(config.EndpointConfigName).toBeUndefined();
    expect(Object.values(t.findResources('AWS::SageMaker::Model'))[0].Properties.ModelName).toBeUndefined();
    expect(JSON.stringify(config.KmsKeyId)).toMatch(/ChurnKey/);
    expect(config.ProductionVariants).toEqual([
      { VariantName: 'AllTraffic', InitialVariantWeight: 1, InstanceType: 'ml.c6i.xlarge', InitialInstanceCount: 2, ModelName: { 'Fn::GetAtt': [expect.stringMatching(/ChurnModel/), 'ModelName'] } },
    ]);
    expect(config.DataCaptureConfig).toMatchObject({
      EnableCapture: true,
      InitialSamplingPercentage: 50,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      DestinationS3Uri: { 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/LakeArtifacts/) }, `/data-capture/${endpoint.endpointName}`]] },
    });
    // Captured objects use the bucket's own key, so readers of the bucket can read them.
    expect(JSON.stringify(config.DataCaptureConfig.KmsKeyId)).toMatch(/LakeKey/);
  });

  test('blue/green linear shifting with bake time and rollback on the 5xx and latency alarms it creates', () => {
    t.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: endpoint.endpointName,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'LINEAR', LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 25 }, WaitIntervalInSeconds: 420 },
          TerminationWaitInSeconds: 300,
          MaximumExecutionTimeoutInSeconds: 3600,
        },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: { Ref: Match.stringLikeRegexp('ChurnErrors5xxAlarm') } }, { AlarmName: { Ref: Match.stringLikeRegexp('ChurnLatencyAlarm') } }] },
      },
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocation5XXErrors', Namespace: 'AWS/SageMaker', Statistic: 'Sum', Threshold: 5,
      Dimensions: [{ Name: 'EndpointName', Value: endpoint.endpointName }, { Name: 'VariantName', Value: 'AllTraffic' }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlertsTopic') }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ModelLatency', ExtendedStatistic: 'p99', Threshold: 500000, EvaluationPeriods: 3 });
    expect(endpoint.endpointName).toMatch(/^[a-z0-9-]{1,63}$/);
  });

  test('target-tracking autoscaling on invocations per instance, from the instance count to maxCapacity', () => {
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'sagemaker', ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      ResourceId: `endpoint/${endpoint.endpointName}/variant/AllTraffic`, MinCapacity: 2, MaxCapacity: 6,
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 200, PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' } },
    });
    const target = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalableTarget'))[0];
    expect(target.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/ChurnEndpoint/)]));
    // A stack update of the config keeps the fleet autoscaling sized; weights and capture come from the template.
    t.hasResourceProperties('AWS::SageMaker::Endpoint', {
      RetainAllVariantProperties: true,
      ExcludeRetainedVariantProperties: [{ VariantPropertyType: 'DesiredWeight' }, { VariantPropertyType: 'DataCaptureConfig' }],
    });
  });

  test('the execution role gets the model object, the capture prefix, its log group and the image — nothing broader', () => {
    const policy = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('ChurnExecutionRole'))![1];
    const statements = policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Sid?: string }[];
    const byAction = (a: string) => statements.filter((s) => [s.Action].flat().includes(a));
    expect(JSON.stringify(byAction('s3:GetObject').map((s) => s.Resource))).toMatch(/\/models\/churn\/model\.tar\.gz"/);
    expect(JSON.stringify(byAction('s3:PutObject').map((s) => s.Resource))).toContain(`/data-capture/${endpoint.endpointName}/*`);
    expect(JSON.stringify(byAction('logs:PutLogEvents').map((s) => s.Resource))).toContain(`log-group:/aws/sagemaker/Endpoints/${endpoint.endpointName}:*`);
    expect(byAction('ecr:BatchGetImage')).toHaveLength(1);
    for (const s of statements) expect([s.Action].flat().some((a) => a.endsWith('*') || a === '*')).toBe(false);
    expect(statements.filter((s) => s.Resource === '*').flatMap((s) => [s.Action].flat()).sort()).toEqual(
      ['ec2:DescribeDhcpOptions', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs', 'ecr:GetAuthorizationToken'],
    );
  });

  test('grantInvoke allows invoking this endpoint only (lowercase ARN, as SageMaker writes it)', () => {
    Template.fromStack(consumer).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Invoker') }],
      PolicyDocument: { Statement: [{
        Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync', 'sagemaker:InvokeEndpointWithResponseStream'],
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', Match.arrayWith([`:endpoint/${endpoint.endpointName}`])] },
      }] },
    });
  });

  test('metrics name the endpoint and variant', () => {
    const m = endpoint.metricInvocations();
    expect(m.namespace).toBe('AWS/SageMaker');
    expect(m.dimensions).toEqual({ EndpointName: endpoint.endpointName, VariantName: 'AllTraffic' });
    expect(endpoint.metricModelLatency({ statistic: 'p90' }).statistic).toBe('p90');
    expect(endpoint.metric5xx().metricName).toBe('Invocation5XXErrors');
    expect(endpoint.metric4xx().metricName).toBe('Invocation4XXErrors');
    expect(endpoint.metricOverheadLatency().metricName).toBe('OverheadLatency');
    expect(endpoint.metricInvocationsPerInstance().metricName).toBe('InvocationsPerInstance');
  });

  test('the deployment spec for approvals carries the same sizing, key, capture and guardrails', () => {
    const spec = endpoint.deploymentSpec;
    expect(spec.endpointName).toBe(endpoint.endpointName);
    expect(spec.productionVariants).toEqual([{ VariantName: 'AllTraffic', InitialVariantWeight: 1, InstanceType: 'ml.c6i.xlarge', InitialInstanceCount: 2 }]);
    expect(spec.enableNetworkIsolation).toBe(true);
    expect(spec.deploymentConfig).toMatchObject({ BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'LINEAR' } } });
    expect(spec.dataCaptureConfig).toMatchObject({ EnableCapture: true, InitialSamplingPercentage: 50 });
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing (endpoint config KMS key set)', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
  });
});

describe('SageMakerEndpoint defaults', () => {
  const stack = newStack();
  const endpoint = new SageMakerEndpoint(stack, 'Ep', { image: ecrImage(stack) });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('one real-time ml.m5.large variant, a new rotated key, isolated model, no guardrails or scaling', () => {
    t.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 })],
      KmsKeyId: Match.anyValue(),
      DataCaptureConfig: Match.absent(),
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: true, PrimaryContainer: { Image: { 'Fn::Join': Match.anyValue() } } });
    t.hasResourceProperties('AWS::SageMaker::Endpoint', { DeploymentConfig: Match.absent(), RetainAllVariantProperties: Match.absent() });
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    // Alarms exist only when something acts on them (a topic or a guardrail).
    t.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(endpoint.mode).toBe('real-time');
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
  });
});

describe('SageMakerEndpoint guardrails without a topic', () => {
  test('the rollback alarms exist without actions, acknowledged for NIST (SageMaker is what acts on them)', () => {
    const stack = newStack();
    new SageMakerEndpoint(stack, 'Ep', { image: ecrImage(stack), deployment: { trafficShifting: 'all-at-once' } });
    const t = template(stack);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    t.hasResourceProperties('AWS::SageMaker::Endpoint', { DeploymentConfig: Match.objectLike({ BlueGreenUpdatePolicy: Match.objectLike({ TrafficRoutingConfiguration: Match.objectLike({ Type: 'ALL_AT_ONCE' }) }) }) });
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
  });
});

describe('SageMakerEndpoint serverless', () => {
  const stack = newStack();
  new SageMakerEndpoint(stack, 'Ep', {
    mode: 'serverless',
    image: ModelImage.fromImageUri('763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312'),
    serverless: { memorySizeInMb: 4096, maxConcurrency: 20, provisionedConcurrency: 2 },
  });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('a serverless variant (no instances), no network isolation, the prebuilt image pulled from its repository', () => {
    t.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [{ VariantName: 'AllTraffic', InitialVariantWeight: 1, ModelName: Match.anyValue(), ServerlessConfig: { MemorySizeInMB: 4096, MaxConcurrency: 20, ProvisionedConcurrency: 2 } }],
    });
    t.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: false, PrimaryContainer: { Image: '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312' } });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: { 'Fn::Join': ['', Match.arrayWith([':ecr:us-east-1:763104351884:repository/pytorch-inference'])] },
      })]) },
    });
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
  });
});

describe('SageMakerEndpoint async', () => {
  const stack = newStack();
  const lake = new DataLake(stack, 'Lake');
  const endpoint = new SageMakerEndpoint(stack, 'Ep', {
    mode: 'async',
    image: ecrImage(stack),
    asyncInference: { outputBucket: lake.artifactsBucket, maxConcurrentInvocationsPerInstance: 4 },
    autoScaling: { maxCapacity: 3 },
  });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('results and failures under the output prefix, KMS-encrypted, success and error topics', () => {
    const config = Object.values(t.findResources('AWS::SageMaker::EndpointConfig'))[0].Properties;
    const out = config.AsyncInferenceConfig.OutputConfig;
    expect(JSON.stringify(out.S3OutputPath)).toContain(`/async-inference/${endpoint.endpointName}/output`);
    expect(JSON.stringify(out.S3FailurePath)).toContain(`/async-inference/${endpoint.endpointName}/failures`);
    expect(JSON.stringify(out.KmsKeyId)).toMatch(/LakeKey/);
    expect(out.NotificationConfig).toEqual({ SuccessTopic: { Ref: expect.stringMatching(/EpAsyncSuccess/) }, ErrorTopic: { Ref: expect.stringMatching(/EpAsyncError/) } });
    expect(config.AsyncInferenceConfig.ClientConfig).toEqual({ MaxConcurrentInvocationsPerInstance: 4 });
    t.resourceCountIs('AWS::SNS::Topic', 2);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  test('scales to zero: backlog per instance target tracking from 0, and a step that starts an instance on backlog without capacity', () => {
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0, MaxCapacity: 3 });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 5, CustomizedMetricSpecification: Match.objectLike({ MetricName: 'ApproximateBacklogSizePerInstance', Namespace: 'AWS/SageMaker' }) },
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
      StepScalingPolicyConfiguration: Match.objectLike({ AdjustmentType: 'ChangeInCapacity', StepAdjustments: Match.arrayWith([Match.objectLike({ ScalingAdjustment: 1 })]) }),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HasBacklogWithoutCapacity' });
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
  });
});

describe('SageMakerEndpoint A/B variants and GPU instances', () => {
  const stack = newStack();
  const repo = new ecr.Repository(stack, 'Repo');
  const topic = new AlertsTopic(stack, 'Alerts').topic;
  const endpoint = new SageMakerEndpoint(stack, 'Ep', {
    image: ModelImage.fromEcrRepository(repo, 'v1'),
    instanceType: 'ml.g5.xlarge',
    variants: [
      { variantName: 'champion', initialVariantWeight: 9 },
      { variantName: 'challenger', initialVariantWeight: 1, image: ModelImage.fromEcrRepository(repo, 'v2'), instanceType: 'ml.g6.xlarge' },
    ],
    deployment: { trafficShifting: 'canary', canarySizePercent: 20 },
    alarmTopic: topic,
  });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('one model per variant with its own image, weighted traffic', () => {
    t.resourceCountIs('AWS::SageMaker::Model', 2);
    const config = Object.values(t.findResources('AWS::SageMaker::EndpointConfig'))[0].Properties;
    expect(config.ProductionVariants.map((v: Record<string, unknown>) => [v.VariantName, v.InitialVariantWeight, v.InstanceType])).toEqual([
      ['champion', 9, 'ml.g5.xlarge'], ['challenger', 1, 'ml.g6.xlarge'],
    ]);
    const images = Object.values(t.findResources('AWS::SageMaker::Model')).map((m) => JSON.stringify(m.Properties.PrimaryContainer.Image));
    expect(images[0]).toContain(':v1');
    expect(images[1]).toContain(':v2');
  });

  test('local-NVMe GPU instances: no KmsKeyId (SageMaker rejects it), acknowledged with the reason', () => {
    const config = Object.values(t.findResources('AWS::SageMaker::EndpointConfig'))[0];
    expect(config.Properties.KmsKeyId).toBeUndefined();
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('canary guardrail watching both variants\' alarms', () => {
    t.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    t.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: Match.objectLike({
        BlueGreenUpdatePolicy: Match.objectLike({ TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 20 }, WaitIntervalInSeconds: 600 } }),
        AutoRollbackConfiguration: { Alarms: Match.arrayWith([{ AlarmName: { Ref: Match.stringLikeRegexp('LatencyAlarmchallenger') } }]) },
      }),
    });
    expect(endpoint.metricInvocations({ variantName: 'challenger' }).dimensions).toEqual({ EndpointName: endpoint.endpointName, VariantName: 'challenger' });
  });

  test('instance type helpers', () => {
    expect(isSageMakerInstanceType('ml.g5.xlarge')).toBe(true);
    expect(isSageMakerInstanceType('ml.t3.medium')).toBe(true);
    expect(isSageMakerInstanceType('m5.large')).toBe(false);
    expect(isSageMakerInstanceType('ml.z9.large')).toBe(false);
    expect(isGpuInstanceType('ml.g5.xlarge')).toBe(true);
    expect(isGpuInstanceType('ml.m5.large')).toBe(false);
  });
});

describe('SageMakerEndpoint validation', () => {
  const attempt = (props: Partial<SageMakerEndpointProps>) => () => {
    const stack = newStack();
    new SageMakerEndpoint(stack, 'Ep', { image: ecrImage(stack), ...props });
  };
  const lake = () => new DataLake(newStack(), 'Lake');

  test('unknown instance type', () => {
    expect(attempt({ instanceType: 'ml.m99.large' })).toThrow(/instanceType: "ml.m99.large" — must be a SageMaker hosting instance type/);
    expect(attempt({ instanceType: 'c5.large' })).toThrow(PropsValidationError);
  });

  test('serverless memory not allowed', () => {
    expect(attempt({ mode: 'serverless', serverless: { memorySizeInMb: 1500 } })).toThrow(/serverless\.memorySizeInMb: 1500 — must be one of 1024, 2048, 3072, 4096, 5120, 6144 MB/);
  });

  test('serverless provisioned concurrency above max concurrency', () => {
    expect(attempt({ mode: 'serverless', serverless: { maxConcurrency: 5, provisionedConcurrency: 6 } })).toThrow(/serverless\.provisionedConcurrency: 6/);
  });

  test('min capacity above max capacity', () => {
    expect(attempt({ autoScaling: { minCapacity: 4, maxCapacity: 2 } })).toThrow(/autoScaling\.minCapacity: 4 — must not exceed autoScaling\.maxCapacity \(2\)/);
  });

  test('async without output path', () => {
    expect(attempt({ mode: 'async' })).toThrow(/asyncInference: undefined — mode "async" needs asyncInference\.outputBucket/);
  });

  test('guardrail without alarms', () => {
    expect(attempt({ deployment: { rollbackAlarms: [] } })).toThrow(/deployment\.rollbackAlarms: \[\] — a guardrail needs at least one alarm/);
  });

  test('variant weights all zero', () => {
    expect(attempt({ variants: [{ variantName: 'a', initialVariantWeight: 0 }, { variantName: 'b', initialVariantWeight: 0 }] }))
      .toThrow(/variants\[\]\.initialVariantWeight: \[0,0\] — at least one variant needs a weight above 0/);
  });

  test('features serverless endpoints do not have', () => {
    const bucket = lake().artifactsBucket;
    expect(attempt({ mode: 'serverless', dataCapture: { bucket } })).toThrow(/dataCapture: "set" — serverless endpoints do not support data capture/);
    expect(attempt({ mode: 'serverless', deployment: {} })).toThrow(/deployment: "set" — deployment guardrails need an instance-based endpoint/);
  });

  test('a prebuilt image must be an ECR URI', () => {
    const stack = newStack();
    expect(() => new SageMakerEndpoint(stack, 'Ep', { image: ModelImage.fromImageUri('docker.io/library/nginx:latest') }))
      .toThrow(/image: "docker.io\/library\/nginx:latest" — must be an ECR image URI/);
  });

  test('every problem is reported at once', () => {
    const alarm = (s: ReturnType<typeof newStack>) => new cloudwatch.Alarm(s, 'A', { metric: new cloudwatch.Metric({ namespace: 'X', metricName: 'Y' }), threshold: 1, evaluationPeriods: 1 });
    try {
      const stack = newStack();
      new SageMakerEndpoint(stack, 'Ep', {
        image: ecrImage(stack), instanceType: 'ml.x.large', instanceCount: 0, endpointName: 'bad_name',
        deployment: { bakeTime: Duration.hours(2), rollbackAlarms: [alarm(stack)] },
      });
      throw new Error('expected a PropsValidationError');
    } catch (e) {
      expect(e).toBeInstanceOf(PropsValidationError);
      expect((e as PropsValidationError).problems.map((p) => p.split(':')[0]).sort()).toEqual(['deployment.bakeTime', 'endpointName', 'instanceCount', 'instanceType']);
    }
  });
});
