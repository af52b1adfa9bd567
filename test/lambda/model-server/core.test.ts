/**
 * @jest-environment ./test/lambda/model-server/onnx-environment.js
 */
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Model, modelSourceFromEnv } from '../../../lambda/model-server/src/model';
import { InferenceService } from '../../../lambda/model-server/src/service';
import { httpSettingsFromEnv, settingsFromEnv } from '../../../lambda/model-server/src/settings';
import { EmfTelemetry } from '../../../lambda/model-server/src/telemetry';
import { buildReferenceModel, referencePredict } from '../../../lambda/model-server/scripts/reference-model';
import { CLASSIFIER, loadTestModel, ROWS, TWO_INPUT } from './fixtures';

const settings = { maxBodyBytes: 64 * 1024, maxBatchSize: 8, modelName: 'test' };

/** Asserts predictions equal the independently computed float32 softmax to float32 precision. */
function expectClose(actual: unknown, expected: number[][]): void {
  expect(Array.isArray(actual)).toBe(true);
  const rows = actual as number[][];
  expect(rows).toHaveLength(expected.length);
  rows.forEach((row, r) => {
    expect(row).toHaveLength(expected[r].length);
    row.forEach((v, c) => expect(Math.abs(v - expected[r][c])).toBeLessThan(1e-6));
  });
}

