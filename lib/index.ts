/**
 * cdk-mlops: L3 constructs for an ML platform on AWS, and the platform app that composes them.
 * Import constructs one by one (`import { DataLake } from 'cdk-mlops'`), or build whole stages with
 * `PlatformStage` and a validated config from `loadStageConfig`.
 */
export * from '../constructs';
export * from '../pipelines';
export * from './config';
export * from './nag';
export * from './app';
export * from './platform-stage';
export * from './stacks';
export * from './validation-gate';
export {
  COST_KINDS, DEFAULT_PRICE_TABLE, estimateCloudAssembly, estimateIdleCost, IdleCostBudget, readCloudAssembly, renderEstimate, summaryLine,
  type CostItem, type IdleCostBudgetProps, type IdleCostEstimate, type PriceTable, type RegionPrices, type StackGroup, type StackTemplate,
} from './cost';
