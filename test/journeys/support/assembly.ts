import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { stringify } from 'yaml';
import { buildPlatform } from '../../../lib/app';
import { CDK_CONTEXT } from '../../helpers';
import { ALL_ON_CONFIG, DEFAULT_CONFIG, VARIANTS, type VariantName } from './configs';
import { TemplateResolver, type CfnTemplate } from './resolve';

/**
 * The synthesized platform of one config, read from a cloud assembly on disk.
 *
 * Journey tests only read templates, so each config is synthesized once per source tree and shared by every
 * test file (and later `jest` runs) through a cache folder keyed by the config and the sources' sizes and
 * modification times; a changed source file means a fresh synth. Synthesis uses the real app entry
 * (`buildPlatform` with `-c stage=all`, the config as a YAML file and the infrastructure pipeline), with the
 * built-in CloudFormation validation off (test/app/all-stages.test.ts pays for it) and cdk-nag findings
 * recorded in the assembly's validation report instead of failing synth.
 */

/** A stack of the assembly: `id` is its construct path (`prod/SageMaker`, `Pipeline/Prod/SageMaker`). */
export interface AssemblyStack {
  readonly id: string;
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly template: CfnTemplate;
}

/** A resource found in the assembly, with its intrinsics resolved to concrete values. */
export interface FoundResource {
  readonly stack: AssemblyStack;
  readonly logicalId: string;
  readonly type: string;
  /** `Properties` with every intrinsic resolved (see {@link TemplateResolver}). */
  readonly properties: Record<string, any>;
  /** What `Ref` returns for it. */
  readonly ref: string;
  /** Its ARN (or the best-known identifier where the type has none). */
  readonly arn: string;
  /** The resource as written in the template (unresolved), including `Metadata` and `DependsOn`. */
  readonly raw: Record<string, any>;
}

export type JourneyConfigName = 'defaults' | 'allOn';

const CONFIGS: Record<JourneyConfigName, Record<string, unknown>> = { defaults: DEFAULT_CONFIG, allOn: ALL_ON_CONFIG };
const ROOT = path.join(__dirname, '..', '..', '..');
const SOURCES = ['bin', 'lib', 'constructs', 'pipelines', 'lambda', 'cdk.json', 'package-lock.json'];

export class SynthesizedPlatform {
  /** Every stack, the standalone stages' and the infrastructure pipeline's (with its inner stages). */
  public readonly stacks: readonly AssemblyStack[];
  /** Unacknowledged validation findings (cdk-nag) as `rule at path` lines. */
  public readonly validationFailures: readonly string[];
  public readonly resolver: TemplateResolver;

  constructor(public readonly directory: string) {
    this.stacks = readStacks(directory);
    this.resolver = new TemplateResolver(this.stacks);
    this.validationFailures = readValidationFailures(directory);
  }

  /** A stack by construct path (`prod/SageMaker`) or stack name (`mlops-prod-SageMaker`); throws when absent. */
  public stack(idOrName: string): AssemblyStack {
    const found = this.tryStack(idOrName);
    if (!found) throw new Error(`No stack "${idOrName}" in the assembly; stacks: ${this.stacks.map((s) => s.id).join(', ')}`);
    return found;
  }

  public tryStack(idOrName: string): AssemblyStack | undefined {
    return this.stacks.find((s) => s.id === idOrName || s.stackName === idOrName);
  }

  /** Stacks of one standalone stage (`dev`, `staging`, `prod`), not the pipeline's copies. */
  public stageStacks(stage: string): AssemblyStack[] {
    return this.stacks.filter((s) => s.id.startsWith(`${stage}/`));
  }

