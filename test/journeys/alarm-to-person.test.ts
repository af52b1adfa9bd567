import { ACCOUNTS, decide, expectAllowed, type FoundResource, synthesizedPlatform, type SynthesizedPlatform } from './support';

// Journey "alarm → person": an alarm of the stage fires → CloudWatch publishes to the stage's alerts topic (its topic
// policy and its key policy must let it) → the topic's email subscription → one notification per incident.
// Simulated over the synthesized policies on the exact ARNs, for every stage in its own account.
describe('alarm → alerts topic → on-call, every stage in its own account', () => {
  let platform: SynthesizedPlatform;
  beforeAll(() => { platform = synthesizedPlatform('allOn'); });

  const stages = ['dev', 'staging', 'prod'] as const;
  const topicOf = (stage: string) => platform.only('AWS::SNS::Topic', `${stage}/Alerts`);
  const keyOf = (topic: FoundResource) => platform.byIdentifier(String(topic.properties.KmsMasterKeyId))!;
  /** Every alarm and composite alarm of a standalone stage whose alarm actions include `topicArn`. */
  const alarmsNotifying = (stage: string, topicArn: string) => ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']
    .flatMap((type) => platform.resources(type, { stack: `${stage}/` }))
    .filter((a) => [...(a.properties.AlarmActions ?? []), ...(a.properties.OKActions ?? [])].includes(topicArn));

  test.each(stages)('%s: every alarm that notifies may publish to the topic and use its key', async (stage) => {
    const topic = topicOf(stage);
    const key = keyOf(topic);
    const alarms = alarmsNotifying(stage, topic.arn);
    expect(alarms.length).toBeGreaterThan(0);
    expect(alarms.map((a) => a.properties.AlarmName)).toContain(`acme-ml-${stage}-serving-degraded`);
    for (const alarm of alarms) {
      expect(alarm.arn).toMatch(new RegExp(`^arn:aws:cloudwatch:us-east-1:${ACCOUNTS[stage]}:alarm:${alarm.properties.AlarmName ?? `acme-ml-${stage}-`}`));
      const context = { 'aws:SourceArn': alarm.arn, 'aws:SourceAccount': ACCOUNTS[stage] };
      await expectAllowed(platform,
        { principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topic.arn, context },
        // SNS encrypts the message with the topic key on the publisher's behalf.
        { principal: 'cloudwatch.amazonaws.com', action: 'kms:GenerateDataKey', resource: key.arn, context },
        { principal: 'cloudwatch.amazonaws.com', action: 'kms:Decrypt', resource: key.arn, context });
    }
  });

  test('the topic policy admits only this account\'s alarms and rules (confused-deputy conditions)', async () => {
    const topic = topicOf('prod');
    const publish = (principal: string, sourceArn: string, sourceAccount: string) => decide(platform, {
      principal, action: 'sns:Publish', resource: topic.arn, context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': sourceAccount },
    });
    const own = `arn:aws:cloudwatch:us-east-1:${ACCOUNTS.prod}:alarm:acme-ml-prod-serving-degraded`;
    expect(await publish('cloudwatch.amazonaws.com', own, ACCOUNTS.prod)).toBe('Allowed');
    // Another account's alarm (e.g. dev's) may not page prod's on-call, nor may another service or another region.
    expect(await publish('cloudwatch.amazonaws.com', `arn:aws:cloudwatch:us-east-1:${ACCOUNTS.dev}:alarm:acme-ml-dev-serving-degraded`, ACCOUNTS.dev)).toBe('ImplicitlyDenied');
    expect(await publish('cloudwatch.amazonaws.com', `arn:aws:cloudwatch:eu-west-1:${ACCOUNTS.prod}:alarm:x`, ACCOUNTS.prod)).toBe('ImplicitlyDenied');
    expect(await publish('s3.amazonaws.com', own, ACCOUNTS.prod)).toBe('ImplicitlyDenied');
    // EventBridge rules (failed pipelines, drift) carry the same conditions.
    expect(await publish('events.amazonaws.com', `arn:aws:events:us-east-1:${ACCOUNTS.prod}:rule/any`, ACCOUNTS.prod)).toBe('Allowed');
    expect(await publish('events.amazonaws.com', `arn:aws:events:us-east-1:${ACCOUNTS.dev}:rule/any`, ACCOUNTS.dev)).toBe('ImplicitlyDenied');
  });

  test.each(stages)('%s: the topic delivers to the on-call email', (stage) => {
    const topic = topicOf(stage);
    const subscriptions = platform.resources('AWS::SNS::Subscription', { stack: `${stage}/`, filter: (s) => s.properties.TopicArn === topic.arn });
    expect(subscriptions.map((s) => [s.properties.Protocol, s.properties.Endpoint])).toEqual([['email', 'ml-oncall@example.com']]);
  });

  test.each(stages)('%s: one notification per serving incident: only the composite notifies, not its children', (stage) => {
    const topic = topicOf(stage);
    const [composite] = platform.resources('AWS::CloudWatch::CompositeAlarm', { stack: `${stage}/Monitoring` });
    const children = [...String(composite.properties.AlarmRule).matchAll(/ALARM\("?([^")]+)"?\)/g)].map((m) => m[1]);
    expect(children.length).toBeGreaterThan(3);
    const byName = new Map(platform.resources('AWS::CloudWatch::Alarm', { stack: `${stage}/` }).map((a) => [a.arn, a] as const));
    for (const child of children) {
      const alarm = byName.get(child) ?? [...byName.values()].find((a) => a.properties.AlarmName === child);
      expect([child, alarm?.properties.AlarmActions ?? []]).toEqual([child, []]);
    }
    // The serving constructs' own alarms (endpoint rollback, Lambda canary) watch the same incidents: they do not notify.
    const servingStacks = [`${stage}/SageMaker`, `${stage}/Inference`];
    const notifyingServing = alarmsNotifying(stage, topic.arn).filter((a) => servingStacks.includes(a.stack.id)
      && /Errors5xx|Latency|ServerErrors|ErrorsAlarm/.test(a.logicalId));
    expect(notifyingServing.map((a) => a.logicalId)).toEqual([]);
  });

  test('dev: a failed pipeline run notifies once (the delivery pipeline\'s stage-failure rule), not also from monitoring', () => {
    const topic = topicOf('dev');
    const rulesToTopic = platform.resources('AWS::Events::Rule', { stack: 'dev/' })
      .filter((r) => (r.properties.Targets ?? []).some((t: { Arn: string }) => t.Arn === topic.arn))
      .filter((r) => JSON.stringify(r.properties.EventPattern).includes('aws.codepipeline'));
    expect(rulesToTopic.map((r) => r.properties.EventPattern['detail-type'])).toEqual([['CodePipeline Stage Execution State Change']]);
    const failedAlarm = platform.resources('AWS::CloudWatch::Alarm', { stack: 'dev/Monitoring', filter: (a) => a.properties.AlarmName === 'acme-ml-dev-pipeline-ModelPipeline-failed' });
    expect(failedAlarm.map((a) => a.properties.AlarmActions ?? [])).toEqual([[]]);
  });

  test.each(stages)('%s: alarm names are short and start with the stage prefix; the async endpoint is alarmed on async metrics', (stage) => {
    const monitoring = platform.resources('AWS::CloudWatch::Alarm', { stack: `${stage}/Monitoring` });
    const names = monitoring.map((a) => a.properties.AlarmName);
    expect(names).toEqual(expect.arrayContaining([`acme-ml-${stage}-endpoint-async-failure-rate`, `acme-ml-${stage}-endpoint-async-backlog-without-capacity`]));
    expect(names).not.toContain(`acme-ml-${stage}-endpoint-async-5xx-rate`);
    const asyncRate = JSON.stringify(monitoring.find((a) => a.properties.AlarmName === `acme-ml-${stage}-endpoint-async-failure-rate`)!.properties.Metrics);
    expect(asyncRate).toContain('InvocationFailures');
    expect(asyncRate).not.toContain('"MetricName":"Invocations"');
    for (const a of monitoring) {
      expect(a.properties.AlarmName).toMatch(new RegExp(`^acme-ml-${stage}-(endpoint|lambda|ray|pipeline)-`));
      expect(a.properties.AlarmName).not.toMatch(new RegExp(`acme-ml-${stage}.*acme-ml-${stage}`));
    }
  });
});
