/**
 * Training entry point of the example model repository (SageMaker's training contract): reads the CSV files of
 * the `train` channel, trains a softmax regression with gradient descent on 80% of the rows, evaluates it on the
 * held-out 20%, exports ONNX (MatMul → Add → Softmax, input `features` [batch, 4]) to the model directory, writes
 * `evaluation.json` beside it and prints the metric lines the pipeline's metric definitions read.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';

export interface Dataset { readonly features: number[][]; readonly labels: number[]; readonly featureNames: string[] }
export interface Hyperparameters { readonly epochs: number; readonly learningRate: number; readonly holdoutPercent: number }
export interface TrainedModel { readonly weights: number[][]; readonly bias: number[] }
export interface Evaluation { readonly accuracy: number; readonly logLoss: number; readonly rows: number }

export const DEFAULT_HYPERPARAMETERS: Hyperparameters = { epochs: 400, learningRate: 0.1, holdoutPercent: 20 };
const CLASSES = 2;

/** CSV with a header; the last column is the 0/1 label. Blank lines are skipped; anything else non-numeric is an error. */
export function parseCsv(text: string): Dataset {
  const [header, ...lines] = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const names = header.split(',');
  const features: number[][] = [];
  const labels: number[] = [];
  lines.forEach((line, i) => {
    const values = line.split(',').map(Number);
    if (values.length !== names.length || values.some((v) => !Number.isFinite(v))) throw new Error(`row ${i + 2}: expected ${names.length} numbers, got "${line}"`);
    const label = values.pop()!;
    if (label !== 0 && label !== 1) throw new Error(`row ${i + 2}: label must be 0 or 1, got ${label}`);
    features.push(values);
    labels.push(label);
  });
  return { features, labels, featureNames: names.slice(0, -1) };
}

/** Per-feature mean and standard deviation, folded into the exported weights so the model takes raw features. */
function standardize(x: number[][]): { mean: number[]; std: number[] } {
  const n = x.length;
  const mean = x[0].map((_, j) => x.reduce((s, r) => s + r[j], 0) / n);
  const std = x[0].map((_, j) => Math.sqrt(x.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / n) || 1);
  return { mean, std };
}

const softmax = (logits: number[]): number[] => {
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
};

export function predict(model: TrainedModel, row: number[]): number[] {
  return softmax(model.bias.map((b, k) => row.reduce((s, v, j) => s + v * model.weights[j][k], b)));
}

/** Deterministic split: every row whose index modulo 100/holdout is 0 is held out. */
export function split(data: Dataset, holdoutPercent: number): { train: Dataset; holdout: Dataset } {
  const every = Math.max(2, Math.round(100 / holdoutPercent));
  const pick = (keep: (i: number) => boolean): Dataset => ({
    featureNames: data.featureNames,
    features: data.features.filter((_, i) => keep(i)),
    labels: data.labels.filter((_, i) => keep(i)),
  });
  return { train: pick((i) => i % every !== 0), holdout: pick((i) => i % every === 0) };
}

/** Full-batch gradient descent on the cross-entropy, in standardized space; returns weights for raw features. */
export function train(data: Dataset, hp: Hyperparameters = DEFAULT_HYPERPARAMETERS): TrainedModel {
  const { mean, std } = standardize(data.features);
  const x = data.features.map((r) => r.map((v, j) => (v - mean[j]) / std[j]));
  const d = x[0].length;
  const w = Array.from({ length: d }, () => new Array<number>(CLASSES).fill(0));
  const b = new Array<number>(CLASSES).fill(0);
  for (let epoch = 0; epoch < hp.epochs; epoch++) {
    const gw = w.map((r) => r.map(() => 0));
    const gb = b.map(() => 0);
    x.forEach((row, i) => {
      const p = predict({ weights: w, bias: b }, row);
      for (let k = 0; k < CLASSES; k++) {
        const err = p[k] - (data.labels[i] === k ? 1 : 0);
        gb[k] += err;
        for (let j = 0; j < d; j++) gw[j][k] += err * row[j];
      }
    });
    for (let k = 0; k < CLASSES; k++) {
      b[k] -= (hp.learningRate * gb[k]) / x.length;
      for (let j = 0; j < d; j++) w[j][k] -= (hp.learningRate * gw[j][k]) / x.length;
    }
  }
  // (x - mean) / std · w + b  ==  x · (w / std) + (b - Σ mean·w/std)
  const weights = w.map((r, j) => r.map((v) => v / std[j]));
  const bias = b.map((bk, k) => bk - mean.reduce((s, m, j) => s + m * weights[j][k], 0));
  return { weights, bias };
}

