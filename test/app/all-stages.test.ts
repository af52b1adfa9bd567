import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Token, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type IConstruct } from 'constructs';
import { buildPlatform } from '../../lib/app';
import { type PlatformStage } from '../../lib/platform-stage';
import { failedValidations } from '../../lib/validation-gate';
import { CDK_CONTEXT, nagFindings } from '../helpers';

// The one place the suite pays for aws-cdk-lib's built-in CloudFormation validation (resource schemas and
// rules): every stage from the built-in defaults, synthesized once, as `cdk synth -c stage=all` would, with the
// cdk-nag gate. The stages' own defaults (names, tags, retention, acknowledgements) are checked on the same app.
let app: App;
let stages: Record<string, PlatformStage>;
let assemblyStacks: string[];
let failures: string[];
let pluginReports: Array<{ pluginName: string; conclusion: string }>;
beforeAll(() => {
  const saved = process.env.CDK_VALIDATION;
  delete process.env.CDK_VALIDATION;
  try {
    app = new App({ context: CDK_CONTEXT });
    stages = Object.fromEntries(buildPlatform(app, { stage: 'all' }).map((s) => [s.stageName, s]));
    const assembly = app.synth();
    failures = failedValidations(assembly);
    pluginReports = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')).pluginReports;
    assemblyStacks = assembly.nestedAssemblies.flatMap((a) => a.nestedAssembly.stacks.map((s) => s.stackName));
  } finally {
    process.env.CDK_VALIDATION = saved;
  }
});

/** Every acknowledgement under a scope: construct path, rule id, reason. */
function acknowledgements(scope: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return scope.node.findAll().flatMap((c) => c.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))));
}

describe('every stage with the built-in CloudFormation validation and the cdk-nag gate', () => {
  test('no validation plugin reports a failure', () => {
    expect(failures).toEqual([]);
  });

  test('the built-in CloudFormation validation ran, once for the app, and passed', () => {
    expect(pluginReports.filter((r) => r.pluginName === 'CloudFormation Validate').map((r) => r.conclusion)).toEqual(['success']);
  });

  test('dev, staging and prod are all in the cloud assembly', () => {
    for (const stage of ['dev', 'staging', 'prod']) {
      expect(assemblyStacks).toEqual(expect.arrayContaining([`mlops-${stage}-Network`, `mlops-${stage}-Data`, `mlops-${stage}-Alerts`]));
    }
  });
});

describe.each(['dev', 'staging', 'prod'])('%s stage from the built-in defaults', (name) => {
  const stage = () => stages[name];

  test('each of its cdk-nag packs finds nothing unacknowledged', () => {
    expect(stage().nagPacks.map((p) => p.readPackName)).toEqual(['AwsSolutions']);
    for (const pack of stage().nagPacks) expect(nagFindings(stage(), pack)).toEqual([]);
  });

  test('stacks are named <prefix>-<stage>-<Part>', () => {
    expect(stage().stacks.length).toBeGreaterThanOrEqual(3);
    for (const stack of stage().stacks) expect(stack.stackName).toMatch(new RegExp(`^mlops-${name}-[A-Z][A-Za-z]+$`));
    expect(stage().stacks.map((s) => s.stackName)).toEqual(expect.arrayContaining([`mlops-${name}-Network`, `mlops-${name}-Data`, `mlops-${name}-Alerts`]));
  });

  test(`termination protection ${name === 'prod' ? 'on every stack' : 'off'}`, () => {
    for (const stack of stage().stacks) expect(stack.terminationProtection).toBe(name === 'prod');
  });

  test('stacks are environment-agnostic by default (synth needs no credentials)', () => {
    for (const stack of stage().stacks) {
      expect(Token.isUnresolved(stack.region)).toBe(true);
      expect(Token.isUnresolved(stack.account)).toBe(true);
    }
  });

  test('project, environment, owner and cost-allocation tags on resources', () => {
    const vpc = Template.fromStack(stage().networkStack).findResources('AWS::EC2::VPC');
    const tags = Object.values(vpc)[0].Properties.Tags;
    expect(tags).toEqual(expect.arrayContaining([
      { Key: 'Project', Value: 'mlops' }, { Key: 'Environment', Value: name }, { Key: 'ManagedBy', Value: 'cdk-mlops' }, { Key: 'CostCenter', Value: 'ml-platform' },
    ]));
  });

  test('data is retained in staging and prod, disposable in dev', () => {
    const buckets = Object.values(Template.fromStack(stage().dataStack).findResources('AWS::S3::Bucket'));
    for (const b of buckets) expect(b.DeletionPolicy).toBe(name === 'dev' ? 'Delete' : 'Retain');
  });

  test('every acknowledgement names a rule and carries a real reason', () => {
    const acks = acknowledgements(stage());
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      // cdk-nag ids (exact), or aws-cdk-lib's own acknowledgements of its CloudFormation validation rules.
      expect(ack.id).toMatch(/^(Annotation::(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security)-[A-Za-z0-9]+(\[.+\])?|CloudFormation-Validate::[EFW]\d+)$/);
      expect(ack.reason.length).toBeGreaterThanOrEqual(40);
    }
  });
});