describe('inference core with a real ONNX model', () => {
  let service: InferenceService;
  let twoInputs: InferenceService;
  beforeAll(async () => {
    service = new InferenceService(await loadTestModel(), settings);
    twoInputs = new InferenceService(await loadTestModel(TWO_INPUT), settings);
  });

  test('metadata reports input/output names, dtypes and shapes, and the limits', () => {
    expect(service.metadata()).toMatchObject({
      name: 'test',
      inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', 4] }],
      outputs: [{ name: 'probabilities', dtype: 'float32', shape: ['batch', 3] }],
      limits: { maxBatchSize: 8, maxBodyBytes: 64 * 1024 },
    });
    expect(service.metadata().modelPackageArn).toBeUndefined();
  });

  test('metadata names the model package the function version serves (MODEL_PACKAGE_ARN, set by the Lambda deployment handler)', async () => {
    const arn = 'arn:aws:sagemaker:us-east-1:111111111111:model-package/mlops-staging-lambda-inference/3';
    const promoted = new InferenceService(await loadTestModel(), { ...settings, ...settingsFromEnv({ MODEL_NAME: 'test', MAX_BATCH_SIZE: '8', MAX_BODY_BYTES: String(64 * 1024), MODEL_PACKAGE_ARN: arn }) });
    expect(promoted.metadata()).toMatchObject({ name: 'test', modelPackageArn: arn });
    expect(settingsFromEnv({ MODEL_PACKAGE_ARN: '' }).modelPackageArn).toBeUndefined();
  });

  test('instances: a batch of 3 gives the softmax of features·W + B per row', async () => {
    const { predictions, batchSize } = await service.predict({ instances: ROWS });
    expect(batchSize).toBe(3);
    expectClose(predictions, referencePredict(CLASSIFIER, ROWS));
    // Row [0,0,0,0] → softmax(bias): class 0 wins; row 3 → class 2 wins.
    const argmax = (predictions as number[][]).map((p) => p.indexOf(Math.max(...p)));
    expect(argmax).toEqual([1, 0, 2]);
  });

  test('exact values: zero weights and bias give exactly 1/3 in float32', async () => {
    const uniform = new InferenceService(await Model.fromBytes(buildReferenceModel({ weights: [[0, 0, 0], [0, 0, 0]], bias: [0, 0, 0] })), settings);
    const { predictions } = await uniform.predict({ instances: [[5, -7]] });
    expect(predictions).toEqual([[Math.fround(1 / 3), Math.fround(1 / 3), Math.fround(1 / 3)]]);
  });

  test('inputs: named batched tensor and a bare batched array give the same predictions as instances', async () => {
    const named = await service.predict({ inputs: { features: ROWS } });
    const bare = await service.predict({ inputs: ROWS });
    const rows = await service.predict({ instances: ROWS });
    expect(named.predictions).toEqual(rows.predictions);
    expect(bare.predictions).toEqual(rows.predictions);
  });

  test('two-input model: instances as objects and column inputs', async () => {
    const offsets = [[0, 0, 5], [10, 0, 0]];
    const rows = ROWS.slice(0, 2);
    const expected = referencePredict(TWO_INPUT, rows, offsets);
    const byRow = await twoInputs.predict({ instances: rows.map((features, i) => ({ features, offset: offsets[i] })) });
    expectClose(byRow.predictions, expected);
    const byColumn = await twoInputs.predict({ inputs: { features: rows, offset: offsets } });
    expect(byColumn.predictions).toEqual(byRow.predictions);
  });

  test.each([
    [{ instances: [[1, 2, 3]] }, 400, 'ShapeMismatch', 'instances: expected shape [batch, 4], got [1, 3] (dimension 1 must be 4)'],
    [{ instances: [1, 2, 3, 4] }, 400, 'ShapeMismatch', 'instances: expected shape [batch, 4] (2 dimensions), got [4] (1 dimensions)'],
    [{ instances: [[1, 2, 3, 4], [1, 2, 3]] }, 400, 'RaggedTensor', 'instances[1]: expected an array of 4 elements'],
    [{ instances: [[1, 2, '3', 4]] }, 400, 'InvalidDtype', 'instances[0][2]: expected finite numbers within the float32 range (±3.4e38) for float32 input features, got string "3"'],
    [{ instances: [[1, 2, 3, 1e39]] }, 400, 'InvalidDtype', 'instances[0][3]'],
    [{ instances: [[1, 2, 3, null]] }, 400, 'InvalidDtype', 'got null null'],
    [{ instances: [[1, 2, 3, -1e999]] }, 400, 'NonFiniteValue', 'instances[0][3]: -Infinity is not a finite number'],
    [{ instances: [] }, 400, 'EmptyBatch', 'instances: the batch is empty; send 1 to 8 examples'],
    [{ instances: Array.from({ length: 9 }, () => [0, 0, 0, 0]) }, 413, 'BatchTooLarge', 'instances: batch of 9 exceeds the limit of 8 examples per request'],
    [{ inputs: { feature: ROWS } }, 400, 'UnknownInput', 'inputs: unknown input "feature"; the model\'s inputs are "features"'],
    [{ inputs: {} }, 400, 'MissingInput', 'inputs: missing input "features"'],
    [{ instances: ROWS, inputs: { features: ROWS } }, 400, 'InvalidRequest', 'exactly one of "instances" or "inputs"'],
    [{ rows: ROWS }, 400, 'InvalidRequest', 'request must have "instances" or "inputs", got keys [rows]'],
    [{ instances: ROWS, extra: 1 }, 400, 'InvalidRequest', 'unknown request fields [extra]'],
    [[1, 2], 400, 'InvalidRequest', 'request body must be a JSON object with "instances" or "inputs", got array'],
    [{ instances: 'abc' }, 400, 'InvalidRequest', '"instances" must be an array, got string'],
  ])('rejects %j with %i %s', async (body, status, code, message) => {
    await expect(service.predict(body)).rejects.toMatchObject({ status, code, message: expect.stringContaining(message as string) });
  });

  test('two-input model: missing input in one instance and batch mismatch between columns', async () => {
    await expect(twoInputs.predict({ instances: [{ features: ROWS[0] }] })).rejects.toMatchObject({ status: 400, code: 'MissingInput', message: expect.stringContaining('instances[0]: missing input "offset"') });
    await expect(twoInputs.predict({ inputs: { features: ROWS, offset: [[0, 0, 0]] } })).rejects.toMatchObject({
      status: 400, code: 'BatchMismatch', message: 'inputs.offset: batch size 1 differs from the other inputs\' 3',
    });
    await expect(twoInputs.predict({ instances: [[1, 2, 3, 4]] })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('each instance must be an object of input name → value') });
  });

  test('a failing inference is a 500 with the request id and no internal detail', async () => {
    const broken = new InferenceService(await loadTestModel(), settings);
    jest.spyOn(broken.model, 'run').mockRejectedValueOnce(new Error('native failure at 0xdeadbeef'));
    const res = await broken.handle({ method: 'POST', path: '/invocations', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: ROWS }), requestId: 'r-500' });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'InferenceFailed', message: 'inference failed; quote request id r-500 when reporting this', requestId: 'r-500' });
    expect(res.body).not.toContain('deadbeef');
    // The same service answers the next request.
    expect((await broken.handle({ method: 'POST', path: '/invocations', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: ROWS }) })).status).toBe(200);
  });
});

