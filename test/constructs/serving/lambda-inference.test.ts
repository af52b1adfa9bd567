import { type App, Duration, Size, type Stack, Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PropsValidationError } from '../../../constructs/core/validation';
import { InferenceFrontDoor, LambdaInference, type LambdaInferenceProps } from '../../../constructs/serving';
import { nagFindings, newStack, template } from '../../helpers';

describe('LambdaInference defaults', () => {
  const stack = newStack();
  const inference = new LambdaInference(stack, 'Inf');
  const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
  inference.grantInvoke(caller);
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('container image function: x86_64, 2 GiB, 30 s, X-Ray, JSON logs to its own log group, model server env', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      PackageType: 'Image',
      Architectures: ['x86_64'],
      MemorySize: 2048,
      Timeout: 30,
      EphemeralStorage: { Size: 512 },
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('^InfLogs') } },
      Environment: { Variables: { MODEL_NAME: 'reference-classifier', METRICS_NAMESPACE: 'cdk-mlops/ModelServer', POWERTOOLS_SERVICE_NAME: 'model-server' } },
    });
    const fn = Object.values(t.findResources('AWS::Lambda::Function'))[0];
    expect(fn.Properties.Environment.Variables.MODEL_S3_BUCKET).toBeUndefined();
    expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('the image is the model server built from Dockerfile.lambda for linux/amd64, the platform of the x86 runners (staged, not built, at synth)', () => {
    const assembly = (stack.node.root as App).synth();
    const manifest = assembly.getStackArtifact(stack.artifactId).dependencies
      .map((d) => d as unknown as { file?: string; contents?: { dockerImages?: Record<string, { source: Record<string, unknown> }> } })
      .find((d) => d.contents?.dockerImages);
    const images = Object.values(manifest?.contents?.dockerImages ?? {});
    expect(images).toHaveLength(1);
    expect(images[0].source).toMatchObject({ dockerFile: 'Dockerfile.lambda', platform: 'linux/amd64' });
  });

  test('log group: KMS-encrypted with a rotating key, 3 months, retained', () => {
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 90, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^InfKey'), 'Arn'] } }, DeletionPolicy: 'Retain' });
    // A deploy that publishes the next version keeps this one: rollbacks return to it.
    t.hasResource('AWS::Lambda::Version', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('execution role: no managed policies; writes only its log group; X-Ray is the only "*"', () => {
    const roles = t.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] } } });
    expect(Object.values(roles)).toHaveLength(1);
    expect(Object.values(roles)[0].Properties.ManagedPolicyArns).toBeUndefined();
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^InfRole') }],
      PolicyDocument: { Statement: [
        { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^InfLogs'), 'Arn'] } },
        { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Effect: 'Allow', Resource: '*' },
      ] },
    });
  });

  test('version and alias "live" deployed by CodeDeploy: canary 10% for 5 minutes, rollback on alarms', () => {
    t.hasResource('AWS::Lambda::Alias', {
      Properties: { Name: 'live', FunctionVersion: { 'Fn::GetAtt': [Match.stringLikeRegexp('^InfFunctionCurrentVersion'), 'Version'] } },
      UpdatePolicy: { CodeDeployLambdaAliasUpdate: Match.objectLike({ ApplicationName: Match.anyValue(), DeploymentGroupName: Match.anyValue() }) },
    });
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentConfigName: 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
      DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
      AlarmConfiguration: { Enabled: true, Alarms: Match.arrayWith([{ Name: { Ref: Match.stringLikeRegexp('^InfErrorsAlarm') } }, { Name: { Ref: Match.stringLikeRegexp('^InfLatencyAlarm') } }]) },
      AutoRollbackConfiguration: { Enabled: true, Events: Match.arrayWith(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM']) },
    });
    expect(inference.deploymentGroup).toBeInstanceOf(codedeploy.LambdaDeploymentGroup);
  });

  test('alarms: alias errors, model-server 5xx, p99 duration at 2 s', () => {
    t.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors', Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 1, EvaluationPeriods: 2, TreatMissingData: 'notBreaching',
      Dimensions: Match.arrayWith([{ Name: 'Resource', Value: Match.anyValue() }]),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ServerErrors', Namespace: 'cdk-mlops/ModelServer', Dimensions: [{ Name: 'model', Value: 'reference-classifier' }, { Name: 'service', Value: 'model-server' }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Duration', ExtendedStatistic: 'p99', Threshold: 2000 });
  });

  test('front door: HTTP API, every route IAM-authorized, alias integration (payload 2.0, 29 s)', () => {
    t.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    const routes = Object.values(t.findResources('AWS::ApiGatewayV2::Route')).map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType]);
    expect(routes.sort()).toEqual([['GET /metadata', 'AWS_IAM'], ['GET /ping', 'AWS_IAM'], ['POST /invocations', 'AWS_IAM'], ['POST /predict', 'AWS_IAM']]);
    t.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', TimeoutInMillis: 29000, IntegrationUri: { Ref: Match.stringLikeRegexp('^InfAlias') },
    });
    t.resourceCountIs('AWS::Lambda::Url', 0);
    expect(inference.url).toBe(inference.httpApi?.apiEndpoint);
  });

  test('route invoke permissions name the API route and the account (Control Tower CT.LAMBDA.PR.2)', () => {
    const permissions = Object.values(t.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'apigateway.amazonaws.com' } }));
    expect(permissions).toHaveLength(4);
    for (const p of permissions) {
      expect(p.Properties.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
      expect(JSON.stringify(p.Properties.SourceArn)).toMatch(/execute-api/);
      // An environment-agnostic stack renders the account as a token, which the static rule cannot read: acknowledged.
      expect(p.Metadata?.guard?.SuppressedRules).toEqual(['lambda_function_public_access_prohibited_check']);
    }
  });

  test('stage: throttled (100 rps, burst 200), JSON access logs to a KMS-encrypted log group', () => {
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200, DetailedMetricsEnabled: true },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^InfAccessLogs'), 'Arn'] }, Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 90 });
    t.resourceCountIs('AWS::Logs::LogGroup', 2);
  });

  test('grantInvoke allows execute-api:Invoke on exactly the four routes of this API\'s $default stage', () => {
    const policy = Object.values(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }] } }))[0];
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect(statement.Action).toBe('execute-api:Invoke');
    const suffixes = statement.Resource.map((r: { 'Fn::Join': [string, unknown[]] }) => r['Fn::Join'][1].at(-1));
    expect(suffixes.sort()).toEqual(['/$default/GET/metadata', '/$default/GET/ping', '/$default/POST/invocations', '/$default/POST/predict']);
  });

  test('metric methods point at the alias and the model server namespace', () => {
    expect(stack.resolve(inference.metricDuration().dimensions)).toEqual({ FunctionName: { Ref: expect.stringMatching(/^InfFunction/) }, Resource: expect.anything() });
    expect(inference.metricDuration().statistic).toBe('p99');
    expect(inference.metricClientErrors()).toMatchObject({ namespace: 'cdk-mlops/ModelServer', metricName: 'ClientErrors' });
    expect(inference.metricModelServer('Examples').statistic).toBe('Sum');
    expect(inference.metricThrottles().metricName).toBe('Throttles');
    expect(inference.metricInvocations().metricName).toBe('Invocations');
  });

  test('cdk-nag AwsSolutions finds nothing unacknowledged; acknowledgements are the X-Ray and CodeDeploy ones only', () => {
    expect(nagFindings(stack)).toEqual([]);
    const all = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => `${c.node.path} ${JSON.stringify(m.data)}`));
    const acks = all.filter((a) => a.includes('AwsSolutions-'));
    expect(acks.join('\n')).toMatch(/Inf\/Role\/DefaultPolicy.*AwsSolutions-IAM5\[Resource::\*\]/);
    expect(acks.join('\n')).toMatch(/Inf\/Deployment\/ServiceRole.*AWSCodeDeployRoleForLambdaLimited/);
    expect(acks).toHaveLength(2);
    // The compliance packs' (NIST 800-53 R5, HIPAA): outside a VPC, no DLQ for a synchronous function, no reserved
    // concurrency unless given, and rollback alarms CodeDeploy acts on.
    // (Single-role inline policies are acknowledged at validation, by acknowledgeSingleRolePolicies.)
    const packRules = [...new Set(all.filter((a) => a.includes('NIST.800.53.R5-') && !a.includes('IAMNoInlinePolicy')).map((a) => `${a.split(' ')[0].replace(/^Test\/Inf\//, '')} ${/NIST\.800\.53\.R5-(\w+)/.exec(a)?.[1]}`))].sort();
    expect(packRules).toEqual([
      'ErrorsAlarm CloudWatchAlarmAction', 'Function LambdaConcurrency', 'Function LambdaDLQ', 'Function LambdaInsideVPC',
      'LatencyAlarm CloudWatchAlarmAction', 'ServerErrorsAlarm CloudWatchAlarmAction',
    ]);
  });
});

