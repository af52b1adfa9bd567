/**
 * Smoke test after a model deployment. Sends `{"instances": [...]}` to the deployed model (a SageMaker endpoint
 * through the runtime API, or the Lambda inference function) and expects `{"predictions": [...]}` with one finite
 * prediction per instance. For an endpoint it first checks that it is InService and serves the expected model
 * package (the approval handler deploys asynchronously): until then the result is PENDING and the state machine asks
 * again. Bad requests get statusCode 400; a wrong answer is FAILED.
 *
 * An asynchronous endpoint (its config has AsyncInferenceConfig) is asked with InvokeEndpointAsync: the request is
 * written under `<async prefix>input/smoke-test/` (the endpoint role reads it), and the output locations SageMaker
 * returns are kept beside it, so the next check (the state machine asks again while PENDING) reads the answer from S3
 * instead of queueing another request. A failure object is FAILED with its text.
 *
 * A Lambda function (`<name>:<alias>`) with `sourceModelPackageArn` is PENDING while CodeDeploy shifts the alias and
 * until the version it points at names (a copy of) that package; then the alias is invoked. A canary that rolled back
 * leaves the alias on the old package: with the function's `deployment` (CodeDeploy application and group) in the
 * request, a Failed or Stopped shift to the version serving the package fails the test at once; without it the test
 * stays PENDING until the state machine's timeout.
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CodeDeployClient, GetDeploymentCommand, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, InvokeCommand, LambdaClient, ListVersionsByFunctionCommand } from '@aws-sdk/client-lambda';
import {
  DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, DescribeModelPackageCommand,
  type DescribeModelPackageCommandOutput, SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand, InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export const logger = new Logger({ serviceName: 'smoke-test' });
export const metrics = new Metrics({ namespace: 'cdk-mlops', serviceName: 'smoke-test' });
export const sagemaker = new SageMakerClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const runtime = new SageMakerRuntimeClient({ maxAttempts: 3 });
export const lambda = new LambdaClient({ maxAttempts: 3 });
export const codedeploy = new CodeDeployClient({ maxAttempts: 3 });
export const s3 = new S3Client({ maxAttempts: 3 });

export interface SmokeTestRequest {
  endpointName?: unknown;
  functionName?: unknown;
  instances?: unknown;
  /** The registered package the deployment came from; the endpoint must serve a copy of it. */
  sourceModelPackageArn?: unknown;
  /** A Lambda target's CodeDeploy application and deployment group: a shift to the promoted package that was stopped or failed fails the test. */
  deployment?: unknown;
}

export interface SmokeTestResult {
  statusCode: 200 | 400;
  status: 'PASSED' | 'FAILED' | 'PENDING' | 'ERROR';
  message: string;
  predictions?: unknown[];
}

const ENDPOINT = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const FUNCTION = /^[a-zA-Z0-9-_]{1,64}(:[a-zA-Z0-9-_$]{1,128})?$/;
const PACKAGE_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/[a-zA-Z0-9-]{1,63}\/\d+$/;
const BUSY = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'UpdateRollbackFailed']);

function validate(r: SmokeTestRequest): string[] {
  const p: string[] = [];
  const hasEndpoint = r.endpointName !== undefined;
  const hasFunction = r.functionName !== undefined;
  if (hasEndpoint === hasFunction) p.push('endpointName/functionName: give exactly one of them');
  if (hasEndpoint && (typeof r.endpointName !== 'string' || !ENDPOINT.test(r.endpointName))) p.push(`endpointName: ${JSON.stringify(r.endpointName)} — must be a SageMaker endpoint name`);
  if (hasFunction && (typeof r.functionName !== 'string' || !FUNCTION.test(r.functionName))) p.push(`functionName: ${JSON.stringify(r.functionName)} — must be a Lambda function name, optionally ":alias"`);
  if (!Array.isArray(r.instances) || r.instances.length === 0 || !r.instances.every((row) => Array.isArray(row) && row.length > 0 && row.every((x) => typeof x === 'number' && Number.isFinite(x)))) {
    p.push('instances: must be a non-empty list of non-empty lists of numbers');
  }
  const d = r.deployment as { application?: unknown; deploymentGroup?: unknown } | undefined;
  if (d !== undefined && (!hasFunction || typeof d !== 'object' || d === null || typeof d.application !== 'string' || typeof d.deploymentGroup !== 'string')) {
    p.push(`deployment: ${JSON.stringify(r.deployment)} — must be {"application": ..., "deploymentGroup": ...} of the function's CodeDeploy deployment group`);
  }
  if (r.sourceModelPackageArn !== undefined && (typeof r.sourceModelPackageArn !== 'string' || !PACKAGE_ARN.test(r.sourceModelPackageArn))) {
    p.push(`sourceModelPackageArn: ${JSON.stringify(r.sourceModelPackageArn)} — must be a versioned model package ARN`);
  }
  return p;
}

