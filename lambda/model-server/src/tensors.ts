import { Tensor } from 'onnxruntime-node';
import { badRequest, HttpError } from './errors';
import { type TensorDtype, type TensorSpec } from './model';

type Path = (index: readonly number[]) => string;
const indexPath = (root: string): Path => (index) => root + index.map((i) => `[${i}]`).join('');

interface DtypeRule {
  readonly array: (n: number) => Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;
  /** Checks one JSON value; returns the stored value or undefined when invalid. */
  readonly accept: (v: unknown) => number | bigint | undefined;
  readonly describe: string;
}

const intRule = (min: number, max: number, array: DtypeRule['array'], describe: string, big = false): DtypeRule => ({
  array,
  describe,
  accept: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? (big ? BigInt(v) : v) : undefined),
});

const FLOAT32_MAX = 3.4028234663852886e38;

const DTYPES: Record<TensorDtype, DtypeRule> = {
  float32: {
    array: (n) => new Float32Array(n),
    describe: 'finite numbers within the float32 range (±3.4e38)',
    accept: (v) => (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= FLOAT32_MAX ? v : undefined),
  },
  float64: { array: (n) => new Float64Array(n), describe: 'finite numbers', accept: (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined) },
  int8: intRule(-128, 127, (n) => new Int8Array(n), 'integers from -128 to 127'),
  uint8: intRule(0, 255, (n) => new Uint8Array(n), 'integers from 0 to 255'),
  int16: intRule(-32768, 32767, (n) => new Int16Array(n), 'integers from -32768 to 32767'),
  uint16: intRule(0, 65535, (n) => new Uint16Array(n), 'integers from 0 to 65535'),
  int32: intRule(-2147483648, 2147483647, (n) => new Int32Array(n), 'integers from -2147483648 to 2147483647'),
  uint32: intRule(0, 4294967295, (n) => new Uint32Array(n), 'integers from 0 to 4294967295'),
  int64: intRule(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (n) => new BigInt64Array(n), 'safe integers', true),
  uint64: intRule(0, Number.MAX_SAFE_INTEGER, (n) => new BigUint64Array(n), 'non-negative safe integers', true),
  bool: { array: (n) => new Uint8Array(n), describe: 'booleans', accept: (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : undefined) },
};

/**
 * Structural limits checked on the raw body before it is parsed or walked, so a hostile body (4 MB of `[[[[…`,
 * millions of tiny elements) costs one linear byte scan, not a recursive walk or a message echoing its shape.
 * Tensors rarely have more than 8 dimensions; the request adds two levels (`{"inputs": {name: …}}`).
 */
export const JSON_LIMITS = { maxDepth: 32, maxElements: 1_000_000 } as const;

/** Longest client-supplied text echoed in an error message (and so in the log). */
export const MAX_ECHO_CHARS = 80;

/** Shortens a client-supplied value for an error message. */
export function clip(text: string, max: number = MAX_ECHO_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Scans a JSON body's bytes for nesting depth and element count (array elements and object members) and throws a
 * 400 as soon as either exceeds its limit. Linear, allocation-free, stops at the first excess; JSON syntax itself
 * is left to `JSON.parse`.
 */
export function checkJsonStructure(body: Uint8Array, limits: { maxDepth: number; maxElements: number } = JSON_LIMITS): void {
  let depth = 0;
  let elements = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limits.maxDepth) throw badRequest('TooDeep', `request body nests deeper than ${limits.maxDepth} levels (at byte ${i}); tensors need at most a few`);
      elements++;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
    else if (c === COMMA) elements++;
    if (elements > limits.maxElements) throw new HttpError(413, 'TooManyElements', `request body has more than ${limits.maxElements} elements (at byte ${i})`);
  }
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const showShape = (shape: ReadonlyArray<number | string>): string => clip(`[${shape.join(', ')}]`);

/** Whether the server can feed this model input from JSON. */
export function isSupportedDtype(dtype: string): dtype is TensorDtype {
  return Object.prototype.hasOwnProperty.call(DTYPES, dtype);
}

/**
 * Converts a nested JSON array into an onnxruntime tensor for `spec`, checking it is rectangular, that its
 * shape fits the model's (fixed dimensions must match; the first dimension is the batch), and that every
 * element is a finite value of the input's dtype. Errors name the offending element.
 */
