import { randomUUID } from 'node:crypto';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, DescribeEndpointConfigCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { type Aws } from '../aws';
import { discoverStage } from '../discovery';
import { CliError } from '../errors';
import { mark, table } from '../output';

export type SmokeTarget = 'all' | 'lambda' | 'endpoint' | 'ray';

export interface SmokeCheck {
  readonly target: 'lambda' | 'endpoint' | 'ray';
  /** `function:alias` or the endpoint name. */
  readonly name: string;
  readonly passed: boolean;
  readonly latencyMs?: number;
  /** Where the request came from: `--payload` or the model's metadata. */
  readonly payloadSource?: 'file' | 'metadata';
  readonly predictions?: number;
  /** The first prediction, to eyeball. */
  readonly sample?: unknown;
  readonly message: string;
}

export interface SmokeReport {
  readonly stage: string;
  readonly passed: boolean;
  readonly checks: SmokeCheck[];
  /** Set when the stage deploys no model and `--target all` was asked: nothing was invoked, and that is not a failure. */
  readonly skipped?: string;
}

/** A model input as the model server's `GET /metadata` describes it. */
interface TensorSpec { readonly name: string; readonly dtype: string; readonly shape: ReadonlyArray<number | string> }

const FLOAT = new Set(['float32', 'float64', 'float16']);
const INT = new Set(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

/**
 * Builds a one-example `{"instances": [...]}` request from the model's input specs: fixed dimensions as
 * given, dynamic ones (names or -1) as 1, zeros (or false) as values. Throws a message when an input cannot be
 * expressed in JSON or its rank is unknown.
 */
export function samplePayload(inputs: readonly TensorSpec[]): { instances: unknown[] } {
  if (inputs.length === 0) throw new Error('the model metadata lists no inputs');
  const example = (spec: TensorSpec): unknown => {
    const value = FLOAT.has(spec.dtype) || INT.has(spec.dtype) ? 0 : spec.dtype === 'bool' ? false : undefined;
    if (value === undefined) throw new Error(`input ${spec.name} has dtype ${spec.dtype}, which has no JSON sample`);
    if (spec.shape.length === 0) throw new Error(`input ${spec.name} has no known shape`);
    // The first dimension is the batch; build one example of the rest.
    const build = (dims: ReadonlyArray<number | string>): unknown =>
      dims.length === 0 ? value : Array.from({ length: typeof dims[0] === 'number' && dims[0] > 0 ? dims[0] : 1 }, () => build(dims.slice(1)));
    return build(spec.shape.slice(1));
  };
  if (inputs.length === 1) return { instances: [example(inputs[0])] };
  return { instances: [Object.fromEntries(inputs.map((i) => [i.name, example(i)]))] };
}

/** Checks the model server's answer: a JSON object with one prediction per example. */
export function checkPredictions(body: string, payload: unknown): { predictions: unknown[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`the answer is not JSON: ${body.slice(0, 200)}`);
  }
  const predictions = (parsed as { predictions?: unknown })?.predictions;
  if (!Array.isArray(predictions)) throw new Error(`the answer has no "predictions" array: ${body.slice(0, 200)}`);
  const instances = (payload as { instances?: unknown })?.instances;
  if (Array.isArray(instances) && predictions.length !== instances.length) {
    throw new Error(`sent ${instances.length} examples but got ${predictions.length} predictions`);
  }
  if (predictions.length === 0) throw new Error('the answer has an empty "predictions" array');
  return { predictions };
}

