import {
  ApplicationAutoScalingClient, DeregisterScalableTargetCommand, DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand, RegisterScalableTargetCommand, type ScalingPolicy,
} from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand,
  DescribeModelPackageCommand, type ProductionVariant, SageMakerClient, SageMakerServiceException, UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { Template } from 'aws-cdk-lib/assertions';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import * as approval from '../../lambda/model-approval';
import { ACCOUNTS, decide, expectAllowed, type FoundResource, REGION, synthesizedPlatform, type SynthesizedPlatform } from './support';
import { matchesPattern } from './model-world';

// An instance type change of an autoscaled variant, over the synthesized platform (everything on, separate accounts):
// the handler that deregisters and restores the scalable target may do exactly that, and the event it records
// reaches its own queue. The handler's behaviour runs in test/lambda/model-approval/scaling.test.ts.
describe('instance type change of an autoscaled endpoint: permissions and routing of the approval handler', () => {
  let platform: SynthesizedPlatform;
  let fn: FoundResource;
  let role: string;
  const endpointName = () => JSON.parse(fn.properties.Environment.Variables.DEPLOYMENT_SPEC).EndpointName as string;
  const target = (id: string) => `arn:aws:application-autoscaling:${REGION}:${ACCOUNTS.prod}:scalable-target/${id}`;
  const aas = (action: string, resource: string, namespace = 'sagemaker', dimension = 'sagemaker:variant:DesiredInstanceCount') => ({
    principal: role, action: `application-autoscaling:${action}`, resource,
    context: { 'application-autoscaling:service-namespace': namespace, 'application-autoscaling:scalable-dimension': dimension },
  });

  beforeAll(() => {
    platform = synthesizedPlatform('allOn');
    fn = platform.only('AWS::Lambda::Function', 'prod/SageMaker', (f) => {
      const spec = f.properties.Environment?.Variables?.DEPLOYMENT_SPEC;
      return !!spec && (JSON.parse(spec).AutoScaledVariants ?? []).length > 0 && JSON.parse(spec).ProductionVariants[0].InstanceType === 'ml.m5.large'
        && !JSON.parse(spec).AsyncInferenceConfig;
    });
    role = platform.byIdentifier(fn.properties.Role)!.arn;
  });

  test('the CloudFormation target the handler deregisters is this endpoint\'s variant, in the namespace and dimension the grant names', () => {
    const targets = platform.resources('AWS::ApplicationAutoScaling::ScalableTarget', { stack: 'prod/SageMaker', filter: (t) => String(t.properties.ResourceId).startsWith(`endpoint/${endpointName()}/`) });
    expect(targets.map((t) => [t.properties.ServiceNamespace, t.properties.ScalableDimension, t.properties.ResourceId])).toEqual([
      ['sagemaker', 'sagemaker:variant:DesiredInstanceCount', `endpoint/${endpointName()}/variant/AllTraffic`],
    ]);
  });

  test('the handler may read, deregister and register a SageMaker variant target and put its policies back', async () => {
    await expectAllowed(platform,
      { principal: role, action: 'application-autoscaling:DescribeScalableTargets', resource: '*' },
      { principal: role, action: 'application-autoscaling:DescribeScalingPolicies', resource: '*' },
      aas('DeregisterScalableTarget', target('1234abcd56ab78cd901ef1234567890ab123')),
      aas('RegisterScalableTarget', target('1234abcd56ab78cd901ef1234567890ab123')),
      aas('PutScalingPolicy', target('1234abcd56ab78cd901ef1234567890ab123')),
      {
        principal: role, action: 'iam:CreateServiceLinkedRole',
        resource: `arn:aws:iam::${ACCOUNTS.prod}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`,
        context: { 'iam:AWSServiceName': 'sagemaker.application-autoscaling.amazonaws.com' },
      },
      { principal: role, action: 'sagemaker:UpdateEndpointWeightsAndCapacities', resource: `arn:aws:sagemaker:${REGION}:${ACCOUNTS.prod}:endpoint/${endpointName().toLowerCase()}` },
      {
        principal: role, action: 'events:PutEvents', resource: `arn:aws:events:${REGION}:${ACCOUNTS.prod}:event-bus/default`,
        context: { 'events:source': ['cdk-mlops.model-approval'], 'events:detail-type': ['Endpoint Scaling Suspended'] },
      },
    );
  });

  test('and nothing else: other namespaces, dimensions, another account\'s targets, other event sources are denied', async () => {
    expect(await decide(platform, aas('DeregisterScalableTarget', target('x'), 'ecs', 'ecs:service:DesiredCount'))).toBe('ImplicitlyDenied');
    expect(await decide(platform, aas('RegisterScalableTarget', target('x'), 'sagemaker', 'sagemaker:variant:DesiredProvisionedConcurrency'))).toBe('ImplicitlyDenied');
    expect(await decide(platform, aas('DeleteScalingPolicy', target('x')))).toBe('ImplicitlyDenied');
    expect(await decide(platform, aas('PutScalingPolicy', `arn:aws:application-autoscaling:${REGION}:${ACCOUNTS.staging}:scalable-target/x`))).toBe('ImplicitlyDenied');
    expect(await decide(platform, {
      principal: role, action: 'events:PutEvents', resource: `arn:aws:events:${REGION}:${ACCOUNTS.prod}:event-bus/default`,
      context: { 'events:source': ['aws.sagemaker'], 'events:detail-type': ['SageMaker Model Package State Change'] },
    })).toBe('ImplicitlyDenied');
    // One forged entry among the record's is enough to deny the call.
    expect(await decide(platform, {
      principal: role, action: 'events:PutEvents', resource: `arn:aws:events:${REGION}:${ACCOUNTS.prod}:event-bus/default`,
      context: { 'events:source': ['cdk-mlops.model-approval', 'cdk-mlops.other'], 'events:detail-type': ['Endpoint Scaling Suspended'] },
    })).toBe('ImplicitlyDenied');
  });

  test('the event the handler records reaches its own approval queue, and no other endpoint\'s', () => {
    const rules = platform.resources('AWS::Events::Rule', { stack: 'prod/SageMaker', filter: (r) => r.properties.EventPattern?.source?.[0] === 'cdk-mlops.model-approval' });
    // The entry as lambda/model-approval/scaling.ts puts it, with EventBridge's envelope.
    const event = (name: string) => ({
      version: '0', id: 'e1', source: 'cdk-mlops.model-approval', 'detail-type': 'Endpoint Scaling Suspended', account: ACCOUNTS.prod, region: REGION,
      time: '2026-12-02T03:00:00Z', resources: [], detail: { EndpointName: name, FromEndpointConfigName: 'a', EndpointConfigName: 'b', Targets: [] },
    });
    const matching = rules.filter((r) => matchesPattern(r.properties.EventPattern, event(endpointName())));
    expect(matching).toHaveLength(1);
    expect(rules.filter((r) => matchesPattern(r.properties.EventPattern, event(`${endpointName()}-other`)))).toEqual([]);
    // Its target is the queue the handler reads.
    const mapping = platform.only('AWS::Lambda::EventSourceMapping', 'prod/SageMaker', (m) => platform.byIdentifier(m.properties.FunctionName)?.logicalId === fn.logicalId);
    const queueArn = platform.byIdentifier(mapping.properties.EventSourceArn)!.arn;
    expect(matching[0].properties.Targets.map((t: { Arn: string }) => platform.byIdentifier(t.Arn)!.arn)).toEqual([queueArn]);
  });

  test('an endpoint without autoscaling gets neither the rule nor the grants', async () => {
    const serverless = platform.only('AWS::Lambda::Function', 'prod/SageMaker', (f) => {
      const spec = f.properties.Environment?.Variables?.DEPLOYMENT_SPEC;
      return !!spec && JSON.parse(spec).ProductionVariants[0].ServerlessConfig !== undefined;
    });
    const serverlessRole = platform.byIdentifier(serverless.properties.Role)!.arn;
    expect(await decide(platform, { ...aas('DeregisterScalableTarget', target('x')), principal: serverlessRole })).toBe('ImplicitlyDenied');
  });
});

