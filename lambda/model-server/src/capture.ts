import { randomUUID } from 'node:crypto';
import { captureLine, captureObjectKey, modelPartition, type ServingPath } from './capture-format';
import { type Env, numberFromEnv } from './settings';

/** Where and how much traffic the server captures (see `capture-format.ts` for the record format). */
export interface CaptureSettings {
  /** Bucket of the data lake the captures go to. Env `CAPTURE_BUCKET`. */
  readonly bucket: string;
  /** Key prefix, ending in "/". Env `CAPTURE_PREFIX`. */
  readonly prefix: string;
  /** Share of successful predictions captured, 0-100. Env `CAPTURE_SAMPLING_PERCENT`. */
  readonly samplingPercent: number;
  /** KMS key the objects are encrypted with. Env `CAPTURE_KMS_KEY_ID`. */
  readonly kmsKeyId?: string;
  /** The serving resource, e.g. the function name: first path segment. Env `CAPTURE_SOURCE` (Lambda: the function name). */
  readonly source: string;
  /** The package being served, for the baseline and the partition. Env `MODEL_PACKAGE_ARN`. */
  readonly modelPackageArn?: string;
  readonly modelName: string;
  readonly servingPath: ServingPath;
  /** Records buffered before an object is written. Env `CAPTURE_MAX_RECORDS`. */
  readonly maxRecords: number;
  /** Age of the oldest buffered record that triggers a write. Env `CAPTURE_MAX_AGE_MS`. */
  readonly maxAgeMs: number;
}


/** Capture settings from the environment; undefined (capture off) without a bucket or with 0 percent. Throws naming a bad variable. */
export function captureSettingsFromEnv(env: Env = process.env, servingPath: ServingPath = 'lambda'): CaptureSettings | undefined {
  if (!env.CAPTURE_BUCKET) return undefined;
  const num = (name: string, fallback: number, min: number, max: number): number => numberFromEnv(env, name, fallback, min, max);
  const samplingPercent = num('CAPTURE_SAMPLING_PERCENT', 0, 0, 100);
  if (samplingPercent === 0) return undefined;
  const prefix = env.CAPTURE_PREFIX ?? 'capture/';
  return {
    bucket: env.CAPTURE_BUCKET,
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    samplingPercent,
    kmsKeyId: env.CAPTURE_KMS_KEY_ID || undefined,
    source: env.CAPTURE_SOURCE || env.AWS_LAMBDA_FUNCTION_NAME || 'model-server',
    modelPackageArn: env.MODEL_PACKAGE_ARN || undefined,
    modelName: env.MODEL_NAME || 'reference-classifier',
    servingPath,
    maxRecords: num('CAPTURE_MAX_RECORDS', 200, 1, 100_000),
    maxAgeMs: num('CAPTURE_MAX_AGE_MS', 60_000, 100, 3_600_000),
  };
}

/** Writes one capture object; the adapter supplies S3 (tests and benchmarks supply a stub). */
export type CaptureWriter = (o: { bucket: string; key: string; body: string; kmsKeyId?: string }) => Promise<void>;

export interface CaptureStats {
  captured: number;
  written: number;
  objects: number;
  failedWrites: number;
  droppedRecords: number;
}

/**
 * Samples request/response pairs into an in-memory buffer and writes them as one JSONL object when the buffer is
 * full or old. The request path pays one random draw when a request is not sampled and a string concatenation when
 * it is; writes run in the background and their failures are counted, never thrown into a request.
 *
 * Why background writes: awaiting S3 would add tens of milliseconds to one request in every batch. On Lambda a
 * write started during one invocation finishes in that or the next thaw; records still buffered when an
 * environment is retired are lost, which a sample tolerates (at most `maxRecords` per environment).
 */
export class TrafficCapture {
  public readonly stats: CaptureStats = { captured: 0, written: 0, objects: 0, failedWrites: 0, droppedRecords: 0 };
  private buffer: string[] = [];
  private oldest = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly threshold: number;
  private readonly partition: string;

  constructor(
    public readonly settings: CaptureSettings,
    private readonly write: CaptureWriter,
    private readonly onError: (err: unknown, records: number) => void = () => undefined,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {
    this.threshold = settings.samplingPercent / 100;
    this.partition = modelPartition(settings.modelPackageArn, settings.modelName);
  }

  /** Offers one successful request; the bodies are thunks so unsampled requests never build them. */
  offer(input: () => string, output: () => string | undefined): void {
    const now = this.now();
    if (this.random() < this.threshold) {
      if (this.buffer.length === 0) this.oldest = now;
      this.buffer.push(captureLine(input(), output(), {
        eventId: randomUUID(),
        inferenceTime: new Date(now).toISOString(),
        servingPath: this.settings.servingPath,
        ...(this.settings.modelPackageArn ? { modelPackageArn: this.settings.modelPackageArn } : { modelName: this.settings.modelName }),
      }));
      this.stats.captured++;
    }
    if (this.buffer.length >= this.settings.maxRecords || (this.buffer.length > 0 && now - this.oldest >= this.settings.maxAgeMs)) void this.flush();
  }

  /** Writes what is buffered (chained after any write in flight); resolves when done, never rejects. */
  flush(): Promise<void> {
    if (this.buffer.length === 0) return this.inFlight;
    const lines = this.buffer;
    const time = new Date(this.oldest);
    this.buffer = [];
    const key = captureObjectKey({ prefix: this.settings.prefix, source: this.settings.source, model: this.partition, time, fileId: `${time.getTime()}-${randomUUID()}` });
    this.inFlight = this.inFlight.then(() => this.write({ bucket: this.settings.bucket, key, body: `${lines.join('\n')}\n`, kmsKeyId: this.settings.kmsKeyId }))
      .then(() => { this.stats.written += lines.length; this.stats.objects++; })
      .catch((err: unknown) => { this.stats.failedWrites++; this.stats.droppedRecords += lines.length; this.onError(err, lines.length); });
    return this.inFlight;
  }
}
