/**
 * Smoke test after a model deployment. Sends `{"instances": [...]}` to the deployed model (a SageMaker endpoint
 * through the runtime API, or the Lambda inference function) and expects `{"predictions": [...]}` with one finite
 * prediction per instance. For an endpoint it first checks that it is InService and serves the expected model
 * package (the approval handler deploys asynchronously): until then the result is PENDING and the state machine asks
 * again. Bad requests get statusCode 400; a wrong answer is FAILED.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, DescribeModelPackageCommand,
  type DescribeModelPackageCommandOutput, SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

export const logger = new Logger({ serviceName: 'smoke-test' });
export const metrics = new Metrics({ namespace: 'cdk-mlops', serviceName: 'smoke-test' });
export const sagemaker = new SageMakerClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const runtime = new SageMakerRuntimeClient({ maxAttempts: 3 });
export const lambda = new LambdaClient({ maxAttempts: 3 });

export interface SmokeTestRequest {
  endpointName?: unknown;
  functionName?: unknown;
  instances?: unknown;
  /** The registered package the deployment came from; the endpoint must serve a copy of it. */
  sourceModelPackageArn?: unknown;
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

/** Whether the endpoint is ready and serves (a copy of) the expected package; a reason when not. */
async function endpointReadiness(endpointName: string, sourceArn?: string): Promise<{ ready: true } | { ready: false; failed: boolean; reason: string }> {
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
  if (!sourceArn) return { ready: true };
  const config = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
  for (const variant of config.ProductionVariants ?? []) {
    const model = await sagemaker.send(new DescribeModelCommand({ ModelName: variant.ModelName }));
    const packages = [model.PrimaryContainer, ...(model.Containers ?? [])].map((c) => c?.ModelPackageName).filter((n): n is string => !!n);
    for (const arn of packages) {
      if (arn === sourceArn) return { ready: true };
      const pkg: DescribeModelPackageCommandOutput = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
      if (pkg.CustomerMetadataProperties?.SourceModelPackageArn === sourceArn) return { ready: true };
    }
  }
  return { ready: false, failed: false, reason: `endpoint ${endpointName} does not serve ${sourceArn} yet` };
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
    try {
      const out = await runtime.send(new InvokeEndpointCommand({ EndpointName: target, ContentType: 'application/json', Accept: 'application/json', Body: payload }));
      body = JSON.parse(Buffer.from(out.Body ?? new Uint8Array()).toString('utf8'));
    } catch (e) {
      return fail(target, `the endpoint answered with an error: ${(e as Error).name}: ${(e as Error).message}`);
    }
  } else {
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

function fail(target: string, reason: string): SmokeTestResult {
  metrics.addMetric('SmokeTestFailed', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  logger.error('Smoke test failed', { target, reason });
  return { statusCode: 200, status: 'FAILED', message: `${target}: ${reason}` };
}