/** An API Gateway HTTP API (payload 2.0) event, the shape the model server's Lambda handler routes on. */
function httpEvent(method: 'GET' | 'POST', path: string, body?: string): Record<string, unknown> {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { accept: 'application/json', 'user-agent': 'cdk-mlops-cli', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    requestContext: {
      accountId: 'anonymous', apiId: 'cdk-mlops-smoke', domainName: 'cdk-mlops-smoke', domainPrefix: 'cdk-mlops-smoke',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'cdk-mlops-cli' },
      requestId: randomUUID(), routeKey: '$default', stage: '$default', time: now.toUTCString(), timeEpoch: now.getTime(),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
}

const decode = (bytes: Uint8Array | undefined): string => (bytes ? new TextDecoder().decode(bytes) : '');

/** Invokes the alias with an HTTP event; returns the HTTP response body, or throws with what went wrong. */
async function invokeHttp(aws: Aws, functionName: string, alias: string, method: 'GET' | 'POST', path: string, body?: string): Promise<string> {
  const out = await aws.call('lambda:InvokeFunction', () => aws.lambda.send(new InvokeCommand({
    FunctionName: functionName,
    Qualifier: alias,
    InvocationType: 'RequestResponse',
    Payload: new TextEncoder().encode(JSON.stringify(httpEvent(method, path, body))),
  })));
  const text = decode(out.Payload);
  if (out.FunctionError) {
    let detail = text;
    try {
      const e = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      detail = `${e.errorType ?? 'Error'}: ${e.errorMessage ?? ''}`;
    } catch { /* keep the raw text */ }
    throw new Error(`the function failed (${out.FunctionError}) on ${method} ${path}: ${detail.slice(0, 300)}`);
  }
  let res: { statusCode?: number; body?: string; isBase64Encoded?: boolean };
  try {
    res = JSON.parse(text) as typeof res;
  } catch {
    throw new Error(`${method} ${path} returned a payload that is not an HTTP response: ${text.slice(0, 200)}`);
  }
  const resBody = res.isBase64Encoded && res.body ? Buffer.from(res.body, 'base64').toString('utf8') : res.body ?? '';
  if (res.statusCode !== 200) throw new Error(`${method} ${path} answered HTTP ${res.statusCode ?? '?'}: ${resBody.slice(0, 300)}`);
  return resBody;
}

const failure = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function smokeLambda(aws: Aws, functionName: string, alias: string, payload: unknown): Promise<SmokeCheck & { metadataPayload?: unknown }> {
  const name = `${functionName}:${alias}`;
  let request = payload;
  let payloadSource: SmokeCheck['payloadSource'] = 'file';
  try {
    if (request === undefined) {
      payloadSource = 'metadata';
      const metadata = JSON.parse(await invokeHttp(aws, functionName, alias, 'GET', '/metadata')) as { inputs?: TensorSpec[] };
      try {
        request = samplePayload(metadata.inputs ?? []);
      } catch (err) {
        throw new Error(`cannot build a sample request from the model metadata (${failure(err)}); pass --payload <file.json>`);
      }
    }
    const started = performance.now();
    const body = await invokeHttp(aws, functionName, alias, 'POST', '/invocations', JSON.stringify(request));
    const latencyMs = Math.round(performance.now() - started);
    const { predictions } = checkPredictions(body, request);
    return {
      target: 'lambda', name, passed: true, latencyMs, payloadSource, predictions: predictions.length, sample: predictions[0],
      message: `${predictions.length} prediction${predictions.length > 1 ? 's' : ''} in ${latencyMs} ms`,
      metadataPayload: payloadSource === 'metadata' ? request : undefined,
    };
  } catch (err) {
    if (err instanceof CliError && (err.kind === 'no-credentials' || err.kind === 'no-region')) throw err;
    return { target: 'lambda', name, passed: false, payloadSource, message: failure(err) };
  }
}

async function smokeEndpoint(aws: Aws, endpoint: string, payload: unknown, payloadSource: SmokeCheck['payloadSource']): Promise<SmokeCheck> {
  if (payload === undefined) {
    return {
      target: 'endpoint', name: endpoint, passed: false,
      message: 'no sample request: SageMaker endpoints only serve /invocations, so pass --payload <file.json> (or deploy the Lambda inference, whose metadata provides one)',
    };
  }
  try {
    const asyncOutput = await asyncOutputOf(aws, endpoint);
    if (asyncOutput) return await smokeAsyncEndpoint(aws, endpoint, asyncOutput, payload, payloadSource);
    const started = performance.now();
    const out = await aws.call('sagemaker:InvokeEndpoint', () => aws.sageMakerRuntime.send(new InvokeEndpointCommand({
      EndpointName: endpoint,
      ContentType: 'application/json',
      Accept: 'application/json',
      Body: new TextEncoder().encode(JSON.stringify(payload)),
    })));
    const latencyMs = Math.round(performance.now() - started);
    const { predictions } = checkPredictions(decode(out.Body), payload);
    return {
      target: 'endpoint', name: endpoint, passed: true, latencyMs, payloadSource, predictions: predictions.length, sample: predictions[0],
      message: `${predictions.length} prediction${predictions.length > 1 ? 's' : ''} in ${latencyMs} ms${out.InvokedProductionVariant ? ` from variant ${out.InvokedProductionVariant}` : ''}`,
    };
  } catch (err) {
    if (err instanceof CliError && (err.kind === 'no-credentials' || err.kind === 'no-region')) throw err;
    return { target: 'endpoint', name: endpoint, passed: false, payloadSource, message: failure(err) };
  }
}

/** How long `smoke` waits for an asynchronous endpoint's answer, and how often it looks. */
export const ASYNC_WAIT = { totalMs: 5 * 60_000, pollMs: 5_000 };

/** The S3 output path of an asynchronous endpoint's config; undefined for other endpoints (or when it cannot be read). */
async function asyncOutputOf(aws: Aws, endpoint: string): Promise<string | undefined> {
  try {
    const e = await aws.call('sagemaker:DescribeEndpoint', () => aws.sageMaker.send(new DescribeEndpointCommand({ EndpointName: endpoint })));
    if (!e?.EndpointConfigName) return undefined;
    const c = await aws.call('sagemaker:DescribeEndpointConfig', () => aws.sageMaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: e.EndpointConfigName })));
    return c?.AsyncInferenceConfig?.OutputConfig?.S3OutputPath;
  } catch (err) {
    if (err instanceof CliError && (err.kind === 'no-credentials' || err.kind === 'no-region')) throw err;
    return undefined; // e.g. no DescribeEndpointConfig permission: the synchronous call reports what is wrong
  }
}

