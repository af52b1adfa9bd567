import { Match, Template } from 'aws-cdk-lib/assertions';
import { ConfigError, loadStageConfig } from '../../lib/config';
import { nagFindings, platformStage } from '../helpers';

// Other components off keep these stages small; the inference stack depends only on Data and Alerts.
const OTHERS_OFF = { compute: { enabled: false }, eks: { enabled: false }, sagemaker: { enabled: false }, pipelines: { enabled: false }, monitoring: { enabled: false } };

describe('LambdaInferenceStack in dev (on by default)', () => {
  const stage = platformStage('dev', OTHERS_OFF);
  const stack = stage.inferenceStack!;
  let t: Template;
  beforeAll(() => {
    t = Template.fromStack(stack);
  });

  test('named <prefix>-<stage>-Inference and tracked by the stage', () => {
    expect(stack.stackName).toBe('mlops-dev-Inference');
    expect(stage.stacks).toContain(stack);
  });

  test('serves the reference model baked into the image: x86_64 (built on x86 runners, aws/aws-cdk#28863), 2 GiB, 30 s, no S3 model', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      PackageType: 'Image', Architectures: ['x86_64'], MemorySize: 2048, Timeout: 30,
      Environment: { Variables: { MODEL_NAME: 'reference-classifier', MAX_BATCH_SIZE: '256', METRICS_NAMESPACE: 'cdk-mlops/ModelServer', POWERTOOLS_SERVICE_NAME: 'model-server' } },
    });
    const fn = Object.values(t.findResources('AWS::Lambda::Function'))[0];
    expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    t.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live', ProvisionedConcurrencyConfig: Match.absent() });
  });

  test('dev deploys all at once, still rolling back on alarms that notify the alerts topic', () => {
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
      AutoRollbackConfiguration: { Enabled: true, Events: Match.arrayWith(['DEPLOYMENT_STOP_ON_ALARM']) },
    });
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(3);
    for (const a of alarms) expect(JSON.stringify(a.Properties.AlarmActions)).toMatch(/AlertsTopic/);
  });

  test('IAM-authorized HTTP API, logs kept 30 days and deleted with the dev stack', () => {
    for (const r of Object.values(t.findResources('AWS::ApiGatewayV2::Route'))) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Delete' });
  });

  test('outputs the function name, alias name and URL', () => {
    t.hasOutput('InferenceFunctionName', { Value: { Ref: Match.stringLikeRegexp('^InferenceFunction') } });
    t.hasOutput('InferenceAliasName', { Value: 'live' });
    t.hasOutput('InferenceUrl', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^InferenceApi'), 'ApiEndpoint'] } });
  });

  test('cdk-nag AwsSolutions: no unacknowledged findings in the stage', () => {
    expect(nagFindings(stage)).toEqual([]);
  });
});