// An asynchronous endpoint scales from zero with a step scaling policy whose alarm is the stack's own: after the
// type change the handler puts the policy back (a new ARN) and must point that alarm at it. Stateful stand-ins for
// SageMaker, Application Auto Scaling, EventBridge and CloudWatch start from the synthesized prod stack (target,
// policies, alarm, as CloudFormation creates them); the synthesized handler environment and rule are used as is.
describe('instance type change of an asynchronous endpoint: the scale-from-zero alarm runs the live policy afterwards', () => {
  const sm = mockClient(SageMakerClient);
  const aas = mockClient(ApplicationAutoScalingClient);
  const eb = mockClient(EventBridgeClient);
  const cw = mockClient(CloudWatchClient);
  let platform: SynthesizedPlatform;
  let fn: FoundResource;
  let alarm: FoundResource;
  let spec: { EndpointName: string; ProductionVariants: { VariantName: string; InstanceType: string }[] };
  const state = {
    endpoint: { status: 'InService', config: 'acme-ml-prod-async-v1-0a1b2c3d' },
    configs: new Map<string, { VariantName: string; InstanceType: string }[]>(),
    targets: new Map<string, { MinCapacity: number; MaxCapacity: number }>(),
    policies: new Map<string, ScalingPolicy[]>(),
    alarms: new Map<string, MetricAlarm>(),
    events: [] as PutEventsRequestEntry[],
  };
  let ids = 0;
  const policyArn = (resourceId: string, name: string) => `arn:aws:autoscaling:${REGION}:${ACCOUNTS.prod}:scalingPolicy:${(++ids).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000:resource/sagemaker/${resourceId}:policyName/${name}`;
  const packageArn = (v: number) => `arn:aws:sagemaker:${REGION}:${ACCOUNTS.prod}:model-package/acme-ml-prod-async/${v}`;

  beforeAll(() => {
    platform = synthesizedPlatform('allOn');
    fn = platform.only('AWS::Lambda::Function', 'prod/SageMaker', (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === 'acme-ml-prod-async');
    const env = fn.properties.Environment.Variables as Record<string, string>;
    spec = JSON.parse(env.DEPLOYMENT_SPEC);
    const [scalingAlarm] = JSON.parse(env.SCALING_ALARMS) as { VariantName: string; PolicyName: string; AlarmName: string }[];
    alarm = platform.only('AWS::CloudWatch::Alarm', 'prod/SageMaker', (a) => a.ref === scalingAlarm.AlarmName);
    Object.assign(process.env, env);

    // CloudFormation's resources: the scalable target, its policies (Ref of a policy is its ARN), the alarm naming one.
    const target = platform.only('AWS::ApplicationAutoScaling::ScalableTarget', 'prod/SageMaker', (t) => t.properties.ResourceId === `endpoint/${spec.EndpointName}/variant/AllTraffic`);
    const resourceId = target.properties.ResourceId as string;
    state.targets.set(resourceId, { MinCapacity: target.properties.MinCapacity, MaxCapacity: target.properties.MaxCapacity });
    const policies = platform.resources('AWS::ApplicationAutoScaling::ScalingPolicy', { stack: 'prod/SageMaker', filter: (p) => p.raw.Properties.ScalingTargetId?.Ref === target.logicalId });
    const arnOf = new Map<string, string>();
    state.policies.set(resourceId, policies.map((p) => {
      const arn = policyArn(resourceId, p.properties.PolicyName);
      arnOf.set(p.logicalId, arn);
      return { PolicyARN: arn, PolicyName: p.properties.PolicyName, PolicyType: p.properties.PolicyType, ServiceNamespace: 'sagemaker', ResourceId: resourceId,
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', TargetTrackingScalingPolicyConfiguration: p.properties.TargetTrackingScalingPolicyConfiguration,
        StepScalingPolicyConfiguration: p.properties.StepScalingPolicyConfiguration, CreationTime: new Date() };
    }));
    const { Tags: _tags, AlarmActions: _actions, ...definition } = alarm.properties;
    state.alarms.set(alarm.ref, {
      ...definition, AlarmName: alarm.ref, AlarmArn: alarm.arn, ActionsEnabled: true, OKActions: [], InsufficientDataActions: [],
      AlarmActions: (alarm.raw.Properties.AlarmActions as { Ref: string }[]).map((a) => arnOf.get(a.Ref)!), StateValue: 'OK',
    });
    // The endpoint runs v1 on another instance type than the template's.
    state.configs.set(state.endpoint.config, spec.ProductionVariants.map((v) => ({ VariantName: v.VariantName, InstanceType: 'ml.c5.large' })));

    const invalid = (message: string) => new SageMakerServiceException({ name: 'ValidationException', message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
    sm.on(DescribeModelPackageCommand).callsFake((i) => ({ ModelPackageArn: i.ModelPackageName, ModelApprovalStatus: 'Approved' }));
    sm.on(DescribeEndpointCommand).callsFake(() => ({ EndpointName: spec.EndpointName, EndpointStatus: state.endpoint.status, EndpointConfigName: state.endpoint.config }));
    sm.on(DescribeEndpointConfigCommand).callsFake((i) => {
      const variants = state.configs.get(i.EndpointConfigName);
      if (!variants) throw invalid(`Could not find endpoint configuration "${i.EndpointConfigName}".`);
      return { EndpointConfigName: i.EndpointConfigName, ProductionVariants: variants };
    });
    sm.on(DescribeModelCommand).rejects(invalid('Could not find model.'));
    sm.on(CreateModelCommand).resolves({});
    sm.on(CreateEndpointConfigCommand).callsFake((i) => {
      state.configs.set(i.EndpointConfigName, i.ProductionVariants.map((v: ProductionVariant) => ({ VariantName: v.VariantName!, InstanceType: v.InstanceType! })));
      return {};
    });
    sm.on(UpdateEndpointCommand).callsFake((i) => {
      const from = new Map(state.configs.get(state.endpoint.config)!.map((v) => [v.VariantName, v.InstanceType]));
      for (const v of state.configs.get(i.EndpointConfigName)!) {
        if (from.get(v.VariantName) !== v.InstanceType && state.targets.has(`endpoint/${spec.EndpointName}/variant/${v.VariantName}`)) {
          throw invalid(`The variant(s) "[${v.VariantName}]" must be deregistered as scalable targets with AWS Application Auto Scaling before they can be updated.`);
        }
      }
      state.endpoint = { status: 'Updating', config: i.EndpointConfigName };
      return {};
    });
    aas.on(DescribeScalableTargetsCommand).callsFake((i) => ({
      ScalableTargets: i.ResourceIds.filter((id: string) => state.targets.has(id)).map((id: string) => ({ ServiceNamespace: 'sagemaker', ResourceId: id, ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', ...state.targets.get(id), CreationTime: new Date() })),
    }));
    aas.on(DescribeScalingPoliciesCommand).callsFake((i) => ({ ScalingPolicies: state.policies.get(i.ResourceId) ?? [] }));
    aas.on(DeregisterScalableTargetCommand).callsFake((i) => {
      state.targets.delete(i.ResourceId);
      state.policies.delete(i.ResourceId); // its policies go with it; their alarms stay, naming the deleted ARNs
      return {};
    });
    aas.on(RegisterScalableTargetCommand).callsFake((i) => { state.targets.set(i.ResourceId, { MinCapacity: i.MinCapacity, MaxCapacity: i.MaxCapacity }); return {}; });
    aas.on(PutScalingPolicyCommand).callsFake((i) => {
      if (!state.targets.has(i.ResourceId)) throw new Error('ObjectNotFoundException: No scalable target registered');
      const arn = policyArn(i.ResourceId, i.PolicyName);
      state.policies.set(i.ResourceId, [...(state.policies.get(i.ResourceId) ?? []).filter((p) => p.PolicyName !== i.PolicyName), { ...i, PolicyARN: arn }]);
      return { PolicyARN: arn };
    });
    eb.on(PutEventsCommand).callsFake((i) => { state.events.push(...i.Entries); return { FailedEntryCount: 0, Entries: i.Entries.map(() => ({ EventId: 'e1' })) }; });
    cw.on(DescribeAlarmsCommand).callsFake((i) => ({ MetricAlarms: i.AlarmNames.filter((n: string) => state.alarms.has(n)).map((n: string) => structuredClone(state.alarms.get(n)!)) }));
    cw.on(PutMetricAlarmCommand).callsFake((i) => {
      const was = state.alarms.get(i.AlarmName)!;
      state.alarms.set(i.AlarmName, { AlarmArn: was.AlarmArn, StateValue: was.StateValue, ...i });
      return {};
    });
    for (const level of ['info', 'warn', 'error'] as const) jest.spyOn(approval.logger, level).mockImplementation(() => undefined);
    jest.spyOn(approval.metrics, 'addMetric').mockImplementation(() => approval.metrics);
    jest.spyOn(approval.metrics, 'publishStoredMetrics').mockImplementation(() => approval.metrics);
  });
  afterAll(() => {
    jest.restoreAllMocks();
    for (const m of [sm, aas, eb, cw]) m.restore();
  });

  const sqs = (body: unknown, receiveCount: number): SQSEvent => ({
    Records: [{ messageId: `m${receiveCount}`, receiptHandle: 'r', body: JSON.stringify(body), messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn', awsRegion: REGION,
      attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: 'events', ApproximateFirstReceiveTimestamp: '0' } }],
  });
  const stepPolicy = () => state.policies.get(`endpoint/${spec.EndpointName}/variant/AllTraffic`)?.find((p) => p.PolicyType === 'StepScaling');

  test('v2 on the template\'s type: deregistered for the update, restored after it, and the alarm names the policy put back', async () => {
    const before = structuredClone(state.alarms.get(alarm.ref)!);
    const deleted = stepPolicy()!.PolicyARN;
    expect(before.AlarmActions).toEqual([deleted]);
    const approvedEvent = { version: '0', id: 'a1', source: 'aws.sagemaker', 'detail-type': 'SageMaker Model Package State Change', account: ACCOUNTS.prod, region: REGION, time: '2026-12-02T03:00:00Z', resources: [packageArn(2)],
      detail: { ModelPackageGroupName: 'acme-ml-prod-async', ModelPackageVersion: 2, ModelPackageArn: packageArn(2), ModelApprovalStatus: 'Approved' } };
    expect((await approval.handler(sqs(approvedEvent, 1)) as SQSBatchResponse).batchItemFailures).toEqual([]);
    expect(state.endpoint.status).toBe('Updating');
    expect(stepPolicy()).toBeUndefined();

    // The record reaches the handler's queue through the synthesized rule; once the update ends, scaling comes back.
    expect(state.events).toHaveLength(1);
    const recorded = { version: '0', id: 'e1', source: state.events[0].Source, 'detail-type': state.events[0].DetailType, account: ACCOUNTS.prod, region: REGION, time: '2026-12-02T03:01:00Z', resources: [], detail: JSON.parse(state.events[0].Detail!) };
    const rule = platform.only('AWS::Events::Rule', 'prod/SageMaker', (r) => r.properties.EventPattern?.source?.[0] === 'cdk-mlops.model-approval' && matchesPattern(r.properties.EventPattern, recorded));
    const mapping = platform.only('AWS::Lambda::EventSourceMapping', 'prod/SageMaker', (m) => platform.byIdentifier(m.properties.FunctionName)?.logicalId === fn.logicalId);
    expect(rule.properties.Targets.map((t: { Arn: string }) => platform.byIdentifier(t.Arn)!.arn)).toEqual([platform.byIdentifier(mapping.properties.EventSourceArn)!.arn]);
    state.endpoint.status = 'InService';
    expect((await approval.handler(sqs(recorded, 2)) as SQSBatchResponse).batchItemFailures).toEqual([]);

    const live = stepPolicy()!.PolicyARN!;
    expect(live).not.toBe(deleted);
    const after = state.alarms.get(alarm.ref)!;
    expect(after.AlarmActions).toEqual([live]);
    // Everything else as CloudFormation created it.
    const { AlarmActions: _a, ...rest } = after;
    const { AlarmActions: _b, ...was } = before;
    expect(rest).toEqual(was);
  });

  test('the stack stays deployable: the handler knows the alarm by name, not by a reference that would close a dependency cycle', () => {
    // alarm → policy → target → endpoint → config → Custom::ServedModel → handler: a Ref or GetAtt of the alarm there is a cycle.
    expect(alarm.raw.Properties.AlarmName).toBe(`${spec.EndpointName}-AllTraffic-scale-from-zero`);
    expect(() => Template.fromJSON(platform.stack('prod/SageMaker').template as Record<string, unknown>)).not.toThrow();
  });

  test('the handler role may read and rewrite exactly that alarm, and no other', async () => {
    const role = platform.byIdentifier(fn.properties.Role)!.arn;
    expect(alarm.arn).toBe(`arn:aws:cloudwatch:${REGION}:${ACCOUNTS.prod}:alarm:${alarm.ref}`);
    await expectAllowed(platform,
      { principal: role, action: 'cloudwatch:DescribeAlarms', resource: alarm.arn },
      { principal: role, action: 'cloudwatch:PutMetricAlarm', resource: alarm.arn });
    const others = platform.resources('AWS::CloudWatch::Alarm', { stack: 'prod/SageMaker', filter: (a) => a.logicalId !== alarm.logicalId });
    expect(others.length).toBeGreaterThan(0);
    for (const other of others) expect(await decide(platform, { principal: role, action: 'cloudwatch:PutMetricAlarm', resource: other.arn })).toBe('ImplicitlyDenied');
    expect(await decide(platform, { principal: role, action: 'cloudwatch:DeleteAlarms', resource: alarm.arn })).toBe('ImplicitlyDenied');
    // The real-time endpoint's handler (target tracking only) gets no CloudWatch write at all.
    const realtime = platform.byIdentifier(platform.only('AWS::Lambda::Function', 'prod/SageMaker', (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === 'acme-ml-prod-realtime').properties.Role)!.arn;
    expect(await decide(platform, { principal: realtime, action: 'cloudwatch:PutMetricAlarm', resource: alarm.arn })).toBe('ImplicitlyDenied');
  });
});
