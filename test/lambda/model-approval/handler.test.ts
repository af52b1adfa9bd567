import {
  CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand, DescribeEndpointConfigCommand,
  DescribeModelCommand, DescribeModelPackageCommand, ListModelPackagesCommand, SageMakerClient, SageMakerServiceException, UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { deploy, handler, logger, metrics, resourceName, sagemaker, servedModels, versionOfConfig, type DeploymentSpec } from '../../../lambda/model-approval';

const GROUP = 'churn';
const PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/3';
const SPEC: DeploymentSpec = {
  EndpointName: 'mlops-dev-churn',
  ExecutionRoleArn: 'arn:aws:iam::111111111111:role/endpoint-role',
  EnableNetworkIsolation: true,
  VpcConfig: { SecurityGroupIds: ['sg-0123456789abcdef0'], Subnets: ['subnet-0123456789abcdef0'] },
  Environment: { LOG_LEVEL: 'info' },
  ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', InitialInstanceCount: 2, InitialVariantWeight: 1 }],
  KmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/1234',
  DataCaptureConfig: { EnableCapture: true, InitialSamplingPercentage: 20, DestinationS3Uri: 's3://artifacts/data-capture/churn', CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }] },
  DeploymentConfig: {
    BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 } },
    AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'churn-5xx' }, { AlarmName: 'churn-latency' }] },
  },
};
const NAME = resourceName('mlops-dev-churn', 3, PACKAGE_ARN);

const sm = mockClient(SageMakerClient);

const stateChange = (status = 'Approved', overrides: Record<string, unknown> = {}) => ({
  version: '0',
  id: 'b4c5d6e7',
  source: 'aws.sagemaker',
  'detail-type': 'SageMaker Model Package State Change',
  account: '111111111111',
  region: 'us-east-1',
  time: '2026-11-23T09:00:00Z',
  resources: [PACKAGE_ARN],
  detail: {
    ModelPackageGroupName: GROUP,
    ModelPackageVersion: 3,
    ModelPackageArn: PACKAGE_ARN,
    ModelApprovalStatus: status,
    CreationTime: 1763888400000,
    ...overrides,
  },
});

const sqs = (...bodies: unknown[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m${i + 1}`,
    receiptHandle: `r${i + 1}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'events', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111111111111:approvals',
    awsRegion: 'us-east-1',
  })),
});

const sdkError = (name: string, message: string, status: number, retryable = false) =>
  new SageMakerServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, ...(retryable ? { $retryable: { throttling: true } } : {}) });
const notFound = (what: string) => sdkError('ValidationException', `Could not find ${what} "${NAME}".`, 400);

/** Happy path: package approved, endpoint InService on an older config, model and config not yet created. */
function givenInServiceEndpoint(): void {
  sm.on(DescribeModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN, ModelApprovalStatus: 'Approved' } as never);
  sm.on(DescribeEndpointCommand).resolves({ EndpointName: SPEC.EndpointName, EndpointStatus: 'InService', EndpointConfigName: 'mlops-dev-churn-v2-aaaaaaaa' } as never);
  sm.on(DescribeModelCommand).rejects(notFound('model'));
  sm.on(DescribeEndpointConfigCommand).rejects(notFound('endpoint configuration'));
  sm.on(CreateModelCommand).resolves({ ModelArn: 'arn' });
  sm.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: 'arn' });
  sm.on(UpdateEndpointCommand).resolves({ EndpointArn: 'arn' });
  sm.on(CreateEndpointCommand).resolves({ EndpointArn: 'arn' });
}

const failures = (r: unknown) => (r as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier);

beforeAll(() => {
  process.env.DEPLOYMENT_SPEC = JSON.stringify(SPEC);
  process.env.MODEL_PACKAGE_GROUP_NAME = GROUP;
  process.env.RESOURCE_NAME_PREFIX = 'mlops-dev-churn';
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'test';
});
// Record the structured log entries (message, level and extra keys) instead of printing them.
let entries: Record<string, unknown>[] = [];
let counted: string[] = [];
beforeEach(() => {
  sm.reset();
  entries = [];
  counted = [];
  jest.spyOn(metrics, 'addMetric').mockImplementation(((name: string) => void counted.push(name)) as never);
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  for (const level of ['info', 'warn', 'error'] as const) {
    jest.spyOn(logger, level).mockImplementation(((message: string, extra?: Record<string, unknown>) => {
      entries.push({ level: level.toUpperCase(), message, ...extra });
    }) as never);
  }
});
afterEach(() => jest.restoreAllMocks());
const logged = (): Record<string, unknown>[] => entries;

