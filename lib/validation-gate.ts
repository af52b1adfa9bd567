import * as fs from 'node:fs';
import * as path from 'node:path';
import { type App } from 'aws-cdk-lib';
import { type CloudAssembly } from 'aws-cdk-lib/cx-api';

interface ReportViolation {
  readonly ruleName: string;
  readonly description: string;
  readonly severity?: string;
  readonly violatingConstructs: ReadonlyArray<{ readonly constructPath?: string }>;
}
interface PluginReport {
  readonly pluginName: string;
  readonly conclusion: 'success' | 'failure';
  readonly violations: readonly ReportViolation[];
}

/**
 * Findings of the validation plugins (cdk-nag packs, CloudFormation rules) that fail the synth.
 * The CDK CLI only reports findings of the stacks it selected, and a plain `cdk synth` of an app whose
 * stacks all live in Stages selects none; so the app applies this gate itself.
 */
export function failedValidations(assembly: CloudAssembly): string[] {
  const file = path.join(assembly.directory, 'validation-report.json');
  if (!fs.existsSync(file)) return [];
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as { pluginReports: PluginReport[] };
  return report.pluginReports
    .filter((r) => r.conclusion === 'failure')
    .flatMap((r) => r.violations
      .filter((v) => v.severity !== 'warning' && v.severity !== 'info')
      .flatMap((v) => v.violatingConstructs.map((c) => `[${r.pluginName}] ${v.ruleName} at ${c.constructPath ?? '(unknown)'}: ${v.description}`)));
}

/**
 * Synthesizes `app` and fails the process on any failed validation finding (cdk-nag packs, CloudFormation rules):
 * the findings go to stderr and the exit code becomes 1, so `cdk synth`/`cdk deploy` stop whichever stacks they
 * selected. The CDK CLI runs apps with `@aws-cdk/core:failSynthOnValidationErrors: false` and reports findings only
 * for the stacks it selected, so an app whose stacks sit in Stages would otherwise exit 0 with every finding only in
 * `validation-report.json`. Call it instead of `app.synth()` as the last line of a CDK app.
 */
export function synthWithGate(app: App): CloudAssembly {
  const assembly = app.synth();
  const failures = failedValidations(assembly);
  if (failures.length > 0) {
    process.stderr.write(`\nSynth blocked by ${failures.length} unacknowledged validation finding(s):\n${failures.map((f) => `  - ${f}`).join('\n')}\n\n`);
    process.exitCode = 1;
  }
  return assembly;
}