export function toTensor(value: unknown, spec: TensorSpec, path: Path, maxBatchSize = Number.MAX_SAFE_INTEGER): Tensor {
  if (!isSupportedDtype(spec.dtype)) throw new HttpError(500, 'UnsupportedModelInput', `model input ${spec.name} has dtype ${spec.dtype}, which the server cannot feed from JSON`);
  const rule = DTYPES[spec.dtype];
  const shape: number[] = [];
  for (let v: unknown = value; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    // Bounded even when called without checkJsonStructure (a parsed value handed in directly).
    if (shape.length > JSON_LIMITS.maxDepth) throw badRequest('TooDeep', `${path([])}: nests deeper than ${JSON_LIMITS.maxDepth} levels`);
    if (v.length === 0) break;
  }
  if (shape.length === 0) throw badRequest('InvalidTensor', `${path([])}: expected a nested array of ${rule.describe} with shape ${showShape(spec.shape)}, got ${typeOf(value)}`);
  if (spec.shape.length > 0) {
    if (shape.length !== spec.shape.length) {
      throw badRequest('ShapeMismatch', `${path([])}: expected shape ${showShape(spec.shape)} (${spec.shape.length} dimensions), got ${showShape(shape)} (${shape.length} dimensions)`);
    }
    spec.shape.forEach((dim, d) => {
      if (typeof dim === 'number' && dim > 0 && shape[d] !== dim) {
        throw badRequest('ShapeMismatch', `${path([])}: expected shape ${showShape(spec.shape)}, got ${showShape(shape)} (dimension ${d} must be ${dim})`);
      }
    });
  }
  // Reject an oversized batch before walking its elements.
  checkBatch(shape[0], maxBatchSize, path([]));
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > JSON_LIMITS.maxElements) throw new HttpError(413, 'TooManyElements', `${path([])}: shape ${showShape(shape)} has more than ${JSON_LIMITS.maxElements} elements`);
  const data = rule.array(size);
  let offset = 0;
  const index: number[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      const stored = rule.accept(v);
      if (stored === undefined) {
        if (typeof v === 'number' && !Number.isFinite(v)) throw badRequest('NonFiniteValue', `${path(index)}: ${v} is not a finite number`);
        throw badRequest('InvalidDtype', `${path(index)}: expected ${rule.describe} for ${spec.dtype} input ${spec.name}, got ${typeOf(v)} ${clip(JSON.stringify(v) ?? String(v))}`);
      }
      data[offset++] = stored as never;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw badRequest('RaggedTensor', `${path(index)}: expected an array of ${shape[depth]} elements (shape ${showShape(shape)}), got ${Array.isArray(v) ? `${v.length} elements` : typeOf(v)}`);
    }
    for (let i = 0; i < v.length; i++) {
      index.push(i);
      walk(v[i], depth + 1);
      index.pop();
    }
  };
  walk(value, 0);
  return new Tensor(spec.dtype, data as never, shape);
}