describe('model approval handler', () => {
  test('approved: creates a model from the package and a config from the spec, then updates the endpoint with the guardrails', async () => {
    givenInServiceEndpoint();
    const result = await handler(sqs(stateChange()));
    expect(failures(result)).toEqual([]);

    const model = sm.commandCalls(CreateModelCommand)[0].args[0].input;
    expect(model).toMatchObject({
      ModelName: NAME,
      ExecutionRoleArn: SPEC.ExecutionRoleArn,
      Containers: [{ ModelPackageName: PACKAGE_ARN, Environment: { LOG_LEVEL: 'info' } }],
      EnableNetworkIsolation: true,
      VpcConfig: SPEC.VpcConfig,
    });
    const config = sm.commandCalls(CreateEndpointConfigCommand)[0].args[0].input;
    expect(config).toMatchObject({
      EndpointConfigName: NAME,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: NAME, InstanceType: 'ml.m5.large', InitialInstanceCount: 2 }],
      KmsKeyId: SPEC.KmsKeyId,
      DataCaptureConfig: SPEC.DataCaptureConfig,
    });
    expect(sm.commandCalls(UpdateEndpointCommand)[0].args[0].input).toEqual({
      EndpointName: 'mlops-dev-churn',
      EndpointConfigName: NAME,
      DeploymentConfig: SPEC.DeploymentConfig,
    });
    expect(sm.commandCalls(CreateEndpointCommand)).toHaveLength(0);
    expect(logged().some((l) => l.message === 'Endpoint update started with the approved model' && l.level === 'INFO' && l.endpointConfigName === NAME)).toBe(true);
    expect(counted).toEqual(['Outcome_deployed']);
  });

  test('names are deterministic per package version, at most 63 characters', () => {
    expect(NAME).toMatch(/^mlops-dev-churn-v3-[0-9a-f]{8}$/);
    expect(resourceName('x'.repeat(63), 123456, PACKAGE_ARN).length).toBeLessThanOrEqual(63);
    expect(resourceName('mlops-dev-churn', 3, `${PACKAGE_ARN}0`)).not.toBe(NAME);
  });

  test('rejected: nothing is created or updated', async () => {
    givenInServiceEndpoint();
    const result = await handler(sqs(stateChange('Rejected')));
    expect(failures(result)).toEqual([]);
    expect(sm.calls()).toHaveLength(0);
  });

  test('stale approval (rejected since the event): the registry wins, nothing is deployed', async () => {
    givenInServiceEndpoint();
    sm.on(DescribeModelPackageCommand).resolves({ ModelApprovalStatus: 'Rejected' } as never);
    const result = await handler(sqs(stateChange()));
    expect(failures(result)).toEqual([]);
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  test('duplicate event: the endpoint already runs this version, nothing is done twice', async () => {
    givenInServiceEndpoint();
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService', EndpointConfigName: NAME } as never);
    const result = await handler(sqs(stateChange()));
    expect(failures(result)).toEqual([]);
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
    expect(sm.commandCalls(CreateEndpointConfigCommand)).toHaveLength(0);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
    expect(counted).toEqual(['Outcome_duplicate']);
  });

  test('duplicate event during the deployment it started: recognised from the pending deployment', async () => {
    givenInServiceEndpoint();
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'Updating', EndpointConfigName: 'old', PendingDeploymentSummary: { EndpointConfigName: NAME } } as never);
    expect(failures(await handler(sqs(stateChange())))).toEqual([]);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  test('retry after a partial failure: existing model and config are reused, the endpoint is updated', async () => {
    givenInServiceEndpoint();
    sm.on(DescribeModelCommand).resolves({ ModelName: NAME } as never);
    sm.on(DescribeEndpointConfigCommand).resolves({ EndpointConfigName: NAME } as never);
    expect(failures(await handler(sqs(stateChange())))).toEqual([]);
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
    expect(sm.commandCalls(CreateEndpointConfigCommand)).toHaveLength(0);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(1);
  });

  test('endpoint updating: the deployment is deferred (batch item failure, SQS redelivers), nothing is created', async () => {
    givenInServiceEndpoint();
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'Updating', EndpointConfigName: 'mlops-dev-churn-v2-aaaaaaaa' } as never);
    const result = await handler(sqs(stateChange()));
    expect(failures(result)).toEqual(['m1']);
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
    expect(logged().find((l) => l.level === 'WARN')).toMatchObject({ error: 'EndpointBusyError', retryable: true, messageId: 'm1' });
    expect(counted).toEqual(['Deferred']);
  });

  test('endpoint became busy between describe and update: deferred', async () => {
    givenInServiceEndpoint();
    sm.on(UpdateEndpointCommand).rejects(sdkError('ValidationException', 'Cannot update in-progress endpoint "arn".', 400));
    expect(failures(await handler(sqs(stateChange())))).toEqual(['m1']);
    expect(logged().find((l) => l.level === 'WARN')).toMatchObject({ error: 'EndpointBusyError' });
  });

  test('endpoint missing: it is created from the new config', async () => {
    givenInServiceEndpoint();
    sm.on(DescribeEndpointCommand).rejects(sdkError('ValidationException', 'Could not find endpoint "mlops-dev-churn".', 400));
    const result = await handler(sqs(stateChange()));
    expect(failures(result)).toEqual([]);
    expect(sm.commandCalls(CreateEndpointCommand)[0].args[0].input).toEqual({
      EndpointName: 'mlops-dev-churn',
      EndpointConfigName: NAME,
      Tags: [{ Key: 'ModelPackageArn', Value: PACKAGE_ARN }],
    });
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  test('endpoint failed: reported as a failure (retried, then dead-lettered) with the reason', async () => {
    givenInServiceEndpoint();
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'Failed', FailureReason: 'image not found', EndpointConfigName: 'old' } as never);
    expect(failures(await handler(sqs(stateChange())))).toEqual(['m1']);
    expect(logged().find((l) => l.level === 'ERROR')).toMatchObject({ error: 'EndpointFailedError', retryable: false, reason: expect.stringContaining('image not found') });
  });

  test('throttled beyond the SDK retries: deferred as retryable', async () => {
    givenInServiceEndpoint();
    sm.on(CreateModelCommand).rejects(sdkError('ThrottlingException', 'Rate exceeded', 400, true));
    expect(failures(await handler(sqs(stateChange())))).toEqual(['m1']);
    expect(logged().find((l) => l.level === 'WARN')).toMatchObject({ error: 'ThrottlingException', retryable: true });
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  test('the client retries throttling itself first (adaptive mode, 6 attempts)', async () => {
    expect(await sagemaker.config.maxAttempts()).toBe(6);
    expect(((await sagemaker.config.retryStrategy()) as { mode?: string }).mode).toBe('adaptive');
  });

  test('access denied: an error log and a batch item failure (dead-lettered after the retries)', async () => {
    givenInServiceEndpoint();
    sm.on(DescribeModelPackageCommand).rejects(sdkError('AccessDeniedException', 'User is not authorized to perform: sagemaker:DescribeModelPackage', 400));
    expect(failures(await handler(sqs(stateChange())))).toEqual(['m1']);
    expect(logged().find((l) => l.level === 'ERROR')).toMatchObject({ error: 'AccessDeniedException', retryable: false });
    expect(counted).toEqual(['Failed']);
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
  });

  test('a concurrent delivery created the model first: treated as existing', async () => {
    givenInServiceEndpoint();
    sm.on(CreateModelCommand).rejects(sdkError('ValidationException', `Cannot create already existing model "${NAME}".`, 400));
    expect(failures(await handler(sqs(stateChange())))).toEqual([]);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(1);
  });

  test('malformed and foreign messages are dropped, the rest of the batch is processed', async () => {
    givenInServiceEndpoint();
    const result = await handler(sqs('not json', { detail: { foo: 1 } }, stateChange('Approved', { ModelPackageGroupName: 'other' }), stateChange()));
    expect(failures(result)).toEqual([]);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(1);
    expect(logged().filter((l) => l.level === 'ERROR')).toHaveLength(2);
  });

  test('invoked directly by EventBridge: returns the outcome, throws to make Lambda retry', async () => {
    givenInServiceEndpoint();
    await expect(handler(stateChange())).resolves.toEqual({ outcome: 'deployed' });
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'Creating' } as never);
    await expect(handler(stateChange())).rejects.toThrow(/Creating; deployment .* deferred/);
  });
});

