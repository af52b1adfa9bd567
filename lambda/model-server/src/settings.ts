/** Runtime settings of the model server, read from environment variables (the same in both adapters). */
export interface ServerSettings {
  /** Largest accepted request body. Env `MAX_BODY_BYTES`. */
  readonly maxBodyBytes: number;
  /** Largest accepted batch (instances per request). Env `MAX_BATCH_SIZE`. */
  readonly maxBatchSize: number;
  /** Name reported in metadata, logs and metrics. Env `MODEL_NAME`. */
  readonly modelName: string;
  /** onnxruntime intra-op threads (0 = onnxruntime's choice). Env `ORT_INTRA_OP_THREADS`. */
  readonly intraOpThreads: number;
  /** CloudWatch metric namespace. Env `METRICS_NAMESPACE`. */
  readonly metricsNamespace: string;
  /** The model package served (set by the Lambda deployment handler, or the config), reported in metadata. Env `MODEL_PACKAGE_ARN`. */
  readonly modelPackageArn?: string;
}

/** Settings of the SageMaker-contract HTTP server only. */
export interface HttpServerSettings extends ServerSettings {
  /** Env `PORT` (SageMaker: 8080). */
  readonly port: number;
  /** Env `HOST`. */
  readonly host: string;
  /** How long in-flight requests may finish after SIGTERM. Env `SHUTDOWN_GRACE_MS`. */
  readonly shutdownGraceMs: number;
  /** How often aggregated EMF metrics are written. Env `METRICS_FLUSH_MS`. */
  readonly metricsFlushMs: number;
}

export type Env = Record<string, string | undefined>;

/**
 * A numeric setting from the environment: `fallback` when unset or empty; otherwise a number in [min, max] (a whole
 * number when `integer`), or an error naming the variable, its value and what is allowed.
 */
export function numberFromEnv(env: Env, name: string, fallback: number, min: number, max: number, integer = false): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(integer ? Number.isInteger(value) : Number.isFinite(value)) || value < min || value > max) {
    throw new Error(`${name}=${JSON.stringify(raw)} is invalid: must be a ${integer ? 'whole number' : 'number'} between ${min} and ${max}`);
  }
  return value;
}

const intFromEnv = (env: Env, name: string, fallback: number, min: number, max: number): number => numberFromEnv(env, name, fallback, min, max, true);

/** Reads and checks the shared settings; throws naming the variable when one is invalid. */
export function settingsFromEnv(env: Env = process.env): ServerSettings {
  return {
    maxBodyBytes: intFromEnv(env, 'MAX_BODY_BYTES', 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    maxBatchSize: intFromEnv(env, 'MAX_BATCH_SIZE', 256, 1, 1_000_000),
    modelName: env.MODEL_NAME || 'reference-classifier',
    intraOpThreads: intFromEnv(env, 'ORT_INTRA_OP_THREADS', 0, 0, 256),
    metricsNamespace: env.METRICS_NAMESPACE || 'cdk-mlops/ModelServer',
    ...(env.MODEL_PACKAGE_ARN ? { modelPackageArn: env.MODEL_PACKAGE_ARN } : {}),
  };
}

/** Reads and checks the HTTP server's settings. */
export function httpSettingsFromEnv(env: Env = process.env): HttpServerSettings {
  return {
    ...settingsFromEnv(env),
    port: intFromEnv(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '0.0.0.0',
    shutdownGraceMs: intFromEnv(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    metricsFlushMs: intFromEnv(env, 'METRICS_FLUSH_MS', 10_000, 100, 3_600_000),
  };
}
