/**
 * @jest-environment ./test/lambda/model-server/onnx-environment.js
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { type Model } from '../../../lambda/model-server/src/model';
import { type RunningServer, startServer } from '../../../lambda/model-server/src/server';
import { httpSettingsFromEnv } from '../../../lambda/model-server/src/settings';
import { EmfTelemetry } from '../../../lambda/model-server/src/telemetry';
import { referencePredict } from '../../../lambda/model-server/scripts/reference-model';
import { CLASSIFIER, loadTestModel, ROWS } from './fixtures';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request on a fresh loopback connection; `chunks` sends a chunked body without content-length. */
function call(url: string, method: string, path: string, options: { body?: string | Buffer; headers?: Record<string, string>; chunks?: Buffer[] } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, headers: options.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.chunks) {
      for (const chunk of options.chunks) req.write(chunk);
      req.end();
    } else req.end(options.body);
  });
}

const JSON_CT = { 'content-type': 'application/json' };
const predict = (url: string, body: unknown, headers: Record<string, string> = JSON_CT) => call(url, 'POST', '/invocations', { body: JSON.stringify(body), headers });

describe('SageMaker-contract HTTP server on a real loopback port', () => {
  let running: RunningServer;
  let model: Model;
  const logs: string[] = [];
  beforeAll(async () => {
    model = await loadTestModel();
    const settings = { ...httpSettingsFromEnv({ PORT: '0', HOST: '127.0.0.1', MAX_BODY_BYTES: String(64 * 1024), MAX_BATCH_SIZE: '16', MODEL_NAME: 'test', SHUTDOWN_GRACE_MS: '5000' }) };
    const telemetry = new EmfTelemetry({ namespace: 'test', service: 'model-server', modelName: 'test', flushMs: 60_000, write: (l) => logs.push(l) });
    running = await startServer({ settings, model, telemetry });
  });
  afterAll(() => running.close());

  test('binds an ephemeral loopback port', () => {
    expect(running.port).toBeGreaterThan(0);
    expect(running.url).toBe(`http://127.0.0.1:${running.port}`);
  });

  test('GET /ping answers 200 (SageMaker health check)', async () => {
    const res = await call(running.url, 'GET', '/ping');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok', model: 'test' });
  });

  test('POST /invocations returns the exact predictions of the model for a batch', async () => {
    const res = await predict(running.url, { instances: ROWS });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-request-id']).toBeUndefined();
    const expected = referencePredict(CLASSIFIER, ROWS);
    const { predictions } = JSON.parse(res.body) as { predictions: number[][] };
    expect(predictions).toHaveLength(3);
    predictions.forEach((row, r) => row.forEach((v, c) => expect(Math.abs(v - expected[r][c])).toBeLessThan(1e-6)));
    // The core computes the same float32 values the HTTP layer returns.
    expect(predictions).toEqual((await running.service.predict({ instances: ROWS })).predictions);
  });

  test('GET /metadata describes the model', async () => {
    const res = await call(running.url, 'GET', '/metadata?verbose=1');
    expect(JSON.parse(res.body)).toMatchObject({ inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', 4] }], outputs: [{ name: 'probabilities' }], limits: { maxBatchSize: 16 } });
  });

  test('SageMaker request id header is echoed as the request id, on success and on errors', async () => {
    const bad = await predict(running.url, { instances: [] }, { ...JSON_CT, 'x-amzn-requestid': 'sm-123' });
    expect(JSON.parse(bad.body).requestId).toBe('sm-123');
    const ok = await predict(running.url, { instances: [ROWS[0]] }, { ...JSON_CT, 'x-amzn-requestid': 'sm-124' });
    expect(ok.headers['x-request-id']).toBe('sm-124');
  });

  test('40 concurrent requests each get their own rows\' predictions', async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => [[i, -i, i / 2, 1]]);
    const replies = await Promise.all(bodies.map((rows) => predict(running.url, { instances: rows })));
    replies.forEach((res, i) => {
      expect(res.status).toBe(200);
      const got = JSON.parse(res.body).predictions[0] as number[];
      const want = referencePredict(CLASSIFIER, bodies[i])[0];
      got.forEach((v, c) => expect(Math.abs(v - want[c])).toBeLessThan(1e-6));
    });
  });

  const bad: [string, () => Promise<Reply>, number, string, string][] = [
    ['malformed JSON', () => call(running.url, 'POST', '/invocations', { body: '{"instances": [[1,2,3,4]', headers: JSON_CT }), 400, 'MalformedJson', 'request body is not valid JSON'],
    ['NaN literal (not JSON)', () => call(running.url, 'POST', '/invocations', { body: '{"instances": [[NaN,2,3,4]]}', headers: JSON_CT }), 400, 'MalformedJson', 'request body is not valid JSON'],
    ['wrong content type', () => predict(running.url, { instances: ROWS }, { 'content-type': 'text/csv' }), 415, 'UnsupportedMediaType', 'content-type must be application/json, got "text/csv"'],
    ['no content type', () => predict(running.url, { instances: ROWS }, {}), 415, 'UnsupportedMediaType', 'content-type must be application/json, got none'],
    ['unacceptable accept header', () => predict(running.url, { instances: ROWS }, { ...JSON_CT, accept: 'text/csv' }), 406, 'NotAcceptable', 'accept is "text/csv"'],
    ['wrong shape', () => predict(running.url, { instances: [[1, 2, 3, 4, 5]] }), 400, 'ShapeMismatch', 'instances: expected shape [batch, 4], got [1, 5] (dimension 1 must be 4)'],
    ['ragged batch', () => predict(running.url, { instances: [[1, 2, 3, 4], [1, 2]] }), 400, 'RaggedTensor', 'instances[1]: expected an array of 4 elements (shape [2, 4]), got 2 elements'],
    ['wrong dtype', () => predict(running.url, { instances: [[1, true, 3, 4]] }), 400, 'InvalidDtype', 'instances[0][1]: expected finite numbers within the float32 range (±3.4e38) for float32 input features, got boolean true'],
    ['non-finite number (1e999)', () => call(running.url, 'POST', '/invocations', { body: '{"inputs": {"features": [[1, 2, 1e999, 4]]}}', headers: JSON_CT }), 400, 'NonFiniteValue', 'inputs.features[0][2]: Infinity is not a finite number'],
    ['empty batch', () => predict(running.url, { instances: [] }), 400, 'EmptyBatch', 'instances: the batch is empty; send 1 to 16 examples'],
    ['oversized batch', () => predict(running.url, { instances: Array.from({ length: 17 }, () => [0, 0, 0, 0]) }), 413, 'BatchTooLarge', 'batch of 17 exceeds the limit of 16 examples per request'],
    ['oversized body (content-length)', () => predict(running.url, { instances: [[1, 2, 3, 4]], pad: 'x'.repeat(70_000) }), 413, 'PayloadTooLarge', 'exceeds the limit of 65536 bytes'],
    ['oversized body (chunked, no content-length)', () => call(running.url, 'POST', '/invocations', { headers: JSON_CT, chunks: Array.from({ length: 10 }, () => Buffer.alloc(10_000, 0x20)) }), 413, 'PayloadTooLarge', 'exceeds the limit of 65536 bytes'],
    ['unknown input name', () => predict(running.url, { inputs: { pixels: ROWS } }), 400, 'UnknownInput', 'inputs: unknown input "pixels"; the model\'s inputs are "features"'],
    ['neither instances nor inputs', () => predict(running.url, { data: ROWS }), 400, 'InvalidRequest', 'request must have "instances" or "inputs", got keys [data]'],
    ['empty body', () => call(running.url, 'POST', '/invocations', { body: '', headers: JSON_CT }), 400, 'EmptyBody', 'request body is empty'],
    ['binary garbage', () => call(running.url, 'POST', '/invocations', { body: Buffer.from([0xff, 0xfe, 0x00, 0x01]), headers: JSON_CT }), 400, 'MalformedJson', 'request body is not valid JSON'],
    ['unknown path', () => call(running.url, 'POST', '/predictions', { body: '{}', headers: JSON_CT }), 404, 'NotFound', 'no route for /predictions'],
  ];

  test.each(bad)('%s: answered with its status and message, then the server still serves', async (_name, send, status, code, message) => {
    const res = await send();
    expect(res.status).toBe(status);
    const body = JSON.parse(res.body);
    expect(body).toEqual({ error: code, message: expect.stringContaining(message), requestId: expect.any(String) });
    expect(res.headers['x-request-id']).toBe(body.requestId);
    expect((await call(running.url, 'GET', '/ping')).status).toBe(200);
    expect((await predict(running.url, { instances: [ROWS[0]] })).status).toBe(200);
  });

  test('wrong method: 405 with an Allow header', async () => {
    const res = await call(running.url, 'GET', '/invocations');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(JSON.parse(res.body).message).toBe('GET is not allowed on /invocations; use POST');
  });

  test('rejected requests are logged with their code; a failed inference is a 500 logged as an error', async () => {
    jest.spyOn(model, 'run').mockRejectedValueOnce(new Error('kernel failure'));
    const res = await predict(running.url, { instances: [ROWS[0]] });
    expect(res.status).toBe(500);
    const body = JSON.parse(res.body);
    expect(body.message).toBe(`inference failed; quote request id ${body.requestId} when reporting this`);
    const docs = logs.map((l) => JSON.parse(l));
    expect(docs).toContainEqual(expect.objectContaining({ level: 'WARN', code: 'ShapeMismatch', status: 400 }));
    expect(docs).toContainEqual(expect.objectContaining({ level: 'ERROR', requestId: body.requestId, error: 'kernel failure', status: 500 }));
    expect((await predict(running.url, { instances: [ROWS[0]] })).status).toBe(200);
  });
});

