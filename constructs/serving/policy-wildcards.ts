import type * as iam from 'aws-cdk-lib/aws-iam';
import { acknowledgeResolvedPolicy, statementActions, statementResources, wildcardFindingIds } from '../core/nag';

/** Actions AWS offers no resource-level permissions for: `Resource: *` is the only way to allow them. */
export const UNSCOPABLE_ACTIONS: ReadonlySet<string> = new Set([
  'ecr:GetAuthorizationToken',
  'ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeNetworkInterfaces',
  'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses',
  'cloudwatch:PutMetricData', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords',
  'sagemaker:ListModelPackages',
]);

/**
 * Acknowledges the cdk-nag IAM5 (wildcard) findings of a role's default policy that are unavoidable, and only those:
 * `Resource: *` where every such statement holds only {@link UNSCOPABLE_ACTIONS}, and the wildcards of statements
 * whose `Sid` is listed in `scopedSids` (object prefixes in S3, log streams of one log group, ENIs SageMaker creates).
 */
export function acknowledgePolicyWildcards(role: iam.IRole, scopedSids: Record<string, string>, unscopableReason: string): void {
  acknowledgeResolvedPolicy(role, (statements) => {
    const star = statements.filter((s) => statementResources(s).some((r) => r === '*'));
    const unscopable = star.length > 0 && star.every((s) => statementActions(s).every((a) => UNSCOPABLE_ACTIONS.has(a)));
    return [
      ...(unscopable ? [{ ids: ['AwsSolutions-IAM5[Resource::*]'], reason: unscopableReason }] : []),
      ...statements.filter((s) => s.Sid && scopedSids[s.Sid]).map((s) => ({ ids: wildcardFindingIds(s), reason: scopedSids[s.Sid!] })),
    ];
  });
}
