import {
  CfnResource, type IPolicyValidationContext, type IPolicyValidationPlugin, type PolicyValidationPluginReport, Stack, Validations,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { type NagPack } from 'cdk-nag';
// cdk-nag's own rendering of a CloudFormation value inside a finding id, so computed ids match its findings.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct, type IConstruct } from 'constructs';

/** Rule ids of the optional compliance packs (NIST 800-53 R5 and HIPAA) for the same check. */
export function compliancePackIds(rule: string): string[] {
  return [`NIST.800.53.R5-${rule}`, `HIPAA.Security-${rule}`];
}

/**
 * Reason for the packs' CodeBuildProjectSourceRepoUrl on projects whose source is the pipeline (source type
 * CODEPIPELINE): the rule asks GitHub/Bitbucket sources to use OAuth instead of credentials in the URL, and these
 * projects have no repository URL at all.
 */
export const CODEPIPELINE_SOURCE_REASON = 'The project\'s source is CodePipeline (source type CODEPIPELINE): it has no repository URL or credentials; the pipeline\'s source action (CodeStar connection or S3) fetches the code.';

/**
 * Acknowledges cdk-nag findings on exactly one construct (and its children) with the reason a reviewer
 * reads. Ids are exact, e.g. `AwsSolutions-IAM5[Action::s3:*]`. The one place the project records
 * acknowledgements: audit them with `git grep "acknowledge"`. Reserve it for resources aws-cdk-lib
 * generates, or for a rule the AWS service itself cannot satisfy.
 */
export function acknowledge(construct: IConstruct, ids: readonly string[], reason: string): void {
  for (const id of ids) Validations.of(construct).acknowledge({ id, reason });
}

interface PendingWildcard {
  readonly owner: IConstruct;
  readonly resources: readonly string[];
  readonly reason: string;
}
const pendingByRoot = new WeakMap<IConstruct, PendingWildcard[]>();

/**
 * Records that `principal`'s policies name `resources` that must contain a wildcard (S3 object ARNs such as
 * `bucket/*`, or `*` for actions without resource-level permissions). cdk-nag's IAM5 finding id embeds the
 * resource as resolved in the principal's stack (a `Fn::ImportValue` across stacks), which is only known at
 * validation time: a validation hook on the principal (it runs after `prepare`, before the cdk-nag plugins) turns
 * the record into exact acknowledgements then; {@link applyPendingAcknowledgements} does the same on demand.
 * Principals that are not constructs (service or account principals) need nothing.
 */
export function acknowledgeResourceWildcards(principal: unknown, resources: readonly string[], reason: string): void {
  if (!Construct.isConstruct(principal)) return;
  const root = principal.node.root;
  const entry: PendingWildcard = { owner: principal, resources, reason };
  const list = pendingByRoot.get(root) ?? [];
  list.push(entry);
  pendingByRoot.set(root, list);
  // Also applied by a validation hook (after `prepare`, before the plugins), so any cdk-nag plugin sees it.
  principal.node.addValidation({ validate: () => { applyEntry(entry); return []; } });
}

function applyEntry(entry: PendingWildcard): void {
  const stack = Stack.of(entry.owner);
  for (const resource of entry.resources) {
    Validations.of(entry.owner).acknowledge({ id: resourceWildcardId(stack, resource), reason: entry.reason });
  }
}

/**
 * The exact id of cdk-nag's IAM5 finding for a resource ARN, rendered as cdk-nag renders it in the ARN's stack: in
 * token form for an environment-agnostic stack, with the literal account, region and partition for a concrete one.
 * Acknowledgements written by hand in token form stop matching once a stage has an explicit environment.
 */
export function resourceWildcardId(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(arn))}]`;
}

/** Turns the records of {@link acknowledgeResourceWildcards} under `scope` into exact IAM5 acknowledgements. */
export function applyPendingAcknowledgements(scope: IConstruct): void {
  const prefix = `${scope.node.path}/`;
  for (const entry of pendingByRoot.get(scope.node.root) ?? []) {
    if (scope.node.path !== '' && !entry.owner.node.path.startsWith(prefix)) continue;
    applyEntry(entry);
  }
}

/** An `Allow`/`Deny` statement of a policy document, with references resolved. */
export interface ResolvedStatement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/**
 * The AwsSolutions-IAM5 finding ids one statement raises: one per wildcard action and one per resource with a
 * wildcard other than a bare `*` (which {@link acknowledgeResolvedPolicy} callers judge separately).
 */
export function wildcardFindingIds(statement: ResolvedStatement): string[] {
  return [
    ...asList(statement.Action).filter((a) => a.includes('*')).map((a) => `AwsSolutions-IAM5[Action::${a}]`),
    ...asList(statement.Resource).map((r) => flattenCfnReference(r)).filter((r) => r.includes('*') && r !== '*').map((r) => `AwsSolutions-IAM5[Resource::${r}]`),
  ];
}

/** The resources of a statement, as a list. */
export function statementResources(statement: ResolvedStatement): unknown[] {
  return asList(statement.Resource);
}

/** The actions of a statement, as a list. */
export function statementActions(statement: ResolvedStatement): string[] {
  return asList(statement.Action);
}

/**
 * Acknowledges findings of a role's default policy that can only be named once references are resolved (a bucket
 * ARN imported from another stack is part of the finding id). `decide` gets the policy's resolved `Allow`
 * statements and returns what to acknowledge; it runs once, in a validation hook: after `prepare` resolves
 * cross-stack references and before the validation plugins (cdk-nag) run.
 */
export function acknowledgeResolvedPolicy(
  role: iam.IRole | undefined,
  decide: (statements: ResolvedStatement[]) => Array<{ readonly ids: readonly string[]; readonly reason: string }>,
): void {
  const policy = role?.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
  if (!policy) return;
  let done = false;
  policy.node.addValidation({
    validate: () => {
      if (done) return [];
      done = true;
      const doc = Stack.of(policy).resolve((policy.node.defaultChild as iam.CfnPolicy).policyDocument) as { Statement?: ResolvedStatement[] };
      for (const { ids, reason } of decide((doc.Statement ?? []).filter((st) => st.Effect === 'Allow'))) acknowledge(policy, ids, reason);
      return [];
    },
  });
}

/**
 * Runs one cdk-nag pack on one scope (a Stage or the App) after applying the pending acknowledgements.
 * cdk-nag 3's own `validate` walks the whole app, so a pack registered on each stage would check (and report)
 * every stage once per stage, and a prod-only pack would judge dev too.
 */
export class ScopedNagPlugin implements IPolicyValidationPlugin {
  public readonly name: string;

  constructor(
    private readonly scope: IConstruct,
    public readonly pack: NagPack,
  ) {
    this.name = pack.readPackName;
  }

  validate(_context: IPolicyValidationContext): PolicyValidationPluginReport {
    applyPendingAcknowledgements(this.scope);
    acknowledgeSingleRolePolicies(this.scope);
    return this.pack.validateScope(this.scope);
  }
}

/** Why an inline policy of exactly one role is acknowledged for the packs' IAMNoInlinePolicy. */
export const SINGLE_ROLE_POLICY_REASON = 'Inline policy of exactly one role (what grant* writes, or a statement group kept beside its role): it is created, '
  + 'changed and deleted with that role in one stack, reviewed in the template diff and versioned by CloudFormation, and cannot widen another principal; '
  + 'a customer managed policy would add a shared object and a 6,144-character limit the pipeline roles exceed.';

/**
 * Acknowledges the compliance packs' IAMNoInlinePolicy (NIST 800-53 R5, HIPAA) on every `AWS::IAM::Policy` under
 * `scope` that is attached to exactly one role and no user or group: such a policy is that role's own, least-privilege
 * statement list (CDK's `grant*` output). A policy shared by several roles, or on a user or group, stays a finding.
 * Runs at validation time (references resolved); {@link ScopedNagPlugin} calls it before each pack.
 */
export function acknowledgeSingleRolePolicies(scope: IConstruct): void {
  for (const node of scope.node.findAll()) {
    if (!(node instanceof iam.CfnPolicy)) continue;
    const resolve = (v: unknown): unknown[] => (Stack.of(node).resolve(v) as unknown[] | undefined) ?? [];
    if (resolve(node.roles).length === 1 && resolve(node.users).length === 0 && resolve(node.groups).length === 0) {
      acknowledge(node, compliancePackIds('IAMNoInlinePolicy'), SINGLE_ROLE_POLICY_REASON);
    }
  }
}

/** Metadata key under which the reasons for suppressed Control Tower (cfn-guard) rules are recorded. */
export const GUARD_REASONS_METADATA_KEY = 'cdk-mlops:guardReasons';

/**
 * Acknowledges AWS Control Tower proactive controls (cfn-guard rules, e.g. `CT.S3.PR.9`) on exactly one resource:
 * the construct's CloudFormation resource (its default child) gets `Metadata.guard.SuppressedRules`, which
 * cfn-guard honours wherever it runs (the `@cdklabs/cdk-validator-cfnguard` plugin, Control Tower itself), and the
 * reason beside it under {@link GUARD_REASONS_METADATA_KEY}. cfn-guard suppresses by rule name, so each control is
 * given by its id and rule name (`CT.S3.PR.9 s3_bucket_object_lock_enabled_check`). Same bar as
 * {@link acknowledge}: a concrete reason, for one resource.
 */
export function acknowledgeControls(construct: IConstruct, controls: readonly string[], reason: string): void {
  const resource = (CfnResource.isCfnResource(construct) ? construct : construct.node.defaultChild) as CfnResource | undefined;
  if (!resource || !CfnResource.isCfnResource(resource)) throw new Error(`acknowledgeControls: ${construct.node.path} has no CloudFormation resource to carry the acknowledgement`);
  const guard = (resource.getMetadata('guard') ?? {}) as { SuppressedRules?: string[] };
  const reasons = (resource.getMetadata(GUARD_REASONS_METADATA_KEY) ?? {}) as Record<string, string>;
  const rules = new Set(guard.SuppressedRules ?? []);
  for (const control of controls) {
    const [id, rule] = control.split(' ');
    if (!/^CT\.[A-Z0-9]+\.PR\.\d+$/.test(id) || !rule) throw new Error(`acknowledgeControls: "${control}" must be "<control id> <rule name>", e.g. "CT.S3.PR.9 s3_bucket_object_lock_enabled_check"`);
    rules.add(rule);
    reasons[id] = reason;
  }
  resource.addMetadata('guard', { ...guard, SuppressedRules: [...rules] });
  resource.addMetadata(GUARD_REASONS_METADATA_KEY, reasons);
}

/**
 * Checks that cdk-nag's compliance packs and AWS Control Tower make in the same way, so one acknowledgement (one
 * reason) covers all three judges: the NIST 800-53 R5 and HIPAA rule names and the Control Tower control.
 */
const SAME_CHECK = {
  /** An alarm with no AlarmActions of its own. */
  alarmAction: { packs: ['CloudWatchAlarmAction'], controls: ['CT.CLOUDWATCH.PR.1 cloudwatch_alarm_action_check'] },
  /** A function outside a VPC (or whose subnets the static rule cannot read). */
  lambdaInsideVpc: { packs: ['LambdaInsideVPC'], controls: ['CT.LAMBDA.PR.3 lambda_inside_vpc_check'] },
  /** A log group without a customer-managed KMS key. */
  logGroupEncrypted: { packs: ['CloudWatchLogGroupEncrypted'], controls: ['CT.CLOUDWATCH.PR.3 cloudwatch_log_group_encrypted_check'] },
  /** A log group kept for less than a year. */
  logGroupRetention: { packs: [], controls: ['CT.CLOUDWATCH.PR.2 cloudwatch_log_group_retention_period_check'] },
  /** A function without a dead-letter queue for asynchronous invocations. */
  lambdaDlq: { packs: ['LambdaDLQ'], controls: [] },
  /** A function without reserved concurrency. */
  lambdaConcurrency: { packs: ['LambdaConcurrency'], controls: [] },
} as const;

/** A check that both the compliance packs and Control Tower make; see {@link acknowledgeCheck}. */
export type SharedCheck = keyof typeof SAME_CHECK;

/**
 * Acknowledges one check on one resource for every judge that makes it: the NIST 800-53 R5 and HIPAA packs (cdk-nag)
 * and the Control Tower control (cfn-guard metadata), with one reason. Same bar as {@link acknowledge}.
 */
export function acknowledgeCheck(construct: IConstruct, checks: SharedCheck | readonly SharedCheck[], reason: string): void {
  for (const check of typeof checks === 'string' ? [checks] : checks) {
    const { packs, controls } = SAME_CHECK[check];
    acknowledge(construct, packs.flatMap((rule) => compliancePackIds(rule)), reason);
    if (controls.length > 0) acknowledgeControls(construct, controls, reason);
  }
}
