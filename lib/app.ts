import * as path from 'node:path';
import { type App } from 'aws-cdk-lib';
import { ConfigError, loadStageConfig, STAGE_NAMES, type StageConfig } from './config';
import { githubProviderProblems } from './config/components/pipelines';
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
  /**
   * Refuse to build a selected stage without `pipelines.github` (context `-c require-github-role=true`, which the
   * GitHub workflow passes): deploying it with the GitHub role would delete the very role the deploy runs as, half
   * way through. Failing at synth stops the workflow before anything is deployed. @default false
   */
  readonly requireGitHubRole?: boolean;
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
  const configs = loadPlatformConfigs(options);
  const problems = githubProviderProblems(pipelineConfigs.length ? pipelineConfigs : STAGE_NAMES.map((stage) => loadStageConfig({ stage, file: options.configFile })));
  if (options.requireGitHubRole) {
    for (const c of configs.filter((x) => !x.pipelines.github)) {
      problems.push(`stages.${c.stage}.pipelines.github: (missing) — required with -c require-github-role=true: the GitHub workflow deploys ${c.stage} with this role, and a deploy without it deletes the role it runs as; configure it in ${options.configFile ?? 'a config file passed with -c config=platform.yaml (none was given)'}`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid cdk-mlops configuration${options.configFile ? ` (${options.configFile})` : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, problems);
  }
  const stageConfig = (stage: string) => loadStageConfig({ stage, file: options.configFile });
  const stages = configs.map((config) => new PlatformStage(app, config.stage, { config, stageConfig }));
  if (pipelineConfigs[0]?.pipelines.infrastructure.enabled) new InfrastructurePipelineStack(app, 'Pipeline', {
    configs: pipelineConfigs,
    // The synth step runs at the repository root: pass the file as the user gave it, relative to there.
    configFile: options.configFile ? path.relative(process.cwd(), path.resolve(options.configFile)).split(path.sep).join('/') : undefined,
  });
  return stages;
}
