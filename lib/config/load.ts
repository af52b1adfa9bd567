import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { type z } from 'zod';
import { STAGE_NAMES, type StageName } from './common';
import { eksCrossProblems } from './components/eks';
import { pipelinesStageProblems } from './components/pipelines';
import { DEFAULT_CONFIGS } from './defaults';
import { platformConfig, type StageConfig } from './schema';

/** A configuration problem: synth stops and prints `message`, which lists every bad key. */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** One entry per bad key: `dotted.path: value — what is allowed`. */
    public readonly problems: readonly string[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadStageConfigOptions {
  /** Stage name: dev, staging or prod. */
  readonly stage: string;
  /**
   * Path of a JSON or YAML file whose values deep-merge over the stage's built-in defaults. Top-level keys
   * apply to every stage; keys under `stages.<name>` apply to that stage only and win.
   * @default - built-in defaults only
   */
  readonly file?: string;
  /**
   * Overrides given in code, merged last (after the file).
   * @default - none
   */
  readonly overrides?: Record<string, unknown>;
}

type Json = Record<string, unknown>;
const isPlainObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge: objects merge key by key, arrays and scalars replace. Inputs are not mutated. */
export function deepMerge(base: Json, override: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key] as Json, value) : value;
  }
  return out;
}

/** Reads a user config file (`.json`, `.yaml` or `.yml`). */
export function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`Cannot read config file "${file}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`Config file "${file}" is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) {
    throw new ConfigError(`Config file "${file}" must hold a mapping of config keys, got ${Array.isArray(parsed) ? 'a list' : typeof parsed}`);
  }
  return parsed;
}

function valueAt(root: unknown, keys: readonly PropertyKey[]): unknown {
  return keys.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Json)[key as string] : undefined), root);
}

const show = (v: unknown): string => (v === undefined ? '(missing)' : JSON.stringify(v));
const dotted = (keys: readonly PropertyKey[]): string => (keys.length ? keys.map(String).join('.') : '(root)');

