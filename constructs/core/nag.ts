import { Validations } from 'aws-cdk-lib';
import { type IConstruct } from 'constructs';

/** Rule ids of the optional compliance packs (NIST 800-53 R5 and HIPAA) for the same check. */
export function compliancePackIds(rule: string): string[] {
  return [`NIST.800.53.R5-${rule}`, `HIPAA.Security-${rule}`];
}

/**
 * Acknowledges cdk-nag findings on exactly one construct (and its children) with the reason a reviewer
 * reads. Ids are exact, e.g. `AwsSolutions-IAM5[Action::s3:*]`. The one place the project records
 * acknowledgements: audit them with `git grep "acknowledge("`. Reserve it for resources aws-cdk-lib
 * generates, or for a rule the AWS service itself cannot satisfy.
 */
export function acknowledge(construct: IConstruct, ids: readonly string[], reason: string): void {
  for (const id of ids) Validations.of(construct).acknowledge({ id, reason });
}