describe('LambdaInference options', () => {
  test('model from S3: env, s3:GetObject on that object only and decrypt with the bucket key', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Models', {
      encryption: s3.BucketEncryption.KMS, enforceSSL: true, serverAccessLogsPrefix: 'logs/', blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    });
    new LambdaInference(stack, 'Inf', { model: { bucket, key: 'classifier/v3/model.onnx' }, modelName: 'classifier', maxBatchSize: 32 });
    const t = template(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MODEL_S3_BUCKET: { Ref: Match.stringLikeRegexp('^Models') }, MODEL_S3_KEY: 'classifier/v3/model.onnx', MODEL_NAME: 'classifier', MAX_BATCH_SIZE: '32' }) },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([
        { Action: 's3:GetObject', Effect: 'Allow', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Models'), 'Arn'] }, '/classifier/v3/model.onnx']] } },
        { Action: 'kms:Decrypt', Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ModelsKey'), 'Arn'] } },
      ]) },
    });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('JWT authorization on the HTTP API', () => {
    const stack = newStack();
    new LambdaInference(stack, 'Inf', { authorization: { type: 'jwt', issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', audience: ['client-1'] } });
    const t = template(stack);
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT', JwtConfiguration: { Issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', Audience: ['client-1'] }, IdentitySource: ['$request.header.Authorization'],
    });
    for (const r of Object.values(t.findResources('AWS::ApiGatewayV2::Route'))) expect(r.Properties.AuthorizationType).toBe('JWT');
    expect(nagFindings(stack)).toEqual([]);
  });

  test('function URL front door: AWS_IAM auth on the alias, grantInvoke gives lambda:InvokeFunctionUrl, longer timeout allowed', () => {
    const stack = newStack();
    const inf = new LambdaInference(stack, 'Inf', { frontDoor: InferenceFrontDoor.FUNCTION_URL, timeout: Duration.minutes(2) });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    inf.grantInvoke(caller);
    const t = template(stack);
    t.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM', InvokeMode: 'BUFFERED', Qualifier: 'live' });
    t.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    t.hasResourceProperties('AWS::Lambda::Function', { Timeout: 120 });
    t.hasResourceProperties('AWS::IAM::Policy', { Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }], PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'lambda:InvokeFunctionUrl', Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } } })]) } });
    expect(inf.url).toBe(inf.functionUrl?.url);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('no front door: grantInvoke allows lambda:InvokeFunction on the alias', () => {
    const stack = newStack();
    const inf = new LambdaInference(stack, 'Inf', { frontDoor: InferenceFrontDoor.NONE });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    inf.grantInvoke(caller);
    const t = template(stack);
    t.resourceCountIs('AWS::Lambda::Url', 0);
    t.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    t.hasResourceProperties('AWS::IAM::Policy', { Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }], PolicyDocument: { Statement: [Match.objectLike({ Action: 'lambda:InvokeFunction', Resource: { Ref: Match.stringLikeRegexp('^InfAlias') } })] } });
    expect(inf.url).toBeUndefined();
  });

  test('image from an ECR repository and tag, x86_64, provisioned and reserved concurrency, linear rollout, alarm topic', () => {
    const stack = newStack();
    const repository = new ecr.Repository(stack, 'Repo', { imageTagMutability: ecr.TagMutability.IMMUTABLE, imageScanOnPush: true });
    const topic = new sns.Topic(stack, 'Alerts', { enforceSSL: true });
    new LambdaInference(stack, 'Inf', {
      repository, imageTag: 'v1.2.3', architecture: lambda.Architecture.X86_64, memorySize: 4096, ephemeralStorageSize: Size.gibibytes(2),
      reservedConcurrentExecutions: 20, provisionedConcurrentExecutions: 5, deploymentConfig: codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
      alarmTopic: topic, latencyAlarmThreshold: Duration.millis(500),
    });
    const t = template(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['x86_64'], MemorySize: 4096, EphemeralStorage: { Size: 2048 }, ReservedConcurrentExecutions: 20,
      Code: { ImageUri: { 'Fn::Join': ['', Match.arrayWith([':v1.2.3'])] } },
    });
    t.hasResourceProperties('AWS::Lambda::Alias', { ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 5 } });
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', { DeploymentConfigName: 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Duration', Threshold: 500, AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alerts') }], OKActions: [{ Ref: Match.stringLikeRegexp('^Alerts') }] });
  });

  test('canary deployments can be switched off: no CodeDeploy, alias still published', () => {
    const stack = newStack();
    const inf = new LambdaInference(stack, 'Inf', { canaryDeployments: false });
    const t = template(stack);
    t.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
    t.resourceCountIs('AWS::Lambda::Alias', 1);
    expect(inf.deploymentGroup).toBeUndefined();
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('LambdaInference validation names the prop, the value and what is allowed', () => {
  const bucket = (stack: Stack) => new s3.Bucket(stack, 'B');
  const cases: [string, (stack: Stack) => LambdaInferenceProps, string][] = [
    ['memory below 128', () => ({ memorySize: 64 }), 'memorySize: 64 — must be a whole number between 128 and 10240 MiB'],
    ['memory above 10240', () => ({ memorySize: 20480 }), 'memorySize: 20480 — must be a whole number between 128 and 10240 MiB'],
    ['timeout above 15 minutes', () => ({ timeout: Duration.minutes(16), frontDoor: InferenceFrontDoor.NONE }), 'timeout: 960 — must be a whole number between 1 and 900 seconds'],
    ['timeout longer than API Gateway allows', () => ({ timeout: Duration.seconds(60) }), 'timeout: "60 seconds" — must be at most 30 seconds with the HTTP API front door'],
    ['ephemeral storage below 512 MiB', () => ({ ephemeralStorageSize: Size.mebibytes(256) }), 'ephemeralStorageSize: 256 — must be a whole number between 512 and 10240 MiB'],
    ['reserved concurrency 0', () => ({ reservedConcurrentExecutions: 0 }), 'reservedConcurrentExecutions: 0 — must be a whole number between 1 and 10000'],
    ['provisioned concurrency 0', () => ({ provisionedConcurrentExecutions: 0 }), 'provisionedConcurrentExecutions: 0 — must be a whole number between 1 and 10000'],
    ['provisioned above reserved', () => ({ reservedConcurrentExecutions: 5, provisionedConcurrentExecutions: 10 }), 'provisionedConcurrentExecutions: 10 — must not exceed reservedConcurrentExecutions (5)'],
    ['repository without tag', (s) => ({ repository: new ecr.Repository(s, 'R') }), 'imageTag: undefined — is required with repository'],
    ['repository and asset directory', (s) => ({ repository: new ecr.Repository(s, 'R'), imageTag: 'v1', assetDirectory: '/tmp/x' }), 'assetDirectory: "/tmp/x" — must not be set together with repository'],
    ['malformed tag', (s) => ({ repository: new ecr.Repository(s, 'R'), imageTag: 'v1 beta' }), 'imageTag: "v1 beta" — must be an image tag'],
    ['JWT on a function URL', () => ({ frontDoor: InferenceFrontDoor.FUNCTION_URL, authorization: { type: 'jwt', issuer: 'https://issuer.example.com', audience: ['a'] } }), 'authorization: "jwt" — JWT authorization needs frontDoor HTTP_API'],
    ['JWT issuer not https', () => ({ authorization: { type: 'jwt', issuer: 'http://issuer.example.com', audience: ['a'] } }), 'authorization.issuer: "http://issuer.example.com" — must be an https:// issuer URL'],
    ['JWT without audience', () => ({ authorization: { type: 'jwt', issuer: 'https://issuer.example.com', audience: [] } }), 'authorization.audience: [] — must list at least one accepted audience'],
    ['latency alarm at the timeout', () => ({ latencyAlarmThreshold: Duration.seconds(30) }), 'latencyAlarmThreshold: "30000 ms" — must be above 0 and below the timeout (30000 ms)'],
    ['alias name of digits', () => ({ aliasName: '123' }), 'aliasName: "123" — must be 1-128 letters, digits, "-" or "_", and not only digits'],
    ['model key with a leading slash', (s) => ({ model: { bucket: bucket(s), key: '/model.onnx' } }), 'model.key: "/model.onnx" — must be a non-empty S3 object key without a leading "/"'],
    ['throttle rate 0', () => ({ throttleRateLimit: 0 }), 'throttleRateLimit: 0 — must be a whole number between 1 and 100000 requests per second'],
  ];

  test.each(cases)('%s', (_name, props, message) => {
    const stack = newStack();
    expect(() => new LambdaInference(stack, 'Inf', props(stack))).toThrow(message);
  });

  test('every problem is reported at once, with the construct path', () => {
    const stack = newStack();
    let error: unknown;
    try {
      new LambdaInference(stack, 'Inf', { memorySize: 1, reservedConcurrentExecutions: 2, provisionedConcurrentExecutions: 3, timeout: Duration.seconds(45) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PropsValidationError);
    expect((error as PropsValidationError).message).toContain('LambdaInference at "Test/Inf" has invalid props');
    expect((error as PropsValidationError).problems).toHaveLength(3);
  });
});
