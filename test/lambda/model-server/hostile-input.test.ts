/**
 * @jest-environment ./test/lambda/model-server/onnx-environment.js
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type RunningServer, containerEnv, startServer } from '../../../lambda/model-server/src/server';
import { httpSettingsFromEnv } from '../../../lambda/model-server/src/settings';
import { EmfTelemetry } from '../../../lambda/model-server/src/telemetry';
import { checkJsonStructure, JSON_LIMITS } from '../../../lambda/model-server/src/tensors';
import { loadTestModel } from './fixtures';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function post(url: string, body: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ping = async (url: string): Promise<number> => (await fetch(`${url}/ping`)).status;

/** 4 MiB of `[[[[…]]]]`: the body that blocked the event loop for seconds before the structure check. */
const NESTED = '['.repeat(2 * 1024 * 1024) + ']'.repeat(2 * 1024 * 1024);

describe('the model server under hostile input (production limits: 5 MiB bodies, 256 examples)', () => {
  let running: RunningServer;
  const logs: string[] = [];
  beforeAll(async () => {
    const settings = httpSettingsFromEnv({ PORT: '0', HOST: '127.0.0.1', MODEL_NAME: 'test' });
    const telemetry = new EmfTelemetry({ namespace: 't', service: 'model-server', modelName: 'test', flushMs: 60_000, write: (l) => logs.push(l) });
    running = await startServer({ settings, model: await loadTestModel(), telemetry });
  });
  afterAll(() => running.close());
  beforeEach(() => {
    logs.length = 0;
  });

  test('4 MiB of nested arrays: a short 400 TooDeep, a short log line, and /ping answers alongside', async () => {
    const [res, pings] = await Promise.all([post(running.url, NESTED), Promise.all([ping(running.url), ping(running.url)])]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'TooDeep', message: expect.stringContaining(`deeper than ${JSON_LIMITS.maxDepth} levels`) });
    expect(res.body.length).toBeLessThan(300);
    expect(pings).toEqual([200, 200]);
    expect(logs.every((l) => l.length < 1000)).toBe(true);
  });

  test('deeply nested objects are refused the same way', async () => {
    const body = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    const res = await post(running.url, body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toBe('TooDeep');
  });

  test('millions of tiny elements: 413 TooManyElements before parsing', async () => {
    const body = `{"instances": [${Array.from({ length: 1_200_000 }, () => '0').join(',')}]}`;
    const res = await post(running.url, body);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'TooManyElements', message: expect.stringContaining('more than 1000000 elements') });
  });

  test('an oversized batch in column format is refused before its elements are read', async () => {
    // 300 rows whose later elements are invalid: the batch limit, not the dtype, is what answers.
    const rows = Array.from({ length: 300 }, (_, i) => (i === 299 ? [1, 2, 3, 'x'] : [1, 2, 3, 4]));
    const res = await post(running.url, JSON.stringify({ inputs: { features: rows } }));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'BatchTooLarge', message: expect.stringContaining('batch of 300 exceeds the limit of 256') });
  });

  test('a huge wrong-typed value is echoed truncated in the message and the log', async () => {
    const res = await post(running.url, JSON.stringify({ instances: [[1, 'x'.repeat(1_000_000), 3, 4]] }));
    expect(res.status).toBe(400);
    const { error, message } = JSON.parse(res.body);
    expect(error).toBe('InvalidDtype');
    expect(message).toMatch(/got string "x{79}… \(1000002 characters\)$/);
    expect(res.body.length).toBeLessThan(400);
    expect(logs.join('\n').length).toBeLessThan(2000);
  });

  test('thousands of unknown keys and long input names are echoed truncated', async () => {
    const keys = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`field${i}`, i]));
    const res = await post(running.url, JSON.stringify(keys));
    expect(res.status).toBe(400);
    expect(res.body.length).toBeLessThan(400);
    const named = await post(running.url, JSON.stringify({ inputs: { ['n'.repeat(100_000)]: [[1, 2, 3, 4]] } }));
    expect(named.status).toBe(400);
    expect(JSON.parse(named.body).error).toBe('UnknownInput');
    expect(named.body.length).toBeLessThan(400);
  });

  test('a declared Content-Length above the limit gets 413 from the header alone (no body sent)', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(running.port, '127.0.0.1', () => {
        socket.write(`POST /invocations HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${50 * 1024 * 1024}\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (c: Buffer) => {
        data += c.toString();
        if (data.includes('\r\n\r\n') && data.includes('"requestId"')) {
          socket.destroy();
          resolve(data);
        }
      });
      socket.on('error', reject);
      socket.setTimeout(5000, () => reject(new Error(`no answer before the body was sent: ${data}`)));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toMatch(/connection: close/i);
    expect(reply).toContain(`request body of ${50 * 1024 * 1024} bytes exceeds the limit of ${5 * 1024 * 1024} bytes`);
    expect(await ping(running.url)).toBe(200);
  });

  test('after every hostile body the server still predicts', async () => {
    const res = await post(running.url, JSON.stringify({ instances: [[1, 2, 3, 4]] }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).predictions).toHaveLength(1);
  });
});

describe('the structure check', () => {
  const check = (s: string) => () => checkJsonStructure(Buffer.from(s), { maxDepth: 3, maxElements: 5 });

  test('brackets, braces and commas inside strings (with escaped quotes) do not count', () => {
    expect(check('{"a": "[[[[,,,,,,{{{{\\"[[[["}')).not.toThrow();
  });

  test('depth and element limits are exact', () => {
    expect(check('[[[1]]]')).not.toThrow();
    expect(check('[[[[1]]]]')).toThrow(/deeper than 3 levels/);
    expect(check('[1,2,3,4]')).not.toThrow();
    expect(check('[1,2,3,4,5,6]')).toThrow(/more than 5 elements/);
  });
});

describe('the container contract', () => {
  test('SAGEMAKER_BIND_TO_PORT wins over PORT; PORT alone still works', () => {
    expect(httpSettingsFromEnv(containerEnv({ PORT: '8080', SAGEMAKER_BIND_TO_PORT: '9123' })).port).toBe(9123);
    expect(httpSettingsFromEnv(containerEnv({ PORT: '8081' })).port).toBe(8081);
    expect(httpSettingsFromEnv(containerEnv({})).port).toBe(8080);
  });

  const dir = join(__dirname, '../../../lambda/model-server');
  const dockerfiles = ['Dockerfile.lambda', 'Dockerfile.sagemaker'].map((f) => [f, readFileSync(join(dir, f), 'utf8')] as const);

  test.each(dockerfiles)('%s: base image pinned by digest, lockfile installed with npm ci, no install-time downloads', (_name, text) => {
    const base = /^ARG BASE_IMAGE=(\S+)$/m.exec(text)?.[1];
    expect(base).toMatch(/^public\.ecr\.aws\/[a-z/]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
    for (const from of text.match(/^FROM .*$/gm) ?? []) expect(from).toMatch(/^FROM \$\{BASE_IMAGE\}( AS \w+)?$/);
    expect(text).not.toMatch(/npm install/);
    expect(text.match(/npm ci/g)).toHaveLength(2);
    expect(text.match(/COPY package\.json package-lock\.json/g)).toHaveLength(2);
    expect(text).toContain('ONNXRUNTIME_NODE_INSTALL=skip');
  });

  test('the image lockfile matches the image package.json', () => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    expect(lock.packages[''].dependencies).toEqual(pkg.dependencies);
    expect(lock.packages[''].devDependencies).toEqual(pkg.devDependencies);
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
      expect(lock.packages[`node_modules/${name}`]).toMatchObject({ version: (pkg.dependencies ?? {})[name] ?? pkg.devDependencies[name], integrity: expect.stringMatching(/^sha512-/) });
    }
  });

  test('the SageMaker image runs as root, as SageMaker asks; the Lambda image leaves the user to Lambda', () => {
    for (const [, text] of dockerfiles) expect(text).not.toMatch(/^USER /m);
  });
});