/** A prediction is a finite number or a non-empty list of finite numbers (class probabilities). */
const isPrediction = (p: unknown): boolean =>
  (typeof p === 'number' && Number.isFinite(p)) || (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'number' && Number.isFinite(x)));

/** Checks a model server answer; returns the problem, or undefined when it is good. */
export function checkAnswer(body: unknown, instances: number): string | undefined {
  if (!body || typeof body !== 'object' || !Array.isArray((body as { predictions?: unknown }).predictions)) {
    return `expected {"predictions": [...]}, got ${JSON.stringify(body)?.slice(0, 300)}`;
  }
  const predictions = (body as { predictions: unknown[] }).predictions;
  if (predictions.length !== instances) return `expected ${instances} prediction(s), got ${predictions.length}`;
  const bad = predictions.findIndex((p) => !isPrediction(p));
  return bad >= 0 ? `prediction ${bad} is not a number or a list of numbers: ${JSON.stringify(predictions[bad])}` : undefined;
}

/** The async output path of an endpoint config, when it is an asynchronous endpoint. */
type AsyncOutput = { S3OutputPath?: string; S3FailurePath?: string } | undefined;

/** Whether the endpoint is ready and serves (a copy of) the expected package; a reason when not. */
async function endpointReadiness(endpointName: string, sourceArn?: string): Promise<{ ready: true; configName: string; asyncOutput?: AsyncOutput } | { ready: false; failed: boolean; reason: string }> {
  let endpoint;
  try {
    endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (e) {
    if (/Could not find endpoint/i.test((e as Error).message)) return { ready: false, failed: false, reason: `endpoint ${endpointName} does not exist yet` };
    throw e;
  }
  const status = endpoint.EndpointStatus ?? 'unknown';
  if (BUSY.has(status)) return { ready: false, failed: false, reason: `endpoint ${endpointName} is ${status}` };
  if (status !== 'InService') return { ready: false, failed: true, reason: `endpoint ${endpointName} is ${status}${endpoint.FailureReason ? `: ${endpoint.FailureReason}` : ''}` };
  const config = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
  const ready = { ready: true as const, configName: endpoint.EndpointConfigName ?? '', asyncOutput: config.AsyncInferenceConfig?.OutputConfig };
  if (!sourceArn) return ready;
  for (const variant of config.ProductionVariants ?? []) {
    const model = await sagemaker.send(new DescribeModelCommand({ ModelName: variant.ModelName }));
    const packages = [model.PrimaryContainer, ...(model.Containers ?? [])].map((c) => c?.ModelPackageName).filter((n): n is string => !!n);
    for (const arn of packages) {
      if (arn === sourceArn) return ready;
      const pkg: DescribeModelPackageCommandOutput = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
      if (pkg.CustomerMetadataProperties?.SourceModelPackageArn === sourceArn) return ready;
    }
  }
  return { ready: false, failed: false, reason: `endpoint ${endpointName} does not serve ${sourceArn} yet` };
}

/** Whether the package's source (or the package itself) is `sourceArn`. */
async function isCopyOf(arn: string, sourceArn: string): Promise<boolean> {
  if (arn === sourceArn) return true;
  const pkg: DescribeModelPackageCommandOutput = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  return pkg.CustomerMetadataProperties?.SourceModelPackageArn === sourceArn;
}

/**
 * Whether the alias serves (a copy of) the expected package: not while CodeDeploy shifts it (weighted routing), and
 * only when the version it points at names the package (`MODEL_PACKAGE_ARN`, which the deployment handler sets and the
 * model server reports in `/metadata`).
 */
type Deployment = { application: string; deploymentGroup: string };

/**
 * The alias is stable on another package: a version serving the promoted one may exist whose CodeDeploy shift was
 * stopped or failed (its alarms rolled it back). Then the promotion failed; otherwise it has not started yet.
 */
async function rolledBackShift(name: string, sourceArn: string, deployment: Deployment): Promise<string | undefined> {
  const versions: { Version?: string; LastModified?: string; Environment?: { Variables?: Record<string, string> } }[] = [];
  let Marker: string | undefined;
  do {
    const page = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: name, Marker, MaxItems: 50 }));
    versions.push(...(page.Versions ?? []));
    Marker = page.NextMarker;
  } while (Marker);
  const candidates = versions.filter((v) => v.Version && /^\d+$/.test(v.Version) && v.Environment?.Variables?.MODEL_PACKAGE_ARN);
  for (const v of candidates.sort((a, b) => Number(b.Version) - Number(a.Version))) {
    if (!(await isCopyOf(v.Environment!.Variables!.MODEL_PACKAGE_ARN, sourceArn))) continue;
    const listed = await codedeploy.send(new ListDeploymentsCommand({
      applicationName: deployment.application, deploymentGroupName: deployment.deploymentGroup, includeOnlyStatuses: ['Failed', 'Stopped'],
      ...(v.LastModified ? { createTimeRange: { start: new Date(v.LastModified) } } : {}),
    }));
    for (const id of listed.deployments ?? []) {
      const info = (await codedeploy.send(new GetDeploymentCommand({ deploymentId: id }))).deploymentInfo;
      // The deployment handler describes each shift as "... <alias> <current> → <target>".
      if (info?.description?.endsWith(`→ ${v.Version}`)) {
        return `the CodeDeploy shift ${id} to version ${v.Version} (serving ${v.Environment!.Variables!.MODEL_PACKAGE_ARN}) is ${info.status}${info.errorInformation?.message ? `: ${info.errorInformation.message}` : ''}`;
      }
    }
    return undefined;
  }
  return undefined;
}

