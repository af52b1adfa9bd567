import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { type IPolicyValidationContext } from 'aws-cdk-lib';

/**
 * Runs the AWS Control Tower proactive controls that `@cdklabs/cdk-validator-cfnguard` ships (its cfn-guard binary
 * and rules, offline) over a set of templates in one cfn-guard process. Only the rule files that evaluate a
 * resource type present in the templates are passed: cfn-guard's cost grows with rules × templates, and a rule
 * about a type that is absent cannot fail.
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
 * Control Tower findings over `templates` (paths), one entry per failing rule and resource. Each template is checked
 * with only the rule files about its own resource types: cfn-guard's time grows with rules × templates, and this
 * halves it against one run of every selected rule over every template (same findings).
 */
export function controlTowerFailures(templates: readonly string[]): GuardFailure[] {
  const rules = ruleFiles();
  // Rule name inside a file → the control the file implements (ct-ec2-pr-10.guard → CT.EC2.PR.10).
  const controlOf = new Map<string, string>();
  for (const { file } of rules) {
    const control = path.basename(file, '.guard').toUpperCase().replace(/-/g, '.');
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/^rule\s+([A-Za-z0-9_]+)/gm)) controlOf.set(m[1], control);
  }
  const violations = templates.flatMap((template) => {
    const present = new Set(Object.values<{ Type: string }>(JSON.parse(fs.readFileSync(template, 'utf8')).Resources ?? {}).map((r) => r.Type));
    const selected = rules.filter((r) => [...r.types].some((t) => present.has(t)));
    if (selected.length === 0) return [];
    const validator = new CfnGuardValidator({ controlTowerRulesEnabled: false, rules: selected.map((r) => r.file), maxBuffer: 1024 * 1024 * 1024 });
    return validator.validate({ templatePaths: [template] } as unknown as IPolicyValidationContext).violations;
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
