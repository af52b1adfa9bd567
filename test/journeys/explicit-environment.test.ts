import { Stack } from 'aws-cdk-lib';
import { resourceWildcardId } from '../../constructs/core/nag';
import { newApp } from '../helpers';
import { synthesizedPlatform } from './support/assembly';

// A realistic platform has explicit accounts and regions: cdk-nag finding ids then carry literal ARNs, and an
// acknowledgement written in token form would stop matching. Every stage with every component on, one account each.
describe('cdk-nag with explicit accounts and regions', () => {
  test('every stack of every stage (and the infrastructure pipeline) has zero unacknowledged findings', () => {
    expect(synthesizedPlatform('allOn').validationFailures).toEqual([]);
  });

  test('wildcard acknowledgement ids follow the stack: token form when agnostic, literal with a concrete environment', () => {
    const app = newApp();
    const agnostic = new Stack(app, 'Agnostic');
    const concrete = new Stack(app, 'Concrete', { env: { account: '333333333333', region: 'eu-west-1' } });
    const arn = (s: Stack) => s.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    expect(resourceWildcardId(agnostic, arn(agnostic))).toBe('AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]');
    expect(resourceWildcardId(concrete, arn(concrete))).toBe('AwsSolutions-IAM5[Resource::arn:aws:ec2:eu-west-1:333333333333:instance/*]');
  });
});
