import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { serveSmoke } from '../../lambda/ray-job-gateway';
import { checkPredictions, samplePayload } from '../../lib/cli/commands/smoke';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, DescribeEndpointConfigCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { awsError, cli, ENDPOINT, FUNCTION, InvokeCommand, InvokeEndpointCommand, mocks, resetMocks, stackMocks } from './fixtures';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
 
const dec = (b: Uint8Array | undefined): any => JSON.parse(new TextDecoder().decode(b));

const METADATA = {
  name: 'reference', inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', 4] }], outputs: [{ name: 'probabilities', dtype: 'float32', shape: ['batch', 3] }],
};

/** The model server's Lambda handler, as far as the CLI sees it: HTTP events in, HTTP responses out. */
 
function modelServer(predict: (body: any) => { statusCode: number; body: unknown } = (b) => ({ statusCode: 200, body: { predictions: b.instances.map(() => [0.2, 0.3, 0.5]) } })): void {
  mocks.lambda.on(InvokeCommand).callsFake((input: { Payload: Uint8Array }) => {
    const event = dec(input.Payload);
    const res = event.requestContext.http.method === 'GET' && event.rawPath === '/metadata'
      ? { statusCode: 200, body: METADATA }
      : predict(JSON.parse(event.body));
    return { StatusCode: 200, Payload: enc({ statusCode: res.statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(res.body) }) };
  });
}

beforeEach(() => resetMocks());

