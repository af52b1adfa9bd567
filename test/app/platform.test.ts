import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { type PlatformStage } from '../../lib/platform-stage';
import { nagFindings, platformStage } from '../helpers';

/** Synthesizes the stage's app (cdk-nag runs as a validation plugin and throws on findings in tests). */
function synthOrReport(stage: PlatformStage): string[] {
  try {
    (stage.node.root as unknown as { synth: () => unknown }).synth();
  } catch (e) {
    return [(e as Error).message];
  }
  return [];
}

const ALL_OFF = { compute: { enabled: false }, eks: { enabled: false }, sagemaker: { enabled: false }, lambdaInference: { enabled: false }, pipelines: { enabled: false }, monitoring: { enabled: false } };

// The three stages from the built-in defaults are checked in all-stages.test.ts, on the app that synthesizes them
// with the built-in validation and the cdk-nag gate.

describe('the cdk-nag gate', () => {
  test('an unacknowledged finding fails synth, naming the rule and the construct', () => {
    const stage = platformStage('dev', ALL_OFF);
    new s3.Bucket(stage.dataStack, 'Unprotected');
    const errors = synthOrReport(stage);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/AwsSolutions-S1/);
    expect(errors[0]).toContain('dev/Data/Unprotected/Resource');
  });
});

describe('an explicit account and region', () => {
  test('the default dev components (EKS, serving, delivery, monitoring) pass the gate with concrete ARNs', () => {
    const stage = platformStage('dev', {
      env: { account: '123456789012', region: 'eu-west-1' },
      network: { availabilityZones: ['eu-west-1a', 'eu-west-1b'] },
    });
    expect(stage.stacks.map((s) => s.stackName)).toEqual(expect.arrayContaining(['mlops-dev-Training']));
    expect(synthOrReport(stage)).toEqual([]);
    for (const pack of stage.nagPacks) expect(nagFindings(stage, pack)).toEqual([]);
  });
});

describe('components switched off create no stack', () => {
  test('only Network, Data and Alerts remain', () => {
    const stage = platformStage('dev', ALL_OFF);
    expect(stage.stacks.map((s) => s.stackName)).toEqual(['mlops-dev-Network', 'mlops-dev-Data', 'mlops-dev-Alerts']);
    expect(stage.node.children.filter((c) => c instanceof Stack)).toHaveLength(3);
  });
});

describe('config drives the stage', () => {
  const stage = platformStage('prod', {
    ...ALL_OFF,
    prefix: 'acme',
    env: { account: '123456789012', region: 'eu-west-1' },
    network: { maxAzs: 3, natGateways: 3, availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] },
    nag: { packs: ['NIST80053R5', 'HIPAA'] },
    tags: { Team: 'research' },
  });

  test('explicit account/region and zones: no lookups, 3 AZs', () => {
    expect(stage.networkStack.account).toBe('123456789012');
    expect(stage.networkStack.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    Template.fromStack(stage.networkStack).resourceCountIs('AWS::EC2::NatGateway', 3);
    expect(stage.networkStack.stackName).toBe('acme-prod-Network');
  });

  test('NIST 800-53 R5 and HIPAA packs run and find nothing unacknowledged', () => {
    expect(stage.nagPacks.map((p) => p.readPackName)).toEqual(['AwsSolutions', 'NIST.800.53.R5', 'HIPAA.Security']);
    expect(synthOrReport(stage)).toEqual([]);
    expect(nagFindings(stage, new NIST80053R5Checks())).toEqual([]);
    expect(nagFindings(stage, new HIPAASecurityChecks())).toEqual([]);
  });
});