/** Keys the schema allows at a path, for "unknown key" messages. */
function allowedKeysAt(schema: z.ZodType, keys: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  for (const key of [...keys, null]) {
    // unwrap optional/nullable/default wrappers
    while (node && typeof (node as { unwrap?: unknown }).unwrap === 'function' && !(node as { shape?: unknown }).shape && !(node as { element?: unknown }).element) {
      node = (node as { unwrap: () => unknown }).unwrap();
    }
    if (key === null) break;
    if ((node as { shape?: Json }).shape) node = (node as { shape: Json }).shape[key as string];
    else if ((node as { element?: unknown }).element) node = (node as { element: unknown }).element;
    else return [];
  }
  const shape = (node as { shape?: Json } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

/** Turns zod issues into one line per bad key, with the bad value and what is allowed. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(platformConfig, issue.path);
      for (const key of issue.keys) {
        const keyPath = [...issue.path, key];
        lines.push(`${dotted(keyPath)}: unknown key (value ${show(valueAt(input, keyPath))}); allowed keys here: ${allowed.join(', ')}`);
      }
      continue;
    }
    const value = valueAt(input, issue.path);
    let what = issue.message;
    if (issue.code === 'invalid_key') {
      const key = issue.path[issue.path.length - 1];
      lines.push(`${dotted(issue.path)}: key ${show(key)} is not allowed — ${issue.issues.map((i) => i.message).join('; ')}`);
      continue;
    }
    if (issue.code === 'invalid_type') what = value === undefined ? `is required (${issue.expected})` : `must be a ${issue.expected}, got ${Array.isArray(value) ? 'array' : typeof value}`;
    lines.push(`${dotted(issue.path)}: ${show(value)} — ${what}`);
  }
  return lines;
}

/** Rules that need more than one key or the stage name. */
function crossFieldProblems(stage: StageName, c: z.infer<typeof platformConfig>): string[] {
  const p: string[] = [];
  const { network: n, data: d } = c;
  if (n.natGateways === 0 && !n.interfaceEndpoints && !n.existingVpc) {
    p.push('network.interfaceEndpoints: false — with network.natGateways 0 the private subnets would reach nothing: keep the interface endpoints or add a NAT gateway');
  }
  if (n.natGateways > n.maxAzs) p.push(`network.natGateways: ${n.natGateways} — must not exceed network.maxAzs (${n.maxAzs})`);
  if (n.maxAzs > 2 && !n.availabilityZones && !n.existingVpc) {
    p.push(`network.maxAzs: ${n.maxAzs} — more than 2 AZs needs env.region and network.availabilityZones (environment-agnostic stacks see only 2 AZs, and synth makes no lookups)`);
  }
  if (c.env.account && c.env.region && !n.availabilityZones && !n.existingVpc) {
    p.push(`network.availabilityZones: (missing) — env.account and env.region are set, so list the zones to use (e.g. ["${c.env.region}a", "${c.env.region}b"]); synth makes no AWS lookups`);
  }
  if (n.availabilityZones) {
    if (!c.env.region) p.push(`network.availabilityZones: ${show(n.availabilityZones)} — needs env.region to be set`);
    else if (n.availabilityZones.some((az) => !az.startsWith(c.env.region!))) p.push(`network.availabilityZones: ${show(n.availabilityZones)} — every AZ must be in env.region (${c.env.region})`);
    if (n.availabilityZones.length < n.maxAzs) p.push(`network.availabilityZones: ${show(n.availabilityZones)} — must list at least network.maxAzs (${n.maxAzs}) zones`);
  }
  if (d.autoDeleteObjects && stage !== 'dev') p.push(`data.autoDeleteObjects: true — allowed only in the dev stage, not in ${stage}`);
  if (d.autoDeleteObjects && d.retainOnDelete) p.push('data.autoDeleteObjects: true — contradicts data.retainOnDelete: true; set retainOnDelete to false to empty buckets on delete');
  if (stage === 'prod') {
    if (!d.retainOnDelete) p.push('data.retainOnDelete: false — prod must retain data on stack deletion (true)');
    if (!d.versioned) p.push('data.versioned: false — prod buckets must be versioned (true)');
    if (n.maxAzs < 2 && !n.existingVpc) p.push(`network.maxAzs: ${n.maxAzs} — prod must span at least 2 AZs`);
  }
  p.push(...pipelinesStageProblems(stage, c.pipelines));
  p.push(...eksCrossProblems(c));
  return p;
}

/** Stages whose model pipeline (on, by defaults + file) promotes to `stage` (to what serves `kind`: a SageMaker endpoint by default). */
export function pipelineStagesTargeting(stage: StageName, shared: Json, perStage: Json, kind: 'endpoint' | 'lambda' = 'endpoint'): StageName[] {
  return STAGE_NAMES.filter((other) => {
    if (other === stage) return false;
    const layer = isPlainObject(perStage[other]) ? (perStage[other] as Json) : {};
    const m = deepMerge(deepMerge(DEFAULT_CONFIGS[other] as unknown as Json, shared), layer);
    const p = m.pipelines as Json | undefined;
    return p?.enabled === true && Array.isArray(p.deployTargets) && p.deployTargets.some((t) => isPlainObject(t) && t.stage === stage && (t.kind ?? 'endpoint') === kind);
  });
}

/**
 * Builds and validates one stage's configuration: built-in defaults, then the file's top-level keys, then its
 * `stages.<stage>` block, then code overrides. Throws a ConfigError listing every problem.
 */
export function loadStageConfig(options: LoadStageConfigOptions): StageConfig {
  const stage = options.stage;
  if (!(STAGE_NAMES as readonly string[]).includes(stage)) {
    throw new ConfigError(`Invalid cdk-mlops configuration:\n  - stage: ${show(stage)} — not a known stage; allowed: ${STAGE_NAMES.join(', ')}`, [
      `stage: ${show(stage)}`,
    ]);
  }
  const stageName = stage as StageName;
  const fileJson = options.file ? readConfigFile(options.file) : {};
  const { stages: perStage, ...shared } = fileJson;
  const problems: string[] = [];
  let stageOverride: Json = {};
  if (perStage !== undefined) {
    if (!isPlainObject(perStage)) problems.push(`stages: ${show(perStage)} — must be a mapping of stage name to overrides`);
    else {
      for (const key of Object.keys(perStage)) {
        if (!(STAGE_NAMES as readonly string[]).includes(key)) problems.push(`stages.${key}: unknown stage; allowed: ${STAGE_NAMES.join(', ')}`);
      }
      if (isPlainObject(perStage[stageName])) stageOverride = perStage[stageName] as Json;
    }
  }
  const layers = [shared, stageOverride, options.overrides ?? {}];
  const merged = layers.reduce<Json>((acc, layer) => deepMerge(acc, layer), DEFAULT_CONFIGS[stageName] as unknown as Json);
  // A stage the model pipeline promotes to gets the SageMaker stack it needs, unless the user switched it off
  // (then the pipeline's synth fails naming pipelines.deployTargets).
  const promotedFrom = pipelineStagesTargeting(stageName, shared, isPlainObject(perStage) ? perStage : {});
  if (promotedFrom.length > 0 && layers.every((l) => valueAt(l, ['sagemaker', 'enabled']) === undefined) && isPlainObject(merged.sagemaker)) {
    merged.sagemaker = { ...merged.sagemaker, enabled: true };
  }
  // Likewise the Lambda inference function a `kind: lambda` target promotes to.
  const lambdaFrom = pipelineStagesTargeting(stageName, shared, isPlainObject(perStage) ? perStage : {}, 'lambda');
  if (lambdaFrom.length > 0 && layers.every((l) => valueAt(l, ['lambdaInference', 'enabled']) === undefined) && isPlainObject(merged.lambdaInference)) {
    merged.lambdaInference = { ...merged.lambdaInference, enabled: true };
  }
  const result = platformConfig.safeParse(merged);
  if (result.success) problems.push(...crossFieldProblems(stageName, result.data));
  else problems.push(...describeIssues(result.error.issues, merged));
  if (problems.length > 0) {
    const source = options.file ? `built-in ${stageName} defaults + ${options.file}` : `built-in ${stageName} defaults`;
    throw new ConfigError(
      `Invalid cdk-mlops configuration for stage "${stageName}" (${source}): ${problems.length} problem${problems.length > 1 ? 's' : ''}\n${problems.map((l) => `  - ${l}`).join('\n')}`,
      problems,
    );
  }
  return { stage: stageName, ...result.data! };
}
