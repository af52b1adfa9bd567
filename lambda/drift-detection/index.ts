/**
 * The drift job: for each monitored model, reads the traffic captured in the window (SageMaker data capture or the
 * platform's capture format from Lambda / Ray Serve, one parser), compares it with the model's training baseline
 * (PSI and KS per numeric feature, PSI and chi-square per categorical feature, and the prediction distribution),
 * publishes per-feature CloudWatch metrics, writes a report to the lake, and on drift emits the retraining request
 * event naming the features that drifted and by how much.
 *
 * Never crashes on its input: too few records is "insufficient data", records without the baseline's features are a
 * schema finding, malformed lines are counted and skipped, a missing baseline is reported. AWS errors on one model
 * are logged and the other models still run.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, DescribeModelPackageCommand, SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { decodeCaptureLine, hourPath } from '../model-server/src/capture-format';
import { type Env, numberFromEnv } from '../model-server/src/settings';
import { type Cell, compareWindow, type DriftBaseline, type DriftComparison, type DriftThresholds, describeDrift, parseBaseline } from './baseline';

export const logger = new Logger({ serviceName: 'drift-detection' });
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'cdk-mlops/Drift', serviceName: 'drift-detection' });
export const s3 = new S3Client({ maxAttempts: 6, retryMode: 'adaptive' });
export const sagemaker = new SageMakerClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const eventBridge = new EventBridgeClient({ maxAttempts: 6, retryMode: 'adaptive' });

/** One monitored model: where its traffic is captured and how its baseline is found. */
export interface DriftTarget {
  /** Model name in metrics, reports and the retraining event (the debounce key). */
  readonly name: string;
  readonly servingPath: 'sagemaker' | 'lambda' | 'ray';
  readonly bucket: string;
  /** Capture root; its sub-folders are SageMaker variants or model partitions, then `YYYY/MM/DD/HH/`. */
  readonly prefix: string;
  /** SageMaker: the endpoint, whose deployed model package names the baseline. */
  readonly endpointName?: string;
  /** Baseline to use when no model package names one (`s3://bucket/key`). */
  readonly baselineUri?: string;
}

export interface DriftSettings extends DriftThresholds {
  readonly targets: DriftTarget[];
  readonly windowHours: number;
  /** Records read per model per run, newest hours first (bounds memory and run time). */
  readonly maxRecords: number;
  readonly reportBucket: string;
  readonly reportPrefix: string;
  readonly reportKmsKeyId?: string;
  readonly eventBusName: string;
  readonly eventSource: string;
  readonly eventDetailType: string;
}


/** Reads the job's settings; throws naming a bad variable (a deployment error, not bad input). */
export function driftSettingsFromEnv(env: Env = process.env): DriftSettings {
  const num = (name: string, fallback: number, min: number, max: number): number => numberFromEnv(env, name, fallback, min, max);
  let targets: DriftTarget[];
  try {
    targets = JSON.parse(env.DRIFT_TARGETS ?? '[]') as DriftTarget[];
  } catch (e) {
    throw new Error(`DRIFT_TARGETS is not JSON: ${(e as Error).message}`);
  }
  if (!env.REPORT_BUCKET) throw new Error('REPORT_BUCKET must be set');
  return {
    targets,
    windowHours: num('WINDOW_HOURS', 24, 1, 24 * 31),
    maxRecords: num('MAX_RECORDS', 200_000, 1, 10_000_000),
    minRecords: num('MIN_RECORDS', 100, 1, 10_000_000),
    psiThreshold: num('PSI_THRESHOLD', 0.2, 0.001, 10),
    ksThreshold: num('KS_THRESHOLD', 0.1, 0.001, 1),
    pValue: num('P_VALUE', 0.01, 0, 1),
    reportBucket: env.REPORT_BUCKET,
    reportPrefix: env.REPORT_PREFIX ?? 'drift-reports/',
    reportKmsKeyId: env.REPORT_KMS_KEY_ID || undefined,
    eventBusName: env.EVENT_BUS_NAME || 'default',
    eventSource: env.EVENT_SOURCE || 'cdk-mlops.monitoring',
    eventDetailType: env.EVENT_DETAIL_TYPE || 'Model Drift Detected',
  };
}

/** What one window of captured traffic held. */
export interface CapturedWindow {
  rows: Cell[][];
  predictions: unknown[];
  /** Lines that were not capture records or held no instances. */
  malformed: number;
  objects: number;
  modelPackageArns: Set<string>;
  start: Date;
  end: Date;
}

/** Parses the text of one capture object into the window; bad lines are counted, never thrown. */
export function addCaptureText(window: CapturedWindow, text: string, maxRecords: number): void {
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (window.rows.length >= maxRecords) return;
    try {
      const d = decodeCaptureLine(line);
      for (let i = 0; i < d.rows.length && window.rows.length < maxRecords; i++) {
        window.rows.push(d.rows[i]);
        window.predictions.push(d.predictions?.[i]);
      }
      if (d.modelPackageArn) window.modelPackageArns.add(d.modelPackageArn);
    } catch {
      window.malformed++;
    }
  }
}

