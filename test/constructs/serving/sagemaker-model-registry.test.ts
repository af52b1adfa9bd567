import * as fs from 'node:fs';
import * as path from 'node:path';
import { type App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NIST80053R5Checks } from 'cdk-nag';
import { AlertsTopic, DataLake, ImageRegistry, PlatformNetwork, PropsValidationError } from '../../../constructs';
import { ModelImage, ModelRegistry, SageMakerEndpoint } from '../../../constructs/serving';
import { fileAssetPaths, nagFindings, newStack, template } from '../../helpers';

describe('ModelRegistry with approval-driven deployment', () => {
  const stack = newStack();
  const network = new PlatformNetwork(stack, 'Net', { removalPolicy: RemovalPolicy.DESTROY });
  const lake = new DataLake(stack, 'Lake');
  const images = new ImageRegistry(stack, 'Images', { repositories: ['inference'] });
  const alerts = new AlertsTopic(stack, 'Alerts');
  const endpoint = new SageMakerEndpoint(stack, 'Churn', {
    image: ModelImage.fromEcrRepository(images.repositories.inference, 'bootstrap', images.encryptionKey),
    endpointName: 'mlops-dev-churn',
    instanceCount: 2,
    vpc: network.vpc,
    deployment: { trafficShifting: 'canary' },
    alarmTopic: alerts.topic,
  });
  const registry = new ModelRegistry(stack, 'Registry', {
    modelPackageGroupName: 'churn',
    description: 'Churn classifier',
    crossAccountIds: ['222222222222', '333333333333'],
    deployment: {
      endpoint,
      alarmTopic: alerts.topic,
      vpc: network.vpc,
      modelArtifactsBucket: lake.artifactsBucket,
      imageRepositories: [images.repositories.inference],
      imageEncryptionKey: images.encryptionKey,
    },
  });
  const pipeline = new iam.Role(stack, 'Pipeline', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
  registry.grantRegister(pipeline);
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('a model package group with a resource policy for the other stages\' accounts, retained', () => {
    t.hasResource('AWS::SageMaker::ModelPackageGroup', {
      Properties: {
        ModelPackageGroupName: 'churn',
        ModelPackageGroupDescription: 'Churn classifier',
        ModelPackageGroupPolicy: {
          Version: '2012-10-17',
          Statement: [
            Match.objectLike({ Sid: 'CrossAccountReadGroup', Action: 'sagemaker:DescribeModelPackageGroup', Principal: { AWS: Match.arrayWith([Match.objectLike({ 'Fn::Join': Match.anyValue() })]) } }),
            Match.objectLike({ Sid: 'CrossAccountDeployPackages', Action: ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages', 'sagemaker:CreateModel'] }),
          ],
        },
      },
      DeletionPolicy: 'Retain',
    });
    expect(JSON.stringify(t.findResources('AWS::SageMaker::ModelPackageGroup'))).toContain(':iam::333333333333:root');
  });

  test('EventBridge rule on approved versions of this group → KMS-encrypted queue with a dead-letter queue', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.sagemaker'],
        'detail-type': ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: ['churn'], ModelApprovalStatus: ['Approved'] },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RegistryQueue'), 'Arn'] } })],
    });
    t.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 360,
      KmsMasterKeyId: Match.anyValue(),
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RegistryDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 12 },
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('the handler: bundled Node.js 24 on arm64 in the VPC, fed one event at a time with partial batch failures', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Environment: { Variables: Match.objectLike({ MODEL_PACKAGE_GROUP_NAME: 'churn', RESOURCE_NAME_PREFIX: 'mlops-dev-churn', POWERTOOLS_SERVICE_NAME: 'model-approval' }) },
    });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const fn = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }))[0];
    const spec = JSON.stringify(fn.Properties.Environment.Variables.DEPLOYMENT_SPEC);
    for (const part of ['mlops-dev-churn', 'ml.m5.large', 'CANARY', 'AutoRollbackConfiguration', 'EnableNetworkIsolation']) expect(spec).toContain(part);
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365, KmsKeyId: Match.anyValue() });
  });

  test('the bundle leaves out the AWS SDK (it is in the Lambda runtime) and keeps Powertools', () => {
    const assembly = (stack.node.root as App).synth();
    const bundles = fileAssetPaths(assembly.directory)
      .map((dir) => path.join(dir, 'index.js'))
      .filter((file) => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('DEPLOYMENT_SPEC'));
    expect(bundles).toHaveLength(1);
    const code = fs.readFileSync(bundles[0], 'utf8');
    expect(code).toMatch(/require\("@aws-sdk\/client-sagemaker"\)/);
    expect(code).toContain('POWERTOOLS');
  });

  test('handler permissions: this group\'s packages, this endpoint, names under its prefix, PassRole to SageMaker only', () => {
    const policy = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('RegistryHandlerRole'))![1];
    const statements = policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
    const text = JSON.stringify(statements);
    expect(text).toContain(':model-package/churn/*');
    expect(text).toContain(':model/mlops-dev-churn-v*');
    expect(text).toContain(':endpoint-config/mlops-dev-churn-v*');
    expect(text).toContain(':endpoint/mlops-dev-churn"');
    const pass = statements.find((s) => s.Action === 'iam:PassRole')!;
    expect(pass.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
    expect(statements.filter((s) => s.Resource === '*').flatMap((s) => [s.Action].flat()).sort()).toEqual(
      ['ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:UnassignPrivateIpAddresses', 'sagemaker:ListModelPackages'],
    );
  });

  test('one owner per endpoint: the endpoint config takes its name and models from the handler\'s Custom::ServedModel', () => {
    const [[servedId, served]] = Object.entries(t.findResources('Custom::ServedModel'));
    const fnId = Object.keys(t.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler', Environment: { Variables: { MODEL_PACKAGE_GROUP_NAME: 'churn' } } } }))[0];
    expect(served.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(served.Properties.EndpointName).toBe('mlops-dev-churn');
    // The template's model (served until a version is approved) and the spec: a changed config asks again.
    const [modelId] = Object.keys(t.findResources('AWS::SageMaker::Model'));
    expect(served.Properties.BakedModelNames).toEqual([{ 'Fn::GetAtt': [modelId, 'ModelName'] }]);
    expect(JSON.stringify(served.Properties.Spec)).toContain('ml.m5.large');
    const config = Object.values(t.findResources('AWS::SageMaker::EndpointConfig'))[0];
    expect(config.Properties.EndpointConfigName).toEqual({ 'Fn::GetAtt': [servedId, 'EndpointConfigName'] });
    expect(config.Properties.ProductionVariants.map((v: { ModelName: unknown }) => v.ModelName)).toEqual([{ 'Fn::GetAtt': [servedId, 'ModelName0'] }]);
    expect(() => endpoint.chooseModelsWith(registry.handler!)).toThrow(/already chosen/);
    expect(() => endpoint.chooseModelsWith(registry.handler!)).toThrow(PropsValidationError);
  });

  test('the endpoint role may read registered artifacts under models/ and pull the registry\'s images', () => {
    const policy = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('ChurnExecutionRole'))![1];
    const text = JSON.stringify(policy.Properties.PolicyDocument);
    expect(text).toContain('/models/*');
    expect(text).toContain('ecr:BatchGetImage');
  });

  test('dead-lettered deployments and handler errors alarm to the alerts topic', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('RegistryDeadLetterQueue'), 'QueueName'] } }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlertsTopic') }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', AlarmActions: Match.anyValue() });
  });

  test('grantRegister lets a pipeline add versions to this group only', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Pipeline') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackageGroup'] })] },
    });
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing', () => {
    expect(nagFindings(stack).filter((f) => !f.includes('/Pipeline/'))).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks()).filter((f) => !f.includes('/Pipeline/'))).toEqual([]);
  });
});

