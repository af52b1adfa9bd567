/**
 * Evaluation gate of the model delivery pipeline: reads the held-out metric SageMaker recorded for a finished training
 * job and decides whether the model may be registered: it must meet the threshold and, when a model package group is
 * given, not be worse than the champion (the newest Approved version, whose metric the register step recorded in its
 * customer metadata). The state machine fails the pipeline unless status is PASSED.
 * Bad requests get statusCode 400, an unknown job 404; a job that did not complete is FAILED.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, DescribeTrainingJobCommand, type DescribeTrainingJobCommandOutput, ListModelPackagesCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { evaluationReportUri } from './baseline-location';

export const logger = new Logger({ serviceName: 'model-evaluation' });
export const metrics = new Metrics({ namespace: 'cdk-mlops', serviceName: 'model-evaluation' });
export const sagemaker = new SageMakerClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const s3 = new S3Client({ maxAttempts: 3 });

export interface EvaluationRequest {
  trainingJobName?: unknown;
  metricName?: unknown;
  threshold?: unknown;
  direction?: unknown;
  /** Group whose newest Approved version is the champion to beat. */
  modelPackageGroupName?: unknown;
}

export interface EvaluationResult {
  statusCode: 200 | 400 | 404;
  status: 'PASSED' | 'FAILED' | 'ERROR';
  message: string;
  value?: number;
  /** S3 URI of the model artifacts, for registration. */
  modelDataUrl?: string;
  /** The champion the challenger was compared with. */
  champion?: { modelPackageArn: string; value: number };
  /** S3 URI of the evaluation report beside the model (the package's `ModelMetrics`). */
  reportUri?: string;
}

const JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

function validate(r: EvaluationRequest): string[] {
  const p: string[] = [];
  if (typeof r.trainingJobName !== 'string' || !JOB_NAME.test(r.trainingJobName)) p.push(`trainingJobName: ${JSON.stringify(r.trainingJobName)} — must be a SageMaker training job name (1-63 letters, digits, hyphens)`);
  if (typeof r.metricName !== 'string' || r.metricName.length === 0 || r.metricName.length > 255) p.push(`metricName: ${JSON.stringify(r.metricName)} — must be a metric name`);
  if (typeof r.threshold !== 'number' || !Number.isFinite(r.threshold)) p.push(`threshold: ${JSON.stringify(r.threshold)} — must be a finite number`);
  if (r.direction !== undefined && r.direction !== 'maximize' && r.direction !== 'minimize') p.push(`direction: ${JSON.stringify(r.direction)} — must be "maximize" or "minimize"`);
  if (r.modelPackageGroupName !== undefined && (typeof r.modelPackageGroupName !== 'string' || !JOB_NAME.test(r.modelPackageGroupName))) p.push(`modelPackageGroupName: ${JSON.stringify(r.modelPackageGroupName)} — must be a model package group name`);
  return p;
}

export async function handler(event: EvaluationRequest | null | undefined): Promise<EvaluationResult> {
  const req = event && typeof event === 'object' ? event : {};
  const problems = validate(req);
  if (problems.length > 0) {
    logger.warn('Rejected evaluation request', { problems });
    return { statusCode: 400, status: 'ERROR', message: `Invalid evaluation request: ${problems.join('; ')}` };
  }
  const jobName = req.trainingJobName as string;
  const metricName = req.metricName as string;
  const threshold = req.threshold as number;
  const maximize = (req.direction ?? 'maximize') === 'maximize';

  let job: DescribeTrainingJobCommandOutput;
  try {
    job = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName }));
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFound' || /Requested resource not found/i.test((e as Error).message)) {
      return { statusCode: 404, status: 'ERROR', message: `Training job ${jobName} does not exist` };
    }
    throw e;
  }
  if (job.TrainingJobStatus !== 'Completed') {
    return { statusCode: 200, status: 'FAILED', message: `Training job ${jobName} is ${job.TrainingJobStatus ?? 'in an unknown state'}${job.FailureReason ? `: ${job.FailureReason}` : ''}, not Completed` };
  }
  const metric = job.FinalMetricDataList?.find((m) => m.MetricName === metricName);
  if (metric?.Value === undefined || !Number.isFinite(metric.Value)) {
    const seen = (job.FinalMetricDataList ?? []).map((m) => m.MetricName).join(', ') || 'none';
    return { statusCode: 200, status: 'FAILED', message: `Training job ${jobName} reported no "${metricName}" metric (reported: ${seen}); check the metric definition regex` };
  }
  const value = metric.Value;
  const meets = maximize ? value >= threshold : value <= threshold;
  const champion = meets && typeof req.modelPackageGroupName === 'string' ? await championOf(req.modelPackageGroupName, metricName) : undefined;
  const beats = !champion || (maximize ? value >= champion.value : value <= champion.value);
  const passed = meets && beats;
  metrics.addMetric('EvaluationValue', MetricUnit.NoUnit, value);
  metrics.addMetric(passed ? 'EvaluationPassed' : 'EvaluationFailed', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  let message = `${metricName} = ${value} ${meets ? 'meets' : 'misses'} the threshold (${maximize ? '>=' : '<='} ${threshold})`;
  if (champion) message += beats ? ` and is no worse than the champion ${champion.modelPackageArn} (${champion.value})` : ` but is worse than the champion ${champion.modelPackageArn} (${champion.value})`;
  (passed ? logger.info.bind(logger) : logger.error.bind(logger))(message, { jobName });
  const modelDataUrl = job.ModelArtifacts?.S3ModelArtifacts;
  const status = passed ? 'PASSED' : 'FAILED';
  let reportUri: string | undefined;
  if (modelDataUrl) {
    // The report the Register step attaches as ModelMetrics: what was measured, against what, and the verdict.
    reportUri = evaluationReportUri(modelDataUrl);
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(reportUri)!;
    const report = {
      trainingJobName: jobName,
      status,
      message,
      metrics: { [metricName]: { value, threshold, direction: maximize ? 'maximize' : 'minimize' } },
      champion: champion ? { modelPackageArn: champion.modelPackageArn, [metricName]: { value: champion.value } } : null,
    };
    await s3.send(new PutObjectCommand({ Bucket: m[1], Key: m[2], Body: JSON.stringify(report, null, 2), ContentType: 'application/json' }));
  }
  return { statusCode: 200, status, message, value, modelDataUrl, champion, reportUri };
}

/** The newest Approved version of the group and its recorded metric; undefined when none is approved or it recorded none. */
async function championOf(group: string, metricName: string): Promise<{ modelPackageArn: string; value: number } | undefined> {
  const list = await sagemaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: group, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 1 }));
  const arn = list.ModelPackageSummaryList?.[0]?.ModelPackageArn;
  if (!arn) return undefined;
  const pkg = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  const recorded = Number(pkg.CustomerMetadataProperties?.[metricName]);
  if (!Number.isFinite(recorded) || pkg.CustomerMetadataProperties?.[metricName] === undefined) {
    logger.warn('The champion recorded no value of the metric; comparing with the threshold only', { champion: arn, metricName });
    return undefined;
  }
  return { modelPackageArn: arn, value: recorded };
}

/** The pipeline's drift-baseline step, in this bundle so one handler folder serves evaluation and baseline. */
export { handler as baselineHandler } from './baseline';
