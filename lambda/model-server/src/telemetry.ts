/** What the service reports about each request; each adapter sends it to its own log/metrics sink. */
export interface RequestRecord {
  readonly route: string;
  readonly status: number;
  readonly latencyMs: number;
  readonly requestId: string;
  /** Examples in the batch, for successful predictions. */
  readonly batchSize?: number;
  /** Error code and message for 4xx/5xx responses. */
  readonly error?: { readonly code: string; readonly message: string };
  /** The underlying exception of a 5xx, for the log. */
  readonly cause?: unknown;
}

export interface Telemetry {
  requestCompleted(record: RequestRecord): void;
  /** Structured log line outside a request (start-up, shutdown). */
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Discards everything (tests, benchmarks of the bare core). */
export const silentTelemetry: Telemetry = { requestCompleted() {}, info() {}, error() {} };

const errorFields = (cause: unknown) => (cause instanceof Error ? { error: cause.message, stack: cause.stack } : cause === undefined ? {} : { error: String(cause) });

interface Bucket {
  count: number;
  clientErrors: number;
  serverErrors: number;
  examples: number;
  latencies: number[];
}

/**
 * JSON-line logs and CloudWatch embedded metric format (EMF) for the container, where no Lambda runtime
 * publishes metrics. Per-request metrics are aggregated and written as one EMF document per 100 requests (or
 * per flush interval), so logging costs almost nothing per request under load; 4xx/5xx are logged individually.
 */
export class EmfTelemetry implements Telemetry {
  private bucket: Bucket = EmfTelemetry.emptyBucket();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly options: {
      readonly namespace: string;
      readonly service: string;
      readonly modelName: string;
      readonly flushMs: number;
      /** @default process.stdout.write */
      readonly write?: (line: string) => void;
    },
  ) {}

  private static emptyBucket(): Bucket {
    return { count: 0, clientErrors: 0, serverErrors: 0, examples: 0, latencies: [] };
  }

  private write(line: string): void {
    (this.options.write ?? ((l: string) => process.stdout.write(l)))(`${line}\n`);
  }

  /** Starts periodic flushing; the timer does not keep the process alive. */
  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  requestCompleted(r: RequestRecord): void {
    const b = this.bucket;
    b.count++;
    if (r.status >= 500) b.serverErrors++;
    else if (r.status >= 400) b.clientErrors++;
    if (r.batchSize) b.examples += r.batchSize;
    b.latencies.push(Math.round(r.latencyMs * 1000) / 1000);
    // EMF allows at most 100 values per metric in one document.
    if (b.latencies.length >= 100) this.flush();
    if (r.error) {
      const level = r.status >= 500 ? 'ERROR' : 'WARN';
      this.log(level, r.status >= 500 ? 'request failed' : 'request rejected', {
        requestId: r.requestId, route: r.route, status: r.status, code: r.error.code, detail: r.error.message, ...errorFields(r.cause),
      });
    }
  }

  /** Writes the aggregated metrics since the last flush, if any. */
  flush(): void {
    const b = this.bucket;
    if (b.count === 0) return;
    this.bucket = EmfTelemetry.emptyBucket();
    this.write(JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [{
          Namespace: this.options.namespace,
          Dimensions: [['service', 'model']],
          Metrics: [
            { Name: 'Requests', Unit: 'Count' },
            { Name: 'ClientErrors', Unit: 'Count' },
            { Name: 'ServerErrors', Unit: 'Count' },
            { Name: 'Examples', Unit: 'Count' },
            { Name: 'Latency', Unit: 'Milliseconds' },
          ],
        }],
      },
      service: this.options.service,
      model: this.options.modelName,
      Requests: b.count,
      ClientErrors: b.clientErrors,
      ServerErrors: b.serverErrors,
      Examples: b.examples,
      Latency: b.latencies,
    }));
  }

  info(message: string, fields: Record<string, unknown> = {}): void {
    this.log('INFO', message, fields);
  }

  error(message: string, fields: Record<string, unknown> = {}): void {
    this.log('ERROR', message, fields);
  }

  private log(level: string, message: string, fields: Record<string, unknown>): void {
    this.write(JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: this.options.service, model: this.options.modelName, ...fields }));
  }
}
