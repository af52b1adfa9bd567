import { type App } from 'aws-cdk-lib';
import { loadStageConfig, STAGE_NAMES, type StageConfig } from './config';
import { PlatformStage } from './platform-stage';

/** Which stages to synthesize and from which config file, as read from CDK context. */
export interface PlatformAppOptions {
  /** `dev`, `staging`, `prod`, a comma-separated list, or `all`. @default 'dev' */
  readonly stage?: string;
  /** A JSON/YAML config file that deep-merges over the built-in defaults. @default - none */
  readonly configFile?: string;
}

/** Resolves the stage selector to stage names; unknown names are reported by `loadStageConfig`. */
export function selectedStages(selector = 'dev'): string[] {
  return selector === 'all' ? [...STAGE_NAMES] : selector.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Loads every selected stage's config (all errors surface before anything is built). */
export function loadPlatformConfigs(options: PlatformAppOptions = {}): StageConfig[] {
  return selectedStages(options.stage).map((stage) => loadStageConfig({ stage, file: options.configFile }));
}

/** Adds one PlatformStage per selected stage to the app. */
export function buildPlatform(app: App, options: PlatformAppOptions = {}): PlatformStage[] {
  return loadPlatformConfigs(options).map((config) => new PlatformStage(app, config.stage, { config }));
}