async function listKeys(bucket: string, prefix: string, delimiter?: string): Promise<{ keys: string[]; prefixes: string[] }> {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { keys, prefixes };
}

async function readText(bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body ? res.Body.transformToString('utf8') : '';
}

/** Reads the captures of the window's hours, newest first, up to `maxRecords`. */
export async function readWindow(t: DriftTarget, end: Date, hours: number, maxRecords: number): Promise<CapturedWindow> {
  const start = new Date(end.getTime() - hours * 3600_000);
  const window: CapturedWindow = { rows: [], predictions: [], malformed: 0, objects: 0, modelPackageArns: new Set(), start, end };
  const root = t.prefix.endsWith('/') ? t.prefix : `${t.prefix}/`;
  const { prefixes: partitions } = await listKeys(t.bucket, root, '/');
  // Hour folders from the current (partial) hour back over the window.
  for (let h = 0; h <= hours && window.rows.length < maxRecords; h++) {
    const hour = hourPath(new Date(end.getTime() - h * 3600_000));
    for (const partition of partitions) {
      const { keys } = await listKeys(t.bucket, `${partition}${hour}/`);
      for (const key of keys.sort().reverse()) {
        if (window.rows.length >= maxRecords) break;
        addCaptureText(window, await readText(t.bucket, key), maxRecords);
        window.objects++;
      }
    }
  }
  return window;
}

function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return m ? { bucket: m[1], key: m[2] } : undefined;
}

/** The model package an endpoint serves (its first variant's model, when created from a package). */
async function endpointModelPackage(endpointName: string): Promise<string | undefined> {
  const ep = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  if (!ep.EndpointConfigName) return undefined;
  const cfg = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: ep.EndpointConfigName }));
  const modelName = cfg.ProductionVariants?.[0]?.ModelName;
  if (!modelName) return undefined;
  const model = await sagemaker.send(new DescribeModelCommand({ ModelName: modelName }));
  return model.PrimaryContainer?.ModelPackageName ?? model.Containers?.find((c) => c.ModelPackageName)?.ModelPackageName;
}

/** The baseline URI a model package carries: its drift-check baseline statistics, else its `DriftBaseline` metadata. */
export async function packageBaselineUri(modelPackageArn: string): Promise<string | undefined> {
  const pkg = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: modelPackageArn }));
  return pkg.DriftCheckBaselines?.ModelDataQuality?.Statistics?.S3Uri ?? pkg.CustomerMetadataProperties?.DriftBaseline;
}

/** Finds and loads the baseline; a reason instead when there is none. */
async function resolveBaseline(t: DriftTarget, window: CapturedWindow): Promise<{ baseline?: DriftBaseline; uri?: string; modelPackageArn?: string; problem?: string }> {
  let modelPackageArn = [...window.modelPackageArns].pop();
  if (!modelPackageArn && t.endpointName) modelPackageArn = await endpointModelPackage(t.endpointName);
  const uri = (modelPackageArn ? await packageBaselineUri(modelPackageArn) : undefined) ?? t.baselineUri;
  if (!uri) {
    return { modelPackageArn, problem: modelPackageArn ? `model package ${modelPackageArn} carries no drift baseline` : 'no model package and no baselineUri: nothing to compare with' };
  }
  const loc = parseS3Uri(uri);
  if (!loc) return { modelPackageArn, uri, problem: `baseline URI ${uri} is not s3://bucket/key` };
  try {
    return { baseline: parseBaseline(JSON.parse(await readText(loc.bucket, loc.key))), uri, modelPackageArn };
  } catch (e) {
    return { modelPackageArn, uri, problem: `baseline ${uri} is unusable: ${(e as Error).message}` };
  }
}

export interface ModelDriftResult {
  readonly model: string;
  readonly status: DriftComparison['status'] | 'no-baseline' | 'error';
  readonly message: string;
  readonly records: number;
  readonly malformed: number;
  readonly driftedFeatures: string[];
  readonly reportUri?: string;
  readonly eventId?: string;
}

function publishMetrics(model: string, c: DriftComparison | undefined, window: CapturedWindow, status: string): void {
  metrics.addDimension('model', model);
  metrics.addMetric('RecordsAnalyzed', MetricUnit.Count, c?.records ?? 0);
  metrics.addMetric('MalformedRecords', MetricUnit.Count, window.malformed);
  metrics.addMetric('InsufficientData', MetricUnit.Count, status === 'insufficient-data' ? 1 : 0);
  metrics.addMetric('MissingBaseline', MetricUnit.Count, status === 'no-baseline' ? 1 : 0);
  metrics.addMetric('SchemaMismatchRecords', MetricUnit.Count, c?.schema?.mismatchedRecords ?? 0);
  if (c && c.status !== 'insufficient-data') metrics.addMetric('DriftedFeatures', MetricUnit.Count, c.driftedFeatures.length);
  metrics.publishStoredMetrics();
  // Per-feature series carry their own dimension set, so each is a separate EMF document.
  for (const f of [...(c?.features ?? []), ...(c?.prediction ? [c.prediction] : [])]) {
    const single = metrics.singleMetric();
    single.addDimensions({ model, feature: f.name });
    single.addMetric('FeaturePSI', MetricUnit.NoUnit, f.psi);
    // A single-metric instance writes each metric as it is added.
    if (f.ks) single.addMetric('FeatureKS', MetricUnit.NoUnit, f.ks.statistic);
  }
}

