import { CodeDeployClient, GetDeploymentCommand, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, InvokeCommand, LambdaClient, ListVersionsByFunctionCommand } from '@aws-sdk/client-lambda';
import {
  DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, DescribeModelPackageCommand, SageMakerClient, SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand, InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { checkAnswer, handler, metrics } from '../../../lambda/smoke-test';

const sm = mockClient(SageMakerClient);
const runtime = mockClient(SageMakerRuntimeClient);
const lambda = mockClient(LambdaClient);
const codedeploy = mockClient(CodeDeployClient);
const SOURCE = 'arn:aws:sagemaker:us-east-1:111111111111:model-package/model/7';
const COPY = 'arn:aws:sagemaker:us-east-1:111111111111:model-package/model-staging/3';
const instances = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]];
const endpointRequest = { endpointName: 'mlops-staging-model', sourceModelPackageArn: SOURCE, instances };
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

function endpointServing(packageArn: string, status = 'InService') {
  sm.on(DescribeEndpointCommand).resolves({ EndpointName: 'mlops-staging-model', EndpointStatus: status as 'InService', EndpointConfigName: 'cfg-3' });
  sm.on(DescribeEndpointConfigCommand).resolves({ ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'mlops-staging-model-v3' }] });
  sm.on(DescribeModelCommand).resolves({ Containers: [{ ModelPackageName: packageArn }] });
  sm.on(DescribeModelPackageCommand, { ModelPackageName: COPY }).resolves({ CustomerMetadataProperties: { SourceModelPackageArn: SOURCE } });
  sm.on(DescribeModelPackageCommand, { ModelPackageName: 'arn:aws:sagemaker:us-east-1:111111111111:model-package/model-staging/2' })
    .resolves({ CustomerMetadataProperties: { SourceModelPackageArn: 'arn:aws:sagemaker:us-east-1:111111111111:model-package/model/6' } });
}

beforeAll(() => {
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
});
beforeEach(() => {
  sm.reset();
  runtime.reset();
  lambda.reset();
  codedeploy.reset();
});

