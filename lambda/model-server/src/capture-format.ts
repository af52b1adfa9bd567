/**
 * The platform's captured-traffic format, shared by every serving path (the Lambda adapter here, the Ray Serve
 * path, and SageMaker's own data capture) and read by the drift job (`lambda/drift-detection`).
 *
 * One JSON object per line, the same shape SageMaker data capture writes, so one parser reads all paths:
 *
 * ```json
 * {"captureData":{"endpointInput":{"observedContentType":"application/json","mode":"INPUT","data":"{\"instances\":[[1,2,3,4]]}","encoding":"JSON"},
 *                 "endpointOutput":{"observedContentType":"application/json","mode":"OUTPUT","data":"{\"predictions\":[[0.1,0.9]]}","encoding":"JSON"}},
 *  "eventMetadata":{"eventId":"…","inferenceTime":"2026-12-01T21:00:00.000Z","servingPath":"lambda","modelPackageArn":"arn:aws:sagemaker:…"},
 *  "eventVersion":"0"}
 * ```
 *
 * Objects are KMS-encrypted and laid out like SageMaker's: `<prefix><source>/<model>/YYYY/MM/DD/HH/<file>.jsonl`, where
 * `<model>` is the model package (`<group>-<version>`) or model name — the partition by model package and hour.
 * Module free of runtime dependencies so any path can import it.
 */

/** Serving paths that write captures. */
export type ServingPath = 'sagemaker' | 'lambda' | 'ray';

export interface CapturedPayload {
  readonly observedContentType: string;
  readonly mode: 'INPUT' | 'OUTPUT';
  /** The body: text for JSON/CSV, base64 for BASE64. */
  readonly data: string;
  readonly encoding: 'JSON' | 'CSV' | 'BASE64';
}

export interface CaptureRecord {
  readonly captureData: {
    readonly endpointInput: CapturedPayload;
    readonly endpointOutput?: CapturedPayload;
  };
  readonly eventMetadata: {
    readonly eventId: string;
    /** ISO-8601 time of the inference. */
    readonly inferenceTime: string;
    /** Absent in SageMaker's captures (the drift job knows the endpoint). */
    readonly servingPath?: ServingPath;
    /** The model package that served the request, when the server knows it. */
    readonly modelPackageArn?: string;
    /** Model name when there is no package. */
    readonly modelName?: string;
  };
  readonly eventVersion: '0';
}

/** What a capture line holds once decoded: feature rows and prediction rows of one request. */
export interface DecodedCapture {
  /** One row per instance: the flattened feature values. */
  readonly rows: (number | string | null)[][];
  /** One per instance, when the response was captured. */
  readonly predictions?: unknown[];
  readonly inferenceTime?: string;
  readonly modelPackageArn?: string;
}

/** Builds the capture line of one JSON request/response pair (both bodies as sent, no re-serialization). */
export function captureLine(input: string, output: string | undefined, meta: CaptureRecord['eventMetadata']): string {
  const record: CaptureRecord = {
    captureData: {
      endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: input, encoding: 'JSON' },
      ...(output === undefined ? {} : { endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: output, encoding: 'JSON' } }),
    },
    eventMetadata: meta,
    eventVersion: '0',
  };
  return JSON.stringify(record);
}

/** A versioned model package ARN (`arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>`): what capture metadata names. */
export function isModelPackageArn(arn: string): boolean {
  return /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/[A-Za-z0-9](-*[A-Za-z0-9]){0,62}\/\d+$/.test(arn);
}

