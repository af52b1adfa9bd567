import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InferenceSession, type Tensor } from 'onnxruntime-node';

/** Tensor element types the server converts JSON into. */
export type TensorDtype = 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

/** One model input or output as the metadata endpoint reports it. */
export interface TensorSpec {
  readonly name: string;
  /** onnxruntime's element type name, e.g. `float32`. */
  readonly dtype: string;
  /** Dimensions: numbers are fixed, strings are symbolic (e.g. `batch`). Empty when unknown. */
  readonly shape: ReadonlyArray<number | string>;
}

/** Where the model comes from: an S3 object wins over a local path. */
export type ModelSource = { readonly kind: 's3'; readonly bucket: string; readonly key: string } | { readonly kind: 'file'; readonly path: string };

/** SageMaker extracts the model archive (`ModelDataUrl`) here. */
export const SAGEMAKER_MODEL_DIR = '/opt/ml/model';

/** Files under `dir` (relative paths, sorted), at most `depth` folders deep; hidden entries skipped. */
function listFiles(dir: string, depth = 4, base = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, base), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const rel = base ? join(base, entry.name) : entry.name;
    if (entry.isDirectory()) {
      if (depth > 0) out.push(...listFiles(dir, depth - 1, rel));
    } else {
      out.push(rel);
    }
  }
  return out.sort();
}

/**
 * The ONNX file of a model directory, or the path itself when it is a file. A training job's `model.tar.gz` may
 * hold the model in a subfolder (`model/model.onnx`), so the directory is searched a few levels deep. Exactly one
 * `.onnx` file must be found (or one named `model.onnx` at the top); anything else is an error naming what is
 * there, never a silent guess.
 */
export function resolveModelFile(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const files = listFiles(path);
  const onnx = files.filter((f) => f.endsWith('.onnx'));
  if (onnx.length === 1) return join(path, onnx[0]);
  if (onnx.includes('model.onnx')) return join(path, 'model.onnx');
  if (onnx.length > 1) throw new Error(`model directory ${path} holds several ONNX files (${onnx.join(', ')}); keep one, or name the one to serve model.onnx at the top of the archive`);
  const seen = files.slice(0, 10).join(', ') || 'nothing';
  throw new Error(`model directory ${path} holds no .onnx file (it holds ${seen}${files.length > 10 ? ', ...' : ''}); this server serves ONNX models: export the model to ONNX in the training job`);
}

/**
 * The model source configured by the environment: `MODEL_S3_BUCKET` + `MODEL_S3_KEY`, else `MODEL_PATH`
 * (file or directory), else SageMaker's `/opt/ml/model` whenever SageMaker put anything there, else
 * `MODEL_DEFAULT_PATH` (the reference model baked into the image). A model given in `/opt/ml/model` is never
 * replaced by the baked one: when it cannot be used, loading fails and names the problem.
 */
export function modelSourceFromEnv(env: Record<string, string | undefined> = process.env, modelDir = SAGEMAKER_MODEL_DIR): ModelSource {
  const bucket = env.MODEL_S3_BUCKET;
  const key = env.MODEL_S3_KEY;
  if (bucket || key) {
    if (!bucket || !key) throw new Error('MODEL_S3_BUCKET and MODEL_S3_KEY must be set together');
    return { kind: 's3', bucket, key };
  }
  if (env.MODEL_PATH) return { kind: 'file', path: env.MODEL_PATH };
  if (existsSync(modelDir) && statSync(modelDir).isDirectory() && listFiles(modelDir).length > 0) {
    // Fail at start (with the directory's content in the message) rather than answer with the baked model.
    return { kind: 'file', path: resolveModelFile(modelDir) };
  }
  if (env.MODEL_DEFAULT_PATH) return { kind: 'file', path: env.MODEL_DEFAULT_PATH };
  throw new Error('no model configured: set MODEL_S3_BUCKET and MODEL_S3_KEY, or MODEL_PATH');
}

export interface LoadModelOptions {
  /** Used for S3 sources. @default a new S3Client for the environment's region */
  readonly s3?: S3Client;
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose. @default 0 */
  readonly intraOpThreads?: number;
}

/** A loaded ONNX model: the onnxruntime session and its input/output specs. */
export class Model {
  /** Reads the model bytes from the source and creates the session. */
  static async load(source: ModelSource, options: LoadModelOptions = {}): Promise<Model> {
    let bytes: Uint8Array;
    let location: string;
    if (source.kind === 's3') {
      location = `s3://${source.bucket}/${source.key}`;
      const s3 = options.s3 ?? new S3Client({});
      const object = await s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key }));
      if (!object.Body) throw new Error(`${location} has no body`);
      bytes = await object.Body.transformToByteArray();
    } else {
      location = resolveModelFile(source.path);
      bytes = readFileSync(location);
    }
    return Model.fromBytes(bytes, location, options.intraOpThreads);
  }

  /** Creates the session from serialized ONNX bytes. */
  static async fromBytes(bytes: Uint8Array, location = 'memory', intraOpThreads = 0): Promise<Model> {
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, {
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        ...(intraOpThreads > 0 ? { intraOpNumThreads: intraOpThreads } : {}),
      });
    } catch (err) {
      throw new Error(`cannot load ONNX model from ${location}: ${(err as Error).message}`);
    }
    return new Model(session, location, bytes.byteLength);
  }

  public readonly inputs: readonly TensorSpec[];
  public readonly outputs: readonly TensorSpec[];

  private constructor(
    public readonly session: InferenceSession,
    /** Where the model was loaded from (file path or s3:// URI). */
    public readonly location: string,
    public readonly sizeBytes: number,
  ) {
    const spec = (m: InferenceSession.ValueMetadata): TensorSpec =>
      m.isTensor ? { name: m.name, dtype: m.type, shape: [...m.shape] } : { name: m.name, dtype: 'non-tensor', shape: [] };
    this.inputs = session.inputMetadata.map(spec);
    this.outputs = session.outputMetadata.map(spec);
  }

  /** Runs the model. Errors are onnxruntime's (the service turns them into 500s). */
  run(feeds: Record<string, Tensor>): Promise<InferenceSession.ReturnType> {
    return this.session.run(feeds);
  }

  /** Frees the native session; later calls return the first call's promise (a server shutdown and its owner may both release). */
  release(): Promise<void> {
    this.released ??= this.session.release();
    return this.released;
  }

  private released?: Promise<void>;
}
