import { Template } from 'aws-cdk-lib/assertions';
import { synthesizedPlatform, type SynthesizedPlatform } from './support/assembly';
import { ACCOUNTS } from './support/configs';
import { decide, expectAllowed } from './support/iam';

// The journey support itself: names resolve across stacks, simulations can both allow and deny.
describe('journey support over the everything-on platform', () => {
  let platform: SynthesizedPlatform;
  beforeAll(() => { platform = synthesizedPlatform('allOn'); });

  test('every stage sits in its own account, standalone and inside the infrastructure pipeline', () => {
    for (const stage of ['dev', 'staging', 'prod'] as const) {
      const stacks = platform.stageStacks(stage);
      expect(stacks.length).toBeGreaterThan(5);
      expect(new Set(stacks.map((s) => s.account))).toEqual(new Set([ACCOUNTS[stage]]));
    }
    expect(platform.stack('Pipeline').account).toBe(ACCOUNTS.tooling);
  });

  test('cross-stack references resolve to the resource the other stack creates', () => {
    const buckets = platform.resources('AWS::S3::Bucket', { stack: 'prod/Data' }).map((b) => b.ref);
    const policies = platform.resources('AWS::IAM::Policy', { stack: 'prod/SageMaker' });
    const named = JSON.stringify(policies.map((p) => p.properties.PolicyDocument));
    expect(buckets.some((b) => named.includes(`arn:aws:s3:::${b}`))).toBe(true);
    expect(named).not.toContain('<unresolved');
  });

  test('a resource policy allows a service principal, and denies others and plain HTTP', async () => {
    const topic = platform.only('AWS::SNS::Topic', 'dev/Alerts');
    const eventsPublish = { principal: 'events.amazonaws.com', action: 'sns:Publish', resource: topic.arn,
      context: { 'aws:SourceAccount': ACCOUNTS.dev, 'aws:SourceArn': `arn:aws:events:us-east-1:${ACCOUNTS.dev}:rule/any` } };
    await expectAllowed(platform, eventsPublish);
    // Negative controls: another service, and plain HTTP (the topic's TLS-only deny).
    expect(await decide(platform, { ...eventsPublish, principal: 'sqs.amazonaws.com' })).not.toBe('Allowed');
    expect(await decide(platform, { ...eventsPublish, context: { ...eventsPublish.context, 'aws:SecureTransport': 'false' } })).toBe('ExplicitlyDenied');
  });

  test("a role's identity policies allow what it was granted on the exact ARN, and nothing else", async () => {
    const role = platform.resources('AWS::IAM::Role', { stack: 'prod/SageMaker', filter: (r) => r.logicalId.startsWith('EndpointrealtimeExecutionRole') })[0];
    const statements = platform.resources('AWS::IAM::Policy', { stack: 'prod/SageMaker' })
      .flatMap((p) => p.properties.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().includes('s3:GetObject'));
    const objectArn = [statements[0].Resource].flat().find((r: string) => r.endsWith('/*')).replace(/\*$/, 'model.tar.gz');
    await expectAllowed(platform, { principal: role.arn, action: 's3:GetObject', resource: objectArn });
    expect(await decide(platform, { principal: role.arn, action: 's3:DeleteObject', resource: objectArn })).toBe('ImplicitlyDenied');
    expect(await decide(platform, { principal: role.arn, action: 's3:GetObject', resource: 'arn:aws:s3:::someone-elses-bucket/model.tar.gz' })).toBe('ImplicitlyDenied');
  });
});

// CDK finds cycles between stacks, but a cycle between resources of one template (Ref, GetAtt, DependsOn) only
// fails at deploy time; aws-cdk-lib's assertions check for it when they load a template.
describe('every template of the shared journey configs deploys in some order', () => {
  test.each(['defaults', 'allOn'] as const)('%s: no resource dependency cycle in any stack', (name) => {
    const platform = synthesizedPlatform(name);
    const cyclic = platform.stacks.filter((s) => {
      try {
        Template.fromJSON(s.template as Record<string, unknown>);
        return false;
      } catch {
        return true;
      }
    }).map((s) => s.id);
    expect(platform.stacks.length).toBeGreaterThan(20);
    expect(cyclic).toEqual([]);
  });
});