export function evaluate(model: TrainedModel, data: Dataset): Evaluation {
  let correct = 0;
  let loss = 0;
  data.features.forEach((row, i) => {
    const p = predict(model, row);
    if ((p[1] >= 0.5 ? 1 : 0) === data.labels[i]) correct++;
    loss -= Math.log(Math.max(p[data.labels[i]], 1e-12));
  });
  return { accuracy: correct / data.features.length, logLoss: loss / data.features.length, rows: data.features.length };
}

/** The trained model as ONNX (opset 13): probabilities = softmax(features · W + B). */
export function toOnnx(model: TrainedModel): Uint8Array {
  const d = model.weights.length;
  const tensor = (dims: (number | string)[]): onnx.ITypeProto => ({
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((v) => (typeof v === 'number' ? { dimValue: v } : { dimParam: v })) } },
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'churn-model-example',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'churn_softmax_regression',
      node: [
        { opType: 'MatMul', input: ['features', 'W'], output: ['z'], name: 'matmul' },
        { opType: 'Add', input: ['z', 'B'], output: ['logits'], name: 'bias' },
        { opType: 'Softmax', input: ['logits'], output: ['probabilities'], name: 'softmax', attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }] },
      ],
      initializer: [
        { name: 'W', dataType: onnx.TensorProto.DataType.FLOAT, dims: [d, CLASSES], floatData: model.weights.flat() },
        { name: 'B', dataType: onnx.TensorProto.DataType.FLOAT, dims: [CLASSES], floatData: model.bias },
      ],
      input: [{ name: 'features', type: tensor(['batch', d]) }],
      output: [{ name: 'probabilities', type: tensor(['batch', CLASSES]) }],
    },
  })).finish();
}

/** SageMaker passes hyperparameters as strings. */
export function readHyperparameters(raw: Record<string, string>): Hyperparameters {
  const num = (key: string, fallback: number, min: number, max: number): number => {
    if (raw[key] === undefined) return fallback;
    const v = Number(raw[key]);
    if (!Number.isFinite(v) || v < min || v > max) throw new Error(`hyperparameter ${key}=${JSON.stringify(raw[key])} must be a number between ${min} and ${max}`);
    return v;
  };
  return {
    epochs: Math.round(num('epochs', DEFAULT_HYPERPARAMETERS.epochs, 1, 100000)),
    learningRate: num('learning_rate', DEFAULT_HYPERPARAMETERS.learningRate, 1e-6, 10),
    holdoutPercent: num('holdout_percent', DEFAULT_HYPERPARAMETERS.holdoutPercent, 5, 50),
  };
}

export interface RunPaths { readonly trainDir: string; readonly modelDir: string; readonly hyperparametersFile?: string }

/** One training job: returns the held-out evaluation; `log` gets the metric lines (stdout in the container). */
export function run(paths: RunPaths, log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Evaluation {
  const files = readdirSync(paths.trainDir).filter((f) => f.endsWith('.csv')).sort();
  if (files.length === 0) throw new Error(`no .csv file in the train channel ${paths.trainDir}`);
  const parsed = files.map((f) => parseCsv(readFileSync(join(paths.trainDir, f), 'utf8')));
  const data: Dataset = { featureNames: parsed[0].featureNames, features: parsed.flatMap((p) => p.features), labels: parsed.flatMap((p) => p.labels) };
  let raw: Record<string, string> = {};
  try {
    raw = paths.hyperparametersFile ? JSON.parse(readFileSync(paths.hyperparametersFile, 'utf8')) as Record<string, string> : {};
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const hp = readHyperparameters(raw);
  const { train: trainSet, holdout } = split(data, hp.holdoutPercent);
  const model = train(trainSet, hp);
  const result = evaluate(model, holdout);
  mkdirSync(paths.modelDir, { recursive: true });
  writeFileSync(join(paths.modelDir, 'model.onnx'), toOnnx(model));
  writeFileSync(join(paths.modelDir, 'evaluation.json'), JSON.stringify({
    metrics: { accuracy: { value: result.accuracy }, log_loss: { value: result.logLoss } }, holdout_rows: result.rows, features: data.featureNames,
  }, null, 2));
  // The lines the pipeline's metric definitions (pipelines.evaluation.metricRegex) read from the job's log.
  log(`validation:accuracy=${result.accuracy.toFixed(4)}`);
  log(`validation:log_loss=${result.logLoss.toFixed(4)}`);
  return result;
}

if (require.main === module) {
  const base = process.env.SM_BASE_DIR ?? '/opt/ml';
  run({
    trainDir: process.env.SM_CHANNEL_TRAIN ?? join(base, 'input/data/train'),
    modelDir: process.env.SM_MODEL_DIR ?? join(base, 'model'),
    hyperparametersFile: join(base, 'input/config/hyperparameters.json'),
  });
}
