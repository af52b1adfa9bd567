import { randomUUID } from 'node:crypto';
import { HttpError } from './errors';
import { type Model } from './model';
import { type ServerSettings } from './settings';
import { silentTelemetry, type Telemetry } from './telemetry';
import { checkJsonStructure, clip, decodeRequest, encodePredictions } from './tensors';

/** A transport-neutral HTTP request, as both adapters see it. */
export interface ServiceRequest {
  readonly method: string;
  /** Path without query string, e.g. `/invocations`. */
  readonly path: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body?: string | Buffer;
  /** Size of a body the adapter did not buffer because it exceeded the limit. */
  readonly oversizedBodyBytes?: number;
  /** @default a random UUID */
  readonly requestId?: string;
}

export interface ServiceResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The `{"predictions": [...]}` response of a successful inference. */
export interface PredictResult {
  readonly predictions: unknown[];
}

type Route = 'predict' | 'metadata' | 'ping';

/** Paths each route answers on: SageMaker's contract plus friendlier names for the Lambda front door. */
const ROUTES: Record<string, { route: Route; method: 'GET' | 'POST' }> = {
  '/invocations': { route: 'predict', method: 'POST' },
  '/predict': { route: 'predict', method: 'POST' },
  '/': { route: 'predict', method: 'POST' },
  '/ping': { route: 'ping', method: 'GET' },
  '/health': { route: 'ping', method: 'GET' },
  '/metadata': { route: 'metadata', method: 'GET' },
};

/**
 * The inference core shared by the Lambda handler and the SageMaker-contract server: routing, request
 * validation, inference and error mapping. Every request problem is a 4xx JSON error naming it; a failed
 * inference is a 500 carrying the request id; nothing a client sends can throw out of `handle`.
 */
export class InferenceService {
  private readonly outputNames: string[];

  constructor(
    public readonly model: Model,
    public readonly settings: Pick<ServerSettings, 'maxBodyBytes' | 'maxBatchSize' | 'modelName' | 'modelPackageArn'>,
    private readonly telemetry: Telemetry = silentTelemetry,
  ) {
    this.outputNames = model.outputs.map((o) => o.name);
  }

  /** Model metadata: names, dtypes and shapes of inputs and outputs, and the request limits. */
  metadata(): Record<string, unknown> {
    return {
      name: this.settings.modelName,
      ...(this.settings.modelPackageArn ? { modelPackageArn: this.settings.modelPackageArn } : {}),
      source: this.model.location,
      inputs: this.model.inputs,
      outputs: this.model.outputs,
      limits: { maxBatchSize: this.settings.maxBatchSize, maxBodyBytes: this.settings.maxBodyBytes },
      requestFormats: ['{"instances": [example, ...]}', '{"inputs": {"<input name>": batched tensor}}'],
    };
  }

  /** Validates a parsed request body and runs the model. Throws HttpError for bad requests. */
  async predict(body: unknown): Promise<PredictResult & { batchSize: number }> {
    const { feeds, batchSize } = decodeRequest(body, this.model.inputs, this.settings.maxBatchSize);
    const results = await this.model.run(feeds);
    return { predictions: encodePredictions(results, this.outputNames, batchSize), batchSize };
  }

  /** Handles one HTTP request end to end; never throws. */
  async handle(req: ServiceRequest): Promise<ServiceResponse> {
    const started = performance.now();
    // A caller's id (Lambda request id, SageMaker's X-Amzn-RequestId) is echoed; one is only minted for
    // errors, which need it for support, so the success path stays as lean as a bare server.
    const given = req.requestId;
    const target = ROUTES[req.path];
    const route = target?.route ?? 'unknown';
    let batchSize: number | undefined;
    try {
      if (!target) throw new HttpError(404, 'NotFound', `no route for ${req.path}: use POST /invocations (or /predict), GET /metadata, GET /ping`);
      if (req.method !== target.method && !(target.method === 'GET' && req.method === 'HEAD')) {
        throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${req.path}; use ${target.method}`, { allow: target.method });
      }
      let payload: unknown;
      if (target.route === 'ping') payload = { status: 'ok', model: this.settings.modelName };
      else if (target.route === 'metadata') payload = this.metadata();
      else {
        const result = await this.predict(this.parseBody(req));
        batchSize = result.batchSize;
        payload = { predictions: result.predictions };
      }
      const headers: Record<string, string> = given ? { 'content-type': 'application/json', 'x-request-id': given } : { 'content-type': 'application/json' };
      const response = { status: 200, headers, body: JSON.stringify(payload) };
      this.telemetry.requestCompleted({ route, status: 200, latencyMs: performance.now() - started, requestId: given ?? '', batchSize });
      return response;
    } catch (err) {
      const requestId = given ?? randomUUID();
      const known = err instanceof HttpError;
      const status = known ? err.status : 500;
      const code = known ? err.code : 'InferenceFailed';
      // Internal details go to the log only; the client gets the request id to quote.
      const message = known ? err.message : `inference failed; quote request id ${requestId} when reporting this`;
      this.telemetry.requestCompleted({
        route, status, latencyMs: performance.now() - started, requestId, error: { code, message }, cause: known ? undefined : err,
      });
      return {
        status,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...(known ? err.headers : {}) },
        body: JSON.stringify({ error: code, message, requestId }),
      };
    }
  }

  /** Checks content type, accept header and size, then parses the JSON body. */
  private parseBody(req: ServiceRequest): unknown {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (contentType !== 'application/json') {
      throw new HttpError(415, 'UnsupportedMediaType', `content-type must be application/json, got ${contentType ? JSON.stringify(contentType) : 'none'}`);
    }
    const accept = req.headers.accept;
    if (accept && !/(^|,)\s*(\*\/\*|application\/\*|application\/json)\s*(;|,|$)/i.test(accept)) {
      throw new HttpError(406, 'NotAcceptable', `the server responds with application/json, but accept is ${JSON.stringify(accept)}`);
    }
    const body = req.body ?? '';
    const size = req.oversizedBodyBytes ?? (typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    if (size > this.settings.maxBodyBytes) {
      throw new HttpError(413, 'PayloadTooLarge', `request body of ${size} bytes exceeds the limit of ${this.settings.maxBodyBytes} bytes`);
    }
    if (size === 0) throw new HttpError(400, 'EmptyBody', 'request body is empty; send {"instances": [...]} or {"inputs": {...}}');
    checkJsonStructure(typeof body === 'string' ? Buffer.from(body) : body);
    try {
      return JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, 'MalformedJson', `request body is not valid JSON: ${clip((err as Error).message, 200)}`);
    }
  }
}
