import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { type FoundResource, type SynthesizedPlatform } from './assembly';

/**
 * IAM decisions over the synthesized policies, with `@cloud-copilot/iam-simulate` (AGPL: a devDependency, used in
 * tests only). The acting principal's identity policies (inline, `AWS::IAM::Policy` and customer managed
 * policies attached to the role) and the target's resource policy (bucket, topic, queue, key, Lambda
 * permissions, repository, event bus, model package group, role trust) are read from the assembly, so a test
 * proves each step of a journey on the exact ARN the step uses, same-account or cross-account.
 */

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface AccessRequest {
  /** Role ARN (resolved, e.g. `platform.resource(...).arn`), an account root, or a service principal such as `cloudwatch.amazonaws.com`. */
  readonly principal: string;
  readonly action: string;
  /** The exact resource ARN the call names (`*` for actions without resource-level permissions). */
  readonly resource: string;
  /** Request context (`aws:SourceArn`, `aws:SourceAccount`, `kms:ViaService`, ...). `aws:SecureTransport` defaults to true; `aws:PrincipalArn`/`aws:PrincipalAccount` to the principal's. */
  readonly context?: Record<string, string | string[]>;
  /** The account owning the resource, where the ARN has none (S3). Default: the ARN's, or the creating stack's. */
  readonly resourceAccount?: string;
  /** Identity policies to use instead of the assembly's (for principals created outside the platform). */
  readonly identityPolicies?: readonly { name: string; policy: unknown }[];
  /** Resource policy to use instead of the assembly's (`null`: none). */
  readonly resourcePolicy?: unknown;
}

export interface DecisionDetail {
  readonly decision: Decision;
  /** Names of the identity policies and whether a resource policy was found: what the decision was made over. */
  readonly identityPolicies: readonly string[];
  readonly resourcePolicy: boolean;
  /** AWS managed policies attached to the role, which the simulation cannot read. */
  readonly awsManagedPolicies: readonly string[];
  readonly raw: unknown;
}

/** The decision for one request. */
export async function decide(platform: SynthesizedPlatform, request: AccessRequest): Promise<Decision> {
  return (await explain(platform, request)).decision;
}

/** The decision for one request with what it was made over (for readable failures). */
export async function explain(platform: SynthesizedPlatform, request: AccessRequest): Promise<DecisionDetail> {
  const role = isArn(request.principal) ? platform.byIdentifier(request.principal) : undefined;
  const identity = request.identityPolicies ?? (role ? identityPoliciesOf(platform, role) : []);
  const awsManaged = role ? awsManagedPoliciesOf(role) : [];
  const target = request.resourcePolicy === undefined ? resourceOf(platform, request.resource) : undefined;
  const resourcePolicy = request.resourcePolicy === undefined ? (target ? resourcePolicyOf(platform, target, request.resource) : undefined) : request.resourcePolicy ?? undefined;
  const accountId = request.resourceAccount ?? arnAccount(request.resource) ?? (target ? platform.resolver.account(target.stack) : principalAccount(request.principal));
  const simulation: Simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: accountId ?? '123456789012' },
      // AWS puts the caller's ARN and account in every request by an IAM principal (global keys policies match on).
      contextVariables: {
        'aws:SecureTransport': 'true',
        ...(isArn(request.principal) ? { 'aws:PrincipalArn': request.principal, 'aws:PrincipalAccount': principalAccount(request.principal) ?? '' } : {}),
        ...request.context,
      },
    },
    identityPolicies: identity.map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') {
    throw new Error(`IAM simulation of ${request.action} on ${request.resource} by ${request.principal} could not run: ${JSON.stringify(result.errors, null, 1).slice(0, 2000)}`);
  }
  return {
    decision: result.overallResult,
    identityPolicies: identity.map((p) => p.name),
    resourcePolicy: resourcePolicy !== undefined,
    awsManagedPolicies: awsManaged,
    raw: result,
  };
}

/** Throws a readable error unless every request is allowed. Returns the decisions for further checks. */
export async function expectAllowed(platform: SynthesizedPlatform, ...requests: AccessRequest[]): Promise<void> {
  const denied: string[] = [];
  for (const r of requests) {
    const d = await explain(platform, r);
    if (d.decision !== 'Allowed') {
      denied.push(`${d.decision}: ${r.principal} ${r.action} on ${r.resource} (identity policies: ${d.identityPolicies.join(', ') || 'none'}; resource policy: ${d.resourcePolicy ? 'yes' : 'none'}${d.awsManagedPolicies.length ? `; AWS managed, not simulated: ${d.awsManagedPolicies.join(', ')}` : ''})`);
    }
  }
  if (denied.length) throw new Error(`Expected allowed:\n  ${denied.join('\n  ')}`);
}

const isArn = (v: string) => v.startsWith('arn:');
const arnAccount = (arn: string): string | undefined => {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
};
const principalAccount = (p: string): string | undefined => (isArn(p) ? arnAccount(p) : undefined);

