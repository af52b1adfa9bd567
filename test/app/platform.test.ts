import { Stack, Token, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { type IConstruct } from 'constructs';
import { type PlatformStage } from '../../lib/platform-stage';
import { nagFindings, platformStage } from '../helpers';

/** Every acknowledgement under a scope: construct path, rule id, reason. */
function acknowledgements(scope: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return scope.node.findAll().flatMap((c) => c.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))));
}

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

describe.each(['dev', 'staging', 'prod'])('%s stage from the built-in defaults', (name) => {
  const stage = platformStage(name);
  let synthErrors: string[];
  beforeAll(() => {
    synthErrors = synthOrReport(stage);
  });

  test('synthesizes with the cdk-nag gate on and zero unacknowledged findings', () => {
    expect(synthErrors).toEqual([]);
    for (const pack of stage.nagPacks) expect(nagFindings(stage, pack)).toEqual([]);
  });

  test('stacks are named <prefix>-<stage>-<Part>', () => {
    expect(stage.stacks.length).toBeGreaterThanOrEqual(3);
    for (const stack of stage.stacks) expect(stack.stackName).toMatch(new RegExp(`^mlops-${name}-[A-Z][A-Za-z]+$`));
    expect(stage.stacks.map((s) => s.stackName)).toEqual(expect.arrayContaining([`mlops-${name}-Network`, `mlops-${name}-Data`, `mlops-${name}-Alerts`]));
  });

  test(`termination protection ${name === 'prod' ? 'on every stack' : 'off'}`, () => {
    for (const stack of stage.stacks) expect(stack.terminationProtection).toBe(name === 'prod');
  });

  test('stacks are environment-agnostic by default (synth needs no credentials)', () => {
    for (const stack of stage.stacks) {
      expect(Token.isUnresolved(stack.region)).toBe(true);
      expect(Token.isUnresolved(stack.account)).toBe(true);
    }
  });

  test('project, environment, owner and cost-allocation tags on resources', () => {
    const vpc = Template.fromStack(stage.networkStack).findResources('AWS::EC2::VPC');
    const tags = Object.values(vpc)[0].Properties.Tags;
    expect(tags).toEqual(expect.arrayContaining([
      { Key: 'Project', Value: 'mlops' }, { Key: 'Environment', Value: name }, { Key: 'ManagedBy', Value: 'cdk-mlops' }, { Key: 'CostCenter', Value: 'ml-platform' },
    ]));
  });

  test('data is retained in staging and prod, disposable in dev', () => {
    const buckets = Object.values(Template.fromStack(stage.dataStack).findResources('AWS::S3::Bucket'));
    for (const b of buckets) expect(b.DeletionPolicy).toBe(name === 'dev' ? 'Delete' : 'Retain');
  });

  test('every acknowledgement names a rule and carries a real reason', () => {
    for (const ack of acknowledgements(stage)) {
      // cdk-nag ids (exact), or aws-cdk-lib's own acknowledgements of its CloudFormation validation rules.
      expect(ack.id).toMatch(/^(Annotation::(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security)-[A-Za-z0-9]+(\[.+\])?|CloudFormation-Validate::[EFW]\d+)$/);
      expect(ack.reason.length).toBeGreaterThanOrEqual(40);
    }
  });
});

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
