/**
 * The drift baseline (per-feature statistics of the training data and the prediction distribution) and the
 * comparison of a captured window against it. Written by the training pipeline's baseline step
 * (`lambda/model-evaluation/baseline.ts`), read by the drift job. Pure functions, no AWS calls.
 */
import { binOf, chiSquare, ksTest, psi, quantiles } from './stats';

export const BASELINE_FORMAT = 'cdk-mlops/drift-baseline@1';

export type Cell = number | string | null;

export interface NumericBaseline {
  readonly name: string;
  readonly type: 'numeric';
  readonly count: number;
  readonly missing: number;
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** 101 percentiles, p0 … p100 (for KS). */
  readonly quantiles: number[];
  /** Ascending interior edges of the PSI bins (deciles, duplicates removed). */
  readonly binEdges: number[];
  /** Share of the training values in each bin (edges.length + 1 bins). */
  readonly binProportions: number[];
}

export interface CategoricalBaseline {
  readonly name: string;
  readonly type: 'categorical';
  readonly count: number;
  readonly missing: number;
  /** Share of each category. */
  readonly proportions: Record<string, number>;
}

export type FeatureBaseline = NumericBaseline | CategoricalBaseline;

export interface DriftBaseline {
  readonly format: typeof BASELINE_FORMAT;
  readonly createdAt: string;
  /** Where the statistics came from, e.g. the training data URI. */
  readonly source?: string;
  readonly recordCount: number;
  /** In request order: feature i is the i-th value of a flattened instance. */
  readonly features: FeatureBaseline[];
  /** Distribution of the predictions (the class for classifiers). */
  readonly predictions?: FeatureBaseline;
}

const isNumber = (v: Cell): v is number => typeof v === 'number' && Number.isFinite(v);

function featureBaseline(name: string, values: Cell[]): FeatureBaseline {
  const present = values.filter((v) => v !== null && v !== '');
  const missing = values.length - present.length;
  if (present.length > 0 && present.every(isNumber)) {
    const sorted = (present as number[]).slice().sort((a, b) => a - b);
    const n = sorted.length;
    const mean = sorted.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    const qs = quantiles(sorted, 100);
    const binEdges = [...new Set([10, 20, 30, 40, 50, 60, 70, 80, 90].map((p) => qs[p]))].filter((e) => e < sorted[n - 1]);
    const counts = new Array<number>(binEdges.length + 1).fill(0);
    for (const x of sorted) counts[binOf(binEdges, x)]++;
    return { name, type: 'numeric', count: n, missing, mean, std, min: sorted[0], max: sorted[n - 1], quantiles: qs, binEdges, binProportions: counts.map((c) => c / n) };
  }
  const counts: Record<string, number> = {};
  for (const v of present) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
  const proportions: Record<string, number> = {};
  for (const [k, c] of Object.entries(counts)) proportions[k] = c / present.length;
  return { name, type: 'categorical', count: present.length, missing, proportions };
}

/** The class of one prediction: argmax of a score vector, a label as given, a number as a number. */
export function predictionValue(p: unknown): Cell {
  if (Array.isArray(p)) {
    // Score vectors are one level deep in practice; flatten only when nested.
    const flat = (p.some(Array.isArray) ? p.flat(Infinity) : p) as unknown[];
    if (flat.length > 0 && flat.every((x) => typeof x === 'number')) {
      if (flat.length === 1) return flat[0] as number;
      let best = 0;
      for (let i = 1; i < flat.length; i++) if ((flat[i] as number) > (flat[best] as number)) best = i;
      return String(best);
    }
    return null;
  }
  if (typeof p === 'number' || typeof p === 'string') return p;
  if (p && typeof p === 'object') {
    const o = p as Record<string, unknown>;
    for (const k of ['label', 'predicted_label', 'class']) if (typeof o[k] === 'string' || typeof o[k] === 'number') return String(o[k]);
    if (Array.isArray(o.probabilities)) return predictionValue(o.probabilities);
  }
  return null;
}

/**
 * Builds the baseline from training rows (features in request order) and the predictions or labels of the same
 * rows. Labels given as class indices compare with argmax predictions (a well-fitted classifier's predicted
 * class distribution is its training label distribution).
 */
