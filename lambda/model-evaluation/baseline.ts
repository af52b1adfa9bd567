/**
 * Baseline step of the model delivery pipeline: after the evaluation gate, reads (a bounded sample of) the training
 * job's `train` channel, computes the drift baseline — per-feature statistics and the label distribution, the
 * prediction baseline of a classifier — and writes it next to the model (`driftBaselineUri`). The Register step
 * attaches that URI to the model package, so whatever serves the package is monitored against it.
 *
 * Training data: CSV (a first row with any non-numeric cell is a header) or JSON lines (`{"instances"…}` bodies,
 * arrays, or objects). The label column is `labelColumn` (a header name or a 0-based index); without one, a header
 * named label/target/y/class is used, else there is no prediction baseline.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { buildBaseline, type Cell } from '../drift-detection/baseline';
import { driftBaselineUri } from './baseline-location';

export const logger = new Logger({ serviceName: 'drift-baseline' });
export const s3 = new S3Client({ maxAttempts: 6, retryMode: 'adaptive' });
export const sagemaker = new SageMakerClient({ maxAttempts: 6, retryMode: 'adaptive' });

export { DRIFT_BASELINE_URI_SHELL, driftBaselineUri } from './baseline-location';

export interface BaselineRequest {
  trainingJobName?: unknown;
  /** Header name or 0-based column index of the label. */
  labelColumn?: unknown;
  /** Rows read at most. @default 100000 */
  maxRows?: unknown;
}

export interface BaselineResult {
  statusCode: 200 | 400 | 404;
  status: 'PASSED' | 'FAILED' | 'ERROR';
  message: string;
  baselineUri?: string;
  rows?: number;
}

const LABELS = ['label', 'target', 'y', 'class'];

/** Rows, feature names and labels of training data text (CSV or JSON lines). Unparseable lines are counted. */
export function parseTrainingData(text: string, labelColumn?: string | number): { rows: Cell[][]; names?: string[]; labels?: Cell[]; skipped: number } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  let skipped = 0;
  const first = lines[0]?.trim() ?? '';
  if (first.startsWith('{') || first.startsWith('[')) {
    const rows: Cell[][] = [];
    const labels: Cell[] = [];
    let names: string[] | undefined;
    for (const l of lines) {
      try {
        const v = JSON.parse(l) as unknown;
        const items = v && typeof v === 'object' && Array.isArray((v as { instances?: unknown }).instances) ? (v as { instances: unknown[] }).instances : [v];
        for (const item of items) {
          if (Array.isArray(item)) rows.push((item as unknown[]).flat(Infinity) as Cell[]);
          else if (item && typeof item === 'object') {
            const o = { ...(item as Record<string, Cell>) };
            const label = typeof labelColumn === 'string' ? labelColumn : LABELS.find((k) => k in o);
            if (label !== undefined && label in o) { labels.push(o[label]); delete o[label]; }
            names ??= Object.keys(o).sort();
            rows.push(names.map((n) => o[n] ?? null));
          } else skipped++;
        }
      } catch { skipped++; }
    }
    return { rows, names, labels: labels.length === rows.length ? labels : undefined, skipped };
  }
  const split = (l: string) => l.split(',').map((c) => c.trim());
  const cell = (c: string): Cell => (c === '' ? null : Number.isFinite(Number(c)) ? Number(c) : c);
  let header: string[] | undefined = split(first);
  if (header.every((c) => c !== '' && Number.isFinite(Number(c)))) header = undefined;
  const labelIndex = typeof labelColumn === 'number' ? labelColumn
    : header ? header.findIndex((h) => (typeof labelColumn === 'string' ? h === labelColumn : LABELS.includes(h.toLowerCase()))) : -1;
  const width = header?.length ?? split(first).length;
  const rows: Cell[][] = [];
  const labels: Cell[] = [];
  for (const l of header ? lines.slice(1) : lines) {
    const cells = split(l);
    if (cells.length !== width) { skipped++; continue; }
    const values = cells.map(cell);
    if (labelIndex >= 0) labels.push(values.splice(labelIndex, 1)[0]);
    rows.push(values);
  }
  const names = header?.filter((_, i) => i !== labelIndex);
  return { rows, names, labels: labelIndex >= 0 ? labels : undefined, skipped };
}

export async function handler(event: BaselineRequest | null | undefined): Promise<BaselineResult> {
  const req = event && typeof event === 'object' ? event : {};
  if (typeof req.trainingJobName !== 'string' || !/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(req.trainingJobName)) {
    return { statusCode: 400, status: 'ERROR', message: `trainingJobName: ${JSON.stringify(req.trainingJobName)} — must be a SageMaker training job name` };
  }
  const labelColumn = typeof req.labelColumn === 'string' || typeof req.labelColumn === 'number' ? req.labelColumn : undefined;
  const maxRows = typeof req.maxRows === 'number' && req.maxRows > 0 ? req.maxRows : 100_000;
  let job;
  try {
    job = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: req.trainingJobName }));
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFound') return { statusCode: 404, status: 'ERROR', message: `Training job ${req.trainingJobName} does not exist` };
    throw e;
  }
  const modelDataUrl = job.ModelArtifacts?.S3ModelArtifacts;
  const train = job.InputDataConfig?.find((c) => c.ChannelName === 'train')?.DataSource?.S3DataSource?.S3Uri;
  const loc = train ? /^s3:\/\/([^/]+)\/?(.*)$/.exec(train) : null;
  if (!modelDataUrl || !loc) return { statusCode: 200, status: 'FAILED', message: `Training job ${req.trainingJobName} has no model artifacts or no train channel on S3` };

  const rows: Cell[][] = [];
  const labels: Cell[] = [];
  let names: string[] | undefined;
  let skipped = 0;
  let token: string | undefined;
  let labelled = true;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: loc[1], Prefix: loc[2], ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith('/') || rows.length >= maxRows) continue;
      const body = await s3.send(new GetObjectCommand({ Bucket: loc[1], Key: o.Key }));
      const parsed = parseTrainingData(body.Body ? await body.Body.transformToString('utf8') : '', labelColumn);
      const take = parsed.rows.slice(0, maxRows - rows.length);
      rows.push(...take);
      if (parsed.labels) labels.push(...parsed.labels.slice(0, take.length));
      else labelled = false;
      names ??= parsed.names;
      skipped += parsed.skipped;
    }
    token = page.IsTruncated && rows.length < maxRows ? page.NextContinuationToken : undefined;
  } while (token);
  if (rows.length === 0) return { statusCode: 200, status: 'FAILED', message: `No readable training rows under ${train} (${skipped} lines skipped): cannot build the drift baseline` };

  const baseline = buildBaseline(rows, { featureNames: names, predictions: labelled ? labels : undefined, source: train });
  const baselineUri = driftBaselineUri(modelDataUrl);
  const out = /^s3:\/\/([^/]+)\/(.+)$/.exec(baselineUri)!;
  await s3.send(new PutObjectCommand({
    Bucket: out[1], Key: out[2], Body: JSON.stringify(baseline), ContentType: 'application/json',
    ...(job.OutputDataConfig?.KmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: job.OutputDataConfig.KmsKeyId } : {}),
  }));
  const message = `Drift baseline of ${baseline.features.length} features${baseline.predictions ? ' and the label distribution' : ''} from ${rows.length} rows (${skipped} skipped) written to ${baselineUri}`;
  logger.info(message, { trainingJobName: req.trainingJobName });
  return { statusCode: 200, status: 'PASSED', message, baselineUri, rows: rows.length };
}
