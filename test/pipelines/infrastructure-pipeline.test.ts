import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadStageConfig, STAGE_NAMES } from '../../lib/config';
import { InfrastructurePipelineStack } from '../../lib/stacks/infrastructure-pipeline-stack';
import { nagFindings, newApp } from '../helpers';

const CONNECTION = 'arn:aws:codeconnections:us-east-1:111111111111:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const noBundling = { 'aws:cdk:bundling-stacks': [] };

type Stage = { Name: string; Actions: { Name: string; RunOrder?: number; ActionTypeId: { Category: string; Provider: string }; Configuration?: Record<string, unknown> }[] };
const stagesOf = (t: Template): Stage[] => (Object.values(t.findResources('AWS::CodePipeline::Pipeline'))[0] as { Properties: { Stages: Stage[] } }).Properties.Stages;

describe('InfrastructurePipelineStack from the built-in configs (offline, S3 source)', () => {
  let stack: InfrastructurePipelineStack;
  let t: Template;
  beforeAll(() => {
    const app = newApp({ context: noBundling });
    stack = new InfrastructurePipelineStack(app, 'Pipeline', { configs: STAGE_NAMES.map((stage) => loadStageConfig({ stage })) });
    t = Template.fromStack(stack);
  });

  test('named <prefix>-Pipeline, termination protected', () => {
    expect(stack.stackName).toBe('mlops-Pipeline');
    expect(stack.terminationProtection).toBe(true);
  });

  test('Source → Build → UpdatePipeline (self-mutation) → Assets → Dev → Staging → Prod', () => {
    expect(stagesOf(t).map((s) => s.Name)).toEqual(['Source', 'Build', 'UpdatePipeline', 'Assets', 'Dev', 'Staging', 'Prod']);
    expect(stagesOf(t)[0].Actions[0].ActionTypeId.Provider).toBe('S3');
    expect(stagesOf(t)[2].Actions[0]).toMatchObject({ Name: 'SelfMutate', ActionTypeId: { Provider: 'CodeBuild' } });
  });

  test('a manual approval comes first in Staging and Prod (requireApproval), none in Dev', () => {
    const first = (name: string) => stagesOf(t).find((s) => s.Name === name)!.Actions.sort((a, b) => (a.RunOrder ?? 1) - (b.RunOrder ?? 1))[0];
    expect(first('Prod')).toMatchObject({ Name: 'Approve-Prod', ActionTypeId: { Category: 'Approval', Provider: 'Manual' } });
    expect(first('Staging').ActionTypeId.Provider).toBe('Manual');
    expect(stagesOf(t).find((s) => s.Name === 'Dev')!.Actions.map((a) => a.ActionTypeId.Provider)).not.toContain('Manual');
  });

  test('each stage deploys the platform stacks of that stage', () => {
    const prod = JSON.stringify(stagesOf(t).find((s) => s.Name === 'Prod'));
    for (const name of ['mlops-prod-Network', 'mlops-prod-Data', 'mlops-prod-Alerts']) expect(prod).toContain(name);
    expect(JSON.stringify(stagesOf(t).find((s) => s.Name === 'Dev'))).toContain('mlops-dev-Delivery');
    expect(stack.stages.map((s) => s.stageName)).toEqual(['Dev', 'Staging', 'Prod']);
  });

  test('V2 pipeline, cross-account KMS artifact key with rotation, synth runs tests then cdk synth', () => {
    t.hasResourceProperties('AWS::CodePipeline::Pipeline', { PipelineType: 'V2', ArtifactStore: { EncryptionKey: { Type: 'KMS' } } });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::CodeBuild::Project', {
      Source: { BuildSpec: Match.stringLikeRegexp('"npm ci",\\s*"npm test",\\s*"npx cdk synth --quiet -c pipeline=true"') },
    });
  });

  test('the S3 source bucket is versioned and KMS-encrypted', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] },
    });
  });

  test('cdk-nag AwsSolutions has no unacknowledged findings on the pipeline', () => {
    expect(nagFindings(stack.infrastructure)).toEqual([]);
  });
});

describe('InfrastructurePipelineStack with a connection and explicit accounts', () => {
  test('uses the CodeConnections source and the tooling account', () => {
    const app = newApp({ context: noBundling });
    // EKS stays off here: this test is about the pipeline, not about synthesizing the cluster per account.
    const overrides = {
      eks: { enabled: false },
      network: { availabilityZones: ['us-east-1a', 'us-east-1b'] },
      pipelines: { source: { connectionArn: CONNECTION, repository: 'acme/ml-platform' }, infrastructure: { enabled: true, account: '222222222222', region: 'us-east-1' } },
    };
    const configs = STAGE_NAMES.map((stage, i) => loadStageConfig({ stage, overrides: { ...overrides, env: { account: `33333333333${i}`, region: 'us-east-1' } } }));
    const stack = new InfrastructurePipelineStack(app, 'Pipeline', { configs });
    const t = Template.fromStack(stack);
    expect(stack.account).toBe('222222222222');
    expect(stagesOf(t)[0].Actions[0]).toMatchObject({
      ActionTypeId: { Provider: 'CodeStarSourceConnection' },
      Configuration: { ConnectionArn: CONNECTION, FullRepositoryId: 'acme/ml-platform', BranchName: 'main' },
    });
    // Cross-account: the prod deployment assumes the prod account's bootstrap deploy role.
    expect(JSON.stringify(stagesOf(t).find((s) => s.Name === 'Prod'))).toContain('cdk-hnb659fds-deploy-role-333333333332-us-east-1');
  });
});
