import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ImageRegistry } from '../../../constructs';
import { PropsValidationError } from '../../../constructs/core/validation';
import { nagFindings, newStack, template } from '../../helpers';

describe('ImageRegistry defaults', () => {
  const stack = newStack();
  const registry = new ImageRegistry(stack, 'Registry', { repositoryNamePrefix: 'mlops-dev', pullAccounts: ['222222222222'] });
  const builder = new iam.Role(stack, 'Builder', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
  const runner = new iam.Role(stack, 'Runner', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  registry.grantPush(builder, 'training');
  registry.grantPull(runner);
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('training and inference repositories: scan on push, immutable tags, KMS, retained', () => {
    t.resourceCountIs('AWS::ECR::Repository', 2);
    for (const name of ['mlops-dev/training', 'mlops-dev/inference']) {
      t.hasResource('AWS::ECR::Repository', {
        Properties: {
          RepositoryName: name,
          ImageScanningConfiguration: { ScanOnPush: true },
          ImageTagMutability: 'IMMUTABLE',
          EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: Match.anyValue() },
        },
        DeletionPolicy: 'Retain',
      });
    }
  });

  test('lifecycle: untagged expire after 7 days, last 50 tagged kept', () => {
    const repo = Object.values(t.findResources('AWS::ECR::Repository'))[0];
    const policy = JSON.parse(repo.Properties.LifecyclePolicy.LifecyclePolicyText);
    expect(policy.rules).toEqual([
      expect.objectContaining({ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 7, countUnit: 'days' } }),
      expect.objectContaining({ rulePriority: 2, selection: { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: 50 } }),
    ]);
  });

  test('cross-account pull for the configured account only, read-only actions', () => {
    t.hasResourceProperties('AWS::ECR::Repository', {
      RepositoryPolicyText: {
        Statement: [{
          Sid: 'CrossAccountPull222222222222',
          Effect: 'Allow',
          Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] } },
        }],
        Version: '2012-10-17',
      },
    });
  });

  test('grantPush is scoped to the named repository; grantPull covers all', () => {
    const policies = Object.values(t.findResources('AWS::IAM::Policy'));
    const push = JSON.stringify(policies.find((p) => JSON.stringify(p.Properties.Roles).includes('Builder'))!.Properties.PolicyDocument);
    expect(push).toContain('ecr:PutImage');
    expect(push).toContain(stack.getLogicalId(registry.repositories.training.node.defaultChild as never));
    expect(push).not.toContain(stack.getLogicalId(registry.repositories.inference.node.defaultChild as never));
    const pull = JSON.stringify(policies.find((p) => JSON.stringify(p.Properties.Roles).includes('Runner'))!.Properties.PolicyDocument);
    expect(pull).not.toContain('ecr:PutImage');
    expect(pull).toContain(stack.getLogicalId(registry.repositories.inference.node.defaultChild as never));
    expect(pull).not.toContain('kms:');
  });

  test('ecr:GetAuthorizationToken sits alone in its own policy, the only acknowledged wildcard', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('EcrAuthorizationToken'),
      PolicyDocument: { Statement: [{ Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' }] },
    });
  });

  test('unknown repository names are a PropsValidationError naming the known ones', () => {
    expect(() => registry.repository('serving')).toThrow(PropsValidationError);
    expect(() => registry.repository('serving')).toThrow(/repository: "serving" — not a repository of this registry; known: training, inference/);
  });

  test('grants return the iam.Grant of what they added', () => {
    const other = new iam.Role(stack, 'Other', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const grant = registry.grantPull(other, 'inference');
    expect(grant).toBeInstanceOf(iam.Grant);
    expect(grant.success).toBe(true);
    expect(grant.principalStatements.flatMap((st) => st.actions)).toEqual(expect.arrayContaining(['ecr:BatchGetImage']));
  });

  test('cdk-nag finds nothing', () => expect(nagFindings(stack)).toEqual([]));
});

describe('ImageRegistry options and validation', () => {
  test('custom repositories, lifecycle numbers and DESTROY', () => {
    const stack = newStack();
    new ImageRegistry(stack, 'Registry', { repositories: ['serving'], maxTaggedImages: 5, untaggedExpiryDays: 1, removalPolicy: RemovalPolicy.DESTROY });
    const t = template(stack);
    t.resourceCountIs('AWS::ECR::Repository', 1);
    t.hasResource('AWS::ECR::Repository', { DeletionPolicy: 'Delete' });
    expect(JSON.stringify(t.toJSON())).toContain('\\"countNumber\\":5');
  });

  const build = (props: ConstructorParameters<typeof ImageRegistry>[2]) => () => new ImageRegistry(newStack(), 'Registry', props);
  test('empty list', () => expect(build({ repositories: [] })).toThrow(/repositories: \[\] — must name at least one repository/));
  test('duplicate names', () => expect(build({ repositories: ['a', 'a'] })).toThrow(/must not repeat a name/));
  test('bad name', () => expect(build({ repositories: ['Bad Name'] })).toThrow(/repositories: "Bad Name" — each name must be lowercase/));
  test('bad account', () => expect(build({ pullAccounts: ['123'] })).toThrow(/pullAccounts: "123" — each must be a 12-digit account id/));
  test('lifecycle out of range', () => expect(build({ maxTaggedImages: 0, untaggedExpiryDays: 4000 })).toThrow(/maxTaggedImages: 0[\s\S]*untaggedExpiryDays: 4000/));
  test('bad prefix', () => expect(build({ repositoryNamePrefix: 'Team A' })).toThrow(/repositoryNamePrefix: "Team A"/));
});

describe('ImageRegistry.fromImageRegistryAttributes', () => {
  const stack = newStack('Consumer', 'us-east-1');
  const arn = 'arn:aws:ecr:us-east-1:222222222222:repository/ml/training';
  const registry = ImageRegistry.fromImageRegistryAttributes(stack, 'Shared', { repositoryArns: { training: arn } });
  const puller = new iam.Role(stack, 'Puller', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
  const grant = registry.grantPull(puller);
  let t: Template;
  beforeAll(() => { t = template(stack); });

  test('creates no repository and grants pulls on the existing one', () => {
    t.resourceCountIs('AWS::ECR::Repository', 0);
    expect(registry.repository('training').repositoryName).toBe('ml/training');
    expect(grant.success).toBe(true);
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['ecr:BatchGetImage']), Resource: arn })]) },
    });
  });

  test('unknown names are refused as for an owned registry', () => {
    expect(() => registry.repository('inference')).toThrow(/known: training/);
  });

  test('cdk-nag finds nothing', () => expect(nagFindings(stack)).toEqual([]));
});