async function functionReadiness(target: string, sourceArn: string, deployment?: Deployment): Promise<{ ready: true } | { ready: false; failed?: boolean; reason: string }> {
  const [name, qualifier] = target.split(':');
  if (!qualifier) return { ready: false, reason: `${target} names no alias; the deployment shifts an alias (give "<function>:<alias>")` };
  const alias = await lambda.send(new GetAliasCommand({ FunctionName: name, Name: qualifier }));
  const shifting = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).filter(([, w]) => w > 0);
  if (shifting.length > 0) {
    return { ready: false, reason: `${target} is shifting traffic: version ${alias.FunctionVersion} + ${shifting.map(([v, w]) => `${Math.round(w * 100)}% to version ${v}`).join(', ')}` };
  }
  const version = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: alias.FunctionVersion }));
  const served = version.Environment?.Variables?.MODEL_PACKAGE_ARN;
  if (served && (await isCopyOf(served, sourceArn))) return { ready: true };
  const failure = deployment ? await rolledBackShift(name, sourceArn, deployment) : undefined;
  if (failure) return { ready: false, failed: true, reason: `${target} serves ${served || 'the model of its image'}: ${failure}` };
  return { ready: false, reason: served ? `${target} (version ${alias.FunctionVersion}) serves ${served}, not ${sourceArn} yet` : `${target} (version ${alias.FunctionVersion}) serves the model of its image, not ${sourceArn} yet` };
}