export function buildBaseline(rows: Cell[][], o: { featureNames?: string[]; predictions?: Cell[]; source?: string; now?: Date } = {}): DriftBaseline {
  const width = rows.reduce((w, r) => Math.max(w, r.length), 0);
  const features: FeatureBaseline[] = [];
  for (let i = 0; i < width; i++) features.push(featureBaseline(o.featureNames?.[i] ?? `f${i}`, rows.map((r) => (i < r.length ? r[i] : null))));
  const predictions = o.predictions && o.predictions.length > 0 ? featureBaseline('prediction', o.predictions.map((p) => (isNumber(p) && Number.isInteger(p) ? String(p) : p))) : undefined;
  return { format: BASELINE_FORMAT, createdAt: (o.now ?? new Date()).toISOString(), source: o.source, recordCount: rows.length, features, ...(predictions ? { predictions } : {}) };
}

/** Checks a parsed baseline file; throws a reason naming what is wrong. */
export function parseBaseline(value: unknown): DriftBaseline {
  const b = value as Partial<DriftBaseline>;
  if (!b || typeof b !== 'object') throw new Error('baseline is not a JSON object');
  if (b.format !== BASELINE_FORMAT) throw new Error(`baseline format ${JSON.stringify(b.format)} is not ${BASELINE_FORMAT}`);
  if (!Array.isArray(b.features) || b.features.length === 0) throw new Error('baseline lists no features');
  b.features.forEach((f, i) => {
    if (f.type === 'numeric') {
      if (!Array.isArray(f.quantiles) || f.quantiles.length < 2 || !Array.isArray(f.binEdges) || !Array.isArray(f.binProportions) || f.binProportions.length !== f.binEdges.length + 1) {
        throw new Error(`baseline features[${i}] (${f.name}): numeric statistics incomplete (quantiles, binEdges, binProportions)`);
      }
    } else if (f.type !== 'categorical' || !f.proportions || typeof f.proportions !== 'object') {
      throw new Error(`baseline features[${i}]: type must be numeric or categorical with proportions`);
    }
  });
  return b as DriftBaseline;
}

/** Thresholds of the drift decision. */
export interface DriftThresholds {
  /** Fewer records in the window: "insufficient data". */
  readonly minRecords: number;
  /** A feature drifted when PSI reaches this (0.2 is the usual "significant shift"). */
  readonly psiThreshold: number;
  /** …or, for numeric features, when the KS statistic reaches this with p below `pValue`. */
  readonly ksThreshold: number;
  readonly pValue: number;
}

export interface FeatureDrift {
  readonly name: string;
  readonly type: 'numeric' | 'categorical';
  readonly count: number;
  /** Values of the wrong type (e.g. text for a numeric feature), skipped. */
  readonly invalid: number;
  readonly missing: number;
  readonly psi: number;
  readonly ks?: { readonly statistic: number; readonly pValue: number };
  readonly chiSquare?: { readonly statistic: number; readonly degreesOfFreedom: number; readonly pValue: number };
  /** Categories the baseline never saw. */
  readonly unseenCategories?: string[];
  readonly drifted: boolean;
}

export interface SchemaFinding {
  /** Features per record the baseline expects. */
  readonly expectedFeatures: number;
  /** How many records had each other width. */
  readonly observedWidths: Record<string, number>;
  readonly mismatchedRecords: number;
  readonly message: string;
}

export type DriftStatus = 'ok' | 'drift' | 'insufficient-data';

export interface DriftComparison {
  readonly status: DriftStatus;
  readonly records: number;
  readonly features: FeatureDrift[];
  readonly prediction?: FeatureDrift;
  /** Present when records do not have the baseline's features: its own finding, not drift. */
  readonly schema?: SchemaFinding;
  readonly driftedFeatures: string[];
  readonly message: string;
}

