/**
 * @jest-environment ./test/lambda/model-server/onnx-environment.js
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHandler, handler as defaultHandler } from '../../../lambda/model-server/src/lambda';
import { type Model } from '../../../lambda/model-server/src/model';
import { referencePredict } from '../../../lambda/model-server/scripts/reference-model';
import { CLASSIFIER, functionUrlEvent, httpApiEvent, lambdaContext, loadTestModel, ROWS } from './fixtures';

const settings = { maxBodyBytes: 64 * 1024, maxBatchSize: 8, modelName: 'test', intraOpThreads: 0, metricsNamespace: 'test/ModelServer' };

/** Captures what Powertools writes (structured logs and EMF metrics) as parsed JSON documents. */
function captureStdout(): { docs: () => Record<string, unknown>[]; restore: () => void } {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    return true;
  };
  // Powertools writes info and metrics to stdout, warnings and errors to stderr.
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
  return { docs: () => lines.map((l) => JSON.parse(l)), restore: () => spies.forEach((s) => s.mockRestore()) };
}

const json = (res: APIGatewayProxyStructuredResultV2) => JSON.parse(res.body as string);

describe('Lambda handler (API Gateway HTTP API v2, Function URL, direct invoke)', () => {
  let model: Model;
  let loads = 0;
  let handler: ReturnType<typeof createHandler>;
  let out: ReturnType<typeof captureStdout>;
  beforeAll(async () => {
    model = await loadTestModel();
    handler = createHandler({
      settings,
      logger: new Logger({ serviceName: 'model-server' }),
      metrics: new Metrics({ namespace: settings.metricsNamespace, serviceName: 'model-server', defaultDimensions: { model: 'test' } }),
      loadModel: async () => {
        loads++;
        return model;
      },
    });
  });
  beforeEach(() => {
    out = captureStdout();
  });
  afterEach(() => out.restore());

  test('HTTP API POST /predict returns exact predictions and publishes EMF metrics', async () => {
    const res = await handler(httpApiEvent('POST', '/predict', JSON.stringify({ instances: ROWS })), lambdaContext('req-ok'));
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'application/json', 'x-request-id': 'req-ok' });
    const expected = referencePredict(CLASSIFIER, ROWS);
    (json(res).predictions as number[][]).forEach((row, r) => row.forEach((v, c) => expect(Math.abs(v - expected[r][c])).toBeLessThan(1e-6)));
    const emf = out.docs().find((d) => d._aws);
    expect(emf).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'test/ModelServer' }] },
      service: 'model-server', model: 'test', Requests: 1, Examples: 3, Latency: expect.any(Number),
    });
    expect(loads).toBe(1);
  });

  test('Function URL event with a base64 body gives the same predictions as the HTTP API', async () => {
    const body = JSON.stringify({ inputs: { features: ROWS } });
    const viaUrl = await handler(functionUrlEvent('POST', '/', body), lambdaContext('req-url'));
    const viaApi = await handler(httpApiEvent('POST', '/invocations', body), lambdaContext('req-api'));
    expect(viaUrl.statusCode).toBe(200);
    expect(viaUrl.body).toBe(viaApi.body);
    expect(loads).toBe(1);
  });

  test('GET /metadata and GET /ping', async () => {
    const meta = await handler(httpApiEvent('GET', '/metadata', undefined, {}), lambdaContext());
    expect(json(meta)).toMatchObject({ name: 'test', inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', 4] }] });
    expect(json(await handler(httpApiEvent('GET', '/ping', undefined, {}), lambdaContext()))).toEqual({ status: 'ok', model: 'test' });
  });

  test.each([
    ['text/plain content type', httpApiEvent('POST', '/predict', '{"instances":[[1,2,3,4]]}', { 'content-type': 'text/plain' }), 415, 'content-type must be application/json, got "text/plain"'],
    ['malformed JSON', httpApiEvent('POST', '/predict', '{"instances": [[1,2,3,4]'), 400, 'request body is not valid JSON'],
    ['wrong shape', httpApiEvent('POST', '/predict', '{"instances": [[1,2]]}'), 400, 'expected shape [batch, 4], got [1, 2]'],
    ['oversized body', httpApiEvent('POST', '/predict', JSON.stringify({ instances: Array.from({ length: 8 }, () => Array(4).fill(0.123456789)), pad: 'x'.repeat(70_000) })), 413, 'exceeds the limit of 65536 bytes'],
    ['unknown path', httpApiEvent('POST', '/v2/predict', '{}'), 404, 'no route for /v2/predict'],
    ['wrong method', httpApiEvent('GET', '/predict', undefined, {}), 405, 'GET is not allowed on /predict; use POST'],
  ])('%s: the status and problem are returned, and the next request still succeeds', async (_name, event, status, message) => {
    const res = await handler(event, lambdaContext('req-bad'));
    expect(res.statusCode).toBe(status);
    expect(json(res)).toEqual({ error: expect.any(String), message: expect.stringContaining(message), requestId: 'req-bad' });
    expect(out.docs().find((d) => d.message === 'request rejected')).toMatchObject({ level: 'WARN', status, function_request_id: 'req-bad' });
    expect((await handler(httpApiEvent('POST', '/predict', JSON.stringify({ instances: [ROWS[0]] })), lambdaContext())).statusCode).toBe(200);
  });

  test('direct invocation returns the predictions object, or the error with its status', async () => {
    const ok = await handler({ instances: [ROWS[1]] }, lambdaContext('direct'));
    expect(ok).toEqual({ predictions: [expect.any(Array)] });
    const bad = await handler({ instances: [] }, lambdaContext('direct-bad'));
    expect(bad).toEqual({ error: 'EmptyBatch', message: 'instances: the batch is empty; send 1 to 8 examples', requestId: 'direct-bad', status: 400 });
  });

  test('an inference failure is a 500 with the request id, logged as an error', async () => {
    jest.spyOn(model, 'run').mockRejectedValueOnce(new Error('onnxruntime exploded'));
    const res = await handler(httpApiEvent('POST', '/predict', JSON.stringify({ instances: [ROWS[0]] })), lambdaContext('req-500'));
    expect(res.statusCode).toBe(500);
    expect(json(res)).toEqual({ error: 'InferenceFailed', message: 'inference failed; quote request id req-500 when reporting this', requestId: 'req-500' });
    expect(out.docs().find((d) => d.message === 'request failed')).toMatchObject({ level: 'ERROR', requestId: 'req-500', error: expect.objectContaining({ message: 'onnxruntime exploded' }) });
    expect(out.docs().find((d) => d._aws)).toMatchObject({ ServerErrors: 1 });
  });
});

