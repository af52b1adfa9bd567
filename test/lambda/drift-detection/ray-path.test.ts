import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { buildBaseline } from '../../../lambda/drift-detection/baseline';
import { eventBridge, handler as driftJob, s3, sagemaker } from '../../../lambda/drift-detection';
import { captureLine, decodeCaptureLine, modelPartition } from '../../../lambda/model-server/src/capture-format';
import { argmax, classify, rows, s3Store } from './support';

const APP_DIR = path.join(__dirname, '..', '..', '..', 'lambda', 'ray-serve-onnx');
const LAKE = 'acme-ml-prod-artifacts';
const PACKAGE = 'arn:aws:sagemaker:us-east-1:333333333333:model-package/acme-ml-prod-churn/7';
const KEY = 'arn:aws:kms:us-east-1:333333333333:key/lake';
const hasPython = spawnSync('python3', ['--version']).status === 0;

/**
 * Runs the Ray Serve app's real capture module (`capture.py`) on request/response pairs: the settings come from the
 * environment the OnnxRayService gives the app, the writer stores each object as a file named by its S3 key.
 * Returns the objects written and the capture's counters.
 */
function captureWithPython(pairs: { input: string; output: string }[], env: Record<string, string>, script = ''): { objects: { key: string; body: string; kms: string | null }[]; stats: Record<string, number> } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ray-capture-'));
  const program = `
import json, os, sys
sys.path.insert(0, ${JSON.stringify(APP_DIR)})
from capture import TrafficCapture, settings_from_env
out = ${JSON.stringify(out)}
written = []
def write(bucket, key, body, kms):
    if os.environ.get("FAIL_WRITES") == "1":
        raise RuntimeError("AccessDenied")
    written.append({"bucket": bucket, "key": key, "body": body, "kms": kms})
settings = settings_from_env()
capture = TrafficCapture(settings, write)
${script}
for line in sys.stdin:
    pair = json.loads(line)
    capture.offer(pair["input"], pair["output"])
capture.flush()
json.dump({"objects": written, "stats": capture.stats}, open(os.path.join(out, "result.json"), "w"))
`;
  execFileSync('python3', ['-B', '-c', program], { input: pairs.map((p) => JSON.stringify(p)).join('\n'), env: { PATH: process.env.PATH, ...env } });
  const result = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
  fs.rmSync(out, { recursive: true, force: true });
  return result;
}

/** Requests of two instances each, answered by the reference classifier, as the Serve app returns them. */
function traffic(instances: number[][]): { input: string; output: string }[] {
  const pairs = [];
  for (let i = 0; i < instances.length; i += 2) {
    const batch = instances.slice(i, i + 2);
    pairs.push({ input: JSON.stringify({ instances: batch }), output: JSON.stringify({ predictions: batch.map(classify) }) });
  }
  return pairs;
}

/**
 * Runs the Serve app itself (`serve_onnx.py`) on requests, with stand-ins only for what is not installed here: Ray
 * Serve's decorator, Starlette's request/response classes and an ONNX session computing the reference classifier
 * (numpy). Its capture is the real one; the S3 writer is replaced by one that keeps the objects. Returns the
 * responses' bodies and the objects written.
 */