describe('smoke test handler', () => {
  test('an endpoint serving the promoted copy that answers correctly passes', async () => {
    endpointServing(COPY);
    runtime.on(InvokeEndpointCommand).resolves({ Body: bytes({ predictions: [[0.9, 0.1], [0.2, 0.8]] }) as never });
    const result = await handler(endpointRequest);
    expect(result).toMatchObject({ statusCode: 200, status: 'PASSED', predictions: [[0.9, 0.1], [0.2, 0.8]] });
    expect(runtime.commandCalls(InvokeEndpointCommand)[0].args[0].input).toMatchObject({
      EndpointName: 'mlops-staging-model', ContentType: 'application/json', Body: JSON.stringify({ instances }),
    });
  });

  test('an endpoint still serving the previous version is PENDING (the approval handler deploys asynchronously)', async () => {
    endpointServing('arn:aws:sagemaker:us-east-1:111111111111:model-package/model-staging/2');
    expect(await handler(endpointRequest)).toMatchObject({ status: 'PENDING', message: expect.stringContaining(`does not serve ${SOURCE} yet`) });
    expect(runtime.calls()).toHaveLength(0);
  });

  test('an endpoint that is Updating is PENDING; one that Failed fails', async () => {
    endpointServing(COPY, 'Updating');
    expect((await handler(endpointRequest)).status).toBe('PENDING');
    sm.reset();
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'Failed', FailureReason: 'image pull failed' });
    expect(await handler(endpointRequest)).toMatchObject({ status: 'FAILED', message: expect.stringContaining('Failed: image pull failed') });
  });

  test('an endpoint that does not exist yet is PENDING', async () => {
    sm.on(DescribeEndpointCommand).rejects(new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', $metadata: {}, message: 'Could not find endpoint "mlops-staging-model".' }));
    expect((await handler(endpointRequest)).status).toBe('PENDING');
  });

  test('a promoted Lambda target: PENDING while CodeDeploy shifts the alias and while its version names another package; then invoked', async () => {
    const request = { functionName: 'mlops-staging-inference:live', sourceModelPackageArn: SOURCE, instances };
    sm.on(DescribeModelPackageCommand, { ModelPackageName: COPY }).resolves({ CustomerMetadataProperties: { SourceModelPackageArn: SOURCE } });
    sm.on(DescribeModelPackageCommand, { ModelPackageName: 'arn:aws:sagemaker:us-east-1:111111111111:model-package/model-staging/2' }).resolves({ CustomerMetadataProperties: {} });
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '4', RoutingConfig: { AdditionalVersionWeights: { 5: 0.1 } } });
    expect(await handler(request)).toMatchObject({ status: 'PENDING', message: 'mlops-staging-inference:live is shifting traffic: version 4 + 10% to version 5' });
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '4' });
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'mlops-staging-inference', Qualifier: '4' }).resolves({ Environment: { Variables: { MODEL_PACKAGE_ARN: 'arn:aws:sagemaker:us-east-1:111111111111:model-package/model-staging/2' } } });
    expect(await handler(request)).toMatchObject({ status: 'PENDING', message: expect.stringContaining('(version 4) serves arn:aws:sagemaker:us-east-1:111111111111:model-package/model-staging/2, not') });
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'mlops-staging-inference', Qualifier: '4' }).resolves({ Environment: { Variables: { MODEL_PACKAGE_ARN: '' } } });
    expect((await handler(request)).message).toContain('serves the model of its image');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '5' });
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'mlops-staging-inference', Qualifier: '5' }).resolves({ Environment: { Variables: { MODEL_PACKAGE_ARN: COPY } } });
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes({ predictions: [1, 0] }) as never });
    expect(await handler(request)).toMatchObject({ status: 'PASSED' });
    expect(lambda.commandCalls(InvokeCommand)[0].args[0].input.FunctionName).toBe('mlops-staging-inference:live');
  });

  test('a promoted Lambda target whose shift CodeDeploy stopped (alarms) fails at once, naming the deployment; another stopped shift does not count', async () => {
    const request = { functionName: 'mlops-staging-inference:live', sourceModelPackageArn: SOURCE, instances, deployment: { application: 'mlops-staging-inference', deploymentGroup: 'mlops-staging-inference-live' } };
    const OLD = 'arn:aws:sagemaker:us-east-1:111111111111:model-package/model-staging/2';
    sm.on(DescribeModelPackageCommand, { ModelPackageName: COPY }).resolves({ CustomerMetadataProperties: { SourceModelPackageArn: SOURCE } });
    sm.on(DescribeModelPackageCommand, { ModelPackageName: OLD }).resolves({ CustomerMetadataProperties: {} });
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '4' });
    lambda.on(GetFunctionConfigurationCommand).resolves({ Environment: { Variables: { MODEL_PACKAGE_ARN: OLD } } });
    // Not published yet: PENDING, CodeDeploy not asked.
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [{ Version: '$LATEST' }, { Version: '4', Environment: { Variables: { MODEL_PACKAGE_ARN: OLD } } }] });
    expect((await handler(request)).status).toBe('PENDING');
    expect(codedeploy.calls()).toHaveLength(0);
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [{ Version: '4', Environment: { Variables: { MODEL_PACKAGE_ARN: OLD } } }, { Version: '5', LastModified: '2026-12-01T10:00:00.000+0000', Environment: { Variables: { MODEL_PACKAGE_ARN: COPY } } }] });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-2', 'd-1'] });
    codedeploy.on(GetDeploymentCommand, { deploymentId: 'd-2' }).resolves({ deploymentInfo: { status: 'Stopped', description: 'Approved model package x: live 3 → 9' } });
    codedeploy.on(GetDeploymentCommand, { deploymentId: 'd-1' }).resolves({ deploymentInfo: { status: 'Stopped', description: `Approved model package ${COPY}: live 4 → 5`, errorInformation: { message: 'One or more alarms have been activated' } } });
    expect(await handler(request)).toMatchObject({ status: 'FAILED', message: expect.stringContaining('the CodeDeploy shift d-1 to version 5 (serving arn:aws:sagemaker:us-east-1:111111111111:model-package/model-staging/3) is Stopped: One or more alarms have been activated') });
    expect(codedeploy.commandCalls(ListDeploymentsCommand)[0].args[0].input).toMatchObject({ applicationName: 'mlops-staging-inference', deploymentGroupName: 'mlops-staging-inference-live', includeOnlyStatuses: ['Failed', 'Stopped'], createTimeRange: { start: new Date('2026-12-01T10:00:00.000Z') } });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect((await handler({ ...request, deployment: { application: 1 } })).message).toContain('deployment: {"application":1} — must be');
  });

  test.each([
    [{ predictions: [0.1] }, 'expected 2 prediction(s), got 1'],
    [{ predictions: ['cat', 0.3] }, 'prediction 0 is not a number'],
    [{ error: 'InvalidInput', message: 'bad shape' }, 'expected {"predictions": [...]}'],
  ])('a wrong answer fails: %j', async (body, expected) => {
    endpointServing(COPY);
    runtime.on(InvokeEndpointCommand).resolves({ Body: bytes(body) as never });
    const result = await handler(endpointRequest);
    expect(result.status).toBe('FAILED');
    expect(result.message).toContain(expected);
  });

  test('an endpoint error response fails with the error', async () => {
    endpointServing(COPY);
    runtime.on(InvokeEndpointCommand).rejects(new Error('ModelError: 500 from primary'));
    expect((await handler(endpointRequest)).message).toContain('the endpoint answered with an error');
  });

  test('a Lambda inference alias is invoked directly with the same contract', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes({ predictions: [1, 0] }) as never });
    expect(await handler({ functionName: 'mlops-prod-inference:live', instances })).toMatchObject({ status: 'PASSED' });
    expect(JSON.parse(Buffer.from(lambda.commandCalls(InvokeCommand)[0].args[0].input.Payload as Uint8Array).toString())).toEqual({ instances });
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: bytes({ errorMessage: 'boom' }) as never });
    expect((await handler({ functionName: 'mlops-prod-inference:live', instances })).message).toContain('the function failed (Unhandled)');
  });

  test.each([
    [{ instances }, 'give exactly one of them'],
    [{ endpointName: 'a', functionName: 'b', instances }, 'give exactly one of them'],
    [{ endpointName: 'bad name!', instances }, 'endpointName: "bad name!"'],
    [{ endpointName: 'ok', instances: [[]] }, 'instances: must be a non-empty list'],
    [{ endpointName: 'ok', instances, sourceModelPackageArn: 'arn:nope' }, 'sourceModelPackageArn'],
  ])('a bad request is a 400 naming the field: %j', async (event, expected) => {
    const result = await handler(event);
    expect(result).toMatchObject({ statusCode: 400, status: 'ERROR' });
    expect(result.message).toContain(expected);
  });

  test('checkAnswer accepts numbers and probability lists only', () => {
    expect(checkAnswer({ predictions: [0.5, [0.1, 0.9]] }, 2)).toBeUndefined();
    expect(checkAnswer({ predictions: [null] }, 1)).toContain('prediction 0');
  });
});

