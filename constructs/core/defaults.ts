import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { type Construct } from 'constructs';
import { acknowledgeCheck } from './nag';

/** Options for {@link platformKey}. */
export interface PlatformKeyOptions {
  /** What the key protects; becomes the key description. */
  readonly description: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Service principals (e.g. `logs.<region>.amazonaws.com`) allowed to use the key for encryption.
   * @default - none
   */
  readonly servicePrincipals?: string[];
}

/** A customer-managed KMS key with yearly rotation, the platform's default for encrypting data at rest. */
export function platformKey(scope: Construct, id: string, options: PlatformKeyOptions): kms.Key {
  const key = new kms.Key(scope, id, {
    description: options.description,
    enableKeyRotation: true,
    rotationPeriod: Duration.days(365),
    removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
    pendingWindow: Duration.days(30),
  });
  limitGrantsToAwsServices(key);
  for (const principal of options.servicePrincipals ?? []) {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `Allow${principal.split('.')[0].replace(/[^A-Za-z0-9]/g, '')}`,
        principals: [new iam.ServicePrincipal(principal)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'], // a key policy's resource is always the key itself
      }),
    );
  }
  return key;
}

/**
 * Adds the key-policy statement AWS Control Tower's CT.KMS.PR.3 asks for: nobody may create a grant on the key unless
 * an AWS service creates it for a resource it manages (EBS volumes, EKS secrets, SageMaker endpoints create their
 * grants that way) or the caller is an AWS service itself. Without it, any principal with `kms:CreateGrant` (the
 * account's administrators through the root statement) could hand out lasting use of the key outside IAM.
 */
export function limitGrantsToAwsServices(key: kms.IKey): void {
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DenyGrantsNotForAwsResources',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'], // a key policy's resource is always the key itself
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  }));
}

/** Service principal for CloudWatch Logs in the stack's region, for key policies. */
export function logsServicePrincipal(scope: Construct): string {
  return `logs.${Stack.of(scope).region}.amazonaws.com`;
}

/** Options for {@link encryptedLogGroup}. */
export interface EncryptedLogGroupOptions {
  readonly encryptionKey: kms.IKey;
  readonly retention: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** A CloudWatch log group encrypted with a customer-managed key and a finite retention. */
export function encryptedLogGroup(scope: Construct, id: string, options: EncryptedLogGroupOptions): logs.LogGroup {
  const group = new logs.LogGroup(scope, id, {
    encryptionKey: options.encryptionKey,
    retention: options.retention,
    removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
  });
  if (options.retention < logs.RetentionDays.ONE_YEAR) {
    acknowledgeCheck(group, 'logGroupRetention',
      `Retention of ${options.retention} days is the caller's setting or the construct's default (in the platform app, the stage's: dev and staging keep logs shorter to save cost); give 365 days or more where Control Tower's one-year minimum applies.`);
  }
  return group;
}
