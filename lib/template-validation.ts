import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CloudFormationValidatePlugin, type CloudFormationValidatePluginProps, type IPolicyValidationContext, type PolicyValidationPluginReport,
  type PolicyValidationStack, type PolicyViolatingResource, type PolicyViolation,
} from 'aws-cdk-lib';

/** Props of {@link CachedTemplateValidation}. */
export interface CachedTemplateValidationProps extends CloudFormationValidatePluginProps {
  /** Directory for the cached verdicts (created when missing; safe to delete at any time). */
  readonly cacheDirectory: string;
  /** How many verdicts to keep; the least recently used are removed beyond it. @default 512 */
  readonly maxCacheEntries?: number;
}

/** One template's verdict as stored: its violations, and the paths they were found at (rewritten on reuse). */
interface CachedVerdict {
  readonly format: 1;
  readonly templatePath: string;
  readonly stackConstructPath: string;
  readonly violations: PolicyViolation[];
}

const FORMAT = 1;
const CDK_LIB_ROOT = path.dirname(require.resolve('aws-cdk-lib/package.json'));

function packageVersion(file: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * aws-cdk-lib's built-in CloudFormation validation (`CloudFormationValidatePlugin`: resource schemas and rules), with
 * each template's verdict kept on disk and reused while the template, its account and region, the rules and the
 * validator are unchanged. Every template of every synth is still validated: one that changed is validated by the
 * engine as before, one byte-identical to a template validated earlier gets that validation's findings back. The
 * engine (about 1.2 s to start, then 0.1-0.6 s per template on 2 cores) starts only when some template changed.
 *
 * It is a `CloudFormationValidatePlugin`, so aws-cdk-lib treats it as the built-in plugin: it replaces the
 * auto-registered instance, its findings are errors under `@aws-cdk/core:validateAgainstDefaultRules`, and
 * acknowledgements of its rules work as before. Register it on the App:
 * `Validations.of(app).addPlugins(new CachedTemplateValidation({ cacheDirectory }))`.
 *
 * The verdict is keyed by a SHA-256 of the aws-cdk-lib and validator versions (the validator is bundled in
 * aws-cdk-lib, its schemas and default rules fixed per release), the plugin's rules and options, the stack's account
 * and region, and the template's bytes.
 */
export class CachedTemplateValidation extends CloudFormationValidatePlugin {
  private readonly cacheDirectory: string;
  private readonly maxCacheEntries: number;
  private readonly fingerprint: string;
  /** Schema overlays are files the key does not cover: with them, every template is validated. */
  private readonly cacheable: boolean;
  private readonly validatorVersion?: string;

  constructor(props: CachedTemplateValidationProps) {
    const { cacheDirectory, maxCacheEntries, ...pluginProps } = props;
    super(pluginProps);
    if (!cacheDirectory) throw new Error('CachedTemplateValidation: cacheDirectory is required (a directory for cached verdicts, e.g. node_modules/.cache/<app>/validation)');
    if (maxCacheEntries !== undefined && !(Number.isInteger(maxCacheEntries) && maxCacheEntries > 0)) {
      throw new Error(`CachedTemplateValidation: maxCacheEntries must be a positive integer, got ${maxCacheEntries}`);
    }
    this.cacheDirectory = cacheDirectory;
    this.cacheable = (pluginProps as { _additionalSchemasDirectory?: string })._additionalSchemasDirectory === undefined;
    this.maxCacheEntries = maxCacheEntries ?? 512;
    this.validatorVersion = packageVersion(path.join(CDK_LIB_ROOT, 'node_modules', '@aws', 'cloudformation-validate', 'package.json'));
    this.fingerprint = crypto.createHash('sha256').update(JSON.stringify({
      format: FORMAT,
      cdk: packageVersion(path.join(CDK_LIB_ROOT, 'package.json')) ?? 'unknown',
      validator: this.validatorVersion ?? 'unknown',
      props: pluginProps,
    })).digest('hex');
  }

  /**
   * The validator's version, read from its package: the engine reports the same, but asking it loads the engine
   * (aws-cdk-lib asks every registered plugin while it writes each stack's metadata).
   */
  public override get version(): string | undefined {
    return this.validatorVersion ?? super.version;
  }

  public override get ruleIds(): string[] | undefined {
    const version = this.version;
    return version === undefined ? undefined : [version];
  }

  public override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const stacks = context.stackTemplates.map((stack) => ({ stack, key: this.keyOf(stack) }));
    const verdicts = new Map<PolicyValidationStack, PolicyViolation[]>();
    const misses: PolicyValidationStack[] = [];
    for (const { stack, key } of stacks) {
      const cached = key === undefined ? undefined : this.read(key);
      if (cached) {
        verdicts.set(stack, relocate(cached, stack));
      } else {
        misses.push(stack);
      }
    }
    if (misses.length > 0) {
      const report = super.validate({ ...context, templatePaths: misses.map((s) => s.templatePath), stackTemplates: misses });
      const split = splitByTemplate(report.violations, misses);
      if (split === undefined) {
        // A finding this plugin cannot attribute to one template: report it as found, cache nothing of this run.
        return merge([...verdicts.values()].flat().concat(report.violations), report);
      }
      for (const { stack, key } of stacks.filter((s) => misses.includes(s.stack))) {
        const violations = split.get(stack)!;
        verdicts.set(stack, violations);
        if (key !== undefined) this.write(key, { format: FORMAT, templatePath: stack.templatePath, stackConstructPath: stack.stackConstructPath, violations });
      }
      this.prune();
    }
    return merge(context.stackTemplates.flatMap((s) => verdicts.get(s)!));
  }

  private keyOf(stack: PolicyValidationStack): string | undefined {
    if (!this.cacheable) return undefined;
    let template: Buffer;
    try {
      template = fs.readFileSync(stack.templatePath);
    } catch {
      return undefined; // the engine reports an unreadable template itself
    }
    return crypto.createHash('sha256')
      .update(this.fingerprint).update('\0').update(stack.accountId ?? '').update('\0').update(stack.region ?? '').update('\0')
      .update(template).digest('hex');
  }

  private entry(key: string): string {
    return path.join(this.cacheDirectory, `${key}.json`);
  }

  private read(key: string): CachedVerdict | undefined {
    const file = this.entry(key);
    try {
      const verdict = JSON.parse(fs.readFileSync(file, 'utf8')) as CachedVerdict;
      if (verdict.format !== FORMAT || !Array.isArray(verdict.violations)) return undefined;
      const now = new Date();
      fs.utimesSync(file, now, now); // recently used: kept by prune()
      return verdict;
    } catch {
      return undefined; // missing, unreadable or corrupt: validate again
    }
  }

  private write(key: string, verdict: CachedVerdict): void {
    try {
      fs.mkdirSync(this.cacheDirectory, { recursive: true });
      const tmp = `${this.entry(key)}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(verdict));
      fs.renameSync(tmp, this.entry(key));
    } catch {
      // A cache that cannot be written (read-only checkout) only costs the next synth a validation.
    }
  }

  private prune(): void {
    try {
      const entries = fs.readdirSync(this.cacheDirectory).filter((f) => f.endsWith('.json'))
        .map((f) => ({ file: path.join(this.cacheDirectory, f), used: fs.statSync(path.join(this.cacheDirectory, f)).mtimeMs }));
      if (entries.length <= this.maxCacheEntries) return;
      entries.sort((a, b) => b.used - a.used);
      for (const { file } of entries.slice(this.maxCacheEntries)) fs.rmSync(file, { force: true });
    } catch {
      // best effort, as write()
    }
  }
}

/** A stored verdict with the paths of this synth (the output folder and the stack's path may differ). */
function relocate(verdict: CachedVerdict, stack: PolicyValidationStack): PolicyViolation[] {
  return verdict.violations.map((v) => ({
    ...v,
    violatingResources: v.violatingResources.map((r): PolicyViolatingResource => ({
      ...r,
      templatePath: r.templatePath === verdict.templatePath ? stack.templatePath : r.templatePath,
      constructPath: r.constructPath === verdict.stackConstructPath ? stack.stackConstructPath : r.constructPath,
    })),
  }));
}

/** Each template's own findings, or undefined when a finding names a template outside `stacks`. */
function splitByTemplate(violations: readonly PolicyViolation[], stacks: readonly PolicyValidationStack[]): Map<PolicyValidationStack, PolicyViolation[]> | undefined {
  const byPath = new Map(stacks.map((s) => [s.templatePath, s]));
  const split = new Map<PolicyValidationStack, PolicyViolation[]>(stacks.map((s) => [s, []]));
  for (const violation of violations) {
    if (violation.violatingResources.length === 0) return undefined;
    for (const resource of violation.violatingResources) {
      const stack = resource.templatePath === undefined ? undefined : byPath.get(resource.templatePath);
      if (!stack) return undefined;
      split.set(stack, merge([...split.get(stack)!, { ...violation, violatingResources: [resource] }]).violations);
    }
  }
  return split;
}

/**
 * Findings of several templates as the plugin reports them: one violation per rule, severity and description,
 * listing every resource it was found on, in template order.
 */
function merge(violations: readonly PolicyViolation[], base?: PolicyValidationPluginReport): PolicyValidationPluginReport {
  const merged: PolicyViolation[] = [];
  for (const violation of violations) {
    const same = merged.find((m) => m.ruleName === violation.ruleName && m.severity === violation.severity && m.description === violation.description);
    if (same) same.violatingResources.push(...violation.violatingResources);
    else merged.push({ ...violation, violatingResources: [...violation.violatingResources] });
  }
  return {
    ...base,
    violations: merged,
    success: merged.every((v) => v.severity !== 'error' && v.severity !== 'fatal'),
  };
}