function serveWithPython(bodies: string[], env: Record<string, string>): { responses: { status: number; body: string }[]; objects: { key: string; body: string; kms: string | null }[] } {
  const stubs = fs.mkdtempSync(path.join(os.tmpdir(), 'ray-stubs-'));
  const files: Record<string, string> = {
    'ray/__init__.py': '',
    'ray/serve.py': 'def deployment(**_):\n    def wrap(cls):\n        cls.bind = classmethod(lambda c: c)\n        return cls\n    return wrap\n',
    'starlette/__init__.py': '',
    'starlette/requests.py': 'class Request: pass\n',
    'starlette/responses.py': [
      'class Response:',
      '    def __init__(self, content=None, status_code=200, media_type=None):',
      '        self.body, self.status_code, self.media_type = content, status_code, media_type',
      'class JSONResponse(Response):',
      '    def __init__(self, content, status_code=200):',
      '        import json',
      '        super().__init__(json.dumps(content), status_code, "application/json")',
    ].join('\n'),
    'onnxruntime/__init__.py': [
      'import numpy as np',
      'W = np.array([[1, 0, -1], [0, 2, 0], [-0.5, 0.5, 1.5], [0.25, -0.25, 0]], dtype=np.float32)',
      'B = np.array([0.5, -0.5, 0], dtype=np.float32)',
      'class _Node:',
      '    def __init__(self, name): self.name, self.type, self.shape = name, "tensor(float)", ["N", 4]',
      'class InferenceSession:',
      '    def __init__(self, model, providers=None): pass',
      '    def get_inputs(self): return [_Node("input")]',
      '    def get_outputs(self): return [_Node("probabilities")]',
      '    def run(self, _, feeds):',
      '        z = feeds["input"] @ W + B',
      '        e = np.exp(z - z.max(axis=1, keepdims=True))',
      '        return [np.round(e / e.sum(axis=1, keepdims=True), 6)]',
    ].join('\n'),
  };
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(stubs, f)), { recursive: true });
    fs.writeFileSync(path.join(stubs, f), text);
  }
  const program = `
import asyncio, json, sys
sys.path[:0] = [${JSON.stringify(stubs)}, ${JSON.stringify(APP_DIR)}]
import serve_onnx
written = []
serve_onnx.s3_writer = lambda: (lambda bucket, key, body, kms: written.append({"key": key, "body": body, "kms": kms}))
serve_onnx.fetch_model = lambda uri, seed: b"onnx"
model = serve_onnx.app()
class Req:
    def __init__(self, body):
        self.method, self._body = "POST", body.encode()
        self.url = type("U", (), {"path": "/churn/invocations"})()
    async def body(self): return self._body
out = []
for line in sys.stdin:
    r = asyncio.run(model(Req(json.loads(line))))
    out.append({"status": r.status_code, "body": r.body})
model.capture.flush()
print(json.dumps({"responses": out, "objects": written}))
`;
  try {
    return JSON.parse(execFileSync('python3', ['-B', '-c', program], { input: bodies.map((b) => JSON.stringify(b)).join('\n'), env: { PATH: process.env.PATH, MODEL_S3_URI: 's3://lake/models/churn.onnx', ...env } }).toString());
  } finally {
    fs.rmSync(stubs, { recursive: true, force: true });
  }
}

const ENV = {
  CAPTURE_BUCKET: LAKE, CAPTURE_PREFIX: 'capture/ray/', CAPTURE_SAMPLING_PERCENT: '100', CAPTURE_KMS_KEY_ID: KEY,
  CAPTURE_SOURCE: 'churn', MODEL_NAME: 'churn', MODEL_PACKAGE_ARN: PACKAGE, CAPTURE_MAX_RECORDS: '100',
};

