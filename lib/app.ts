import { type App } from 'aws-cdk-lib';
import { loadStageConfig, STAGE_NAMES, type StageConfig } from './config';
import { PlatformStage } from './platform-stage';
import { InfrastructurePipelineStack } from './stacks/infrastructure-pipeline-stack';

/** Which stages to synthesize and from which config file, as read from CDK context. */
export interface PlatformAppOptions {
  /** `dev`, `staging`, `prod`, a comma-separated list, or `all`. @default 'dev' */
  readonly stage?: string;
  /** A JSON/YAML config file that deep-merges over the built-in defaults. @default - none */
  readonly configFile?: string;
  /**
   * Also build `<prefix>-Pipeline`, the infrastructure pipeline that deploys dev → staging → prod (when the dev
   * config's `pipelines.infrastructure.enabled`). bin/app.ts turns it on when no stage is selected. @default false
   */
  readonly pipeline?: boolean;
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
  const pipelineConfigs = options.pipeline ? STAGE_NAMES.map((stage) => loadStageConfig({ stage, file: options.configFile })) : [];
  const stageConfig = (stage: string) => loadStageConfig({ stage, file: options.configFile });
  const stages = loadPlatformConfigs(options).map((config) => new PlatformStage(app, config.stage, { config, stageConfig }));
  if (pipelineConfigs[0]?.pipelines.infrastructure.enabled) new InfrastructurePipelineStack(app, 'Pipeline', { configs: pipelineConfigs });
  return stages;
}
