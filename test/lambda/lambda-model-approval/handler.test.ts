import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { PublishVersionCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { DescribeModelPackageCommand, ListModelPackagesCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  appSpec, type Config, deploy, handler, logger, metrics, modelKey, servedModel, servedModelResource, timing,
} from '../../../lambda/lambda-model-approval';
import { onnxModelOf, tarFiles } from '../../../lambda/lambda-model-approval/model-archive';
import { LambdaWorld, tarGz } from '../../journeys/model-world';

const SAMPLE = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'journeys', 'fixtures', 'sagemaker-model-package-state-change.json'), 'utf8'));
const CFG: Config = {
  functionName: 'mlops-staging-inference', aliasName: 'live', groupName: 'mlops-staging-lambda-inference', application: 'mlops-staging-inference',
  deploymentGroup: 'mlops-staging-inference-live', modelBucket: 'staging-artifacts', modelPrefix: 'lambda-models/mlops-staging-inference/',
};
const ENV = {
  FUNCTION_NAME: CFG.functionName, ALIAS_NAME: CFG.aliasName, MODEL_PACKAGE_GROUP_NAME: CFG.groupName, CODEDEPLOY_APPLICATION: CFG.application,
  CODEDEPLOY_DEPLOYMENT_GROUP: CFG.deploymentGroup, MODEL_BUCKET: CFG.modelBucket, MODEL_PREFIX: CFG.modelPrefix,
};
const arn = (v: number) => `arn:aws:sagemaker:us-east-1:111111111111:model-package/${CFG.groupName}/${v}`;
const SOURCE = (v: number) => `s3://dev-artifacts/training-jobs/mlops-dev-run${v}/output/model.tar.gz`;
/** Bytes standing in for an ONNX file (the handler copies, it does not parse). */
const onnxBytes = (v: number) => new TextEncoder().encode(`onnx-model-v${v}`);

const sm = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);
let world: LambdaWorld;
const objects = new Map<string, Uint8Array>();
const packages = new Map<string, { status: string; url: string }>();

