/**
 * Names that cross a stage (and an account) boundary. The model pipeline in one stage promotes into another
 * stage's model package group and smoke-tests its endpoint; construct references cannot cross stages, so both
 * sides derive the name from these functions (and test/journeys proves they meet).
 */

/** `<prefix>-<stage>-<name>`: the SageMaker endpoint of config `sagemaker.endpoints[].name`. */
export function endpointName(prefix: string, stage: string, name: string): string {
  return `${prefix}-${stage}-${name}`;
}

/** `<prefix>-<stage>-<group>`: the model package group of config `sagemaker.modelPackageGroups[]`. */
export function modelPackageGroupName(prefix: string, stage: string, group: string): string {
  return `${prefix}-${stage}-${group}`;
}

/**
 * `<prefix>-<stage>-<endpoint>-smoke`: the smoke test function a stage runs for its endpoint of config
 * `sagemaker.endpoints[].name` when a model pipeline of another account promotes to it (the pipeline invokes it
 * across accounts and waits for its answer).
 */
export function smokeTestFunctionName(prefix: string, stage: string, endpoint: string): string {
  return `${prefix}-${stage}-${endpoint}-smoke`.slice(0, 64);
}