/** The identity policies attached to a role of the assembly, resolved. */
export function identityPoliciesOf(platform: SynthesizedPlatform, role: FoundResource): { name: string; policy: unknown }[] {
  const policies: { name: string; policy: unknown }[] = [];
  const roleName = role.ref;
  for (const [i, p] of (role.properties.Policies ?? []).entries()) policies.push({ name: `${role.logicalId}.Policies[${i}]:${p.PolicyName}`, policy: p.PolicyDocument });
  const attached = (roles: unknown) => Array.isArray(roles) && roles.some((r) => r === roleName || r === role.arn);
  for (const p of platform.resources('AWS::IAM::Policy', { filter: (r) => attached(r.properties.Roles) })) {
    policies.push({ name: `${p.stack.id}/${p.logicalId}`, policy: p.properties.PolicyDocument });
  }
  const managedArns = new Set<string>((role.properties.ManagedPolicyArns ?? []).filter((a: unknown) => typeof a === 'string'));
  for (const p of platform.resources('AWS::IAM::ManagedPolicy', { filter: (r) => attached(r.properties.Roles) || managedArns.has(r.arn) })) {
    policies.push({ name: `${p.stack.id}/${p.logicalId}`, policy: p.properties.PolicyDocument });
  }
  return policies;
}

function awsManagedPoliciesOf(role: FoundResource): string[] {
  return (role.properties.ManagedPolicyArns ?? []).filter((a: unknown) => typeof a === 'string' && /^arn:aws[a-z-]*:iam::aws:policy\//.test(a));
}

/** The resource of the assembly an ARN names (an S3 object ARN names its bucket; a Lambda alias/version, its function; a package version, its group). */
export function resourceOf(platform: SynthesizedPlatform, arn: string): FoundResource | undefined {
  const exact = platform.byIdentifier(arn);
  if (exact) return exact;
  const s3 = /^arn:aws[a-z-]*:s3:::([^/]+)(\/.*)?$/.exec(arn);
  if (s3) return platform.byIdentifier(`arn:aws:s3:::${s3[1]}`) ?? platform.byIdentifier(s3[1]);
  const fn = /^(arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:[^:]+)(:.+)?$/.exec(arn);
  if (fn) return platform.byIdentifier(fn[1]);
  // A model package version is governed by its group's resource policy.
  const pkg = /^arn:aws[a-z-]*:sagemaker:([^:]+):(\d{12}):model-package\/([^/]+)\/\d+$/.exec(arn);
  if (pkg) return platform.byIdentifier(`arn:aws:sagemaker:${pkg[1]}:${pkg[2]}:model-package-group/${pkg[3]}`);
  return undefined;
}

/** The resource policy that applies to `target`, merged from every resource that carries part of it. */
export function resourcePolicyOf(platform: SynthesizedPlatform, target: FoundResource, requestedArn: string): unknown {
  const statements: unknown[] = [];
  const add = (doc: any) => { if (doc?.Statement) statements.push(...[doc.Statement].flat()); };
  switch (target.type) {
    case 'AWS::S3::Bucket':
      for (const p of platform.resources('AWS::S3::BucketPolicy', { filter: (r) => r.properties.Bucket === target.ref })) add(p.properties.PolicyDocument);
      break;
    case 'AWS::SNS::Topic':
      for (const p of platform.resources('AWS::SNS::TopicPolicy', { filter: (r) => (r.properties.Topics ?? []).includes(target.ref) })) add(p.properties.PolicyDocument);
      break;
    case 'AWS::SQS::Queue':
      for (const p of platform.resources('AWS::SQS::QueuePolicy', { filter: (r) => (r.properties.Queues ?? []).includes(target.ref) })) add(p.properties.PolicyDocument);
      break;
    case 'AWS::KMS::Key':
      add(target.properties.KeyPolicy);
      break;
    case 'AWS::ECR::Repository':
      add(target.properties.RepositoryPolicyText);
      break;
    case 'AWS::SageMaker::ModelPackageGroup':
      add(target.properties.ModelPackageGroupPolicy);
      break;
    case 'AWS::IAM::Role':
      add(target.properties.AssumeRolePolicyDocument);
      break;
    case 'AWS::SecretsManager::Secret':
      for (const p of platform.resources('AWS::SecretsManager::ResourcePolicy', { filter: (r) => r.properties.SecretId === target.ref })) add(p.properties.ResourcePolicy);
      break;
    case 'AWS::Events::EventBus':
      add(target.properties.Policy);
      for (const p of platform.resources('AWS::Events::EventBusPolicy', { filter: (r) => (r.properties.EventBusName ?? 'default') === target.ref })) {
        if (p.properties.Statement) statements.push(p.properties.Statement);
        else statements.push({ Sid: p.properties.StatementId, Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${p.properties.Principal}:root` }, Action: p.properties.Action, Resource: target.arn, ...(p.properties.Condition ? { Condition: p.properties.Condition } : {}) });
      }
      break;
    case 'AWS::Lambda::Function':
      for (const p of platform.resources('AWS::Lambda::Permission')) {
        const fn = String(p.properties.FunctionName);
        if (fn !== target.ref && fn !== target.arn && !fn.startsWith(`${target.arn}:`)) continue;
        if (fn !== requestedArn && fn !== target.ref && !requestedArn.startsWith(fn)) continue;
        const principal = String(p.properties.Principal);
        const condition: Record<string, Record<string, string>> = {};
        if (p.properties.SourceArn) condition.ArnLike = { 'aws:SourceArn': p.properties.SourceArn };
        if (p.properties.SourceAccount) condition.StringEquals = { 'aws:SourceAccount': p.properties.SourceAccount };
        statements.push({
          Effect: 'Allow',
          Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: /^\d{12}$/.test(principal) ? `arn:aws:iam::${principal}:root` : principal },
          Action: p.properties.Action,
          Resource: fn.startsWith('arn:') ? fn : target.arn,
          ...(Object.keys(condition).length ? { Condition: condition } : {}),
        });
      }
      break;
    default:
      return undefined;
  }
  return statements.length ? { Version: '2012-10-17', Statement: statements } : undefined;
}