const event = (v: number, status = 'Approved', group = CFG.groupName) => ({
  ...SAMPLE, resources: [arn(v)], detail: { ...SAMPLE.detail, ModelPackageGroupName: group, ModelPackageVersion: v, ModelPackageArn: arn(v), ModelApprovalStatus: status },
});
const sqs = (...bodies: unknown[]) => ({
  Records: bodies.map((b, i) => ({ messageId: `m${i}`, receiptHandle: 'r', body: JSON.stringify(b), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:111111111111:q', awsRegion: 'us-east-1' })),
}) as unknown as SQSEvent;

function register(v: number, status = 'Approved', archive: Uint8Array = tarGz({ 'model/model.onnx': onnxBytes(v), 'model/README.md': 'trained' })): void {
  packages.set(arn(v), { status, url: SOURCE(v) });
  objects.set(SOURCE(v), archive);
}

beforeAll(() => {
  for (const level of ['info', 'warn', 'error'] as const) jest.spyOn(logger, level).mockImplementation(() => undefined);
  jest.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  timing.sleep = async () => undefined;
});
afterAll(() => { jest.restoreAllMocks(); sm.restore(); s3.restore(); });

beforeEach(() => {
  world?.restore();
  world = new LambdaWorld();
  sm.reset();
  s3.reset();
  objects.clear();
  packages.clear();
  Object.assign(process.env, ENV);
  world.cloudFormationCreate({ functionName: CFG.functionName, alias: 'live', application: CFG.application, deploymentGroup: CFG.deploymentGroup,
    env: { MODEL_NAME: 'reference-classifier', CAPTURE_PREFIX: 'capture/lambda/', MODEL_S3_BUCKET: '', MODEL_S3_KEY: '', MODEL_PACKAGE_ARN: '' } });
  sm.on(DescribeModelPackageCommand).callsFake((i) => {
    const p = packages.get(i.ModelPackageName);
    if (!p) throw Object.assign(new Error(`Model package ${i.ModelPackageName} does not exist.`), { name: 'ValidationException' });
    return { ModelPackageArn: i.ModelPackageName, ModelPackageVersion: Number(i.ModelPackageName.split('/').pop()), ModelApprovalStatus: p.status,
      InferenceSpecification: { Containers: [{ Image: '111111111111.dkr.ecr.us-east-1.amazonaws.com/mlops-dev-training:abc', ModelDataUrl: p.url }] } };
  });
  sm.on(ListModelPackagesCommand).callsFake(() => ({
    ModelPackageSummaryList: [...packages].filter(([, p]) => p.status === 'Approved').map(([a]) => ({ ModelPackageArn: a })).sort((a, b) => b.ModelPackageArn.localeCompare(a.ModelPackageArn)),
  }));
  s3.on(GetObjectCommand).callsFake((i) => {
    const b = objects.get(`s3://${i.Bucket}/${i.Key}`);
    if (!b) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToByteArray: async () => b } as never };
  });
  s3.on(HeadObjectCommand).callsFake((i) => {
    if (!objects.has(`s3://${i.Bucket}/${i.Key}`)) throw Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    return {};
  });
  s3.on(PutObjectCommand).callsFake((i) => { objects.set(`s3://${i.Bucket}/${i.Key}`, i.Body as Uint8Array); return {}; });
});

describe('lambda-model-approval: an approved version becomes a function version and a CodeDeploy shift', () => {
  test('the ONNX file of the training archive is copied under its version\'s key; a version names it; CodeDeploy shifts live 1 → 2', async () => {
    register(3);
    expect(await deploy(event(3), CFG)).toBe('deployed');
    const key = modelKey(CFG.modelPrefix, 3, arn(3));
    expect(key).toMatch(/^lambda-models\/mlops-staging-inference\/v3-[0-9a-f]{8}\/model\.onnx$/);
    expect(new TextDecoder().decode(objects.get(`s3://${CFG.modelBucket}/${key}`))).toBe('onnx-model-v3');
    // The version keeps the function's other settings and names exactly this model and package.
    expect(world.functions.get(CFG.functionName)!.versions.get('2')!.env).toEqual({
      MODEL_NAME: 'reference-classifier', CAPTURE_PREFIX: 'capture/lambda/', MODEL_S3_BUCKET: CFG.modelBucket, MODEL_S3_KEY: key, MODEL_PACKAGE_ARN: arn(3),
    });
    const call = world.codedeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input;
    expect(call).toMatchObject({ applicationName: CFG.application, deploymentGroupName: CFG.deploymentGroup, revision: { revisionType: 'AppSpecContent' } });
    expect(JSON.parse(call.revision!.appSpecContent!.content!).Resources[0]).toEqual({
      mlopsstaginginference: { Type: 'AWS::Lambda::Function', Properties: { Name: CFG.functionName, Alias: 'live', CurrentVersion: '1', TargetVersion: '2' } },
    });
    // The canary runs: until it finishes the alias sends 10 % to version 2, and a second event is deferred.
    expect(world.served(CFG.functionName, 'live').version).toBe('1');
    register(4);
    expect((await handler(sqs(event(4))) as { batchItemFailures: unknown[] }).batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    world.settle();
    expect(world.served(CFG.functionName, 'live')).toEqual({ version: '2', modelPackageArn: arn(3), key });
  });

  test('redelivered events: the served version is a duplicate; an older one is superseded; a version published before a failed shift is reused', async () => {
    register(3);
    await deploy(event(3), CFG);
    world.settle();
    expect(await deploy(event(3), CFG)).toBe('duplicate');
    register(2);
    expect(await deploy(event(2), CFG)).toBe('superseded');
    // v5: the shift is refused once (another deployment is active), then the retry reuses the published version.
    register(5);
    // Someone else's deployment on the group (aws deploy create-deployment by hand) is active when the handler shifts.
    const other = { id: 'd-other', group: `${CFG.application}/${CFG.deploymentGroup}`, functionName: CFG.functionName, alias: 'live', current: '2', target: '2', status: 'InProgress' as const };
    world.deployments.push(other);
    expect((await handler(sqs(event(5))) as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(1);
    world.deployments.splice(world.deployments.indexOf(other), 1);
    const versionsBefore = world.functions.get(CFG.functionName)!.versions.size;
    const published = world.lambda.commandCalls(PublishVersionCommand).length;
    expect(await deploy(event(5), CFG)).toBe('deployed');
    expect(world.functions.get(CFG.functionName)!.versions.size).toBe(versionsBefore);
    expect(world.lambda.commandCalls(PublishVersionCommand)).toHaveLength(published);
    expect(world.served(CFG.functionName, 'live').version).toBe('2');
    world.settle();
    expect(world.served(CFG.functionName, 'live').modelPackageArn).toBe(arn(5));
  });

  test('events it must not act on: another group, not approved, approved then rejected before delivery, not an event', async () => {
    register(3, 'Rejected');
    expect(await deploy(event(3, 'Approved', 'mlops-staging-default'), CFG)).toBe('other-group');
    expect(await deploy(event(3, 'Rejected'), CFG)).toBe('not-approved');
    expect(await deploy(event(3), CFG)).toBe('not-approved');
    expect(await deploy({ source: 'aws.sagemaker', detail: {} }, CFG)).toBe('invalid-event');
    expect(world.lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(0);
    expect(world.codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  test('an archive without exactly one ONNX file fails naming what it holds (SQS retries it into the dead-letter queue)', async () => {
    register(3, 'Approved', tarGz({ 'model.pkl': 'pickle', 'metrics.json': '{}' }));
    await expect(deploy(event(3), CFG)).rejects.toThrow(/model\.tar\.gz holds no \.onnx file \(it holds model\.pkl, metrics\.json\)/);
    expect(() => onnxModelOf('s3://b/model.tar.gz', tarGz({ 'a.onnx': 'a', 'b/c.onnx': 'c' }))).toThrow(/several ONNX files \(a\.onnx, b\/c\.onnx\)/);
    expect(new TextDecoder().decode(onnxModelOf('s3://b/m.tar.gz', tarGz({ 'model.onnx': 'top', 'extra/other.onnx': 'x' })))).toBe('top');
    expect(onnxModelOf('s3://b/models/churn.onnx', onnxBytes(1))).toEqual(onnxBytes(1));
    expect([...tarFiles(tarGz({ './model/model.onnx': 'm' })).keys()]).toEqual(['model/model.onnx']);
  });

  test('the environment names every setting it needs', async () => {
    const saved = process.env.MODEL_BUCKET;
    delete process.env.MODEL_BUCKET;
    await expect(deploy(event(1))).rejects.toThrow('MODEL_BUCKET must be set');
    process.env.MODEL_BUCKET = saved;
  });

  test('appSpec is CodeDeploy\'s Lambda AppSpec (version 0.0, one function resource)', () => {
    expect(JSON.parse(appSpec(CFG, '4', '7'))).toEqual({ version: 0, Resources: [{ mlopsstaginginference: { Type: 'AWS::Lambda::Function', Properties: { Name: CFG.functionName, Alias: 'live', CurrentVersion: '4', TargetVersion: '7' } } }] });
  });
});

describe('lambda-model-approval as Custom::ServedModel: a stack deploy names the model the alias serves', () => {
  const BAKED = { BakedModel: { Bucket: '', Key: '', ModelPackageArn: '' }, FunctionRevision: 'InferenceFunctionCurrentVersionabc' };

  test('the alias serves an approved version: that one; nothing approved: the template\'s; no alias yet: the newest approved, copied', async () => {
    expect(await servedModel(BAKED, CFG)).toEqual({ bucket: '', key: '', modelPackageArn: '', source: 'template' });
    register(3);
    await deploy(event(3), CFG);
    world.settle();
    expect(await servedModel(BAKED, CFG)).toEqual({ bucket: CFG.modelBucket, key: modelKey(CFG.modelPrefix, 3, arn(3)), modelPackageArn: arn(3), source: 'alias' });
    // A recreated stack: no function, no alias; the newest approved version (4) is copied and named.
    world.functions.clear();
    register(4);
    objects.clear();
    register(4);
    register(3);
    expect(await servedModel(BAKED, CFG)).toEqual({ bucket: CFG.modelBucket, key: modelKey(CFG.modelPrefix, 4, arn(4)), modelPackageArn: arn(4), source: 'newest-approved' });
    expect(objects.has(`s3://${CFG.modelBucket}/${modelKey(CFG.modelPrefix, 4, arn(4))}`)).toBe(true);
  });

  test('while the alias shifts the deploy fails with the reason (on the response URL: CloudFormation never waits)', async () => {
    register(3);
    await deploy(event(3), CFG);
    let body: any;
    const put = jest.spyOn(globalThis, 'fetch').mockImplementation((async (_u: string, init: { body: string }) => { body = JSON.parse(init.body); return { ok: true, status: 200 }; }) as never);
    const request = { RequestType: 'Update', ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x', StackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/s/g', RequestId: 'r', LogicalResourceId: 'InferenceServedModel', PhysicalResourceId: 'p', ResourceType: 'Custom::ServedModel', ServiceToken: 't', ResourceProperties: { ServiceToken: 't', ...BAKED }, OldResourceProperties: {} };
    try {
      const failed = await servedModelResource(request as never);
      expect(failed.Status).toBe('FAILED');
      expect(body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'p', Reason: expect.stringMatching(/FunctionBusyError: mlops-staging-inference:live is shifting traffic/) });
      world.settle();
      expect(await handler(request as never)).toMatchObject({ Status: 'SUCCESS', Data: { ModelPackageArn: arn(3), Source: 'alias' } });
      expect(await handler({ ...request, RequestType: 'Delete' } as never)).toEqual({ Status: 'SUCCESS' });
    } finally {
      put.mockRestore();
    }
  });
});