  /**
   * Resources of a type, resolved. `where` narrows to stacks whose id starts with it (e.g. `prod/`) and
   * `filter` to matching resources.
   */
  public resources(type: string, where?: { stack?: string; filter?: (r: FoundResource) => boolean }): FoundResource[] {
    const out: FoundResource[] = [];
    for (const stack of this.stacks) {
      if (where?.stack && !(stack.id === where.stack || stack.id.startsWith(where.stack.endsWith('/') ? where.stack : `${where.stack}/`))) continue;
      for (const [logicalId, raw] of Object.entries(stack.template.Resources ?? {})) {
        if ((raw as any).Type !== type) continue;
        const found = this.resource(stack, logicalId);
        if (!where?.filter || where.filter(found)) out.push(found);
      }
    }
    return out;
  }

  /** Exactly one resource of a type in `stack` (an id prefix) matching `filter`; throws otherwise. */
  public only(type: string, stack: string, filter?: (r: FoundResource) => boolean): FoundResource {
    const all = this.resources(type, { stack, filter });
    if (all.length !== 1) {
      throw new Error(`Expected one ${type} in ${stack}, found ${all.length}: ${all.map((r) => `${r.stack.id}/${r.logicalId}`).join(', ')}`);
    }
    return all[0];
  }

  /** One resource, resolved (once: simulations look up the same policies again and again). */
  public resource(stack: AssemblyStack | string, logicalId: string): FoundResource {
    const s = typeof stack === 'string' ? this.stack(stack) : stack;
    const key = `${s.id}\0${logicalId}`;
    let found = this.resolved.get(key);
    if (!found) {
      found = this.resolveResource(s, logicalId);
      this.resolved.set(key, found);
    }
    return found;
  }
  private readonly resolved = new Map<string, FoundResource>();

  private resolveResource(s: AssemblyStack, logicalId: string): FoundResource {
    const raw = s.template.Resources?.[logicalId];
    if (!raw) throw new Error(`No resource ${logicalId} in ${s.id}`);
    return {
      stack: s,
      logicalId,
      type: raw.Type,
      properties: this.resolver.resolve(s, raw.Properties ?? {}),
      ref: this.resolver.ref(s, logicalId),
      arn: this.resolver.arn(s, logicalId),
      raw,
    };
  }

  /** The resource whose `Ref` or ARN is `value` (a name, ARN or URL), if the assembly creates it. */
  public byIdentifier(value: string): FoundResource | undefined {
    // Indexed once: simulations look principals and targets up by ARN on every request.
    if (!this.identifiers) {
      this.identifiers = new Map();
      for (const stack of this.stacks) {
        for (const logicalId of Object.keys(stack.template.Resources ?? {})) {
          for (const id of [this.resolver.ref(stack, logicalId), this.resolver.arn(stack, logicalId)]) {
            if (!this.identifiers.has(id)) this.identifiers.set(id, { stack, logicalId });
          }
        }
      }
    }
    const hit = this.identifiers.get(value);
    return hit ? this.resource(hit.stack, hit.logicalId) : undefined;
  }
  private identifiers?: Map<string, { stack: AssemblyStack; logicalId: string }>;

  /** A stack output, resolved. */
  public output(stack: string, name: string): string {
    const s = this.stack(stack);
    const out = s.template.Outputs?.[name];
    if (!out) throw new Error(`No output ${name} in ${s.id}; outputs: ${Object.keys(s.template.Outputs ?? {}).join(', ')}`);
    return this.resolver.resolve(s, out.Value);
  }
}

const cache = new Map<string, SynthesizedPlatform>();

/** The platform of a named journey config (see `configs.ts`), synthesized once per source tree. */
export function synthesizedPlatform(name: JourneyConfigName): SynthesizedPlatform {
  return synthesizeConfig(name, CONFIGS[name]);
}

/** A journey file's own config (`VARIANTS` in configs.ts), every stage without the infrastructure pipeline. */
export function synthesizedVariant(name: VariantName): SynthesizedPlatform {
  return synthesizeConfig(name, VARIANTS[name], { pipeline: false });
}

/** Which stages {@link synthesizeConfig} builds, as `-c stage=` would select them. */
export interface SynthesizeOptions {
  /** `all`, one stage or a comma-separated list. @default 'all' */
  readonly stage?: string;
  /** Also build the infrastructure pipeline (with its copies of the stages). @default true */
  readonly pipeline?: boolean;
}

