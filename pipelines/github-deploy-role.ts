import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { PropsValidator } from '../constructs/core/validation';

/** Issuer of GitHub Actions OIDC tokens. */
export const GITHUB_OIDC_ISSUER = 'token.actions.githubusercontent.com';
/** The CDK bootstrap roles `cdk deploy` assumes; nothing else is granted. */
export const CDK_BOOTSTRAP_ROLE_KINDS = ['deploy', 'file-publishing', 'image-publishing', 'lookup'] as const;

const OWNER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const ENVIRONMENT = /^[A-Za-z0-9_.-]{1,255}$/;
const BRANCH = /^(?!\/)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}(?<![/.])$/;

export interface GitHubDeployRoleProps {
  /** Repository whose workflows may assume the role, `owner/name`. */
  readonly repository: string;
  /** GitHub environment (with its protection rules) whose jobs may assume the role. @default - none (then `branch` is required) */
  readonly environment?: string;
  /** Branch whose push workflows (without an environment) may assume the role. @default - none */
  readonly branch?: string;
  /** The account's GitHub OIDC provider (one per account). @default - created here */
  readonly provider?: iam.IOidcProvider;
  /** CDK bootstrap qualifier of the target environment. @default 'hnb659fds' */
  readonly bootstrapQualifier?: string;
  /** Account and region whose bootstrap roles `cdk deploy` assumes. @default - this stack's account and region */
  readonly targetAccount?: string;
  /** @default - this stack's region */
  readonly targetRegion?: string;
  /**
   * Longest session a workflow may request (`role-duration-seconds`). CDK re-assumes the bootstrap roles as their
   * one-hour chained sessions expire, but only while this session lasts, so it must outlive the longest deploy job.
   * @default Duration.hours(2)
   */
  readonly maxSessionDuration?: Duration;
  /**
   * What the job may do besides `cdk deploy`: the post-deploy checks (`cdk-mlops status` and `smoke`), scoped to
   * the stage by the caller. @default - none
   */
  readonly checkStatements?: iam.PolicyStatement[];
  /**
   * Also create {@link GitHubDeployRole.diffRole}: a role the workflow uses before an approval, without an
   * environment (so approvers see `cdk diff --method=template` first). It trusts pushes to this branch only and may
   * assume nothing but the read-only CDK lookup role, plus `diffStatements`. @default - no diff role
   */
  readonly diffBranch?: string;
  /** Read-only permissions of the diff role besides the lookup role. @default - none */
  readonly diffStatements?: iam.PolicyStatement[];
  /** @default - generated */
  readonly roleName?: string;
}

/**
 * A role GitHub Actions assumes with OIDC (no stored keys) to run `cdk deploy` for one environment: the trust allows
 * only tokens for `aud` sts.amazonaws.com whose `sub` names the repository and the GitHub environment (and/or one
 * branch), and the role may do nothing but assume the CDK bootstrap roles of the target account and region.
 */
export class GitHubDeployRole extends Construct {
  public readonly role: iam.Role;
  public readonly provider: iam.IOidcProvider;
  /** The `sub` claims the trust accepts. */
  public readonly subjects: string[];
  /** Read-only role for `cdk diff` before approval (with `diffBranch`). */
  public readonly diffRole?: iam.Role;

  constructor(scope: Construct, id: string, props: GitHubDeployRoleProps) {
    super(scope, id);
    const qualifier = props.bootstrapQualifier ?? 'hnb659fds';
    new PropsValidator(this, 'GitHubDeployRole')
      .check(OWNER_NAME.test(props.repository), 'repository', props.repository, 'must be a GitHub repository as "owner/name"')
      .check(props.environment !== undefined || props.branch !== undefined, 'environment', props.environment, 'give environment and/or branch: a role trusted by every workflow of the repository is refused')
      .check(props.environment === undefined || ENVIRONMENT.test(props.environment), 'environment', props.environment, 'must be a GitHub environment name (letters, digits, "_", ".", "-")')
      .check(props.branch === undefined || BRANCH.test(props.branch), 'branch', props.branch, 'must be a git branch name such as main')
      .check(props.diffBranch === undefined || BRANCH.test(props.diffBranch), 'diffBranch', props.diffBranch, 'must be a git branch name such as main')
      .check(/^[a-z0-9]{1,10}$/.test(qualifier), 'bootstrapQualifier', qualifier, 'must be 1-10 lowercase letters and digits (cdk bootstrap --qualifier)')
      .check(props.targetAccount === undefined || Token.isUnresolved(props.targetAccount) || /^\d{12}$/.test(props.targetAccount), 'targetAccount', props.targetAccount, 'must be a 12-digit account id')
      .throwIfInvalid();

    this.provider = props.provider ?? new iam.OidcProviderNative(this, 'Provider', {
      url: `https://${GITHUB_OIDC_ISSUER}`,
      clientIds: ['sts.amazonaws.com'],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.subjects = [
      ...(props.environment ? [`repo:${props.repository}:environment:${props.environment}`] : []),
      ...(props.branch ? [`repo:${props.repository}:ref:refs/heads/${props.branch}`] : []),
    ];
    const stack = Stack.of(this);
    const trust = (subjects: string[]) => new iam.WebIdentityPrincipal(this.provider.oidcProviderArn, {
      StringEquals: {
        [`${GITHUB_OIDC_ISSUER}:aud`]: 'sts.amazonaws.com',
        [`${GITHUB_OIDC_ISSUER}:sub`]: subjects,
      },
    });
    const maxSessionDuration = props.maxSessionDuration ?? Duration.hours(2);
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: `GitHub Actions deploys of ${props.repository} (${this.subjects.join(', ')})`,
      maxSessionDuration,
      assumedBy: trust(this.subjects),
    });
    const account = props.targetAccount ?? stack.account;
    const region = props.targetRegion ?? stack.region;
    const bootstrapRole = (kind: string) => `arn:${stack.partition}:iam::${account}:role/cdk-${qualifier}-${kind}-role-${account}-${region}`;
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'AssumeCdkBootstrapRoles',
      actions: ['sts:AssumeRole', 'sts:TagSession'],
      resources: CDK_BOOTSTRAP_ROLE_KINDS.map(bootstrapRole),
    }));
    for (const statement of props.checkStatements ?? []) this.role.addToPrincipalPolicy(statement);

    if (props.diffBranch !== undefined) {
      this.diffRole = new iam.Role(this, 'DiffRole', {
        description: `GitHub Actions cdk diff of ${props.repository} before approval (pushes to ${props.diffBranch}; read-only)`,
        maxSessionDuration: Duration.hours(1),
        assumedBy: trust([`repo:${props.repository}:ref:refs/heads/${props.diffBranch}`]),
      });
      this.diffRole.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'AssumeCdkLookupRole',
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: [bootstrapRole('lookup')],
      }));
      for (const statement of props.diffStatements ?? []) this.diffRole.addToPrincipalPolicy(statement);
    }
  }
}
