/**
 * Where a model's drift baseline lives: beside its `model.tar.gz`. Dependency-free, so the pipeline construct (which
 * writes the same rule into the Register step's shell) and the baseline handler share one definition.
 */
export function driftBaselineUri(modelDataUrl: string): string {
  return `${modelDataUrl.replace(/\/[^/]*$/, '')}/drift-baseline.json`;
}

/** The Register step's shell line computing `DRIFT_BASELINE_URI` from `MODEL_DATA_URL`; a test runs it against the function. */
export const DRIFT_BASELINE_URI_SHELL = 'DRIFT_BASELINE_URI="${MODEL_DATA_URL%/*}/drift-baseline.json"';

/**
 * Where the evaluation gate writes its report (metric, threshold, champion, verdict): beside `model.tar.gz`. The
 * Register step attaches it to the package as `ModelMetrics.ModelQuality.Statistics`.
 */
export function evaluationReportUri(modelDataUrl: string): string {
  return `${modelDataUrl.replace(/\/[^/]*$/, '')}/evaluation.json`;
}

/** The Register step's shell line computing `EVALUATION_REPORT_URI` from `MODEL_DATA_URL`; a test runs it against the function. */
export const EVALUATION_REPORT_URI_SHELL = 'EVALUATION_REPORT_URI="${MODEL_DATA_URL%/*}/evaluation.json"';