(hasPython ? describe : describe.skip)('Ray Serve path capture (capture.py) → drift job', () => {
  const store = s3Store(s3);
  const sm = mockClient(sagemaker);
  const eb = mockClient(eventBridge);
  const training = rows(5000, 61);
  let spies: jest.SpyInstance[];

  beforeAll(() => {
    Object.assign(process.env, {
      DRIFT_TARGETS: JSON.stringify([{ name: 'ray-churn', servingPath: 'ray', bucket: LAKE, prefix: 'capture/ray/churn/' }]),
      REPORT_BUCKET: LAKE, REPORT_PREFIX: 'drift-reports/', WINDOW_HOURS: '2', MIN_RECORDS: '100',
    });
  });
  afterAll(() => {
    for (const k of ['DRIFT_TARGETS', 'REPORT_BUCKET', 'REPORT_PREFIX', 'WINDOW_HOURS', 'MIN_RECORDS']) delete process.env[k];
  });
  beforeEach(() => {
    store.objects.clear();
    store.put(LAKE, 'training-jobs/job-7/output/drift-baseline.json', JSON.stringify(buildBaseline(training, { predictions: training.map((r) => argmax(classify(r))) })));
    sm.reset();
    eb.reset();
    sm.on(DescribeModelPackageCommand, { ModelPackageName: PACKAGE }).resolves({ CustomerMetadataProperties: { DriftBaseline: `s3://${LAKE}/training-jobs/job-7/output/drift-baseline.json` } } as never);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-ray' }] });
    spies = [jest.spyOn(process.stdout, 'write').mockImplementation(() => true), jest.spyOn(process.stderr, 'write').mockImplementation(() => true)];
  });
  afterEach(() => spies.forEach((s) => s.mockRestore()));

  const load = (objects: { key: string; body: string; kms: string | null }[]) => {
    for (const o of objects) store.objects.set(`${LAKE}/${o.key}`, { body: o.body, sse: o.kms ? 'aws:kms' : undefined, kmsKeyId: o.kms ?? undefined });
  };

  test('the shared format: the same line the Lambda path writes, partitioned by model package and hour, KMS key named', () => {
    const pair = traffic([[0.1, 1.5, -0.3, 2.2]])[0];
    const { objects, stats } = captureWithPython([pair], ENV);
    expect(stats).toMatchObject({ captured: 1, written: 1, objects: 1, failed_writes: 0 });
    const [o] = objects;
    const hour = new Date().toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/');
    expect(o.key).toMatch(new RegExp(`^capture/ray/churn/${modelPartition(PACKAGE, 'churn')}/${hour}/\\d{13}-[0-9a-f-]{36}\\.jsonl$`));
    expect(o.kms).toBe(KEY);
    const line = o.body.trimEnd();
    const record = JSON.parse(line);
    // Byte for byte what capture-format.ts builds for the same request, response and metadata.
    expect(line).toBe(captureLine(pair.input, pair.output, record.eventMetadata));
    expect(record.eventMetadata).toEqual({ eventId: expect.stringMatching(/^[0-9a-f-]{36}$/), inferenceTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), servingPath: 'ray', modelPackageArn: PACKAGE });
    expect(decodeCaptureLine(line)).toMatchObject({ rows: [[0.1, 1.5, -0.3, 2.2]], modelPackageArn: PACKAGE });
  });

  test('samples about the configured percent; off at 0 percent or without a bucket; a bad setting names the variable', () => {
    const { stats } = captureWithPython(traffic(rows(1600, 62)), { ...ENV, CAPTURE_SAMPLING_PERCENT: '25' });
    // 800 requests at 25 %: binomial, 4 standard deviations either side.
    expect(stats.captured).toBeGreaterThan(200 - 4 * 12.3);
    expect(stats.captured).toBeLessThan(200 + 4 * 12.3);
    expect(stats.written).toBe(stats.captured);
    const off = (env: Record<string, string>) => execFileSync('python3', ['-B', '-c', `import sys; sys.path.insert(0, ${JSON.stringify(APP_DIR)}); from capture import settings_from_env; print(settings_from_env())`], { env: { PATH: process.env.PATH, ...env } }).toString().trim();
    expect(off({ ...ENV, CAPTURE_SAMPLING_PERCENT: '0' })).toBe('None');
    expect(off({ CAPTURE_SAMPLING_PERCENT: '10' })).toBe('None');
    expect(() => off({ ...ENV, CAPTURE_SAMPLING_PERCENT: '150' })).toThrow(/CAPTURE_SAMPLING_PERCENT='150' is invalid: must be a number between 0 and 100/);
  });

  test('failed writes are counted and never reach the request', () => {
    const { objects, stats } = captureWithPython(traffic(rows(300, 63)), { ...ENV, FAIL_WRITES: '1' });
    expect(objects).toEqual([]);
    expect(stats).toMatchObject({ captured: 150, written: 0, failed_writes: 2, dropped_records: 150 });
  });

  test('the Serve app captures exactly the bytes it answers, never a bad request; the drift job reads its files', async () => {
    const instances = rows(400, 66, [0, 0, 0, 1.5]);
    const bodies = [...traffic(instances).map((p) => p.input), '{"rows": [[1, 2, 3, 4]]}'];
    const { responses, objects } = serveWithPython(bodies, ENV);
    expect(responses.slice(0, -1).every((r) => r.status === 200)).toBe(true);
    expect(responses.at(-1)!.status).toBe(400);
    const lines = objects.flatMap((o) => o.body.trimEnd().split('\n').map((l) => JSON.parse(l)));
    expect(lines).toHaveLength(200); // 100 % of the 200 good requests
    expect(lines.map((l) => l.captureData.endpointOutput.data)).toEqual(responses.slice(0, -1).map((r) => r.body));
    expect(lines.map((l) => l.captureData.endpointInput.data)).toEqual(bodies.slice(0, -1));
    load(objects);
    const { results } = await driftJob({});
    expect(results[0]).toMatchObject({ model: 'ray-churn', status: 'drift', records: 400, malformed: 0 });
    expect(results[0].driftedFeatures).toContain('f3');
  });

  test('the drift job reads the captured files: no drift on training-like traffic, drift on f3 when callers shift it', async () => {
    load(captureWithPython(traffic(rows(800, 64)), ENV).objects);
    let { results } = await driftJob({});
    expect(results[0]).toMatchObject({ model: 'ray-churn', status: 'ok', records: 800, malformed: 0 });
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);

    store.objects.clear();
    store.put(LAKE, 'training-jobs/job-7/output/drift-baseline.json', JSON.stringify(buildBaseline(training, { predictions: training.map((r) => argmax(classify(r))) })));
    const shifted = captureWithPython(traffic(rows(800, 65, [0, 0, 0, 1.5])), ENV).objects;
    load(shifted);
    store.objects.set(`${LAKE}/${shifted[0].key.replace(/\.jsonl$/, '-torn.jsonl')}`, { body: '{"captureData": {"endpointInput": \n' }); // a torn object
    ({ results } = await driftJob({}));
    expect(results[0]).toMatchObject({ status: 'drift', records: 800, malformed: 1 });
    expect(results[0].driftedFeatures).toContain('f3');
    const detail = JSON.parse(eb.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0].Detail!);
    expect(detail).toMatchObject({ model: 'ray-churn', servingPath: 'ray', modelPackageArn: PACKAGE });
    expect(detail.features.map((f: { name: string }) => f.name)).toContain('f3');
  });
});