describe('graceful shutdown', () => {
  test('close() lets an in-flight request finish, then refuses new connections', async () => {
    const model = await loadTestModel();
    const running = await startServer({
      settings: httpSettingsFromEnv({ PORT: '0', HOST: '127.0.0.1', SHUTDOWN_GRACE_MS: '5000' }),
      model,
      telemetry: new EmfTelemetry({ namespace: 't', service: 's', modelName: 'm', flushMs: 60_000, write: () => undefined }),
    });
    const realRun = model.run.bind(model);
    jest.spyOn(model, 'run').mockImplementationOnce(async (feeds) => {
      await new Promise((r) => setTimeout(r, 300));
      return realRun(feeds);
    });
    const inFlight = predict(running.url, { instances: [ROWS[0]] });
    await new Promise((r) => setTimeout(r, 50));
    const closed = running.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    await closed;
    await expect(call(running.url, 'GET', '/ping')).rejects.toThrow(/ECONNREFUSED/);
  });

  test('the server process exits 0 on SIGTERM (as SageMaker stops it)', async () => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, '../../../lambda/model-server/src/server.ts'), 'serve'], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MODEL_PATH: join(__dirname, '../../../lambda/model-server/model'), ONNXRUNTIME_NODE_INSTALL: 'skip' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /"port":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`server exited early (${code}): ${out}`)));
    });
    const res = await predict(`http://127.0.0.1:${port}`, { instances: [[1, 2, 3, 4]] });
    expect(res.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('"message":"shutting down","signal":"SIGTERM"');
  });
});