describe('smoke', () => {
  test('healthy stage: the Lambda gets a request built from its metadata, the endpoint the same one; exit 0', async () => {
    stackMocks();
    modelServer();
    mocks.smr.on(InvokeEndpointCommand).resolves({ Body: enc({ predictions: [[0.1, 0.1, 0.8]] }) as never, ContentType: 'application/json', InvokedProductionVariant: 'AllTraffic' });
    const r = await cli(['smoke', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      stage: 'dev', passed: true,
      checks: [
        { target: 'lambda', name: `${FUNCTION}:live`, passed: true, payloadSource: 'metadata', predictions: 1, sample: [0.2, 0.3, 0.5] },
        { target: 'endpoint', name: ENDPOINT, passed: true, payloadSource: 'metadata', predictions: 1, message: expect.stringContaining('from variant AllTraffic') },
      ],
    });
    const [meta, predict] = mocks.lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(meta).toMatchObject({ FunctionName: FUNCTION, Qualifier: 'live', InvocationType: 'RequestResponse' });
    expect(dec(meta.Payload as Uint8Array)).toMatchObject({ version: '2.0', rawPath: '/metadata', requestContext: { http: { method: 'GET', path: '/metadata' } } });
    const event = dec(predict.Payload as Uint8Array);
    expect(event).toMatchObject({ rawPath: '/invocations', headers: { 'content-type': 'application/json' }, requestContext: { http: { method: 'POST' } } });
    expect(JSON.parse(event.body)).toEqual({ instances: [[0, 0, 0, 0]] });
    const sm = mocks.smr.commandCalls(InvokeEndpointCommand)[0].args[0].input;
    expect(sm).toMatchObject({ EndpointName: ENDPOINT, ContentType: 'application/json', Accept: 'application/json' });
    expect(dec(sm.Body as Uint8Array)).toEqual({ instances: [[0, 0, 0, 0]] });
  });

  test('--payload file is sent as-is to every target; the prediction count must match', async () => {
    stackMocks();
    modelServer();
    mocks.smr.on(InvokeEndpointCommand).resolves({ Body: enc({ predictions: [[1], [2]] }) as never });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smoke-')), 'payload.json');
    fs.writeFileSync(file, JSON.stringify({ instances: [[1, 2, 3, 4], [5, 6, 7, 8]] }));
    const r = await cli(['smoke', '--stage', 'dev', '--payload', file, '--json']);
    expect(r.code).toBe(0);
    expect(r.json.checks.map((c: { payloadSource: string; predictions: number }) => [c.payloadSource, c.predictions])).toEqual([['file', 2], ['file', 2]]);
    expect(mocks.lambda.commandCalls(InvokeCommand)).toHaveLength(1); // no metadata call
  });

  test('endpoint failing (ModelError): exit 1 with the model\'s message; the Lambda still passes', async () => {
    stackMocks();
    modelServer();
    mocks.smr.on(InvokeEndpointCommand).rejects(awsError('ModelError', 'Received server error (500) from primary with message "{"error": "InferenceFailed"}"', 424));
    const r = await cli(['smoke', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.passed).toBe(false);
    expect(r.json.checks[0].passed).toBe(true);
    expect(r.json.checks[1]).toMatchObject({ target: 'endpoint', passed: false, message: expect.stringContaining('sagemaker:InvokeEndpoint failed: ModelError: Received server error (500)') });
  });

  test('Lambda answering 4xx: exit 1 with the status and body', async () => {
    stackMocks(['Network', 'Data', 'Inference']);
    modelServer(() => ({ statusCode: 400, body: { error: 'ShapeMismatch', message: 'instances: expected shape [batch, 4]' } }));
    const r = await cli(['smoke', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.checks).toEqual([expect.objectContaining({ target: 'lambda', passed: false, message: expect.stringContaining('POST /invocations answered HTTP 400: {"error":"ShapeMismatch"') })]);
  });

  test('Lambda function error (crash, timeout): exit 1 with the error type', async () => {
    stackMocks(['Network', 'Data', 'Inference']);
    mocks.lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: enc({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 30.00 seconds' }) as never });
    const r = await cli(['smoke', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.checks[0].message).toBe('the function failed (Unhandled) on GET /metadata: Sandbox.Timedout: Task timed out after 30.00 seconds');
  });

  test('wrong answer shape: fewer predictions than examples fails', async () => {
    stackMocks(['Network', 'Data', 'Inference']);
    modelServer(() => ({ statusCode: 200, body: { predictions: [] } }));
    const r = await cli(['smoke', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.checks[0].message).toBe('sent 1 examples but got 0 predictions');
  });

  test('only an endpoint and no payload: fails asking for --payload', async () => {
    stackMocks(['Network', 'Data', 'SageMaker']);
    const r = await cli(['smoke', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.checks[0].message).toMatch(/pass --payload <file.json>/);
    expect(mocks.smr.calls()).toHaveLength(0);
  });

  test('access denied on invoke: the check fails naming lambda:InvokeFunction', async () => {
    stackMocks(['Network', 'Data', 'Inference']);
    mocks.lambda.on(InvokeCommand).rejects(awsError('AccessDeniedException', `User: arn:aws:sts::123456789012:assumed-role/ci/gh is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:123456789012:function:${FUNCTION}:live`, 403));
    const r = await cli(['smoke', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.checks[0].message).toMatch(/^Access denied: the caller is missing permission lambda:InvokeFunction/);
  });

  test('throttled then ok: the endpoint call is retried and passes', async () => {
    stackMocks(['Network', 'Data', 'SageMaker']);
    mocks.smr.on(InvokeEndpointCommand).rejectsOnce(awsError('ThrottlingException', 'Rate exceeded', 400)).resolves({ Body: enc({ predictions: [[1]] }) as never });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smoke-')), 'payload.json');
    fs.writeFileSync(file, '{"instances": [[1, 2, 3, 4]]}');
    const r = await cli(['smoke', '--stage', 'dev', '--payload', file, '--target', 'endpoint']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/endpoint\s+mlops-dev-endpoint\s+OK\s+1 prediction in \d+ ms/);
    expect(mocks.smr.commandCalls(InvokeEndpointCommand)).toHaveLength(2);
  });

  test('missing stage: exit 3', async () => {
    stackMocks([]);
    const r = await cli(['smoke', '--stage', 'dev']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Stage "dev" is not deployed');
  });

  test('stage without a model: skipped with a clear line, exit 0 (a deploy pipeline goes on to the next stage)', async () => {
    stackMocks(['Network', 'Data', 'Alerts']);
    const r = await cli(['smoke', '--stage', 'dev']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Smoke test of stage dev: skipped — stage "dev" deploys no model (no mlops-dev-Inference or mlops-dev-SageMaker stack, no Ray Serve app); nothing to smoke-test.');
    const j = await cli(['smoke', '--stage', 'dev', '--json']);
    expect(j.json).toEqual({ stage: 'dev', passed: true, checks: [], skipped: expect.stringContaining('deploys no model') });
    expect(mocks.lambda.calls()).toHaveLength(0);
  });

  test('stage without the asked-for target: exit 3', async () => {
    stackMocks(['Network', 'Data', 'Alerts']);
    const r = await cli(['smoke', '--stage', 'dev', '--target', 'lambda']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('error: Stage "dev" does not deploy the Lambda inference (stack mlops-dev-Inference); nothing to smoke-test.');
  });

  test('bad --payload file: usage error before any AWS call', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smoke-')), 'payload.json');
    fs.writeFileSync(file, '{"instances": [');
    const r = await cli(['smoke', '--stage', 'dev', '--payload', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--payload .*payload\.json: not valid JSON/);
    const missing = await cli(['smoke', '--stage', 'dev', '--payload', '/nonexistent/p.json']);
    expect(missing.stderr).toBe('error: --payload /nonexistent/p.json: cannot read the file (ENOENT).');
    expect(mocks.cfn.calls()).toHaveLength(0);
  });
});

describe('sample payloads and answer checks', () => {
  test('one input: fixed dimensions kept, dynamic ones as 1, zeros', () => {
    expect(samplePayload([{ name: 'x', dtype: 'float32', shape: ['batch', 2, 'seq'] }])).toEqual({ instances: [[[0], [0]]] });
    expect(samplePayload([{ name: 'x', dtype: 'int64', shape: [-1] }])).toEqual({ instances: [0] });
  });

  test('several inputs: one object per example', () => {
    expect(samplePayload([{ name: 'ids', dtype: 'int32', shape: [-1, 3] }, { name: 'mask', dtype: 'bool', shape: [-1, 3] }]))
      .toEqual({ instances: [{ ids: [0, 0, 0], mask: [false, false, false] }] });
  });

  test('inputs JSON cannot express are explained', () => {
    expect(() => samplePayload([{ name: 'text', dtype: 'string', shape: [-1] }])).toThrow('input text has dtype string, which has no JSON sample');
    expect(() => samplePayload([{ name: 'x', dtype: 'float32', shape: [] }])).toThrow('input x has no known shape');
    expect(() => samplePayload([])).toThrow('the model metadata lists no inputs');
  });

  test('answers without predictions are rejected', () => {
    expect(() => checkPredictions('not json', {})).toThrow('the answer is not JSON: not json');
    expect(() => checkPredictions('{"outputs": []}', {})).toThrow('the answer has no "predictions" array');
    expect(checkPredictions('{"predictions": [1, 2]}', { inputs: {} }).predictions).toEqual([1, 2]);
  });
});

describe('smoke --target ray (Ray Serve behind an internal load balancer)', () => {
  test('the CLI asks the in-VPC gateway, which builds the request from /metadata and reaches the NLB; the answer is checked', async () => {
    // The gateway's answer comes from its real serveSmoke action against a fake cluster API and load balancer.
    Object.assign(process.env, { CLUSTER_ENDPOINT: 'https://eks.example', CLUSTER_CA: 'Y2E=', NAMESPACE: 'ray' });
    const lb = 'http://internal-abc.elb.eu-west-1.amazonaws.com:8000/reference-model';
    const answers: Record<string, unknown> = {
      'GET https://eks.example/api/v1/namespaces/ray/services/reference-model-serve-svc': { spec: { ports: [{ port: 8000 }] }, status: { loadBalancer: { ingress: [{ hostname: 'internal-abc.elb.eu-west-1.amazonaws.com' }] } } },
      [`GET ${lb}/metadata`]: METADATA,
      [`POST ${lb}/invocations`]: { predictions: [[0.2, 0.3, 0.5]] },
    };
    stackMocks(undefined, {
      Training: { Outputs: [{ OutputKey: 'ClusterName', OutputValue: 'mlops-dev-training' }, { OutputKey: 'RayJobGatewayFunction', OutputValue: 'mlops-dev-ray-gateway' }, { OutputKey: 'RayServeServices', OutputValue: 'reference-model-serve-svc=/reference-model' }] },
    });
    mocks.lambda.on(InvokeCommand, { FunctionName: 'mlops-dev-ray-gateway' }).callsFake(async (input: { Payload: Uint8Array }) => {
      const event = dec(input.Payload);
      const out = await serveSmoke(event, {
        token: async () => 't',
        request: async (url, init) => ({ status: answers[`${init.method} ${url}`] ? 200 : 404, body: JSON.stringify(answers[`${init.method} ${url}`] ?? {}) }),
      });
      return { StatusCode: 200, Payload: enc(out) };
    });
    const r = await cli(['smoke', '--stage', 'dev', '--target', 'ray', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ passed: true, checks: [{ target: 'ray', name: 'reference-model-serve-svc/reference-model', passed: true, predictions: 1, sample: [0.2, 0.3, 0.5], payloadSource: 'metadata' }] });
  });

  test('an unhealthy app fails the check with the load balancer\'s answer; no Ray Serve at all is "not deployed"', async () => {
    stackMocks(undefined, {
      Training: { Outputs: [{ OutputKey: 'RayJobGatewayFunction', OutputValue: 'gw' }, { OutputKey: 'RayServeServices', OutputValue: 'svc=/app' }] },
    });
    mocks.lambda.on(InvokeCommand, { FunctionName: 'gw' }).resolves({ StatusCode: 200, Payload: enc({ url: 'http://lb:8000/app/invocations', statusCode: 503, body: 'no healthy replicas' }) as never });
    const r = await cli(['smoke', '--stage', 'dev', '--target', 'ray', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.checks[0]).toMatchObject({ target: 'ray', passed: false, message: 'http://lb:8000/app/invocations answered HTTP 503: no healthy replicas' });
    resetMocks();
    stackMocks(['Network', 'Data', 'Alerts', 'Training']);
    expect((await cli(['smoke', '--stage', 'dev', '--target', 'ray'])).code).toBe(3);
  });
});

describe('smoke of an asynchronous endpoint: InvokeEndpointAsync, then the answer from S3', () => {
  const s3 = mockClient(S3Client);
  const OUTPUT = 's3://artifacts/async-inference/mlops-dev-endpoint/output';
  let objects: Map<string, string>;
  let polls: number;
  beforeEach(() => {
    s3.reset();
    objects = new Map();
    polls = 0;
    stackMocks();
    modelServer();
    mocks.sm.on(DescribeEndpointCommand).resolves({ EndpointName: ENDPOINT, EndpointStatus: 'InService', EndpointConfigName: 'mlops-dev-endpoint-v3-0a1b2c3d' });
    mocks.sm.on(DescribeEndpointConfigCommand, { EndpointConfigName: 'mlops-dev-endpoint-v3-0a1b2c3d' }).resolves({ AsyncInferenceConfig: { OutputConfig: { S3OutputPath: OUTPUT } } } as never);
    s3.on(PutObjectCommand).callsFake((i) => { objects.set(`s3://${i.Bucket}/${i.Key}`, String(i.Body)); return {}; });
    s3.on(GetObjectCommand).callsFake((i) => {
      const uri = `s3://${i.Bucket}/${i.Key}`;
      // SageMaker writes the answer after the second look.
      if (uri.endsWith('.out') && !uri.endsWith('-error.out') && ++polls === 2) {
        const request = JSON.parse([...objects.entries()].find(([k]) => k.includes('/input/smoke-test/'))![1]);
        objects.set(uri, JSON.stringify({ predictions: request.instances.map(() => [0.4, 0.6]) }));
      }
      const text = objects.get(uri);
      if (text === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      return { Body: { transformToString: async () => text } as never };
    });
    mocks.smr.on(InvokeEndpointAsyncCommand).callsFake((i) => ({ InferenceId: i.InferenceId, OutputLocation: `${OUTPUT}/${i.InferenceId}.out`, FailureLocation: `${OUTPUT}-failures/${i.InferenceId}-error.out` }));
  });
  afterAll(() => s3.restore());

  const payloadFile = () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smoke-')), 'payload.json');
    fs.writeFileSync(file, JSON.stringify({ instances: [[0, 0, 0, 0]] }));
    return file;
  };

  test('the request is written beside the output prefix, queued, and the answer read once SageMaker writes it', async () => {
    const r = await cli(['smoke', '--stage', 'dev', '--target', 'endpoint', '--payload', payloadFile(), '--json']);
    expect(r.code).toBe(0);
    expect(r.json.checks).toEqual([expect.objectContaining({ target: 'endpoint', name: ENDPOINT, passed: true, predictions: 1, message: expect.stringContaining('asynchronous endpoint') })]);
    const call = mocks.smr.commandCalls(InvokeEndpointAsyncCommand)[0].args[0].input;
    expect(call).toMatchObject({ EndpointName: ENDPOINT, ContentType: 'application/json', InputLocation: expect.stringMatching(/^s3:\/\/artifacts\/async-inference\/mlops-dev-endpoint\/input\/smoke-test\/cli-/) });
    expect(JSON.parse(objects.get(call.InputLocation!)!)).toEqual({ instances: [[0, 0, 0, 0]] });
    expect(mocks.smr.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  test('a failure object fails the check with its text (exit 1)', async () => {
    s3.on(GetObjectCommand).callsFake((i) => {
      if (String(i.Key).endsWith('-error.out')) return { Body: { transformToString: async () => 'ModelError: 500 from the container' } as never };
      throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    });
    const r = await cli(['smoke', '--stage', 'dev', '--target', 'endpoint', '--payload', payloadFile(), '--json']);
    expect(r.code).toBe(1);
    expect(r.json.checks[0]).toMatchObject({ passed: false, message: 'the asynchronous request failed: ModelError: 500 from the container' });
  });
});
