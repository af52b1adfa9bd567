import { type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { encryptedLogGroup, platformKey } from '../../../constructs/core/defaults';
import { GUARD_REASONS_METADATA_KEY } from '../../../constructs/core/nag';
import { newStack } from '../../helpers';

describe('platform defaults', () => {
  let stack: Stack;
  let t: Template;
  beforeAll(() => {
    stack = newStack();
    const key = platformKey(stack, 'Key', { description: 'test' });
    encryptedLogGroup(stack, 'Short', { encryptionKey: key, retention: logs.RetentionDays.ONE_MONTH });
    encryptedLogGroup(stack, 'Long', { encryptionKey: key, retention: logs.RetentionDays.ONE_YEAR });
    t = Template.fromStack(stack);
  });

  test('a platform key denies kms:CreateGrant unless an AWS service creates it for a resource (CT.KMS.PR.3)', () => {
    const [key] = Object.values(t.findResources('AWS::KMS::Key'));
    expect(key.Properties.KeyPolicy.Statement).toContainEqual({
      Sid: 'DenyGrantsNotForAwsResources',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
  });

  test('log retention below a year carries the Control Tower acknowledgement with its reason; a year or more does not', () => {
    const groups = t.findResources('AWS::Logs::LogGroup');
    const short = Object.values(groups).find((g) => g.Properties.RetentionInDays === 30)!;
    const long = Object.values(groups).find((g) => g.Properties.RetentionInDays === 365)!;
    expect(short.Metadata.guard.SuppressedRules).toEqual(['cloudwatch_log_group_retention_period_check']);
    expect(short.Metadata[GUARD_REASONS_METADATA_KEY]['CT.CLOUDWATCH.PR.2']).toMatch(/Retention of 30 days/);
    expect(long.Metadata?.guard).toBeUndefined();
  });
});