/** A decoded, validated request: one tensor per model input and the batch size. */
export interface DecodedRequest {
  readonly feeds: Record<string, Tensor>;
  readonly batchSize: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Decodes `{"instances": [...]}` (row format: one element per example; with several model inputs each
 * element is an object of input name → value) or `{"inputs": {name: batchedTensor}}` (column format; a bare
 * batched array is accepted when the model has one input) into validated tensors.
 */
export function decodeRequest(body: unknown, inputs: readonly TensorSpec[], maxBatchSize: number): DecodedRequest {
  if (!isObject(body)) throw badRequest('InvalidRequest', `request body must be a JSON object with "instances" or "inputs", got ${typeOf(body)}`);
  const keys = Object.keys(body);
  const hasInstances = 'instances' in body;
  const hasInputs = 'inputs' in body;
  if (hasInstances === hasInputs) {
    throw badRequest('InvalidRequest', hasInstances ? 'request must have exactly one of "instances" or "inputs", not both' : `request must have "instances" or "inputs", got keys ${clip(`[${keys.join(', ')}]`)}`);
  }
  const unknownKeys = keys.filter((k) => k !== 'instances' && k !== 'inputs');
  if (unknownKeys.length > 0) throw badRequest('InvalidRequest', `unknown request fields ${clip(`[${unknownKeys.join(', ')}]`)}: allowed are "instances" or "inputs"`);

  const batched: Record<string, { value: unknown; path: Path }> = {};
  if (hasInstances) {
    const instances = body.instances;
    if (!Array.isArray(instances)) throw badRequest('InvalidRequest', `"instances" must be an array, got ${typeOf(instances)}`);
    checkBatch(instances.length, maxBatchSize, 'instances');
    if (inputs.length === 1) {
      batched[inputs[0].name] = { value: instances, path: indexPath('instances') };
    } else {
      instances.forEach((instance, i) => {
        if (!isObject(instance)) throw badRequest('InvalidRequest', `instances[${i}]: the model has ${inputs.length} inputs, so each instance must be an object of input name → value, got ${typeOf(instance)}`);
        checkNames(Object.keys(instance), inputs, `instances[${i}]`);
      });
      for (const spec of inputs) {
        batched[spec.name] = {
          value: instances.map((instance) => (instance as Record<string, unknown>)[spec.name]),
          path: (index) => `instances[${index[0] ?? '*'}].${spec.name}${index.slice(1).map((i) => `[${i}]`).join('')}`,
        };
      }
    }
  } else {
    const given = body.inputs;
    if (Array.isArray(given) && inputs.length === 1) {
      batched[inputs[0].name] = { value: given, path: indexPath('inputs') };
    } else if (isObject(given)) {
      checkNames(Object.keys(given), inputs, 'inputs');
      for (const spec of inputs) batched[spec.name] = { value: given[spec.name], path: indexPath(`inputs.${spec.name}`) };
    } else {
      throw badRequest('InvalidRequest', `"inputs" must be an object of input name → batched tensor${inputs.length === 1 ? ' (or one batched array)' : ''}, got ${typeOf(given)}`);
    }
  }

  const feeds: Record<string, Tensor> = {};
  let batchSize = -1;
  for (const spec of inputs) {
    const { value, path } = batched[spec.name];
    const tensor = toTensor(value, spec, path, maxBatchSize);
    const batch = tensor.dims[0];
    checkBatch(batch, maxBatchSize, path([]));
    if (batchSize >= 0 && batch !== batchSize) {
      throw badRequest('BatchMismatch', `${path([])}: batch size ${batch} differs from the other inputs' ${batchSize}`);
    }
    batchSize = batch;
    feeds[spec.name] = tensor;
  }
  return { feeds, batchSize };
}

function checkBatch(size: number, max: number, where: string): void {
  if (size === 0) throw badRequest('EmptyBatch', `${where}: the batch is empty; send 1 to ${max} examples`);
  if (size > max) throw new HttpError(413, 'BatchTooLarge', `${where}: batch of ${size} exceeds the limit of ${max} examples per request`);
}

function checkNames(given: string[], inputs: readonly TensorSpec[], where: string): void {
  const expected = inputs.map((i) => i.name);
  const unknown = given.filter((n) => !expected.includes(n));
  if (unknown.length > 0) throw badRequest('UnknownInput', `${where}: unknown input ${clip(unknown.map((n) => JSON.stringify(n)).join(', '))}; the model's inputs are ${expected.map((n) => JSON.stringify(n)).join(', ')}`);
  const missing = expected.filter((n) => !given.includes(n));
  if (missing.length > 0) throw badRequest('MissingInput', `${where}: missing input ${missing.map((n) => JSON.stringify(n)).join(', ')}; the model's inputs are ${expected.map((n) => JSON.stringify(n)).join(', ')}`);
}

/** Nested plain arrays of one example's slice of a batched output tensor. */
function unbatch(tensor: Tensor, batch: number, name: string): unknown[] {
  const dims = tensor.dims;
  if (dims.length === 0 || dims[0] !== batch) throw new Error(`output ${name} has shape [${dims.join(', ')}], not a leading batch dimension of ${batch}`);
  const raw = tensor.data as ArrayLike<number | bigint | boolean | string>;
  const values: unknown[] = Array.from(raw, (v) => (typeof v === 'bigint' ? Number(v) : tensor.type === 'bool' ? Boolean(v) : v));
  const build = (start: number, depth: number): unknown => {
    if (depth === dims.length) return values[start];
    const stride = dims.slice(depth + 1).reduce((a, b) => a * b, 1);
    const out: unknown[] = new Array(dims[depth]);
    for (let i = 0; i < dims[depth]; i++) out[i] = build(start + i * stride, depth + 1);
    return out;
  };
  return build(0, 0) as unknown[];
}

/**
 * One prediction per example: the example's slice of the output, or, for models with several outputs, an
 * object of output name → slice.
 */
export function encodePredictions(results: Record<string, Tensor>, outputNames: readonly string[], batch: number): unknown[] {
  if (outputNames.length === 1) return unbatch(results[outputNames[0]], batch, outputNames[0]);
  const perOutput = outputNames.map((name) => [name, unbatch(results[name], batch, name)] as const);
  return Array.from({ length: batch }, (_, i) => Object.fromEntries(perOutput.map(([name, rows]) => [name, rows[i]])));
}
