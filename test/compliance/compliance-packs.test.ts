import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { acknowledgeCheck, SINGLE_ROLE_POLICY_REASON } from '../../constructs/core/nag';
import { nagFindings } from '../helpers';
import { ALL_ON_CONFIG, synthesizedPlatform } from '../journeys/support';

/**
 * cdk-nag's NIST 800-53 R5 and HIPAA Security packs over every stage with every component on (the journeys' `allOn`
 * config carries both packs, so this reads the shared, cached synth): no finding is left unacknowledged. Before issue
 * 17 the same config had 691 findings (IAMNoInlinePolicy 400+, Lambda DLQ/concurrency/VPC, alarm actions, EKS
 * kubectl log groups, CodeBuild sources, the CDK Pipelines artifact bucket, the cooldown table).
 */
describe('NIST 800-53 R5 and HIPAA packs over every stage, every component on', () => {
  const platform = synthesizedPlatform('allOn');

  test('the config switches both packs on for every stage', () => {
    expect(ALL_ON_CONFIG.nag).toEqual({ packs: ['NIST80053R5', 'HIPAA'], verbose: false });
  });

  test('no unacknowledged finding in any stage or the infrastructure pipeline', () => {
    expect(platform.validationFailures).toEqual([]);
  });

  test('pack acknowledgements made at construction reach the assembly with their reasons', () => {
    const acks = new Map<string, string>();
    const walk = (dir: string): void => {
      for (const f of fs.readdirSync(dir)) {
        const p = path.join(dir, f);
        if (fs.statSync(p).isDirectory()) walk(p);
        else if (f.endsWith('.metadata.json')) {
          for (const [where, entries] of Object.entries<any[]>(JSON.parse(fs.readFileSync(p, 'utf8')))) {
            for (const e of entries) {
              for (const [id, reason] of Object.entries<string>(typeof e.data === 'object' && e.data ? e.data : {})) {
                if (/NIST\.800\.53\.R5-|HIPAA\.Security-/.test(id)) acks.set(`${where} ${id}`, reason);
              }
            }
          }
        }
      }
    };
    walk(platform.directory);
    const rules = new Set([...acks.keys()].map((k) => k.replace(/^.*Annotation::/, '').replace(/^(NIST\.800\.53\.R5|HIPAA\.Security)-/, '')));
    for (const rule of ['LambdaInsideVPC', 'LambdaDLQ', 'LambdaConcurrency', 'CloudWatchAlarmAction', 'CloudWatchLogGroupEncrypted', 'CodeBuildProjectSourceRepoUrl']) {
      expect(rules).toContain(rule);
    }
    for (const reason of acks.values()) expect(reason.length).toBeGreaterThanOrEqual(60);
  });
});

describe('the inline-policy acknowledgement is narrow', () => {
  let app: App;
  let stack: Stack;
  beforeAll(() => {
    app = new App();
    stack = new Stack(app, 'Probe');
    const a = new iam.Role(stack, 'A', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const b = new iam.Role(stack, 'B', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    // What grant* writes: the default policy of one role.
    a.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: ['arn:aws:sqs:us-east-1:111111111111:q'] }));
    // One policy shared by two roles: stays a finding.
    new iam.Policy(stack, 'Shared', { roles: [a, b], statements: [new iam.PolicyStatement({ actions: ['sns:Publish'], resources: ['arn:aws:sns:us-east-1:111111111111:t'] })] });
    // A function with no acknowledgement next to one with them.
    const code = lambda.Code.fromInline('exports.handler = async () => ({})');
    new lambda.Function(stack, 'Plain', { code, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_22_X, role: b });
    const acked = new lambda.Function(stack, 'Acked', { code, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_22_X, role: b });
    acknowledgeCheck(acked, ['lambdaInsideVpc', 'lambdaDlq', 'lambdaConcurrency'], 'Probe function of this test: the reason is what a reviewer reads beside the acknowledgement.');
  });

  test.each([
    ['NIST.800.53.R5', () => new NIST80053R5Checks()],
    ['HIPAA.Security', () => new HIPAASecurityChecks()],
  ])('%s: a single-role default policy is acknowledged, a shared policy and an unacknowledged function are not', (prefix, pack) => {
    const findings = nagFindings(stack, pack());
    expect(findings.filter((f) => f.includes('IAMNoInlinePolicy'))).toEqual([`${prefix}-IAMNoInlinePolicy at Probe/Shared/Resource`]);
    for (const rule of ['LambdaInsideVPC', 'LambdaDLQ', 'LambdaConcurrency']) {
      expect(findings).toContain(`${prefix}-${rule} at Probe/Plain/Resource`);
      expect(findings).not.toContain(`${prefix}-${rule} at Probe/Acked/Resource`);
    }
    expect(SINGLE_ROLE_POLICY_REASON.length).toBeGreaterThanOrEqual(60);
  });
});
