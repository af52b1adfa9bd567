/**
 * cdk-mlops: L3 constructs for an ML platform on AWS, and the platform app that composes them.
 * Import constructs one by one (`import { DataLake } from 'cdk-mlops'`), or build whole stages with
 * `PlatformStage` and a validated config from `loadStageConfig`.
 *
 * The entry is curated: constructs, their props and interfaces (`export type *` re-exports every type of a module
 * and no value), the platform stage and stacks, the config loader and the validation gate. Helpers the constructs
 * use internally (naming, instance-type tables, nag plumbing) are not part of the API.
 */

// The construct library (also the entry jsii compiles for Python)
export * from './library';

// The platform: stages, stacks, config, the validation gate, idle cost
export type * from './platform-stage';
export { PlatformStage } from './platform-stage';
export type * from './stacks';
export {
  AlertsStack, DataStack, DeliveryStack, EksObservability, EksTraining, ExperimentsStack, InfrastructurePipelineStack, LambdaInferenceStack, MonitoringStack,
  NetworkStack, PlatformStack, SageMakerStack, TrainingStack,
} from './stacks';
export type { PlatformConfig, StageConfig, LoadStageConfigOptions } from './config';
export { ConfigError, DEFAULT_CONFIGS, DRIFT_EVENT, loadStageConfig, STAGE_NAMES } from './config';
export type * from './app';
export { buildPlatform } from './app';
export { failedValidations, synthWithGate } from './validation-gate';
export type { CachedTemplateValidationProps } from './template-validation';
export { CachedTemplateValidation } from './template-validation';
export { nagPacks } from './nag';
export type * from './cost';
export { DEFAULT_PRICE_TABLE, estimateCloudAssembly, estimateIdleCost, IdleCostBudget, renderEstimate } from './cost';