describe('ModelRegistry without deployment', () => {
  test('only the group: no handler, queue or rule; no resource policy without accounts', () => {
    const stack = newStack();
    const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'Fraud-Model', removalPolicy: RemovalPolicy.DESTROY });
    const reviewer = new iam.Role(stack, 'Reviewer', { assumedBy: new iam.AccountRootPrincipal() });
    registry.grantApprove(reviewer);
    const t = template(stack);
    t.resourceCountIs('AWS::Lambda::Function', 0);
    t.resourceCountIs('AWS::SQS::Queue', 0);
    t.hasResource('AWS::SageMaker::ModelPackageGroup', { Properties: { ModelPackageGroupName: 'Fraud-Model', ModelPackageGroupPolicy: Match.absent() }, DeletionPolicy: 'Delete' });
    expect(registry.handler).toBeUndefined();
    // SageMaker ARNs carry names in lowercase.
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).toContain(':model-package/fraud-model/*');
    // Listing has no resource type in IAM: granted on "*", alone in its statement.
    t.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: Match.arrayWith([{ Action: 'sagemaker:ListModelPackages', Effect: 'Allow', Resource: '*' }]) } });
    expect(nagFindings(stack).filter((f) => !f.includes('/Reviewer/'))).toEqual([]);
  });
});