/** A path segment from a model package ARN (`…:model-package/group/3` → `group-3`) or a model name. */
export function modelPartition(modelPackageArn: string | undefined, modelName: string): string {
  const m = modelPackageArn ? /:model-package\/([^/]+)\/(\d+)$/.exec(modelPackageArn) : null;
  const raw = m ? `${m[1]}-${m[2]}` : modelName;
  return raw.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 128) || 'model';
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY/MM/DD/HH` of a time, in UTC: the hour partition of captures and reports. */
export function hourPath(time: Date): string {
  return `${time.getUTCFullYear()}/${pad(time.getUTCMonth() + 1)}/${pad(time.getUTCDate())}/${pad(time.getUTCHours())}`;
}

/** Key of one capture object: `<prefix><source>/<model>/YYYY/MM/DD/HH/<file>.jsonl`. */
export function captureObjectKey(o: { prefix: string; source: string; model: string; time: Date; fileId: string }): string {
  return `${o.prefix}${o.source}/${o.model}/${hourPath(o.time)}/${o.fileId}.jsonl`;
}

type Json = unknown;

function decodePayload(p: unknown): Json | string | undefined {
  if (!p || typeof p !== 'object') return undefined;
  const { data, encoding } = p as Partial<CapturedPayload>;
  if (typeof data !== 'string') return undefined;
  const text = encoding === 'BASE64' ? Buffer.from(data, 'base64').toString('utf8') : data;
  if (encoding === 'CSV') return text;
  return JSON.parse(text) as Json;
}

const isCell = (v: unknown): v is number | string | null => v === null || typeof v === 'number' || typeof v === 'string';

/** Flattens one instance into a row of scalar cells (nested arrays in order; objects by sorted key). */
function flatten(instance: unknown, out: (number | string | null)[] = []): (number | string | null)[] {
  if (isCell(instance)) out.push(instance);
  else if (typeof instance === 'boolean') out.push(instance ? 1 : 0);
  else if (Array.isArray(instance)) for (const v of instance) flatten(v, out);
  else if (instance && typeof instance === 'object') for (const k of Object.keys(instance).sort()) flatten((instance as Record<string, unknown>)[k], out);
  return out;
}

/** Instances of a request body: `{"instances": [...]}`, `{"inputs": {name: batch}}` (first input), a bare array, or CSV lines. */
function instancesOf(body: Json | string): unknown[] | undefined {
  if (typeof body === 'string') {
    return body.split(/\r?\n/).filter((l) => l.trim() !== '').map((l) => l.split(',').map((c) => {
      const n = Number(c);
      return c.trim() !== '' && Number.isFinite(n) ? n : c.trim();
    }));
  }
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    if (Array.isArray(o.instances)) return o.instances;
    if (o.inputs && typeof o.inputs === 'object' && !Array.isArray(o.inputs)) {
      const first = Object.values(o.inputs as Record<string, unknown>)[0];
      if (Array.isArray(first)) return first;
    }
  }
  return undefined;
}

/**
 * Decodes one capture line. Throws (with a short reason) for a line that is not a capture record; the drift job
 * counts those and skips them.
 */
export function decodeCaptureLine(line: string): DecodedCapture {
  const record = JSON.parse(line) as Partial<CaptureRecord>;
  if (!record || typeof record !== 'object' || !record.captureData || typeof record.captureData !== 'object') throw new Error('not a capture record (no captureData)');
  const input = decodePayload(record.captureData.endpointInput);
  if (input === undefined) throw new Error('capture record without endpointInput data');
  const instances = instancesOf(input);
  if (!instances || instances.length === 0) throw new Error('request body holds no instances');
  const rows = instances.map((i) => flatten(i));
  let predictions: unknown[] | undefined;
  const output = record.captureData.endpointOutput ? decodePayload(record.captureData.endpointOutput) : undefined;
  if (output && typeof output === 'object' && Array.isArray((output as { predictions?: unknown }).predictions)) {
    const p = (output as { predictions: unknown[] }).predictions;
    if (p.length === rows.length) predictions = p;
  } else if (Array.isArray(output) && output.length === rows.length) predictions = output;
  else if (typeof output === 'string') {
    // CSV responses: one line per instance.
    const p = instancesOf(output)?.map((r) => ((r as unknown[]).length === 1 ? (r as unknown[])[0] : r));
    if (p && p.length === rows.length) predictions = p;
  }
  const meta = record.eventMetadata ?? ({} as CaptureRecord['eventMetadata']);
  return { rows, predictions, inferenceTime: meta.inferenceTime, modelPackageArn: meta.modelPackageArn };
}