function compareFeature(b: FeatureBaseline, values: Cell[], t: DriftThresholds): FeatureDrift {
  let missing = 0;
  let invalid = 0;
  if (b.type === 'numeric') {
    const xs: number[] = [];
    for (const v of values) {
      if (v === null || v === '') missing++;
      else if (isNumber(v)) xs.push(v);
      else invalid++;
    }
    xs.sort((a, c) => a - c);
    const counts = new Array<number>(b.binEdges.length + 1).fill(0);
    for (const x of xs) counts[binOf(b.binEdges, x)]++;
    const p = psi(b.binProportions, counts);
    const ks = ksTest(xs, b.quantiles, b.count);
    const drifted = xs.length >= t.minRecords && (p >= t.psiThreshold || (ks.statistic >= t.ksThreshold && ks.pValue < t.pValue));
    return { name: b.name, type: 'numeric', count: xs.length, invalid, missing, psi: p, ks, drifted };
  }
  const counts: Record<string, number> = {};
  let n = 0;
  for (const v of values) {
    if (v === null || v === '') { missing++; continue; }
    counts[String(v)] = (counts[String(v)] ?? 0) + 1;
    n++;
  }
  const categories = [...new Set([...Object.keys(b.proportions), ...Object.keys(counts)])].sort();
  const expected = categories.map((c) => b.proportions[c] ?? 0);
  const observed = categories.map((c) => counts[c] ?? 0);
  const p = psi(expected, observed);
  const unseenCategories = categories.filter((c) => b.proportions[c] === undefined && (counts[c] ?? 0) > 0);
  const drifted = n >= t.minRecords && p >= t.psiThreshold;
  return { name: b.name, type: 'categorical', count: n, invalid, missing, psi: p, chiSquare: chiSquare(expected, observed), unseenCategories, drifted };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** A short, human-readable account of one drifted feature, for the retraining reason. */
export function describeDrift(f: FeatureDrift): string {
  return `${f.name} (PSI ${round(f.psi)}${f.ks ? `, KS ${round(f.ks.statistic)}` : ''})`;
}

/** Compares a window of captured rows (and their predictions) with the baseline. */
export function compareWindow(baseline: DriftBaseline, rows: Cell[][], predictions: unknown[], t: DriftThresholds): DriftComparison {
  const width = baseline.features.length;
  const widths: Record<string, number> = {};
  const matching: Cell[][] = [];
  const matchingPredictions: unknown[] = [];
  rows.forEach((r, i) => {
    if (r.length === width) {
      matching.push(r);
      matchingPredictions.push(predictions[i]);
    } else widths[String(r.length)] = (widths[String(r.length)] ?? 0) + 1;
  });
  const mismatched = rows.length - matching.length;
  const schema: SchemaFinding | undefined = mismatched > 0 ? {
    expectedFeatures: width,
    observedWidths: widths,
    mismatchedRecords: mismatched,
    message: `${mismatched} of ${rows.length} records do not have the baseline's ${width} features (${Object.entries(widths).map(([w, c]) => `${c} with ${w}`).join(', ')}): `
      + `${Object.keys(widths).some((w) => Number(w) > width) ? 'new features' : 'missing features'}; they are left out of the comparison`,
  } : undefined;

  if (matching.length < t.minRecords) {
    return {
      status: 'insufficient-data', records: matching.length, features: [], driftedFeatures: [], schema,
      message: `insufficient data: ${matching.length} comparable records in the window, at least ${t.minRecords} needed`,
    };
  }
  const features = baseline.features.map((b, i) => compareFeature(b, matching.map((r) => r[i]), t));
  const predicted = matchingPredictions.filter((p) => p !== undefined).map(predictionValue);
  const prediction = baseline.predictions && predicted.length > 0 ? compareFeature(baseline.predictions, predicted, t) : undefined;
  const drifted = [...features, ...(prediction ? [prediction] : [])].filter((f) => f.drifted);
  return {
    status: drifted.length > 0 ? 'drift' : 'ok',
    records: matching.length,
    features,
    prediction,
    schema,
    driftedFeatures: drifted.map((f) => f.name),
    message: drifted.length > 0 ? `drift in ${drifted.map(describeDrift).join(', ')}` : `no drift in ${features.length} features over ${matching.length} records`,
  };
}
