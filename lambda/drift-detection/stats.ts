/**
 * The statistics of drift detection: population stability index, two-sample Kolmogorov–Smirnov against a baseline
 * given as quantiles, and Pearson's chi-square. Pure functions, no dependencies.
 */

/** Floor for empty bins, so PSI stays finite when a bin is empty on one side (the usual 1e-4 smoothing). */
const EPSILON = 1e-4;

/** PSI = Σ (a − e) · ln(a / e) over bins, from expected proportions and observed counts. */
export function psi(expected: number[], observedCounts: number[]): number {
  const total = observedCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i], EPSILON);
    const a = Math.max(observedCounts[i] / total, EPSILON);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Index of the bin of `x` given ascending interior edges: bin i holds edges[i-1] < x <= edges[i]. */
export function binOf(edges: number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The q-quantiles (q+1 values, minimum to maximum) of an ascending sample, linearly interpolated. */
export function quantiles(sorted: number[], q = 100): number[] {
  if (sorted.length === 0) return [];
  const out: number[] = [];
  for (let i = 0; i <= q; i++) {
    const pos = (i / q) * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, sorted.length - 1);
    out.push(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo));
  }
  return out;
}

/** CDF of the baseline at x, from its quantiles (piecewise linear between them). */
function baselineCdf(qs: number[], x: number): number {
  const q = qs.length - 1;
  if (x < qs[0]) return 0;
  if (x >= qs[q]) return 1;
  const i = Math.max(0, binOf(qs, x) - 1);
  const lo = qs[i];
  const hi = qs[i + 1];
  // Equal quantiles (a point mass) jump at once; the last index holding x gives the right-continuous CDF.
  if (hi === lo) {
    let j = i + 1;
    while (j < q && qs[j + 1] === x) j++;
    return j / q;
  }
  return (i + (x - lo) / (hi - lo)) / q;
}

/** Left limit of the baseline CDF at x: differs from the CDF only where quantiles repeat (a point mass at x). */
function baselineCdfLeft(qs: number[], x: number): number {
  const first = qs.indexOf(x);
  if (first < 0 || first === qs.length - 1 || qs[first + 1] !== x) return baselineCdf(qs, x);
  return first / (qs.length - 1);
}

/** Survival function of the Kolmogorov distribution, Q(λ) = 2 Σ (−1)^(k−1) e^(−2k²λ²). */
function kolmogorovQ(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 === 1 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}

/**
 * Two-sample KS statistic D = sup |F_window − F_baseline| with the baseline known by its quantiles and size, and the
 * asymptotic p-value (Stephens' correction) with effective size n·m/(n+m).
 */
export function ksTest(sortedWindow: number[], baselineQuantiles: number[], baselineCount: number): { statistic: number; pValue: number } {
  const n = sortedWindow.length;
  if (n === 0 || baselineQuantiles.length < 2) return { statistic: 0, pValue: 1 };
  let d = 0;
  for (let i = 0; i < n; i++) {
    const x = sortedWindow[i];
    if (i + 1 < n && sortedWindow[i + 1] === x) continue; // evaluate once per distinct value, at its last index
    const fb = baselineCdf(baselineQuantiles, x);
    const below = baselineCdfLeft(baselineQuantiles, x);
    let j = i;
    while (j > 0 && sortedWindow[j - 1] === x) j--;
    d = Math.max(d, Math.abs((i + 1) / n - fb), Math.abs(j / n - below));
  }
  const ne = (n * baselineCount) / (n + baselineCount);
  const sq = Math.sqrt(ne);
  return { statistic: d, pValue: kolmogorovQ((sq + 0.12 + 0.11 / sq) * d) };
}

/** ln Γ(x) (Lanczos). */
function logGamma(x: number): number {
  const c = [76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let ser = 1.000000000190015;
  for (const v of c) ser += v / ++y;
  return -tmp + Math.log((2.5066282746310005 * ser) / x);
}

/** Regularized upper incomplete gamma Q(a, x) (series below a+1, continued fraction above). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const gln = logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let del = sum;
    let ap = a;
    for (let n = 0; n < 500; n++) {
      del *= x / ++ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-14) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - gln);
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return Math.exp(-x + a * Math.log(x) - gln) * h;
}

/** Pearson's chi-square goodness of fit of observed counts to expected proportions over the same categories. */
export function chiSquare(expected: number[], observedCounts: number[]): { statistic: number; degreesOfFreedom: number; pValue: number } {
  const total = observedCounts.reduce((a, b) => a + b, 0);
  if (total === 0 || expected.length < 2) return { statistic: 0, degreesOfFreedom: 0, pValue: 1 };
  let statistic = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i], EPSILON) * total;
    statistic += (observedCounts[i] - e) ** 2 / e;
  }
  const degreesOfFreedom = expected.length - 1;
  return { statistic, degreesOfFreedom, pValue: gammaQ(degreesOfFreedom / 2, statistic / 2) };
}