const s3Location = (uri: string): { Bucket: string; Key: string } => {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new CliError('failed', `Not an S3 URI: ${uri}`);
  return { Bucket: m[1], Key: m[2] };
};

async function readIfThere(aws: Aws, uri: string): Promise<string | undefined> {
  try {
    const out = await aws.s3.send(new GetObjectCommand(s3Location(uri)));
    return await out.Body!.transformToString('utf8');
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/**
 * Asynchronous endpoints refuse InvokeEndpoint: the request is written beside the endpoint's output prefix
 * (`<prefix>input/smoke-test/`, which the endpoint role reads), queued with InvokeEndpointAsync, and the answer read
 * from the output (or failure) location SageMaker names, polling up to {@link ASYNC_WAIT}.
 */
async function smokeAsyncEndpoint(aws: Aws, endpoint: string, outputPath: string, payload: unknown, payloadSource: SmokeCheck['payloadSource']): Promise<SmokeCheck> {
  const started = performance.now();
  const base = outputPath.replace(/\/+$/, '').replace(/[^/]+$/, '');
  const id = `cli-${randomUUID()}`;
  const input = `${base}input/smoke-test/${id}.json`;
  await aws.call('s3:PutObject', () => aws.s3.send(new PutObjectCommand({ ...s3Location(input), Body: JSON.stringify(payload), ContentType: 'application/json' })));
  const out = await aws.call('sagemaker:InvokeEndpointAsync', () => aws.sageMakerRuntime.send(new InvokeEndpointAsyncCommand({
    EndpointName: endpoint, InputLocation: input, ContentType: 'application/json', Accept: 'application/json', InferenceId: id,
  })));
  for (let waited = 0; ; waited += ASYNC_WAIT.pollMs) {
    const answer = out.OutputLocation ? await readIfThere(aws, out.OutputLocation) : undefined;
    if (answer !== undefined) {
      const latencyMs = Math.round(performance.now() - started);
      const { predictions } = checkPredictions(answer, payload);
      return {
        target: 'endpoint', name: endpoint, passed: true, latencyMs, payloadSource, predictions: predictions.length, sample: predictions[0],
        message: `${predictions.length} prediction${predictions.length > 1 ? 's' : ''} from the asynchronous endpoint in ${latencyMs} ms (${out.OutputLocation})`,
      };
    }
    const failed = out.FailureLocation ? await readIfThere(aws, out.FailureLocation) : undefined;
    if (failed !== undefined) return { target: 'endpoint', name: endpoint, passed: false, payloadSource, message: `the asynchronous request failed: ${failed.slice(0, 300)}` };
    if (waited >= ASYNC_WAIT.totalMs) {
      return { target: 'endpoint', name: endpoint, passed: false, payloadSource, message: `no answer at ${out.OutputLocation} after ${ASYNC_WAIT.totalMs / 1000} s (an endpoint scaled to zero starts an instance first; try again)` };
    }
    await aws.pause(ASYNC_WAIT.pollMs);
  }
}

/** What the Ray job gateway's `serveSmoke` action answers (lambda/ray-job-gateway). */
interface ServeSmokeAnswer { url?: string; statusCode?: number; body?: string; latencyMs?: number; payload?: unknown }

/**
 * Ray Serve apps sit behind internal load balancers: the in-VPC gateway function sends the request (from `--payload`,
 * or built from the app's GET /metadata) and returns the HTTP answer, which is checked like the others.
 */
async function smokeRayServe(aws: Aws, gatewayFunction: string, service: string, routePrefix: string, payload: unknown): Promise<SmokeCheck> {
  const name = `${service}${routePrefix}`;
  try {
    const out = await aws.call('lambda:InvokeFunction', () => aws.lambda.send(new InvokeCommand({
      FunctionName: gatewayFunction,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify({ action: 'serveSmoke', service, routePrefix, ...(payload !== undefined ? { payload } : {}) })),
    })));
    const text = decode(out.Payload);
    if (out.FunctionError) {
      let detail = text;
      try {
        const e = JSON.parse(text) as { errorMessage?: string };
        detail = e.errorMessage ?? text;
      } catch { /* keep the raw text */ }
      throw new Error(`the Ray job gateway failed: ${detail.slice(0, 300)}`);
    }
    const answer = JSON.parse(text) as ServeSmokeAnswer;
    if (answer.statusCode !== 200) throw new Error(`${answer.url ?? name} answered HTTP ${answer.statusCode ?? '?'}: ${(answer.body ?? '').slice(0, 300)}`);
    const { predictions } = checkPredictions(answer.body ?? '', answer.payload ?? payload);
    return {
      target: 'ray', name, passed: true, latencyMs: answer.latencyMs, payloadSource: payload === undefined ? 'metadata' : 'file',
      predictions: predictions.length, sample: predictions[0],
      message: `${predictions.length} prediction${predictions.length > 1 ? 's' : ''} in ${answer.latencyMs ?? '?'} ms via the internal load balancer`,
    };
  } catch (err) {
    if (err instanceof CliError && (err.kind === 'no-credentials' || err.kind === 'no-region')) throw err;
    return { target: 'ray', name, passed: false, message: failure(err) };
  }
}

/**
 * Invokes every deployed model of the stage once with `payload` (or, for the Lambda, a request built from
 * its metadata; endpoints then reuse that request) and checks each answer has one prediction per example.
 */
export async function runSmoke(aws: Aws, prefix: string, stageName: string, target: SmokeTarget, payload: unknown): Promise<SmokeReport> {
  const stage = await discoverStage(aws, prefix, stageName);
  const wantLambda = (target === 'all' || target === 'lambda') && stage.inference !== undefined;
  const wantEndpoints = target === 'all' || target === 'endpoint' ? stage.endpointNames : [];
  const wantRay = (target === 'all' || target === 'ray') && stage.rayServe !== undefined;
  if (!wantLambda && wantEndpoints.length === 0 && !wantRay) {
    // A stage that serves no model is healthy as far as smoke goes: a deploy pipeline running `smoke` after every
    // stage must not stop there. Asking for a specific target that is absent stays an error.
    if (target === 'all') {
      return { stage: stageName, passed: true, checks: [], skipped: `stage "${stageName}" deploys no model (no ${prefix}-${stageName}-Inference or ${prefix}-${stageName}-SageMaker stack, no Ray Serve app); nothing to smoke-test` };
    }
    const what = target === 'lambda' ? `the Lambda inference (stack ${prefix}-${stageName}-Inference)` : target === 'endpoint' ? `a SageMaker endpoint (stack ${prefix}-${stageName}-SageMaker)`
      : `a Ray Serve app (eks.ray.services in stack ${prefix}-${stageName}-Training)`;
    throw new CliError('not-deployed', `Stage "${stageName}" does not deploy ${what}; nothing to smoke-test.`);
  }
  const checks: SmokeCheck[] = [];
  let endpointPayload = payload;
  let endpointSource: SmokeCheck['payloadSource'] = payload === undefined ? undefined : 'file';
  if (wantLambda) {
    const { metadataPayload, ...check } = await smokeLambda(aws, stage.inference!.functionName, stage.inference!.aliasName, payload);
    checks.push(check);
    if (endpointPayload === undefined && metadataPayload !== undefined) {
      endpointPayload = metadataPayload;
      endpointSource = 'metadata';
    }
  }
  checks.push(...(await Promise.all(wantEndpoints.map((e) => smokeEndpoint(aws, e, endpointPayload, endpointSource)))));
  if (wantRay) {
    const { gatewayFunction, services } = stage.rayServe!;
    checks.push(...(await Promise.all(services.map((s) => smokeRayServe(aws, gatewayFunction, s.service, s.routePrefix, payload)))));
  }
  return { stage: stageName, passed: checks.every((c) => c.passed), checks };
}

export function renderSmoke(r: SmokeReport, color: boolean): string {
  if (r.skipped) return `Smoke test of stage ${r.stage}: skipped — ${r.skipped}.`;
  const rows = r.checks.map((c) => [c.target, c.name, mark(c.passed ? 'ok' : 'error', color), c.message]);
  return [`Smoke test of stage ${r.stage}: ${mark(r.passed ? 'ok' : 'error', color)}`, '', table(['TARGET', 'NAME', 'RESULT', 'DETAIL'], rows)].join('\n');
}
