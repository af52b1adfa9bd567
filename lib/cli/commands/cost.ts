import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as CdkModule from 'aws-cdk-lib';
import type * as AppModule from '../../app';
import type * as ConfigModule from '../../config';
import type * as StageModule from '../../platform-stage';
import { readCloudAssembly } from '../../cost/assembly';
import { estimateIdleCost, type IdleCostEstimate } from '../../cost/estimate';
import { type PriceTable } from '../../cost/prices';
import { renderEstimate } from '../../cost/render';
import { CliError } from '../errors';

export interface CostOptions {
  /** Stage selector: a name, a comma-separated list or `all` (synthesized), or assembly group names. */
  readonly stage?: string;
  /** Config file merged over the built-in defaults (as `-c config=`). */
  readonly config?: string;
  /** Price an existing cloud assembly (any CDK app's `cdk.out`) instead of synthesizing the platform. */
  readonly assembly?: string;
  /** A price table file (JSON, the shape of lib/cost/prices.ts) instead of the built-in one. */
  readonly prices?: string;
  /** Directory holding the project's cdk.json (feature flags for the synth). @default process.cwd() */
  readonly cwd?: string;
}

export interface StageCost extends IdleCostEstimate {
  /** `budget.monthlyIdleUsd` of the stage's config, when set (synthesized stages only). */
  readonly budgetUsd?: number;
  readonly overBudget: boolean;
}

export interface CostReport {
  readonly source: 'platform' | 'assembly';
  readonly stages: StageCost[];
}

/** Reads and checks a price table file (the fields the estimate relies on). */
export function readPriceTable(file: string): PriceTable {
  let table: PriceTable;
  try {
    table = JSON.parse(fs.readFileSync(file, 'utf8')) as PriceTable;
  } catch (e) {
    throw new CliError('usage', `--prices ${file}: cannot read it as JSON (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
  const problems: string[] = [];
  if (typeof table.date !== 'string') problems.push('date: must be a YYYY-MM-DD string');
  if (typeof table.source !== 'string') problems.push('source: must say where the prices come from');
  if (!(typeof table.hoursPerMonth === 'number' && table.hoursPerMonth > 0)) problems.push('hoursPerMonth: must be a number above 0 (AWS uses 730)');
  if (typeof table.regions !== 'object' || table.regions === null) problems.push('regions: must map region names to prices');
  else if (!table.regions[table.defaultRegion]) problems.push(`defaultRegion: ${JSON.stringify(table.defaultRegion)} — must be one of regions (${Object.keys(table.regions).join(', ')})`);
  if (problems.length) throw new CliError('usage', `--prices ${file}: ${problems.join('; ')}.`);
  return { ...table, currency: 'USD' };
}

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Synthesizes the selected stages of the platform into a temporary cloud assembly (the CDK loads only here) and
 * returns each stage's templates with its budget. The budget plugin is left out, so an over-budget stage is still
 * priced and reported.
 */
function synthesizePlatform(options: CostOptions): Array<{ name: string; budgetUsd?: number; stacks: ReturnType<typeof readCloudAssembly>[number]['stacks'] }> {
  const { App } = require('aws-cdk-lib') as typeof CdkModule;
  const { loadPlatformConfigs } = require('../../app') as typeof AppModule;
  const { ConfigError } = require('../../config') as typeof ConfigModule;
  const { PlatformStage } = require('../../platform-stage') as typeof StageModule;
  let configs: ReturnType<typeof loadPlatformConfigs>;
  try {
    configs = loadPlatformConfigs({ stage: options.stage ?? 'dev', configFile: options.config });
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError('usage', e.message);
    throw e;
  }
  const cdkJson = path.join(options.cwd ?? process.cwd(), 'cdk.json');
  const context = fs.existsSync(cdkJson) ? (JSON.parse(fs.readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> }).context : undefined;
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-cost-'));
  try {
    // cdk-nag findings are recorded, not fatal, here: the estimate does not depend on them.
    const app = new App({ outdir, context: { ...context, '@aws-cdk/core:failSynthOnValidationErrors': false }, builtinCloudFormationValidation: false });
    for (const config of configs) new PlatformStage(app, config.stage, { config: { ...config, budget: undefined } });
    app.synth();
    const groups = readCloudAssembly(outdir);
    return configs.map((config) => ({
      name: config.stage,
      budgetUsd: config.budget?.monthlyIdleUsd,
      stacks: groups.find((g) => g.name === config.stage)?.stacks ?? [],
    }));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** The idle estimate of each selected stage. */
export function runCost(options: CostOptions): CostReport {
  const prices = options.prices ? readPriceTable(options.prices) : undefined;
  if (options.assembly) {
    if (options.config) throw new CliError('usage', '--config applies when the platform is synthesized; with --assembly the templates are already synthesized. Give one of them.');
    if (!fs.existsSync(path.join(options.assembly, 'manifest.json'))) {
      throw new CliError('usage', `--assembly ${options.assembly}: no manifest.json there; give a cloud assembly directory such as cdk.out (run \`cdk synth\` first).`);
    }
    const groups = readCloudAssembly(options.assembly);
    const wanted = options.stage && options.stage !== 'all' ? options.stage.split(',').map((s) => s.trim()) : undefined;
    const unknown = (wanted ?? []).filter((w) => !groups.some((g) => g.name === w));
    if (unknown.length) throw new CliError('usage', `--stage ${unknown.join(',')}: not in the assembly; it has ${groups.map((g) => g.name).join(', ')}.`);
    return {
      source: 'assembly',
      stages: groups.filter((g) => !wanted || wanted.includes(g.name)).map((g) => ({ ...estimateIdleCost(g.stacks, { name: g.name, prices }), overBudget: false })),
    };
  }
  return {
    source: 'platform',
    stages: synthesizePlatform(options).map((s) => {
      const estimate = estimateIdleCost(s.stacks, { name: s.name, prices });
      return { ...estimate, budgetUsd: s.budgetUsd, overBudget: s.budgetUsd !== undefined && estimate.monthlyUsd > s.budgetUsd };
    }),
  };
}

export function renderCost(report: CostReport): string {
  return report.stages.map((s) => renderEstimate(s, s.budgetUsd)).join(`\n\n${'='.repeat(72)}\n\n`);
}
