import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NIST80053R5Checks } from 'cdk-nag';
import { AlertsTopic } from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

describe('AlertsTopic', () => {
  const stack = newStack();
  const alerts = new AlertsTopic(stack, 'Alerts', { emails: ['ml-oncall@example.com'] });
  const publisher = new iam.Role(stack, 'Publisher', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  alerts.grantPublish(publisher);
  // What every EventBridge → SNS target does: aws-cdk-lib calls topic.grantPublish(events.amazonaws.com).
  new events.Rule(stack, 'Failures', { eventPattern: { source: ['aws.codepipeline'] }, targets: [new targets.SnsTopic(alerts.topic)] });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('KMS-encrypted topic with an email subscription', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.objectLike({ 'Fn::GetAtt': Match.anyValue() }), DisplayName: 'ML platform alerts' });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ml-oncall@example.com' });
  });

  test('publishing requires TLS', () => {
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('the topic policy lets this account\'s alarms and rules publish, and no service without conditions', () => {
    const statements: { Effect: string; Principal: unknown; Condition?: Record<string, Record<string, unknown>> }[] =
      Object.values(t.findResources('AWS::SNS::TopicPolicy'))[0].Properties.PolicyDocument.Statement;
    const allows = statements.filter((s) => s.Effect === 'Allow');
    const scoped = (resource: string) => ({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${resource.split(':')[0]}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${resource.split(':').slice(1).join(':')}`]] } },
    });
    expect(allows.map((s) => [s.Principal, s.Condition])).toEqual([
      [{ Service: 'cloudwatch.amazonaws.com' }, scoped('cloudwatch:alarm:*')],
      [{ Service: 'events.amazonaws.com' }, scoped('events:rule/*')],
    ]);
  });

  test('CloudWatch alarms and EventBridge may use the key', () => {
    const key = Object.values(t.findResources('AWS::KMS::Key'))[0];
    const principals = key.Properties.KeyPolicy.Statement.map((s: { Principal: unknown }) => JSON.stringify(s.Principal));
    expect(principals).toEqual(expect.arrayContaining([JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }), JSON.stringify({ Service: 'events.amazonaws.com' })]));
    expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  test('grantPublish gives sns:Publish on this topic and the key', () => {
    const doc = JSON.stringify(Object.values(t.findResources('AWS::IAM::Policy'))[0].Properties.PolicyDocument);
    expect(doc).toContain('sns:Publish');
    expect(doc).toContain('"kms:GenerateDataKey"');
    expect(doc).not.toContain('*');
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(alerts, new NIST80053R5Checks())).toEqual([]); // the test role's inline policy is the caller's
  });

  test('bad email is a synth error naming the prop', () => {
    expect(() => new AlertsTopic(newStack(), 'A', { emails: ['oncall'] })).toThrow(/emails: "oncall" — each must be an email address/);
  });
});
