import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Model, type ModelSource, modelSourceFromEnv } from './model';
import { InferenceService } from './service';
import { type HttpServerSettings, httpSettingsFromEnv } from './settings';
import { EmfTelemetry, type Telemetry } from './telemetry';

export interface RunningServer {
  readonly server: Server;
  readonly service: InferenceService;
  /** The bound port (useful with port 0). */
  readonly port: number;
  readonly url: string;
  /**
   * Stops accepting connections, lets in-flight requests finish within the grace period, then closes the
   * remaining connections and frees the model.
   */
  close(): Promise<void>;
}

export interface StartServerOptions {
  readonly settings: HttpServerSettings;
  /** An already loaded model, or where to load it from. */
  readonly model: Model | ModelSource;
  /** @default EmfTelemetry writing to stdout */
  readonly telemetry?: Telemetry;
}

/**
 * Starts the SageMaker inference-container contract server: `GET /ping`, `POST /invocations` (plus
 * `GET /metadata`), JSON in and out.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { settings } = options;
  const model = options.model instanceof Model ? options.model : await Model.load(options.model, { intraOpThreads: settings.intraOpThreads });
  const emf = options.telemetry
    ? undefined
    : new EmfTelemetry({ namespace: settings.metricsNamespace, service: 'model-server', modelName: settings.modelName, flushMs: settings.metricsFlushMs });
  const telemetry = options.telemetry ?? emf!;
  emf?.start();
  const service = new InferenceService(model, settings, telemetry);
  let closing = false;

  const dispatch = (req: IncomingMessage, res: ServerResponse, body?: Buffer, oversizedBodyBytes?: number, closeAfter = false): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const requestId = req.headers['x-amzn-requestid'];
    service.handle({
      method: req.method ?? 'GET',
      path: q >= 0 ? url.slice(0, q) : url,
      headers: req.headers as Record<string, string | undefined>,
      body,
      oversizedBodyBytes,
      requestId: typeof requestId === 'string' ? requestId : undefined,
    }).then((result) => {
      const headers: Record<string, string | number> = result.headers;
      headers['content-length'] = Buffer.byteLength(result.body);
      if (closing || closeAfter) headers.connection = 'close';
      res.writeHead(result.status, headers);
      res.end(result.body);
    }, (err: unknown) => transportFailure(res, err));
  };

  // Only transport failures reach here (the core never throws); answer if the socket still allows it.
  const transportFailure = (res: ServerResponse, err: unknown): void => {
    telemetry.error('request transport failed', { error: (err as Error).message });
    if (!res.headersSent) {
      res.writeHead(400, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: 'BadRequest', message: 'the request could not be read' }));
    } else res.destroy();
  };

  const server = createServer((req, res) => {
    if (req.method !== 'POST' && req.method !== 'PUT') {
      req.resume();
      dispatch(req, res);
      return;
    }
    // Buffer the body up to the limit. A body declared or found larger is answered 413 at once (the header alone
    // decides when Content-Length is over the limit), the rest is discarded unread and the connection closed.
    const limit = settings.maxBodyBytes;
    const declared = Number(req.headers['content-length']);
    let size = 0;
    let rejected = false;
    const chunks: Buffer[] = [];
    const reject = (bytes: number): void => {
      rejected = true;
      chunks.length = 0;
      dispatch(req, res, undefined, bytes, true);
    };
    if (declared > limit) reject(declared);
    req.on('data', (chunk: Buffer) => {
      if (rejected) return;
      size += chunk.length;
      if (size > limit) reject(size);
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (!rejected) dispatch(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    req.on('error', (err) => transportFailure(res, err));
  });
  // Longer than typical load balancer idle timeouts (SageMaker keeps connections to the container open).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  telemetry.info('model server listening', { port, host: settings.host, model: model.location, inputs: model.inputs, outputs: model.outputs });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), settings.shutdownGraceMs).unref());
      if ((await Promise.race([done, grace])) === 'timeout') {
        telemetry.info('grace period over, closing remaining connections', { graceMs: settings.shutdownGraceMs });
        server.closeAllConnections();
        await done;
      }
      emf?.stop();
      await model.release();
    })();
    return closed;
  };

  const host = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host;
  return { server, service, port, url: `http://${host}:${port}`, close };
}

/**
 * The environment the server reads its settings from: SageMaker sets `SAGEMAKER_BIND_TO_PORT` (e.g. for
 * multi-container endpoints and inference components) and a container must listen there; it wins over `PORT`.
 */
export function containerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const bind = env.SAGEMAKER_BIND_TO_PORT;
  return bind !== undefined && bind !== '' ? { ...env, PORT: bind } : env;
}

/** Process entry point: SageMaker starts the container with the argument `serve`, which is accepted and ignored. */
async function main(): Promise<void> {
  const settings = httpSettingsFromEnv(containerEnv());
  const running = await startServer({ settings, model: modelSourceFromEnv() });
  const shutdown = (signal: string) => {
    process.stdout.write(`${JSON.stringify({ level: 'INFO', message: 'shutting down', signal, timestamp: new Date().toISOString() })}\n`);
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: 'ERROR', message: 'model server failed to start', error: (err as Error).message, timestamp: new Date().toISOString() })}\n`);
    process.exit(1);
  });
}
