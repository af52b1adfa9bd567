/**
 * Image scan gate of the model delivery pipeline. A Step Functions state machine (started by the pipeline's
 * StepFunctions action) calls this handler until the ECR scan of the pushed image has a result:
 * - PENDING: the scan has not finished (or not started yet); the state machine waits and asks again, up to its timeout.
 * - PASSED: findings at or above `failOnSeverity` are at most `maxFindings`.
 * - FAILED: too many findings, or ECR could not scan the image (a gate that cannot see must not pass).
 * Bad requests get statusCode 400 and a message; a missing image 404.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  DescribeImageScanFindingsCommand, type DescribeImageScanFindingsCommandOutput, ECRClient, type FindingSeverity,
} from '@aws-sdk/client-ecr';

export const logger = new Logger({ serviceName: 'scan-gate' });
export const metrics = new Metrics({ namespace: 'cdk-mlops', serviceName: 'scan-gate' });
export const ecr = new ECRClient({ maxAttempts: 6, retryMode: 'adaptive' });

/** Severities from the most to the least severe; a threshold fails on itself and everything above. */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface ScanGateRequest {
  repositoryName?: unknown;
  imageTag?: unknown;
  failOnSeverity?: unknown;
  maxFindings?: unknown;
}

export interface ScanGateResult {
  statusCode: 200 | 400 | 404;
  status: 'PASSED' | 'FAILED' | 'PENDING' | 'ERROR';
  message: string;
  /** Findings per severity (ECR's counts; UNDEFINED/INFORMATIONAL included as reported). */
  counts?: Partial<Record<FindingSeverity, number>>;
  /** Findings at or above the threshold. */
  blocking?: number;
}

const REPOSITORY = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function validate(req: ScanGateRequest): string[] {
  const p: string[] = [];
  if (typeof req.repositoryName !== 'string' || req.repositoryName.length > 256 || !REPOSITORY.test(req.repositoryName)) {
    p.push(`repositoryName: ${JSON.stringify(req.repositoryName)} — must be an ECR repository name`);
  }
  if (typeof req.imageTag !== 'string' || !TAG.test(req.imageTag)) p.push(`imageTag: ${JSON.stringify(req.imageTag)} — must be an image tag (1-128 of A-Z a-z 0-9 _ . -)`);
  if (req.failOnSeverity !== undefined && !(SEVERITIES as readonly unknown[]).includes(req.failOnSeverity)) {
    p.push(`failOnSeverity: ${JSON.stringify(req.failOnSeverity)} — must be one of ${SEVERITIES.join(', ')}`);
  }
  if (req.maxFindings !== undefined && !(Number.isInteger(req.maxFindings) && (req.maxFindings as number) >= 0)) {
    p.push(`maxFindings: ${JSON.stringify(req.maxFindings)} — must be a whole number >= 0`);
  }
  return p;
}

/** Findings at or above `threshold` in ECR's per-severity counts. */
export function blockingFindings(counts: Partial<Record<string, number>>, threshold: Severity): number {
  const upTo = SEVERITIES.indexOf(threshold);
  return SEVERITIES.slice(0, upTo + 1).reduce((sum, s) => sum + (counts[s] ?? 0), 0);
}

async function describe(repositoryName: string, imageTag: string): Promise<DescribeImageScanFindingsCommandOutput | 'not-started' | 'no-image'> {
  try {
    return await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName, imageId: { imageTag }, maxResults: 1 }));
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'ScanNotFoundException') return 'not-started';
    if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException') return 'no-image';
    throw e;
  }
}

export async function handler(event: ScanGateRequest | null | undefined): Promise<ScanGateResult> {
  const req = event && typeof event === 'object' ? event : {};
  const problems = validate(req);
  if (problems.length > 0) {
    logger.warn('Rejected scan gate request', { problems });
    return { statusCode: 400, status: 'ERROR', message: `Invalid scan gate request: ${problems.join('; ')}` };
  }
  const repositoryName = req.repositoryName as string;
  const imageTag = req.imageTag as string;
  const threshold = (req.failOnSeverity as Severity | undefined) ?? 'CRITICAL';
  const maxFindings = (req.maxFindings as number | undefined) ?? 0;
  const image = `${repositoryName}:${imageTag}`;

  const out = await describe(repositoryName, imageTag);
  if (out === 'no-image') return { statusCode: 404, status: 'ERROR', message: `Image ${image} does not exist` };
  if (out === 'not-started') return { statusCode: 200, status: 'PENDING', message: `The scan of ${image} has not started yet` };

  const status = out.imageScanStatus?.status;
  if (status === 'IN_PROGRESS' || status === 'PENDING' || status === undefined) {
    return { statusCode: 200, status: 'PENDING', message: `The scan of ${image} is ${status ?? 'not reported yet'}` };
  }
  if (status !== 'COMPLETE' && status !== 'ACTIVE') {
    logger.error('Image scan failed', { image, status, description: out.imageScanStatus?.description });
    metrics.addMetric('ScanGateFailed', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    return { statusCode: 200, status: 'FAILED', message: `The scan of ${image} ended ${status}: ${out.imageScanStatus?.description ?? 'no description'}` };
  }
  const counts = out.imageScanFindings?.findingSeverityCounts ?? {};
  const blocking = blockingFindings(counts, threshold);
  const passed = blocking <= maxFindings;
  metrics.addMetric(passed ? 'ScanGatePassed' : 'ScanGateFailed', MetricUnit.Count, 1);
  metrics.addMetric('BlockingFindings', MetricUnit.Count, blocking);
  metrics.publishStoredMetrics();
  const message = passed
    ? `${image}: ${blocking} finding(s) at ${threshold} or above, at most ${maxFindings} allowed`
    : `${image}: ${blocking} finding(s) at ${threshold} or above exceed the ${maxFindings} allowed`;
  (passed ? logger.info.bind(logger) : logger.error.bind(logger))(message, { counts });
  return { statusCode: 200, status: passed ? 'PASSED' : 'FAILED', message, counts, blocking };
}