/** The platform of any user config file's content, synthesized once per content and source tree. */
export function synthesizeConfig(label: string, config: Record<string, unknown>, options: SynthesizeOptions = {}): SynthesizedPlatform {
  const stage = options.stage ?? 'all';
  const pipeline = options.pipeline ?? true;
  const key = cacheKey(stage === 'all' && pipeline ? config : { config, stage, pipeline });
  const memo = cache.get(key);
  if (memo) return memo;
  const base = path.join(ROOT, 'node_modules', '.cache', 'cdk-mlops-journeys');
  const dir = path.join(base, `${label.replace(/[^\w-]/g, '_')}-${key}`);
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) synthesizeInto(dir, config, stage, pipeline);
  const platform = new SynthesizedPlatform(dir);
  cache.set(key, platform);
  return platform;
}

function cacheKey(config: Record<string, unknown>): string {
  const hash = crypto.createHash('sha256').update(JSON.stringify(config));
  const walk = (p: string): void => {
    let st: fs.Stats;
    try { st = fs.statSync(p); } catch { return; }
    if (st.isDirectory()) {
      for (const entry of fs.readdirSync(p).sort()) if (entry !== 'node_modules' && entry !== 'dist') walk(path.join(p, entry));
    } else {
      hash.update(`${path.relative(ROOT, p)}:${st.size}:${st.mtimeMs}\n`);
    }
  };
  for (const s of SOURCES) walk(path.join(ROOT, s));
  walk(__dirname);
  return hash.digest('hex').slice(0, 16);
}

function synthesizeInto(dir: string, config: Record<string, unknown>, stage: string, pipeline: boolean): void {
  // Synthesize into a private folder and rename it into place, so parallel jest workers never read a half-written one.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-journey-'));
  const configFile = path.join(work, 'platform.yaml');
  fs.writeFileSync(configFile, stringify(config));
  const outdir = path.join(work, 'cdk.out');
  const app = new App({
    outdir,
    builtinCloudFormationValidation: false,
    // Assets stay where they are (the kubectl and AWS CLI layers are 58 MB of zips), as under npm test's setup-env.js.
    context: { ...CDK_CONTEXT, '@aws-cdk/core:failSynthOnValidationErrors': false, 'aws:cdk:disable-asset-staging': true },
  });
  buildPlatform(app, { stage, configFile, pipeline });
  app.synth();
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.renameSync(outdir, dir);
  } catch (e) {
    if (!fs.existsSync(path.join(dir, 'manifest.json'))) throw e; // another worker won the race
  }
  fs.rmSync(work, { recursive: true, force: true });
}

function readStacks(dir: string): AssemblyStack[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const stacks: AssemblyStack[] = [];
  for (const artifact of Object.values<any>(manifest.artifacts ?? {})) {
    if (artifact.type === 'aws:cloudformation:stack') {
      const [account, region] = String(artifact.environment).replace(/^aws:\/\//, '').split('/');
      stacks.push({
        id: artifact.displayName,
        stackName: artifact.properties.stackName,
        account,
        region,
        template: JSON.parse(fs.readFileSync(path.join(dir, artifact.properties.templateFile), 'utf8')),
      });
    } else if (artifact.type === 'cdk:cloud-assembly') {
      stacks.push(...readStacks(path.join(dir, artifact.properties.directoryName)));
    }
  }
  return stacks;
}

function readValidationFailures(dir: string): string[] {
  const file = path.join(dir, 'validation-report.json');
  if (!fs.existsSync(file)) return [];
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  const lines: string[] = [];
  for (const plugin of report.pluginReports ?? []) {
    for (const v of plugin.violations ?? []) {
      if (v.severity && v.severity !== 'error') continue;
      for (const r of v.violatingConstructs ?? v.violatingResources ?? []) {
        lines.push(`${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`);
      }
    }
  }
  return lines;
}