describe('LambdaInferenceStack options from config', () => {
  test('absent when switched off (staging default)', () => {
    const stage = platformStage('staging', OTHERS_OFF);
    expect(stage.inferenceStack).toBeUndefined();
    expect(stage.stacks.map((s) => s.stackName)).not.toContain('mlops-staging-Inference');
  });

  test('prod when on: reserved 100, 2 provisioned, canary 10% for 10 minutes, logs kept a year and retained', () => {
    const stage = platformStage('prod', { ...OTHERS_OFF, lambdaInference: { enabled: true } });
    const t = Template.fromStack(stage.inferenceStack!);
    t.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 100 });
    t.hasResourceProperties('AWS::Lambda::Alias', { ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 } });
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', { DeploymentConfigName: 'CodeDeployDefault.LambdaCanary10Percent10Minutes' });
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 }, DeletionPolicy: 'Retain' });
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 }) });
    expect(stage.inferenceStack!.terminationProtection).toBe(true);
  });

  test('a model artifact from the data lake: read that object and decrypt with the data lake key; cdk-nag clean', () => {
    const stage = platformStage('dev', { ...OTHERS_OFF, lambdaInference: { modelS3Key: 'models/churn/v7/model.onnx' } });
    const t = Template.fromStack(stage.inferenceStack!);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MODEL_S3_KEY: 'models/churn/v7/model.onnx', MODEL_S3_BUCKET: { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('DataLakeArtifacts'), StackName: 'mlops-dev-Data' }) } }) },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([
        Match.objectLike({ Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('DataLakeArtifacts'), StackName: 'mlops-dev-Data' }) }, '/models/churn/v7/model.onnx']] } }),
        Match.objectLike({ Action: 'kms:Decrypt' }),
      ]) },
    });
    expect(nagFindings(stage)).toEqual([]);
  });

  test('function URL with a 5-minute timeout, x86_64, canary off', () => {
    const stage = platformStage('dev', {
      ...OTHERS_OFF,
      lambdaInference: { timeoutSeconds: 300, architecture: 'x86_64', canary: { enabled: false }, frontDoor: { kind: 'functionUrl' } },
    });
    const t = Template.fromStack(stage.inferenceStack!);
    t.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    t.hasResourceProperties('AWS::Lambda::Function', { Timeout: 300, Architectures: ['x86_64'] });
    t.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
    t.hasOutput('InferenceUrl', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^InferenceAliasFunctionUrl'), 'FunctionUrl'] } });
  });

  test('JWT-authorized HTTP API from config', () => {
    const stage = platformStage('dev', {
      ...OTHERS_OFF,
      lambdaInference: { frontDoor: { auth: 'jwt', jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', jwtAudience: ['web'] } },
    });
    Template.fromStack(stage.inferenceStack!).hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT', JwtConfiguration: { Audience: ['web'] } });
  });
});

describe('lambdaInference config errors name the key, the value and what is allowed', () => {
  const load = (lambdaInference: Record<string, unknown>) => () => loadStageConfig({ stage: 'dev', overrides: { lambdaInference } });
  test.each([
    ['memory out of range', { memoryMiB: 64 }, 'lambdaInference.memoryMiB: 64 — must be between 128 and 10240 MiB'],
    ['timeout over the HTTP API limit', { timeoutSeconds: 60 }, 'lambdaInference.timeoutSeconds: 60 — must be at most 30 seconds with frontDoor.kind "httpApi"'],
    ['provisioned above reserved', { reservedConcurrency: 2, provisionedConcurrency: 5 }, 'lambdaInference.provisionedConcurrency: 5 — must not exceed reservedConcurrency (2)'],
    ['unknown architecture', { architecture: 'arm' }, 'lambdaInference.architecture: "arm" — must be "arm64" or "x86_64"'],
    ['unknown deployment config', { canary: { deploymentConfig: 'Canary50Percent' } }, 'lambdaInference.canary.deploymentConfig: "Canary50Percent" — must be one of AllAtOnce, Canary10Percent5Minutes'],
    ['latency alarm at the timeout', { canary: { latencyAlarmMs: 30000 } }, 'lambdaInference.canary.latencyAlarmMs: 30000 — must be below the timeout (30000 ms)'],
    ['JWT on a function URL', { timeoutSeconds: 30, frontDoor: { kind: 'functionUrl', auth: 'jwt', jwtIssuer: 'https://i.example.com', jwtAudience: ['a'] } }, 'lambdaInference.frontDoor.auth: "jwt" — jwt needs frontDoor.kind "httpApi"'],
    ['JWT without issuer', { frontDoor: { auth: 'jwt', jwtAudience: ['a'] } }, 'lambdaInference.frontDoor.jwtIssuer'],
    ['model key with a leading slash', { modelS3Key: '/m.onnx' }, 'lambdaInference.modelS3Key: "/m.onnx" — must be an S3 object key without a leading "/"'],
  ])('%s', (_name, override, message) => {
    expect(load(override)).toThrow(ConfigError);
    expect(load(override)).toThrow(message);
  });
});
