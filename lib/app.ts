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

/**
 * An explicit `monitoring.drift.pipelineAccount`/`pipelineRegion` must name where the model pipeline runs: the stage
 * with pipelines.enabled and pipelines.retrainOnDrift hosts the retraining bus, and events sent anywhere else reach
 * no pipeline (they would wait in the forwarder's dead-letter queue). One message per bad key.
 */
export function retrainingRouteProblems(configs: StageConfig[]): string[] {
  const host = configs.find((c) => c.pipelines.enabled && c.pipelines.retrainOnDrift);
  const problems: string[] = [];
  for (const c of configs.filter((x) => x.monitoring.enabled && x.monitoring.drift.enabled)) {
    for (const [key, value, hostValue] of [
      ['pipelineAccount', c.monitoring.drift.pipelineAccount, host?.env.account],
      ['pipelineRegion', c.monitoring.drift.pipelineRegion, host?.env.region],
    ] as const) {
      if (value === undefined) continue;
      const at = `stages.${c.stage}.monitoring.drift.${key}: "${value}" —`;
      if (!host) {
        problems.push(`${at} no stage hosts the model pipeline with retraining on drift (pipelines.enabled and pipelines.retrainOnDrift), so no retraining bus exists there; switch the pipeline on in one stage or remove the key`);
      } else if (hostValue === undefined) {
        problems.push(`${at} the model pipeline's stage ${host.stage} has no explicit env.${key === 'pipelineAccount' ? 'account' : 'region'}, so where its retraining bus lives is decided at deploy time; set stages.${host.stage}.env.${key === 'pipelineAccount' ? 'account' : 'region'} (drift then routes there by default) or remove the key`);
      } else if (value !== hostValue) {
        problems.push(`${at} the model pipeline and its retraining bus are in stage ${host.stage} (${key === 'pipelineAccount' ? 'account' : 'region'} ${hostValue}); drift sent to ${value} reaches no pipeline. Use "${hostValue}" or leave it unset (drift routes to the pipeline's ${key === 'pipelineAccount' ? 'account' : 'region'} by default)`);
      }
    }
  }
  return problems;
}

/** Adds one PlatformStage per selected stage to the app. */
export function buildPlatform(app: App, options: PlatformAppOptions = {}): PlatformStage[] {
  // The selected stages first, so their config errors are the ones reported; then every stage's (cheap), so drift
  // is routed to the pipeline's account whichever stages are built.
  const selected = loadPlatformConfigs(options);
  const given = STAGE_NAMES.map((stage) => selected.find((c) => c.stage === stage) ?? loadStageConfig({ stage, file: options.configFile }));
  const all = withRetrainingRoutes(given);
  const pipelineConfigs = options.pipeline ? all : [];
  const configs = selected.map((s) => all.find((c) => c.stage === s.stage) ?? s);
  const problems = [...githubProviderProblems(all), ...retrainingRouteProblems(given)];
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
