import * as fs from 'node:fs';
import * as path from 'node:path';
import { GUARD_REASONS_METADATA_KEY } from '../../constructs/core/nag';
import { synthesizedPlatform } from '../journeys/support';
import { controlTowerFailures, type GuardFailure, unacknowledged } from './control-tower';

/**
 * AWS Control Tower proactive controls (cfn-guard, offline) over every stage with every component on, one account
 * per stage (the journeys' `allOn` config, synthesized once and shared). The infrastructure pipeline's own stack is
 * checked; its inner copies of the stages are the same constructs as the stages checked here.
 *
 * Measured on this config before issue 17: 149 failures on 684 resources. Controls still open (being fixed or
 * acknowledged resource by resource, not waived): listed in OPEN with what is left. Everything else must pass.
 */
const OPEN: Record<string, string> = {
  'CT.CLOUDWATCH.PR.2': 'log groups below 365 days of retention: dev/staging retention is a cost choice in config; needs a config rule or per-stage acknowledgement',
  'CT.CLOUDWATCH.PR.3': 'log groups without a KMS key (EKS control plane, Container Insights, custom-resource providers)',
  'CT.KMS.PR.3': 'key policies granting kms:CreateGrant (the account root statement CDK writes) without kms:GrantIsForAWSResource',
  'CT.LAMBDA.PR.2': 'Lambda permissions without a source account/ARN condition (HTTP API routes, CDK-generated providers)',
  'CT.LAMBDA.PR.3': 'functions outside the VPC (handlers and CDK-generated providers); decide per function',
  // Arrived with the merge of main at 23:11 (new resources); not yet triaged.
  'CT.ATHENA.PR.2': 'the feature store offline-store Athena workgroup does not encrypt query results with a KMS key',
  'CT.CLOUDWATCH.PR.1': 'alarms without an AlarmActions entry (inference and monitoring alarms whose state reaches people through other wiring)',
};

function stageTemplates(directory: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(directory, 'manifest.json'), 'utf8'));
  const out: string[] = [];
  for (const artifact of Object.values<any>(manifest.artifacts ?? {})) {
    if (artifact.type === 'aws:cloudformation:stack') out.push(path.join(directory, artifact.properties.templateFile));
    else if (artifact.type === 'cdk:cloud-assembly' && !/^assembly-Pipeline-/.test(artifact.properties.directoryName)) out.push(...stageTemplates(path.join(directory, artifact.properties.directoryName)));
  }
  return out;
}

describe('AWS Control Tower proactive controls over every stage, every component on', () => {
  let templates: string[];
  let failures: GuardFailure[];
  beforeAll(() => {
    const platform = synthesizedPlatform('allOn');
    templates = stageTemplates(platform.directory);
    const cache = path.join(platform.directory, 'control-tower.json');
    if (fs.existsSync(cache)) failures = JSON.parse(fs.readFileSync(cache, 'utf8'));
    else {
      failures = controlTowerFailures(templates);
      fs.writeFileSync(cache, JSON.stringify(failures));
    }
  });

  test('checks all three stages and the infrastructure pipeline', () => {
    const names = templates.map((t) => path.basename(t));
    for (const stage of ['dev', 'staging', 'prod']) expect(names.some((n) => n.startsWith(stage))).toBe(true);
    expect(names).toContain('Pipeline.template.json');
  });

  test('no failures outside the controls still open', () => {
    expect(unacknowledged(failures, templates).filter((f) => !(f.control in OPEN)).map((f) => `${f.control} ${f.template} ${f.logicalId}`)).toEqual([]);
  });

  test('acknowledgements are exact: a rule acknowledged on one resource still fails on another', () => {
    const raw = failures.filter((f) => f.control === 'CT.S3.PR.9');
    expect(raw.length).toBeGreaterThan(0);
    expect(unacknowledged(raw, templates)).toEqual([]);
    // The same finding moved to a resource without the acknowledgement stays a failure.
    expect(unacknowledged([{ ...raw[0], logicalId: 'SomeOtherBucket' }], templates)).toHaveLength(1);
  });

  test('every Control Tower acknowledgement names its control and gives a reason', () => {
    let count = 0;
    for (const t of templates) {
      for (const [id, r] of Object.entries<any>(JSON.parse(fs.readFileSync(t, 'utf8')).Resources ?? {})) {
        const rules: string[] = r.Metadata?.guard?.SuppressedRules ?? [];
        const reasons: Record<string, string> = r.Metadata?.[GUARD_REASONS_METADATA_KEY] ?? {};
        expect({ id, rules: rules.length }).toEqual({ id, rules: Object.keys(reasons).length });
        for (const reason of Object.values(reasons)) expect(reason.length).toBeGreaterThanOrEqual(60);
        count += rules.length;
      }
    }
    expect(count).toBeGreaterThan(0);
  });
});
