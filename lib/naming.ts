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

/** `<prefix>-Pipeline`: the stack of the infrastructure pipeline (CDK Pipelines), one per platform. */
export function infrastructurePipelineStackName(prefix: string): string {
  return `${prefix}-Pipeline`;
}

/**
 * `<prefix>-Infrastructure`: the infrastructure pipeline's CodePipeline name. Fixed (not generated) so each stage's
 * post-deploy role can be granted read access to its exact ARN, and `cdk-mlops status` reads it there.
 */
export function infrastructurePipelineName(prefix: string): string {
  return `${prefix}-Infrastructure`;
}

/**
 * `<prefix>-<stage>-drift-detection`: the drift job's role. The stage hosting the model pipeline names it in its
 * artifacts bucket and key policies, so the other stages' (accounts') drift jobs can read the baselines training wrote.
 */
export function driftJobRoleName(prefix: string, stage: string): string {
  return `${prefix}-${stage}-drift-detection`.slice(0, 64);
}

/**
 * `<prefix>-<stage>-<endpoint>-smoke`: the smoke test function a stage runs for its endpoint of config
 * `sagemaker.endpoints[].name` when a model pipeline of another account promotes to it (the pipeline invokes it
 * across accounts and waits for its answer).
 */
export function smokeTestFunctionName(prefix: string, stage: string, endpoint: string): string {
  return `${prefix}-${stage}-${endpoint}-smoke`.slice(0, 64);
}

/**
 * `<prefix>-<stage>-<endpoint>-endpoint`: the execution role of the SageMaker endpoint of config
 * `sagemaker.endpoints[].name`. A model pipeline in another account names it in its artifacts bucket, key and image
 * repository policies (by `aws:PrincipalArn`: S3 and KMS reject policies naming roles that do not exist yet), so the
 * endpoint can read the promoted model's artifact and pull its image.
 */
export function endpointRoleName(prefix: string, stage: string, endpoint: string): string {
  return `${prefix}-${stage}-${endpoint}-endpoint`.slice(0, 64);
}

/** `<prefix>-<stage>`: the ECR repository name prefix of a stage's registry. */
export function imageRepositoryPrefix(prefix: string, stage: string): string {
  return `${prefix}-${stage}`;
}

/** `<prefix>-<stage>/<name>`: the ECR repository of config `registry.repositories[]`. */
export function imageRepositoryName(prefix: string, stage: string, name: string): string {
  return `${imageRepositoryPrefix(prefix, stage)}/${name}`;
}

/** The repository of config `registry.repositories` the model pipeline pushes its image to: `training` if there is one, else the first. */
export function modelImageRepository(repositories: readonly string[]): string {
  return repositories.includes('training') ? 'training' : repositories[0];
}

/**
 * `<prefix>-<stage>-inference`: the stage's Lambda inference function (`lambdaInference`) when a model pipeline
 * promotes to it. Fixed so the pipeline's smoke test, the deployment handler (which must not depend on the function it
 * re-points: the function's model comes from the handler's answer) and other accounts can name it.
 */
export function inferenceFunctionName(prefix: string, stage: string): string {
  return `${prefix}-${stage}-inference`.slice(0, 64);
}

/** The CodeDeploy application and deployment group that shift the inference function's alias (fixed for the same reason). */
export function inferenceDeploymentNames(prefix: string, stage: string): { application: string; deploymentGroup: string } {
  return { application: `${prefix}-${stage}-inference`.slice(0, 100), deploymentGroup: `${prefix}-${stage}-inference-live`.slice(0, 100) };
}

/** `<prefix>-<stage>-lambda-inference`: the model package group whose approved versions the stage's Lambda inference function serves. */
export function inferenceModelPackageGroupName(prefix: string, stage: string): string {
  return `${prefix}-${stage}-lambda-inference`.slice(0, 63).replace(/-+$/, '');
}

/**
 * `<prefix>-<stage>-inference-deploy`: the role of the handler that deploys approved versions to the Lambda inference
 * function. A model pipeline in another account names it in its artifacts bucket and key policies (it copies the model).
 */
export function inferenceDeployRoleName(prefix: string, stage: string): string {
  return `${prefix}-${stage}-inference-deploy`.slice(0, 64);
}

/** `<prefix>-<stage>-inference-smoke`: the smoke test the stage runs for its Lambda inference function for a pipeline of another account. */
export function inferenceSmokeTestFunctionName(prefix: string, stage: string): string {
  return `${prefix}-${stage}-inference-smoke`.slice(0, 64);
}

/** `live`: the alias of the stage's Lambda inference function that clients, promotions and CodeDeploy use. */
export const INFERENCE_ALIAS_NAME = 'live';
