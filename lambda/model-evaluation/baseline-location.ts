/**
 * Where a model's drift baseline lives: beside its `model.tar.gz`. Dependency-free, so the pipeline construct (which
 * writes the same rule into the Register step's shell) and the baseline handler share one definition.
 */
export function driftBaselineUri(modelDataUrl: string): string {
  return `${modelDataUrl.replace(/\/[^/]*$/, '')}/drift-baseline.json`;
}

/** The Register step's shell line computing `DRIFT_BASELINE_URI` from `MODEL_DATA_URL`; a test runs it against the function. */
export const DRIFT_BASELINE_URI_SHELL = 'DRIFT_BASELINE_URI="${MODEL_DATA_URL%/*}/drift-baseline.json"';