export async function handler(event: SmokeTestRequest | null | undefined): Promise<SmokeTestResult> {
  const req = event && typeof event === 'object' ? event : {};
  const problems = validate(req);
  if (problems.length > 0) {
    logger.warn('Rejected smoke test request', { problems });
    return { statusCode: 400, status: 'ERROR', message: `Invalid smoke test request: ${problems.join('; ')}` };
  }
  const instances = req.instances as number[][];
  const payload = JSON.stringify({ instances });
  const target = (req.endpointName ?? req.functionName) as string;
  let body: unknown;
  if (req.endpointName !== undefined) {
    const readiness = await endpointReadiness(req.endpointName as string, req.sourceModelPackageArn as string | undefined);
    if (!readiness.ready) {
      logger.info('Endpoint not ready', { reason: readiness.reason });
      return { statusCode: 200, status: readiness.failed ? 'FAILED' : 'PENDING', message: readiness.reason };
    }
    if (readiness.asyncOutput) {
      let answer: Awaited<ReturnType<typeof askAsync>>;
      try {
        answer = await askAsync(target, readiness.configName, readiness.asyncOutput, payload);
      } catch (e) {
        return fail(target, `the asynchronous request failed: ${(e as Error).name}: ${(e as Error).message}`);
      }
      if ('pending' in answer) {
        logger.info('Asynchronous answer not written yet', { reason: answer.pending });
        return { statusCode: 200, status: 'PENDING', message: answer.pending };
      }
      if ('failure' in answer) return fail(target, `the asynchronous request failed: ${answer.failure}`);
      body = answer.body;
    } else {
      try {
        const out = await runtime.send(new InvokeEndpointCommand({ EndpointName: target, ContentType: 'application/json', Accept: 'application/json', Body: payload }));
        body = JSON.parse(Buffer.from(out.Body ?? new Uint8Array()).toString('utf8'));
      } catch (e) {
        return fail(target, `the endpoint answered with an error: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  } else {
    if (req.sourceModelPackageArn !== undefined) {
      const readiness = await functionReadiness(target, req.sourceModelPackageArn as string, req.deployment as Deployment | undefined);
      if (!readiness.ready) {
        if (readiness.failed) return fail(target, readiness.reason);
        logger.info('Function not serving the promoted package yet', { reason: readiness.reason });
        return { statusCode: 200, status: 'PENDING', message: readiness.reason };
      }
    }
    const out = await lambda.send(new InvokeCommand({ FunctionName: target, Payload: Buffer.from(payload) }));
    const text = Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8');
    if (out.FunctionError) return fail(target, `the function failed (${out.FunctionError}): ${text.slice(0, 300)}`);
    try {
      body = JSON.parse(text);
    } catch {
      return fail(target, `the function returned no JSON: ${text.slice(0, 300)}`);
    }
  }
  const problem = checkAnswer(body, instances.length);
  if (problem) return fail(target, problem);
  metrics.addMetric('SmokeTestPassed', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  logger.info('Smoke test passed', { target });
  return { statusCode: 200, status: 'PASSED', message: `${target} answered ${instances.length} instance(s) correctly`, predictions: (body as { predictions: unknown[] }).predictions };
}

const parseS3 = (uri: string): { Bucket: string; Key: string } => {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new Error(`not an S3 URI: ${uri}`);
  return { Bucket: m[1], Key: m[2] };
};

/** The object's text, or undefined when it does not exist (yet). */
async function readObject(uri: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand(parseS3(uri)));
    return await out.Body!.transformToString('utf8');
  } catch (e) {
    if ((e as Error).name === 'NoSuchKey' || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw e;
  }
}

/**
 * Asks an asynchronous endpoint once per endpoint config and payload: the first call writes the request and queues it;
 * later calls read the output (or failure) SageMaker writes to S3.
 */
export async function askAsync(endpointName: string, configName: string, output: NonNullable<AsyncOutput>, payload: string): Promise<{ pending: string } | { failure: string } | { body: unknown }> {
  if (!output.S3OutputPath) throw new Error(`endpoint config ${configName} has no S3OutputPath`);
  // The request lives beside the output: `<prefix>input/` next to `<prefix>output`, which the endpoint role may read.
  const base = output.S3OutputPath.replace(/\/+$/, '').replace(/[^/]+$/, '');
  const id = createHash('sha256').update(`${configName}\n${payload}`).digest('hex').slice(0, 32);
  const input = `${base}input/smoke-test/${id}.json`;
  const marker = `${base}input/smoke-test/${id}.locations.json`;
  const known = await readObject(marker);
  if (!known) {
    await s3.send(new PutObjectCommand({ ...parseS3(input), Body: payload, ContentType: 'application/json' }));
    const out = await runtime.send(new InvokeEndpointAsyncCommand({
      EndpointName: endpointName, InputLocation: input, ContentType: 'application/json', Accept: 'application/json', InferenceId: id,
    }));
    await s3.send(new PutObjectCommand({ ...parseS3(marker), Body: JSON.stringify({ OutputLocation: out.OutputLocation, FailureLocation: out.FailureLocation }), ContentType: 'application/json' }));
    return { pending: `asynchronous request ${id} queued on ${endpointName}; waiting for ${out.OutputLocation}` };
  }
  const locations = JSON.parse(known) as { OutputLocation?: string; FailureLocation?: string };
  const answer = locations.OutputLocation ? await readObject(locations.OutputLocation) : undefined;
  if (answer !== undefined) {
    try {
      return { body: JSON.parse(answer) };
    } catch {
      return { failure: `the output ${locations.OutputLocation} is not JSON: ${answer.slice(0, 300)}` };
    }
  }
  const failure = locations.FailureLocation ? await readObject(locations.FailureLocation) : undefined;
  if (failure !== undefined) return { failure: failure.slice(0, 500) };
  return { pending: `asynchronous request ${id} on ${endpointName}: no output at ${locations.OutputLocation} yet` };
}

function fail(target: string, reason: string): SmokeTestResult {
  metrics.addMetric('SmokeTestFailed', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  logger.error('Smoke test failed', { target, reason });
  return { statusCode: 200, status: 'FAILED', message: `${target}: ${reason}` };
}