/** The part of the SDK's streaming body the loader uses. */
const streamOf = (bytes: Uint8Array) => ({ transformToByteArray: async () => bytes }) as unknown as GetObjectCommandOutput['Body'];

describe('model sources and settings', () => {
  test('S3 source: the model is read with GetObject and serves predictions', async () => {
    const s3 = mockClient(S3Client);
    s3.on(GetObjectCommand, { Bucket: 'models', Key: 'ref/model.onnx' }).resolves({ Body: streamOf(buildReferenceModel(CLASSIFIER)) });
    const model = await Model.load({ kind: 's3', bucket: 'models', key: 'ref/model.onnx' }, { s3: new S3Client({ region: 'eu-west-1' }) });
    expect(model.location).toBe('s3://models/ref/model.onnx');
    const { predictions } = await new InferenceService(model, settings).predict({ instances: [ROWS[0]] });
    expectClose(predictions, referencePredict(CLASSIFIER, [ROWS[0]]));
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    s3.restore();
  });

  test('a file that is not an ONNX model fails to load with its location', async () => {
    await expect(Model.fromBytes(Buffer.from('not onnx'), '/tmp/bad.onnx')).rejects.toThrow(/cannot load ONNX model from \/tmp\/bad.onnx/);
  });

  test('the shipped reference model loads from its directory', async () => {
    const model = await Model.load({ kind: 'file', path: `${__dirname}/../../../lambda/model-server/model` });
    expect(model.location).toMatch(/model\.onnx$/);
    expect(model.inputs).toEqual([{ name: 'features', dtype: 'float32', shape: ['batch', 4] }]);
    await model.release();
  });

  test('environment picks S3 first, then MODEL_PATH, then the default path', () => {
    expect(modelSourceFromEnv({ MODEL_S3_BUCKET: 'b', MODEL_S3_KEY: 'k', MODEL_PATH: '/m' })).toEqual({ kind: 's3', bucket: 'b', key: 'k' });
    expect(modelSourceFromEnv({ MODEL_PATH: '/m' })).toEqual({ kind: 'file', path: '/m' });
    expect(modelSourceFromEnv({ MODEL_DEFAULT_PATH: '/d' })).toEqual({ kind: 'file', path: '/d' });
    expect(() => modelSourceFromEnv({ MODEL_S3_BUCKET: 'b' })).toThrow('MODEL_S3_BUCKET and MODEL_S3_KEY must be set together');
    expect(() => modelSourceFromEnv({})).toThrow(/no model configured/);
  });

  test('settings: defaults, overrides, and invalid values named', () => {
    expect(settingsFromEnv({})).toMatchObject({ maxBodyBytes: 5 * 1024 * 1024, maxBatchSize: 256, intraOpThreads: 0 });
    expect(httpSettingsFromEnv({ PORT: '9000', MAX_BATCH_SIZE: '4' })).toMatchObject({ port: 9000, maxBatchSize: 4, host: '0.0.0.0', shutdownGraceMs: 10_000 });
    expect(() => settingsFromEnv({ MAX_BATCH_SIZE: '0' })).toThrow('MAX_BATCH_SIZE="0" is invalid: must be a whole number between 1 and 1000000');
    expect(() => httpSettingsFromEnv({ PORT: 'http' })).toThrow(/PORT="http" is invalid/);
  });

  test('EMF telemetry aggregates requests into one CloudWatch metrics document and logs rejects', () => {
    const lines: string[] = [];
    const emf = new EmfTelemetry({ namespace: 'ns', service: 'model-server', modelName: 'm', flushMs: 60_000, write: (l) => lines.push(l) });
    emf.requestCompleted({ route: 'predict', status: 200, latencyMs: 1.5, requestId: 'a', batchSize: 3 });
    emf.requestCompleted({ route: 'predict', status: 400, latencyMs: 0.2, requestId: 'b', error: { code: 'EmptyBatch', message: 'empty' } });
    emf.flush();
    const docs = lines.map((l) => JSON.parse(l));
    expect(docs[0]).toMatchObject({ level: 'WARN', requestId: 'b', code: 'EmptyBatch', status: 400 });
    expect(docs[1]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'ns', Dimensions: [['service', 'model']] }] },
      Requests: 2, ClientErrors: 1, ServerErrors: 0, Examples: 3, Latency: [1.5, 0.2],
    });
    emf.flush();
    expect(lines).toHaveLength(2);
  });
});
