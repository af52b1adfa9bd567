import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type CaptureWriter, captureSettingsFromEnv, TrafficCapture } from './capture';
import { HttpError } from './errors';
import { Model, modelSourceFromEnv } from './model';
import { InferenceService } from './service';
import { type ServerSettings, settingsFromEnv } from './settings';
import { type RequestRecord, type Telemetry } from './telemetry';

/** A direct `lambda:InvokeFunction` payload (no front door): the request body itself. */
export type DirectEvent = { readonly instances?: unknown; readonly inputs?: unknown };
export type InferenceEvent = APIGatewayProxyEventV2 | DirectEvent;
/** Direct invocations get the body back: predictions, or the error with its HTTP status. */
export type DirectResult = { predictions: unknown[] } | { error: string; message: string; requestId: string; status: number };

/** Powertools logs and metrics (EMF, published per invocation by `publishStoredMetrics`). */
export class PowertoolsTelemetry implements Telemetry {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  requestCompleted(r: RequestRecord): void {
    this.metrics.addMetric('Requests', MetricUnit.Count, 1);
    this.metrics.addMetric('Latency', MetricUnit.Milliseconds, r.latencyMs);
    if (r.batchSize) this.metrics.addMetric('Examples', MetricUnit.Count, r.batchSize);
    if (r.status >= 500) this.metrics.addMetric('ServerErrors', MetricUnit.Count, 1);
    else if (r.status >= 400) this.metrics.addMetric('ClientErrors', MetricUnit.Count, 1);
    if (r.error && r.status >= 500) this.logger.error('request failed', { route: r.route, status: r.status, code: r.error.code, requestId: r.requestId, error: r.cause as Error });
    else if (r.error) this.logger.warn('request rejected', { route: r.route, status: r.status, code: r.error.code, detail: r.error.message });
  }

  info(message: string, fields: Record<string, unknown> = {}): void {
    this.logger.info(message, fields);
  }

  error(message: string, fields: Record<string, unknown> = {}): void {
    this.logger.error(message, fields);
  }
}

export interface HandlerDeps {
  readonly settings: ServerSettings;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Loads the model (called once; again after a failure). @default from the environment (S3 or a local path) */
  readonly loadModel?: () => Promise<Model>;
  /** Samples requests and responses to the lake for drift detection. @default - none (capture off) */
  readonly capture?: TrafficCapture;
}

/** The S3 writer of captured traffic (SSE-KMS with the lake's key when given). */
export function s3CaptureWriter(s3: S3Client = new S3Client({})): CaptureWriter {
  return async ({ bucket, key, body, kmsKeyId }) => {
    await s3.send(new PutObjectCommand({
      Bucket: bucket, Key: key, Body: body, ContentType: 'application/jsonl',
      ...(kmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyId } : {}),
    }));
  };
}

/** Traffic capture configured by the environment (`CAPTURE_*`), or undefined when it is off. */
export function captureFromEnv(logger: Logger, metrics: Metrics, env: Record<string, string | undefined> = process.env): TrafficCapture | undefined {
  const settings = captureSettingsFromEnv(env, 'lambda');
  if (!settings) return undefined;
  return new TrafficCapture(settings, s3CaptureWriter(), (err, records) => {
    logger.warn('captured traffic could not be written; records dropped', { records, error: err as Error });
    metrics.addMetric('CaptureDroppedRecords', MetricUnit.Count, records);
  });
}

const isHttpEvent = (event: InferenceEvent): event is APIGatewayProxyEventV2 =>
  typeof event === 'object' && event !== null && 'requestContext' in event && typeof (event as APIGatewayProxyEventV2).requestContext?.http === 'object';

/**
 * Builds the Lambda handler for API Gateway HTTP API (payload 2.0) and Function URL events, and for
 * direct invocations. The model loads once per execution environment; a failed load answers 503 and is
 * retried on the next request.
 */
export function createHandler(deps: HandlerDeps) {
  const { settings, logger, metrics, capture } = deps;
  const telemetry = new PowertoolsTelemetry(logger, metrics);
  const loadModel = deps.loadModel ?? (() => Model.load(modelSourceFromEnv(), { intraOpThreads: settings.intraOpThreads }));
  let pending: Promise<InferenceService> | undefined;

  const service = (): Promise<InferenceService> => {
    pending ??= loadModel().then(
      (model) => {
        logger.info('model loaded', { source: model.location, sizeBytes: model.sizeBytes, inputs: model.inputs, outputs: model.outputs });
        return new InferenceService(model, settings, telemetry);
      },
      (err: unknown) => {
        pending = undefined;
        throw err;
      },
    );
    return pending;
  };

  async function handler(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2>;
  async function handler(event: DirectEvent, context: Context): Promise<DirectResult>;
  async function handler(event: InferenceEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2 | DirectResult> {
    logger.addContext(context);
    const requestId = context.awsRequestId;
    try {
      let svc: InferenceService;
      try {
        svc = await service();
      } catch (err) {
        logger.error('model could not be loaded', { error: err as Error });
        metrics.addMetric('ModelLoadErrors', MetricUnit.Count, 1);
        const body = { error: 'ModelUnavailable', message: `the model could not be loaded; quote request id ${requestId} when reporting this`, requestId };
        return isHttpEvent(event) ? { statusCode: 503, headers: { 'content-type': 'application/json', 'x-request-id': requestId }, body: JSON.stringify(body) } : { ...body, status: 503 };
      }
      if (isHttpEvent(event)) {
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v;
        const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
        const res = await svc.handle({ method: event.requestContext.http.method, path: event.rawPath || '/', headers, body, requestId });
        // POST answers 200 only on the predict routes: the pairs drift detection needs.
        if (capture && res.status === 200 && event.requestContext.http.method === 'POST') {
          capture.offer(() => (typeof body === 'string' ? body : body?.toString('utf8') ?? ''), () => res.body);
        }
        return { statusCode: res.status, headers: res.headers, body: res.body, isBase64Encoded: false };
      }
      return await direct(svc, event, requestId);
    } finally {
      metrics.publishStoredMetrics();
    }
  }

  async function direct(svc: InferenceService, event: DirectEvent, requestId: string): Promise<DirectResult> {
    const started = performance.now();
    try {
      const { predictions, batchSize } = await svc.predict(event);
      telemetry.requestCompleted({ route: 'invoke', status: 200, latencyMs: performance.now() - started, requestId, batchSize });
      capture?.offer(() => JSON.stringify(event), () => JSON.stringify({ predictions }));
      return { predictions };
    } catch (err) {
      const known = err instanceof HttpError;
      const status = known ? err.status : 500;
      const error = known ? err.code : 'InferenceFailed';
      const message = known ? err.message : `inference failed; quote request id ${requestId} when reporting this`;
      telemetry.requestCompleted({ route: 'invoke', status, latencyMs: performance.now() - started, requestId, error: { code: error, message }, cause: known ? undefined : err });
      return { error, message, requestId, status };
    }
  }

  return Object.assign(handler, { service });
}

const settings = settingsFromEnv();
const metrics = new Metrics({ namespace: settings.metricsNamespace, serviceName: 'model-server', defaultDimensions: { model: settings.modelName } });
const logger = new Logger({ serviceName: 'model-server' });

/** The Lambda entry point (`lambda.handler` in the image). */
export const handler = createHandler({ settings, logger, metrics, capture: captureFromEnv(logger, metrics) });

// Load the model during the init phase, which runs with a CPU boost and before the first request's clock.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) handler.service().catch(() => undefined);