describe('model approval handler: order and capacity', () => {
  const cfg = (spec: Partial<DeploymentSpec> = {}) => ({ spec: { ...SPEC, ...spec }, groupName: GROUP, namePrefix: 'mlops-dev-churn' });

  test('a deferred older approval arriving after a newer one is deployed is ignored (standard queues reorder)', async () => {
    givenInServiceEndpoint();
    const v5 = resourceName('mlops-dev-churn', 5, 'arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/5');
    sm.on(DescribeEndpointCommand).resolves({ EndpointName: SPEC.EndpointName, EndpointStatus: 'InService', EndpointConfigName: v5 } as never);
    expect(await deploy(stateChange(), cfg())).toBe('superseded');
    // Also while the newer one is still rolling out.
    sm.on(DescribeEndpointCommand).resolves({ EndpointName: SPEC.EndpointName, EndpointStatus: 'Updating', EndpointConfigName: 'mlops-dev-churn-v2-aaaaaaaa', PendingDeploymentSummary: { EndpointConfigName: v5 } } as never);
    expect(await deploy(stateChange(), cfg())).toBe('superseded');
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  test('configs not made by the handler (CloudFormation\'s) count as version 0; other prefixes are not parsed', () => {
    expect(versionOfConfig('mlops-dev-churn', 'ConfigABC-1234')).toBe(0);
    expect(versionOfConfig('mlops-dev-churn', resourceName('mlops-dev-churn', 12, PACKAGE_ARN))).toBe(12);
    expect(versionOfConfig('mlops-dev-churn', resourceName('mlops-dev-other', 12, PACKAGE_ARN))).toBe(0);
  });

  test('an autoscaled fleet keeps its current instance count; weights and capture come from the new config', async () => {
    givenInServiceEndpoint();
    expect(await deploy(stateChange(), cfg({ AutoScaledVariants: ['AllTraffic'] }))).toBe('deployed');
    expect(sm.commandCalls(UpdateEndpointCommand)[0].args[0].input).toEqual({
      EndpointName: 'mlops-dev-churn', EndpointConfigName: NAME, DeploymentConfig: SPEC.DeploymentConfig,
      RetainAllVariantProperties: true,
      ExcludeRetainedVariantProperties: [{ VariantPropertyType: 'DesiredWeight' }, { VariantPropertyType: 'DataCaptureConfig' }],
    });
  });
});

describe('Custom::ServedModel: which model a stack deploy\'s endpoint config runs (one owner per endpoint)', () => {
  const cfg = { spec: SPEC, groupName: GROUP, namePrefix: 'mlops-dev-churn' };
  const props = { BakedModelNames: ['ChurnModel-abc'], Spec: JSON.stringify(SPEC) };
  // CloudFormation's request, as the Lambda-backed custom resource receives it (AWS docs sample shape).
  const request = (type: 'Create' | 'Update' | 'Delete') => ({
    RequestType: type, ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:handler',
    ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/signed',
    StackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/mlops-dev-SageMaker/guid', RequestId: 'req-1',
    LogicalResourceId: 'ChurnServedModel', ResourceType: 'Custom::ServedModel',
    ...(type === 'Create' ? {} : { PhysicalResourceId: 'mlops-dev-churn-served-model', OldResourceProperties: { ServiceToken: 'x' } }),
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:handler', EndpointName: 'mlops-dev-churn', ...props },
  });
  let puts: { url: string; body: any }[];
  beforeEach(() => {
    puts = [];
    jest.spyOn(globalThis, 'fetch').mockImplementation((async (url: string, init: { body: string }) => {
      puts.push({ url, body: JSON.parse(init.body) });
      return { ok: true, status: 200 };
    }) as never);
  });

  test('an endpoint serving an approved version keeps it: the new config runs that version\'s model', async () => {
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService', EndpointConfigName: NAME } as never);
    sm.on(DescribeEndpointConfigCommand).resolves({ ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: NAME }] } as never);
    sm.on(DescribeModelCommand).resolves({ Containers: [{ ModelPackageName: PACKAGE_ARN }] } as never);
    const served = await servedModels(props, cfg);
    expect(served).toMatchObject({ version: 3, modelPackageArn: PACKAGE_ARN, modelNames: [NAME] });
    // Named after the version (the handler's ordering reads it) and different from the handler's own config.
    expect(served.endpointConfigName).toMatch(/^mlops-dev-churn-v3-[0-9a-f]{8}$/);
    expect(served.endpointConfigName).not.toBe(NAME);
    expect(versionOfConfig('mlops-dev-churn', served.endpointConfigName)).toBe(3);
    // Another spec (the change being deployed) gives another name, so CloudFormation can replace the config.
    expect((await servedModels({ ...props, Spec: '{"other":1}' }, cfg)).endpointConfigName).not.toBe(served.endpointConfigName);
  });

  test('an endpoint on the template\'s model (nothing approved yet) keeps the template\'s model', async () => {
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService', EndpointConfigName: 'ChurnConfig-1a2b3c' } as never);
    const served = await servedModels(props, cfg);
    expect(served).toMatchObject({ version: 0, modelNames: ['ChurnModel-abc'] });
    expect(served.modelPackageArn).toBeUndefined();
    expect(sm.commandCalls(DescribeEndpointConfigCommand)).toHaveLength(0);
  });

  test('a new endpoint starts from the newest approved version of the group (a recreated stack keeps serving it)', async () => {
    sm.on(DescribeEndpointCommand).rejects(sdkError('ValidationException', 'Could not find endpoint "mlops-dev-churn".', 400));
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [{ ModelPackageArn: PACKAGE_ARN }] } as never);
    sm.on(DescribeModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN, ModelPackageVersion: 3, ModelApprovalStatus: 'Approved' } as never);
    sm.on(DescribeModelCommand).rejects(notFound('model'));
    sm.on(CreateModelCommand).resolves({ ModelArn: 'arn' });
    const served = await servedModels(props, cfg);
    expect(served).toMatchObject({ version: 3, modelNames: [NAME], modelPackageArn: PACKAGE_ARN });
    expect(sm.commandCalls(ListModelPackagesCommand)[0].args[0].input).toEqual({
      ModelPackageGroupName: GROUP, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 1,
    });
    expect(sm.commandCalls(CreateModelCommand)[0].args[0].input).toMatchObject({ ModelName: NAME, Containers: [{ ModelPackageName: PACKAGE_ARN }] });
  });

  test('a stack deploy during a model deployment fails with what to do (the endpoint is busy)', async () => {
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'Updating', EndpointConfigName: NAME } as never);
    await expect(servedModels(props, cfg)).rejects.toThrow(/is Updating .*deploy the stack again when it is InService/);
  });

  test('the handler answers CloudFormation on the response URL: SUCCESS with the names, FAILED with the reason, Delete keeps the models', async () => {
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService', EndpointConfigName: 'ChurnConfig-1a2b3c' } as never);
    await handler(request('Update') as never);
    expect(puts).toHaveLength(1);
    expect(puts[0].url).toBe('https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/signed');
    expect(puts[0].body).toMatchObject({
      Status: 'SUCCESS', PhysicalResourceId: 'mlops-dev-churn-served-model', RequestId: 'req-1', LogicalResourceId: 'ChurnServedModel',
      Data: { ModelName0: 'ChurnModel-abc', Version: '0', ModelPackageArn: 'none', EndpointConfigName: expect.stringMatching(/^mlops-dev-churn-v0-[0-9a-f]{8}$/) },
    });
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'RollingBack', EndpointConfigName: NAME } as never);
    await handler(request('Create') as never);
    expect(puts[1].body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'mlops-dev-churn-served-model', Reason: expect.stringMatching(/RollingBack/) });
    sm.reset();
    await handler(request('Delete') as never);
    expect(puts[2].body.Status).toBe('SUCCESS');
    expect(sm.calls()).toHaveLength(0);
  });
});
