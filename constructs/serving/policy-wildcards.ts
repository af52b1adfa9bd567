import { Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { type IConstruct } from 'constructs';
import { acknowledge } from '../core/nag';

/** Actions AWS offers no resource-level permissions for: `Resource: *` is the only way to allow them. */
export const UNSCOPABLE_ACTIONS: ReadonlySet<string> = new Set([
  'ecr:GetAuthorizationToken',
  'ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeNetworkInterfaces',
  'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses',
  'cloudwatch:PutMetricData', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords',
]);

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/**
 * Acknowledges the cdk-nag IAM5 (wildcard) findings of a role's default policy that are unavoidable, and only those:
 * `Resource: *` where every such statement holds only {@link UNSCOPABLE_ACTIONS}, and the wildcards of statements
 * whose `Sid` is listed in `scopedSids` (object prefixes in S3, log streams of one log group, ENIs SageMaker creates).
 *
 * The exact finding ids contain the resolved resource (e.g. a bucket ARN imported from another stack), known only
 * after references are resolved, so the acknowledgement is computed in a validation hook that runs after
 * `prepare` and before the cdk-nag validation plugins (`app.synth()`, or `Template.fromStack()` in tests).
 */
export function acknowledgePolicyWildcards(role: iam.IRole, scopedSids: Record<string, string>, unscopableReason: string): void {
  const policy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
  if (!policy) return;
  let done = false;
  policy.node.addValidation({
    validate: () => {
      if (done) return [];
      done = true;
      const cfn = policy.node.defaultChild as iam.CfnPolicy;
      const doc = Stack.of(policy).resolve(cfn.policyDocument) as { Statement?: Statement[] };
      const statements = (doc.Statement ?? []).filter((s) => s.Effect === 'Allow');
      const star = statements.filter((s) => list(s.Resource).some((r) => r === '*'));
      if (star.length > 0 && star.every((s) => list(s.Action).every((a) => UNSCOPABLE_ACTIONS.has(a)))) {
        acknowledge(policy, ['AwsSolutions-IAM5[Resource::*]'], unscopableReason);
      }
      for (const s of statements) {
        const reason = s.Sid ? scopedSids[s.Sid] : undefined;
        if (!reason) continue;
        const ids = [
          ...list(s.Action).filter((a) => a.includes('*')).map((a) => `AwsSolutions-IAM5[Action::${a}]`),
          ...list(s.Resource).map((r) => flattenCfnReference(r)).filter((r) => r.includes('*') && r !== '*').map((r) => `AwsSolutions-IAM5[Resource::${r}]`),
        ];
        acknowledge(policy as IConstruct, ids, reason);
      }
      return [];
    },
  });
}