test('promoterAccountIds: another account\'s pipeline may add and read versions of the group, nothing else', () => {
  const stack = newStack();
  new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'churn', promoterAccountIds: ['111111111111'] });
  const group = Object.values(template(stack).findResources('AWS::SageMaker::ModelPackageGroup'))[0];
  const statements = group.Properties.ModelPackageGroupPolicy.Statement;
  expect(statements.map((x: { Sid: string; Action: unknown }) => [x.Sid, x.Action])).toEqual([
    ['CrossAccountPromoteGroup', 'sagemaker:DescribeModelPackageGroup'],
    ['CrossAccountPromotePackages', ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage']],
  ]);
  expect(JSON.stringify(statements)).toContain(':iam::111111111111:root');
  expect(JSON.stringify(statements[1].Resource)).toContain(':model-package/churn/*');
});

describe('ModelRegistry validation', () => {
  test('group name, accounts and retry interval name the prop', () => {
    const stack = newStack();
    const endpoint = new SageMakerEndpoint(stack, 'Ep', { mode: 'serverless', image: ModelImage.fromImageUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/m:1') });
    try {
      new ModelRegistry(stack, 'Registry', {
        modelPackageGroupName: 'churn_model',
        crossAccountIds: ['12345'],
        promoterAccountIds: ['1111'],
        deployment: { endpoint, retryInterval: Duration.minutes(1), maxReceiveCount: 0 },
      });
      throw new Error('expected a PropsValidationError');
    } catch (e) {
      expect(e).toBeInstanceOf(PropsValidationError);
      const message = (e as Error).message;
      expect(message).toMatch(/modelPackageGroupName: "churn_model" — must be 1-63 letters, digits and hyphens/);
      expect(message).toMatch(/crossAccountIds: "12345" — each must be a 12-digit account id/);
      expect(message).toMatch(/promoterAccountIds: "1111" — each must be a 12-digit account id/);
      expect(message).toMatch(/deployment\.retryInterval: 60 — must be a whole number between 360 and 43200/);
      expect(message).toMatch(/deployment\.maxReceiveCount: 0/);
    }
  });
});

describe('ModelRegistry deploying to an autoscaled endpoint: scaling around an instance type change', () => {
  const stack = newStack();
  const images = new ImageRegistry(stack, 'Images', { repositories: ['inference'] });
  const endpoint = new SageMakerEndpoint(stack, 'Churn', {
    image: ModelImage.fromEcrRepository(images.repositories.inference, 'bootstrap', images.encryptionKey),
    endpointName: 'mlops-dev-churn',
    instanceCount: 2,
    autoScaling: { maxCapacity: 6 },
    deployment: { trafficShifting: 'canary' },
  });
  new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'churn', deployment: { endpoint } });
  // An asynchronous endpoint scales from zero with a step scaling policy and its alarm.
  const lake = new DataLake(stack, 'Lake');
  const batch = new SageMakerEndpoint(stack, 'Batch', {
    image: ModelImage.fromEcrRepository(images.repositories.inference, 'bootstrap', images.encryptionKey),
    endpointName: 'mlops-dev-batch', mode: 'async', asyncInference: { outputBucket: lake.artifactsBucket }, autoScaling: { minCapacity: 0, maxCapacity: 2 },
  });
  new ModelRegistry(stack, 'BatchRegistry', { modelPackageGroupName: 'batch', deployment: { endpoint: batch } });
  const plain = newStack();
  const plainImages = new ImageRegistry(plain, 'Images', { repositories: ['inference'] });
  new ModelRegistry(plain, 'Registry', {
    modelPackageGroupName: 'churn',
    deployment: { endpoint: new SageMakerEndpoint(plain, 'Churn', { image: ModelImage.fromEcrRepository(plainImages.repositories.inference, 'bootstrap'), endpointName: 'mlops-dev-churn' }) },
  });
  let t: Template;
  beforeAll(() => { t = template(stack); });

  test('the recorded event is routed to the approval queue, for this endpoint only', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['cdk-mlops.model-approval'], 'detail-type': ['Endpoint Scaling Suspended'], detail: { EndpointName: ['mlops-dev-churn'] } },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RegistryQueue'), 'Arn'] } })],
    });
  });

  test('the handler may deregister and register SageMaker variant targets only, and record only its own event', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^RegistryHandlerRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Action: ['application-autoscaling:DescribeScalableTargets', 'application-autoscaling:DescribeScalingPolicies'], Effect: 'Allow', Resource: '*' },
          {
            Sid: 'SuspendEndpointScaling', Effect: 'Allow',
            Action: ['application-autoscaling:DeregisterScalableTarget', 'application-autoscaling:PutScalingPolicy', 'application-autoscaling:RegisterScalableTarget'],
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':application-autoscaling:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':scalable-target/*']] },
            Condition: { StringEquals: { 'application-autoscaling:service-namespace': 'sagemaker', 'application-autoscaling:scalable-dimension': 'sagemaker:variant:DesiredInstanceCount' } },
          },
          Match.objectLike({ Action: 'iam:CreateServiceLinkedRole', Condition: { StringLike: { 'iam:AWSServiceName': 'sagemaker.application-autoscaling.amazonaws.com' } } }),
          Match.objectLike({ Action: 'events:PutEvents', Condition: Match.objectLike({ 'ForAllValues:StringEquals': { 'events:source': ['cdk-mlops.model-approval'], 'events:detail-type': ['Endpoint Scaling Suspended'] } }) }),
        ]),
      },
    });
  });

  test('async: the handler is told the scale-from-zero alarm and the policy it runs, and may read and rewrite exactly that alarm', () => {
    const alarms = t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'HasBacklogWithoutCapacity' } });
    expect(Object.keys(alarms)).toHaveLength(1);
    const [alarmId] = Object.keys(alarms);
    const policyId = alarms[alarmId].Properties.AlarmActions[0].Ref as string;
    const policyName = t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')[policyId].Properties.PolicyName as string;
    // Named after the endpoint and variant: the handler is told and granted it by name (a reference would close a
    // cycle: alarm → policy → target → endpoint → config → Custom::ServedModel → handler).
    expect(alarms[alarmId].Properties.AlarmName).toBe('mlops-dev-batch-AllTraffic-scale-from-zero');
    expect(batch.scalingAlarms?.map((a) => [a.variantName, a.policyName, a.alarmName])).toEqual([['AllTraffic', policyName, 'mlops-dev-batch-AllTraffic-scale-from-zero']]);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({
        MODEL_PACKAGE_GROUP_NAME: 'batch',
        SCALING_ALARMS: JSON.stringify([{ VariantName: 'AllTraffic', PolicyName: policyName, AlarmName: 'mlops-dev-batch-AllTraffic-scale-from-zero' }]),
      }) },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^BatchRegistryHandlerRole') }],
      PolicyDocument: { Statement: Match.arrayWith([{
        Sid: 'RepointScalingAlarms', Effect: 'Allow', Action: ['cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm'],
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:mlops-dev-batch-AllTraffic-scale-from-zero']] },
      }]) },
    });
    // The real-time endpoint's alarms are its policies' own (target tracking): no variable, no CloudWatch write.
    const realtime = Object.values(t.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === 'churn')!;
    expect(realtime.Properties.Environment.Variables.SCALING_ALARMS).toBeUndefined();
    const realtimePolicies = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) => /^RegistryHandlerRole/.test(p.Properties.Roles[0].Ref));
    expect(JSON.stringify(realtimePolicies)).not.toContain('cloudwatch:PutMetricAlarm');
  });

  test('an endpoint without autoscaling gets neither', () => {
    const p = template(plain);
    p.resourcePropertiesCountIs('AWS::Events::Rule', { EventPattern: Match.objectLike({ source: ['cdk-mlops.model-approval'] }) }, 0);
    expect(JSON.stringify(p.findResources('AWS::IAM::Policy'))).not.toMatch(/application-autoscaling:DeregisterScalableTarget|events:PutEvents/);
  });

  test('cdk-nag clean: the scalable-target wildcard is acknowledged with its reason', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});
