import { Stack, Validations } from 'aws-cdk-lib';
import { type IConstruct } from 'constructs';

/** A cdk-nag finding to acknowledge, with the reason a reviewer reads. */
export interface Acknowledgement {
  /** Exact finding id, e.g. `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]`. */
  readonly id: string;
  readonly reason: string;
}

/** Rule ids of the optional compliance packs (NIST 800-53 R5 and HIPAA) for the same check. */
export function compliancePackIds(rule: string): string[] {
  return [`NIST.800.53.R5-${rule}`, `HIPAA.Security-${rule}`];
}

/**
 * Acknowledges findings on exactly one construct (and its children), each with the reason. The one place
 * the project records acknowledgements, so they can be audited with `git grep acknowledge`.
 */
export function acknowledge(construct: IConstruct, ids: readonly string[], reason: string): void {
  for (const id of ids) Validations.of(construct).acknowledge({ id, reason });
}

/**
 * Findings on the singleton custom-resource providers aws-cdk-lib adds to a stack. We cannot change their
 * code, runtime or role: CDK owns them, they run only during deployments, and CDK scopes their permissions.
 * Keyed by the construct id CDK gives the provider inside the stack.
 */
export const CDK_GENERATED_PROVIDER_FINDINGS: Readonly<Record<string, readonly Acknowledgement[]>> = {
  'Custom::VpcRestrictDefaultSGCustomResourceProvider': compliancePackIds('LambdaInsideVPC').concat(compliancePackIds('LambdaConcurrency'), compliancePackIds('LambdaDLQ'))
    .map((id) => ({ id, reason: 'CDK-generated provider that strips the VPC default security group rules once per deployment; its code and settings belong to aws-cdk-lib.' })),
  'Custom::S3AutoDeleteObjectsCustomResourceProvider': compliancePackIds('LambdaInsideVPC').concat(compliancePackIds('LambdaConcurrency'), compliancePackIds('LambdaDLQ'))
    .map((id) => ({ id, reason: 'CDK-generated provider that empties dev buckets on stack deletion (opt-in, dev only); its code and settings belong to aws-cdk-lib.' })),
};

/**
 * Acknowledges the known findings on CDK-generated custom-resource providers of a stack, at their exact
 * construct paths. Call it after the stack's constructs exist; providers that are absent are skipped.
 */
export function acknowledgeCdkGeneratedResources(scope: IConstruct): void {
  const stack = Stack.of(scope);
  for (const [providerId, findings] of Object.entries(CDK_GENERATED_PROVIDER_FINDINGS)) {
    const provider = stack.node.tryFindChild(providerId);
    if (!provider) continue;
    for (const finding of findings) Validations.of(provider).acknowledge(finding);
  }
}
