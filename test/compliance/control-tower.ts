import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { type IPolicyValidationContext } from 'aws-cdk-lib';

/**
 * Runs the AWS Control Tower proactive controls that `@cdklabs/cdk-validator-cfnguard` ships (its cfn-guard binary
 * and rules, offline) over a set of templates. Only the rule files that evaluate a resource type present in the
 * templates run: a rule about a type that is absent cannot fail.
 *
 * Acknowledgements: the bundled Control Tower rules (cfn-guard 3.1.1) do not read `Metadata.guard.SuppressedRules`
 * (their queries select every resource of a type), so {@link unacknowledged} drops the findings a resource
 * acknowledges there, by rule name, as cfn-guard's registry rules would.
 */
const PACKAGE = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
const RULES = path.join(PACKAGE, 'rules', 'control-tower', 'cfn-guard');

export interface GuardFailure {
  /** Control id, e.g. `CT.EC2.PR.10`. */
  readonly control: string;
  /** The rule inside the control's file, e.g. `ec2_launch_template_monitoring_enabled_check`. */
  readonly rule: string;
  readonly template: string;
  readonly logicalId: string;
}

function ruleFiles(): Array<{ file: string; types: Set<string> }> {
  return fs.readdirSync(RULES).flatMap((dir) => fs.readdirSync(path.join(RULES, dir)).map((f) => {
    const file = path.join(RULES, dir, f);
    return { file, types: new Set(fs.readFileSync(file, 'utf8').match(/AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g) ?? []) };
  }));
}

/**
 * Control Tower findings over `templates` (paths), one entry per failing rule and resource.
 *
 * cfn-guard's time grows with each rule file × the size of each template it reads, whatever the rule selects
 * (measured: a log-group rule takes 170 ms over the 210 kB Delivery template and 30 ms over its 17 log groups and
 * keys alone). A Control Tower rule only reads resources of the types it names (each query filters `Resources` by
 * `Type`) and the type of what they reference by `Ref`/`Fn::GetAtt` (to check that a referenced key or security
 * group is one), so each rule reads a copy of each template that keeps only those resources, and the referenced ones
 * as their type. Rule files naming the same present types share one cfn-guard process over all of their copies: 34
 * processes for the every-component config (79 rule files, 28 templates) instead of 28 over whole templates,
 * 12.5 s → 5.3 s with the same 185 findings (and the same findings for the defaults, Ray and Lambda-target configs,
 * compared when this was written). `wholeTemplates` runs the same rules over the templates themselves, to compare.
 */
export function controlTowerFailures(templates: readonly string[], options: { wholeTemplates?: boolean } = {}): GuardFailure[] {
  const rules = ruleFiles();
  // Rule name inside a file → the control the file implements (ct-ec2-pr-10.guard → CT.EC2.PR.10).
  const controlOf = new Map<string, string>();
  for (const { file } of rules) {
    const control = path.basename(file, '.guard').toUpperCase().replace(/-/g, '.');
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/^rule\s+([A-Za-z0-9_]+)/gm)) controlOf.set(m[1], control);
  }
  const parsed = templates.map((file) => ({ file, template: JSON.parse(fs.readFileSync(file, 'utf8')) as { Resources?: Record<string, { Type: string }> } }));
  const present = new Set(parsed.flatMap((p) => Object.values(p.template.Resources ?? {}).map((r) => r.Type)));
  // Rule files grouped by the types they name that some template has; a rule naming none of them cannot fail.
  const groups = new Map<string, { types: Set<string>; files: string[] }>();
  for (const rule of rules) {
    const types = [...rule.types].filter((t) => present.has(t)).sort();
    if (types.length === 0) continue;
    const key = types.join(',');
    const group = groups.get(key) ?? groups.set(key, { types: new Set(types), files: [] }).get(key)!;
    group.files.push(rule.file);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-control-tower-'));
  try {
    const violations = [...groups.values()].flatMap((group, i) => {
      const dir = path.join(work, String(i));
      fs.mkdirSync(dir);
      const copies = parsed.flatMap(({ file, template }) => {
        const resources = template.Resources ?? {};
        const kept = new Set(Object.keys(resources).filter((id) => group.types.has(resources[id].Type)));
        if (kept.size === 0) return [];
        if (options.wholeTemplates) return [file];
        // And what those resources reference, by type only: a rule checks that a referenced security group, key or
        // role is one (a type it names, kept whole), and a reference to another type fails it either way.
        const referenced = new Set([...kept].flatMap((id) => references(resources[id])).filter((id) => id in resources && !kept.has(id)));
        // Same file name as the template: findings name the template by it.
        const copy = path.join(dir, path.basename(file));
        const copied = [...[...kept].map((id) => [id, resources[id]]), ...[...referenced].map((id) => [id, { Type: resources[id].Type }])];
        fs.writeFileSync(copy, JSON.stringify({ ...template, Resources: Object.fromEntries(copied) }));
        return [copy];
      });
      if (copies.length === 0) return [];
      const validator = new CfnGuardValidator({ controlTowerRulesEnabled: false, rules: group.files, maxBuffer: 1024 * 1024 * 1024 });
      return validator.validate({ templatePaths: copies } as unknown as IPolicyValidationContext).violations;
    });
    const failures = new Map<string, GuardFailure>();
    for (const v of violations) {
      for (const r of v.violatingResources) {
        const f = { control: controlOf.get(v.ruleName) ?? v.ruleName, rule: v.ruleName, template: path.basename(r.templatePath), logicalId: r.resourceLogicalId };
        failures.set(`${f.control} ${f.template} ${f.logicalId}`, f);
      }
    }
    // cfn-guard also reports some failing rules once per template without a resource (an empty location); those entries
    // repeat a per-resource finding of the same rule and template and are dropped. One with no such finding is kept.
    const all = [...failures.values()];
    const located = new Set(all.filter((f) => f.logicalId).map((f) => `${f.rule} ${f.template}`));
    return all.filter((f) => f.logicalId || !located.has(`${f.rule} ${f.template}`)).sort((a, b) => `${a.control} ${a.template} ${a.logicalId}`.localeCompare(`${b.control} ${b.template} ${b.logicalId}`));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Logical ids a resource names through `Ref` and `Fn::GetAtt`. */
function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) references(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string') out.push(v);
      else if (k === 'Fn::GetAtt') out.push(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]);
      else references(v, out);
    }
  }
  return out;
}

/** The findings not acknowledged by their resource's `Metadata.guard.SuppressedRules`. */
export function unacknowledged(failures: readonly GuardFailure[], templates: readonly string[]): GuardFailure[] {
  const suppressed = new Map<string, Set<string>>();
  for (const t of templates) {
    for (const [id, r] of Object.entries<{ Metadata?: { guard?: { SuppressedRules?: string[] } } }>(JSON.parse(fs.readFileSync(t, 'utf8')).Resources ?? {})) {
      const rules = r.Metadata?.guard?.SuppressedRules;
      if (rules) suppressed.set(`${path.basename(t)} ${id}`, new Set(rules));
    }
  }
  return failures.filter((f) => !suppressed.get(`${f.template} ${f.logicalId}`)?.has(f.rule));
}