async function runTarget(t: DriftTarget, s: DriftSettings, end: Date): Promise<ModelDriftResult> {
  const window = await readWindow(t, end, s.windowHours, s.maxRecords);
  const { baseline, uri, modelPackageArn, problem } = await resolveBaseline(t, window);
  const comparison = baseline ? compareWindow(baseline, window.rows, window.predictions, s) : undefined;
  const status: ModelDriftResult['status'] = comparison?.status ?? 'no-baseline';
  const message = comparison?.message ?? problem!;

  const reportKey = `${s.reportPrefix}${t.name}/${hourPath(end)}/drift-report-${end.getTime()}.json`;
  const reportUri = `s3://${s.reportBucket}/${reportKey}`;
  const report = {
    model: t.name, servingPath: t.servingPath, modelPackageArn, baselineUri: uri, status, message,
    window: { start: window.start.toISOString(), end: window.end.toISOString(), objects: window.objects, records: window.rows.length, malformed: window.malformed },
    thresholds: { minRecords: s.minRecords, psi: s.psiThreshold, ks: s.ksThreshold, pValue: s.pValue },
    ...(comparison ? { features: comparison.features, prediction: comparison.prediction, schema: comparison.schema } : {}),
  };
  await s3.send(new PutObjectCommand({
    Bucket: s.reportBucket, Key: reportKey, Body: JSON.stringify(report, null, 2), ContentType: 'application/json',
    ...(s.reportKmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: s.reportKmsKeyId } : {}),
  }));
  publishMetrics(t.name, comparison, window, status);

  let eventId: string | undefined;
  if (comparison?.status === 'drift') {
    const drifted = [...comparison.features, ...(comparison.prediction ? [comparison.prediction] : [])].filter((f) => f.drifted);
    const reason = `Drift on ${t.name}: ${drifted.map(describeDrift).join(', ')} over ${comparison.records} records (${window.start.toISOString()} to ${window.end.toISOString()})`;
    const res = await eventBridge.send(new PutEventsCommand({
      Entries: [{
        EventBusName: s.eventBusName,
        Source: s.eventSource,
        DetailType: s.eventDetailType,
        Time: end,
        Resources: modelPackageArn ? [modelPackageArn] : [],
        Detail: JSON.stringify({
          trigger: 'drift',
          model: t.name,
          servingPath: t.servingPath,
          modelPackageArn,
          reason: reason.slice(0, 900),
          features: drifted.map((f) => ({ name: f.name, psi: f.psi, ks: f.ks?.statistic, pValue: f.ks?.pValue ?? f.chiSquare?.pValue })),
          schemaChange: comparison.schema?.message,
          records: comparison.records,
          reportUri,
          detectedAt: end.toISOString(),
        }),
      }],
    }));
    if ((res.FailedEntryCount ?? 0) > 0) throw new Error(`the drift event for ${t.name} was not accepted: ${res.Entries?.[0]?.ErrorCode} ${res.Entries?.[0]?.ErrorMessage}`);
    eventId = res.Entries?.[0]?.EventId;
  }
  const result = { model: t.name, status, message, records: window.rows.length, malformed: window.malformed, driftedFeatures: comparison?.driftedFeatures ?? [], reportUri, eventId };
  const { message: _message, ...fields } = result; // "message" is reserved in Powertools log entries
  (status === 'drift' ? logger.warn.bind(logger) : logger.info.bind(logger))(message, fields);
  return result;
}

/** The scheduled run: `{ "time": "<ISO time>" }` (EventBridge Scheduler's scheduled time) ends the window; default now. */
export async function handler(event: { time?: unknown } | null | undefined): Promise<{ results: ModelDriftResult[] }> {
  const s = driftSettingsFromEnv();
  const given = event && typeof event === 'object' && typeof event.time === 'string' ? new Date(event.time) : undefined;
  const end = given && !Number.isNaN(given.getTime()) ? given : new Date();
  const results: ModelDriftResult[] = [];
  for (const t of s.targets) {
    try {
      results.push(await runTarget(t, s, end));
    } catch (e) {
      logger.error('drift check failed', { model: t.name, error: e as Error });
      results.push({ model: t.name, status: 'error', message: (e as Error).message, records: 0, malformed: 0, driftedFeatures: [] });
    }
  }
  return { results };
}
