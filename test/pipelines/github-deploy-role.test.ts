import { type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { GitHubDeployRole } from '../../pipelines/github-deploy-role';
import { nagFindings, newStack } from '../helpers';

const trustOf = (t: Template) => (Object.values(t.findResources('AWS::IAM::Role'))[0] as { Properties: { AssumeRolePolicyDocument: { Statement: Record<string, unknown>[] } } })
  .Properties.AssumeRolePolicyDocument.Statement;

describe('GitHubDeployRole for an environment and a branch', () => {
  let stack: Stack;
  let t: Template;
  beforeAll(() => {
    stack = newStack('Delivery', 'eu-west-1');
    new GitHubDeployRole(stack, 'GitHub', { repository: 'acme/ml-platform', environment: 'staging', branch: 'main' });
    t = Template.fromStack(stack);
  });

  test('creates the GitHub OIDC provider for sts.amazonaws.com', () => {
    t.hasResourceProperties('AWS::IAM::OIDCProvider', { Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] });
  });

  test('trust: web identity from that provider, aud sts.amazonaws.com, sub limited to the repository environment and branch', () => {
    expect(trustOf(t)).toEqual([{
      Action: 'sts:AssumeRoleWithWebIdentity',
      Effect: 'Allow',
      Principal: { Federated: { Ref: expect.stringMatching(/^GitHubProvider/) } },
      Condition: {
        StringEquals: {
          'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
          'token.actions.githubusercontent.com:sub': ['repo:acme/ml-platform:environment:staging', 'repo:acme/ml-platform:ref:refs/heads/main'],
        },
      },
    }]);
  });

  test('permissions: only assuming the four CDK bootstrap roles of this account and region', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{
        Sid: 'AssumeCdkBootstrapRoles', Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'],
        Resource: ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map((k) => `arn:aws:iam::111111111111:role/cdk-hnb659fds-${k}-role-111111111111-eu-west-1`),
      }] },
    });
    // Two hours: the workflow's deploy jobs (100 min) ask for 7200 s so a long deploy keeps its credentials.
    t.hasResourceProperties('AWS::IAM::Role', { MaxSessionDuration: 7200 });
  });

  test('cdk-nag AwsSolutions has no findings', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('GitHubDeployRole options and validation', () => {
  test('an imported provider is used as is and only the environment is trusted', () => {
    const stack = newStack();
    const provider = iam.OidcProviderNative.fromOidcProviderArn(stack, 'P', 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com');
    const role = new GitHubDeployRole(stack, 'GitHub', { repository: 'acme/ml-platform', environment: 'prod', provider, bootstrapQualifier: 'mlops1' });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    expect(role.subjects).toEqual(['repo:acme/ml-platform:environment:prod']);
    expect(JSON.stringify(trustOf(t))).toContain('arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com');
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).toContain('cdk-mlops1-deploy-role-');
  });

  test('refuses a role every workflow of the repository could assume, and bad names', () => {
    expect(() => new GitHubDeployRole(newStack(), 'G', { repository: 'acme' })).toThrow(
      /repository: "acme" — must be a GitHub repository as "owner\/name"[\s\S]*environment: undefined — give environment and\/or branch/);
    expect(() => new GitHubDeployRole(newStack(), 'G', { repository: 'acme/x', environment: 'prod env', bootstrapQualifier: 'UPPER' })).toThrow(
      /environment: "prod env"[\s\S]*bootstrapQualifier: "UPPER"/);
  });
});