describe('Lambda handler model loading', () => {
  test('a failed model load answers 503 with the request id, then retries and recovers', async () => {
    const model = await loadTestModel();
    const loadModel = jest.fn<Promise<Model>, []>().mockRejectedValueOnce(new Error('AccessDenied')).mockResolvedValue(model);
    const out = captureStdout();
    try {
      const handler = createHandler({ settings, logger: new Logger(), metrics: new Metrics({ namespace: 'test' }), loadModel });
      const first = await handler(httpApiEvent('POST', '/predict', JSON.stringify({ instances: [ROWS[0]] })), lambdaContext('cold'));
      expect(first.statusCode).toBe(503);
      expect(json(first)).toMatchObject({ error: 'ModelUnavailable', requestId: 'cold' });
      const second = await handler(httpApiEvent('POST', '/predict', JSON.stringify({ instances: [ROWS[0]] })), lambdaContext('warm'));
      expect(second.statusCode).toBe(200);
      expect(loadModel).toHaveBeenCalledTimes(2);
      expect(out.docs().find((d) => d.message === 'model could not be loaded')).toMatchObject({ level: 'ERROR' });
    } finally {
      out.restore();
    }
  });

  test('the default handler loads the model the environment names (the shipped reference model)', async () => {
    process.env.MODEL_PATH = `${__dirname}/../../../lambda/model-server/model/model.onnx`;
    const out = captureStdout();
    try {
      const res = await defaultHandler(httpApiEvent('POST', '/predict', JSON.stringify({ instances: [[1, 2, 3, 4]] })), lambdaContext());
      expect(res.statusCode).toBe(200);
      expect(json(res).predictions[0]).toHaveLength(3);
    } finally {
      out.restore();
      delete process.env.MODEL_PATH;
    }
  });
});