describe('smoke test of an asynchronous endpoint: InvokeEndpointAsync, then the answer from S3', () => {
  const s3 = mockClient(S3Client);
  const OUTPUT = 's3://artifacts/async-inference/mlops-staging-model/output';
  /** A stateful bucket: what the handler and (on settle) SageMaker wrote. */
  let objects: Map<string, string>;
  // The part of the SDK's streaming body the handler uses.
  const stream = (text: string) => ({ transformToString: async () => text }) as never;
  beforeEach(() => {
    s3.reset();
    objects = new Map();
    endpointServing(COPY);
    sm.on(DescribeEndpointConfigCommand).resolves({
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'mlops-staging-model-v3' }],
      AsyncInferenceConfig: { OutputConfig: { S3OutputPath: OUTPUT, S3FailurePath: 's3://artifacts/async-inference/mlops-staging-model/failures' } },
    });
    s3.on(PutObjectCommand).callsFake((i) => { objects.set(`s3://${i.Bucket}/${i.Key}`, String(i.Body)); return {}; });
    s3.on(GetObjectCommand).callsFake((i) => {
      const text = objects.get(`s3://${i.Bucket}/${i.Key}`);
      if (text === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      return { Body: stream(text) };
    });
    runtime.on(InvokeEndpointAsyncCommand).callsFake((i) => ({
      InferenceId: i.InferenceId, OutputLocation: `${OUTPUT}/${i.InferenceId}.out`, FailureLocation: `s3://artifacts/async-inference/mlops-staging-model/failures/${i.InferenceId}-error.out`,
    }));
  });
  afterAll(() => s3.restore());

  test('the first check queues one request (input beside the output prefix) and is PENDING; the written answer then passes', async () => {
    const first = await handler(endpointRequest);
    expect(first).toMatchObject({ status: 'PENDING', message: expect.stringContaining('queued on mlops-staging-model') });
    const call = runtime.commandCalls(InvokeEndpointAsyncCommand)[0].args[0].input;
    expect(call).toMatchObject({ EndpointName: 'mlops-staging-model', ContentType: 'application/json', InputLocation: expect.stringMatching(/^s3:\/\/artifacts\/async-inference\/mlops-staging-model\/input\/smoke-test\/[0-9a-f]{32}\.json$/) });
    expect(JSON.parse(objects.get(call.InputLocation!)!)).toEqual({ instances });
    expect(runtime.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
    // Still no output: PENDING again, and no second request.
    expect((await handler(endpointRequest)).status).toBe('PENDING');
    expect(runtime.commandCalls(InvokeEndpointAsyncCommand)).toHaveLength(1);
    // SageMaker writes the answer.
    objects.set(`${OUTPUT}/${call.InferenceId}.out`, JSON.stringify({ predictions: [[0.9, 0.1], [0.2, 0.8]] }));
    expect(await handler(endpointRequest)).toMatchObject({ status: 'PASSED', predictions: [[0.9, 0.1], [0.2, 0.8]] });
    expect(runtime.commandCalls(InvokeEndpointAsyncCommand)).toHaveLength(1);
  });

  test('a failure object fails the test with its text; a wrong answer fails like a synchronous one', async () => {
    await handler(endpointRequest);
    const id = runtime.commandCalls(InvokeEndpointAsyncCommand)[0].args[0].input.InferenceId;
    objects.set(`s3://artifacts/async-inference/mlops-staging-model/failures/${id}-error.out`, 'ModelError: the model server answered 500');
    expect(await handler(endpointRequest)).toMatchObject({ status: 'FAILED', message: expect.stringContaining('ModelError: the model server answered 500') });
    objects.set(`${OUTPUT}/${id}.out`, JSON.stringify({ predictions: [1] }));
    expect(await handler(endpointRequest)).toMatchObject({ status: 'FAILED', message: expect.stringContaining('expected 2 prediction(s), got 1') });
  });
});
