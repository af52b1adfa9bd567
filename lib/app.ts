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

/**
 * Routes drift → retraining across stages: the stage hosting the model pipeline (pipelines.enabled and retrainOnDrift)
 * owns the retraining bus; every other stage forwards to that stage's account and region unless its
 * `monitoring.drift.pipelineAccount`/`pipelineRegion` say otherwise, and the host's bus accepts the other stages'
 * accounts (added to `pipelines.retrainFromAccounts`). Stages without explicit accounts keep same-account routing.
 */
export function withRetrainingRoutes(configs: StageConfig[]): StageConfig[] {
  const host = configs.find((c) => c.pipelines.enabled && c.pipelines.retrainOnDrift);
  if (!host) return configs;
  const senders = configs.filter((c) => c !== host && c.monitoring.enabled && c.monitoring.drift.enabled && c.env.account && c.env.account !== host.env.account)
    .map((c) => c.env.account!);
  return configs.map((c) => {
    const drift = { ...c.monitoring.drift, pipelineAccount: c.monitoring.drift.pipelineAccount ?? host.env.account, pipelineRegion: c.monitoring.drift.pipelineRegion ?? host.env.region };
    const routed = { ...c, monitoring: { ...c.monitoring, drift } };
    return c === host ? { ...routed, pipelines: { ...c.pipelines, retrainFromAccounts: [...new Set([...c.pipelines.retrainFromAccounts, ...senders])] } } : routed;
  });
}

/** Adds one PlatformStage per selected stage to the app. */
export function buildPlatform(app: App, options: PlatformAppOptions = {}): PlatformStage[] {
  // The selected stages first, so their config errors are the ones reported; then every stage's (cheap), so drift
  // is routed to the pipeline's account whichever stages are built.
  const selected = loadPlatformConfigs(options);
  const all = withRetrainingRoutes(STAGE_NAMES.map((stage) => selected.find((c) => c.stage === stage) ?? loadStageConfig({ stage, file: options.configFile })));
  const pipelineConfigs = options.pipeline ? all : [];
  const configs = selected.map((s) => all.find((c) => c.stage === s.stage) ?? s);
  const problems = githubProviderProblems(all);
  if (options.requireGitHubRole) {
    for (const c of configs.filter((x) => !x.pipelines.github)) {
      problems.push(`stages.${c.stage}.pipelines.github: (missing) — required with -c require-github-role=true: the GitHub workflow deploys ${c.stage} with this role, and a deploy without it deletes the role it runs as; configure it in ${options.configFile ?? 'a config file passed with -c config=platform.yaml (none was given)'}`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid cdk-mlops configuration${options.configFile ? ` (${options.configFile})` : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, problems);
  }
  const stageConfig = (stage: string) => all.find((c) => c.stage === stage) ?? loadStageConfig({ stage, file: options.configFile });
  const stages = configs.map((config) => new PlatformStage(app, config.stage, { config, stageConfig }));
  if (pipelineConfigs[0]?.pipelines.infrastructure.enabled) new InfrastructurePipelineStack(app, 'Pipeline', {
    configs: pipelineConfigs,
    // The synth step runs at the repository root: pass the file as the user gave it, relative to there.
    configFile: options.configFile ? path.relative(process.cwd(), path.resolve(options.configFile)).split(path.sep).join('/') : undefined,
  });
  return stages;
}
