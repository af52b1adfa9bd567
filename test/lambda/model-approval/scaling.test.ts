import {
  ApplicationAutoScalingClient, DeregisterScalableTargetCommand, DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand, RegisterScalableTargetCommand, type ScalingPolicy,
} from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm, PutMetricAlarmCommand, type PutMetricAlarmInput } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand,
  DescribeModelPackageCommand, SageMakerClient, SageMakerServiceException, UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { deploy, type DeploymentSpec, handler, logger, metrics, resourceName, SCALING_EVENT_SOURCE, SCALING_SUSPENDED } from '../../../lambda/model-approval';

const GROUP = 'churn';
const PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/3';
const PREFIX = 'mlops-dev-churn';
const RESOURCE_ID = 'endpoint/mlops-dev-churn/variant/AllTraffic';
const OLD_CONFIG = resourceName(PREFIX, 2, 'arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/2');
const NEW_CONFIG = resourceName(PREFIX, 3, PACKAGE_ARN);
const SPEC: DeploymentSpec = {
  EndpointName: 'mlops-dev-churn',
  ExecutionRoleArn: 'arn:aws:iam::111111111111:role/endpoint-role',
  EnableNetworkIsolation: true,
  ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.c5.xlarge', InitialInstanceCount: 2, InitialVariantWeight: 1 }],
  AutoScaledVariants: ['AllTraffic'],
};
const cfg = (spec: Partial<DeploymentSpec> = {}) => ({ spec: { ...SPEC, ...spec }, groupName: GROUP, namePrefix: PREFIX });

// What `SageMakerEndpoint` registers (CloudFormation's target and its target tracking policy), as DescribeScalingPolicies returns it.
const POLICY: ScalingPolicy = {
  PolicyARN: 'arn:aws:autoscaling:us-east-1:111111111111:scalingPolicy:1a2b:resource/sagemaker/endpoint/mlops-dev-churn/variant/AllTraffic:policyName/ChurnScalingInvocations',
  PolicyName: 'ChurnScalingInvocations',
  ServiceNamespace: 'sagemaker',
  ResourceId: RESOURCE_ID,
  ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
  PolicyType: 'TargetTrackingScaling',
  TargetTrackingScalingPolicyConfiguration: {
    TargetValue: 100, PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' }, ScaleInCooldown: 300, ScaleOutCooldown: 60,
  },
  Alarms: [{ AlarmName: 'TargetTracking-endpoint/mlops-dev-churn/variant/AllTraffic-AlarmHigh-1', AlarmARN: 'arn:aws:cloudwatch:us-east-1:111111111111:alarm:TargetTracking-1' }],
  CreationTime: new Date('2026-11-20T10:00:00Z'),
};

const sm = mockClient(SageMakerClient);
const aas = mockClient(ApplicationAutoScalingClient);
const eb = mockClient(EventBridgeClient);
const cw = mockClient(CloudWatchClient);
/** Application Auto Scaling's ARN of a policy: a new id each time the policy is put. */
const policyArn = (id: string, resourceId: string, name: string) => `arn:aws:autoscaling:us-east-1:111111111111:scalingPolicy:${id}:resource/sagemaker/${resourceId}:policyName/${name}`;
let policyIds = 0;

const validation = (message: string) => new SageMakerServiceException({ name: 'ValidationException', message, $fault: 'client', $metadata: { httpStatusCode: 400 } });

/** SageMaker, Application Auto Scaling and EventBridge as one account: what each call changes, the next one sees. */
interface World {
  endpoint: { EndpointStatus: string; EndpointConfigName: string; PendingConfig?: string };
  configs: Map<string, { VariantName: string; InstanceType: string; ModelName?: string }[]>;
  targets: Map<string, { MinCapacity: number; MaxCapacity: number }>;
  policies: Map<string, ScalingPolicy[]>;
  events: PutEventsRequestEntry[];
  updateFails?: Error;
}

function world(): World {
  const w: World = {
    endpoint: { EndpointStatus: 'InService', EndpointConfigName: OLD_CONFIG },
    configs: new Map([[OLD_CONFIG, [{ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', ModelName: OLD_CONFIG }]]]),
    targets: new Map([[RESOURCE_ID, { MinCapacity: 2, MaxCapacity: 6 }]]),
    policies: new Map([[RESOURCE_ID, [POLICY]]]),
    events: [],
  };
  sm.on(DescribeModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN, ModelApprovalStatus: 'Approved' } as never);
  sm.on(DescribeEndpointCommand).callsFake(() => ({
    EndpointName: SPEC.EndpointName, EndpointStatus: w.endpoint.EndpointStatus, EndpointConfigName: w.endpoint.EndpointConfigName,
    ...(w.endpoint.PendingConfig ? { PendingDeploymentSummary: { EndpointConfigName: w.endpoint.PendingConfig } } : {}),
  }));
  sm.on(DescribeModelCommand).rejects(validation('Could not find model.'));
  sm.on(CreateModelCommand).resolves({});
  sm.on(DescribeEndpointConfigCommand).callsFake((input: { EndpointConfigName: string }) => {
    const variants = w.configs.get(input.EndpointConfigName);
    if (!variants) throw validation(`Could not find endpoint configuration "${input.EndpointConfigName}".`);
    return { EndpointConfigName: input.EndpointConfigName, ProductionVariants: variants };
  });
  sm.on(CreateEndpointConfigCommand).callsFake((input: { EndpointConfigName: string; ProductionVariants: { VariantName: string; InstanceType: string }[] }) => {
    w.configs.set(input.EndpointConfigName, input.ProductionVariants.map((v) => ({ VariantName: v.VariantName, InstanceType: v.InstanceType })));
    return {};
  });
  sm.on(UpdateEndpointCommand).callsFake((input: { EndpointConfigName: string }) => {
    if (w.updateFails) throw w.updateFails;
    const from = new Map(w.configs.get(w.endpoint.EndpointConfigName)!.map((v) => [v.VariantName, v.InstanceType]));
    for (const v of w.configs.get(input.EndpointConfigName)!) {
      // What SageMaker answers when a variant with a scalable target changes its instance type.
      if (from.get(v.VariantName) !== v.InstanceType && w.targets.has(`endpoint/${SPEC.EndpointName}/variant/${v.VariantName}`)) {
        throw validation(`The variant(s) "[${v.VariantName}]" must be deregistered as scalable targets with AWS Application Auto Scaling before they can be updated.`);
      }
    }
    w.endpoint = { ...w.endpoint, EndpointStatus: 'Updating', PendingConfig: input.EndpointConfigName };
    return {};
  });
  aas.on(DescribeScalableTargetsCommand).callsFake((input: { ResourceIds: string[] }) => ({
    ScalableTargets: input.ResourceIds.filter((id) => w.targets.has(id)).map((id) => ({
      ServiceNamespace: 'sagemaker', ResourceId: id, ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', ...w.targets.get(id),
      RoleARN: 'arn:aws:iam::111111111111:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
      CreationTime: new Date(), SuspendedState: { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false },
    })),
  }));
  aas.on(DescribeScalingPoliciesCommand).callsFake((input: { ResourceId: string }) => ({ ScalingPolicies: w.policies.get(input.ResourceId) ?? [] }));
  aas.on(DeregisterScalableTargetCommand).callsFake((input: { ResourceId: string }) => {
    w.targets.delete(input.ResourceId);
    w.policies.delete(input.ResourceId); // deregistering deletes the target's policies
    return {};
  });
  aas.on(RegisterScalableTargetCommand).callsFake((input: { ResourceId: string; MinCapacity: number; MaxCapacity: number }) => {
    w.targets.set(input.ResourceId, { MinCapacity: input.MinCapacity, MaxCapacity: input.MaxCapacity });
    return {};
  });
  aas.on(PutScalingPolicyCommand).callsFake((input: ScalingPolicy) => {
    if (!w.targets.has(input.ResourceId!)) throw new Error('ObjectNotFoundException: No scalable target registered');
    const others = (w.policies.get(input.ResourceId!) ?? []).filter((p) => p.PolicyName !== input.PolicyName);
    const arn = policyArn(`put-${++policyIds}`, input.ResourceId!, input.PolicyName!);
    w.policies.set(input.ResourceId!, [...others, { ...input, PolicyARN: arn }]);
    return { PolicyARN: arn };
  });
  eb.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    w.events.push(...input.Entries);
    return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'e1' })) };
  });
  return w;
}

/** The recorded event as EventBridge delivers it to the approval queue (envelope of a PutEvents entry). */
const delivered = (entry: PutEventsRequestEntry) => ({
  version: '0', id: 'e1', 'detail-type': entry.DetailType, source: entry.Source, account: '111111111111', time: '2026-12-02T03:00:00Z',
  region: 'us-east-1', resources: [], detail: JSON.parse(entry.Detail!),
});
const sqs = (body: unknown, receiveCount = 1): SQSEvent => ({
  Records: [{
    messageId: 'm1', receiptHandle: 'r1', body: JSON.stringify(body), messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111111111111:approvals', awsRegion: 'us-east-1',
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: 'events', ApproximateFirstReceiveTimestamp: '0' },
  }],
});
const approved = {
  version: '0', id: 'b4c5', source: 'aws.sagemaker', 'detail-type': 'SageMaker Model Package State Change', account: '111111111111', region: 'us-east-1',
  time: '2026-12-02T02:59:00Z', resources: [PACKAGE_ARN],
  detail: { ModelPackageGroupName: GROUP, ModelPackageVersion: 3, ModelPackageArn: PACKAGE_ARN, ModelApprovalStatus: 'Approved' },
};
const failures = (r: unknown) => (r as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier);

beforeAll(() => {
  process.env.DEPLOYMENT_SPEC = JSON.stringify(SPEC);
  process.env.MODEL_PACKAGE_GROUP_NAME = GROUP;
  process.env.RESOURCE_NAME_PREFIX = PREFIX;
});
let logged: { level: string; message: string }[] = [];
beforeEach(() => {
  sm.reset();
  aas.reset();
  eb.reset();
  cw.reset();
  logged = [];
  jest.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  for (const level of ['info', 'warn', 'error'] as const) {
    jest.spyOn(logger, level).mockImplementation(((message: string) => void logged.push({ level, message })) as never);
  }
});
afterEach(() => jest.restoreAllMocks());

describe('instance type change of an autoscaled variant', () => {
  test('the emulated SageMaker rejects the change while the target is registered (the failure this handles)', async () => {
    const w = world();
    await expect(deploy(approved, cfg({ AutoScaledVariants: [] }))).rejects.toThrow(/must be deregistered as scalable targets/);
    expect(w.endpoint.EndpointStatus).toBe('InService');
  });

  test('target deregistered for the update, the new type starts at the config\'s count, and the same target and policy come back after it', async () => {
    const w = world();
    expect(await deploy(approved, cfg())).toBe('deployed');

    // During the update: no target, no policy; the update was accepted.
    expect(w.targets.has(RESOURCE_ID)).toBe(false);
    expect(w.policies.has(RESOURCE_ID)).toBe(false);
    expect(w.endpoint).toMatchObject({ EndpointStatus: 'Updating', PendingConfig: NEW_CONFIG });
    expect(sm.commandCalls(UpdateEndpointCommand)[0].args[0].input).toMatchObject({
      RetainAllVariantProperties: true,
      ExcludeRetainedVariantProperties: [{ VariantPropertyType: 'DesiredWeight' }, { VariantPropertyType: 'DataCaptureConfig' }, { VariantPropertyType: 'DesiredInstanceCount' }],
    });
    // What to restore is recorded before the update starts.
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ Source: SCALING_EVENT_SOURCE, DetailType: SCALING_SUSPENDED });
    expect(JSON.parse(w.events[0].Detail!)).toMatchObject({ EndpointName: 'mlops-dev-churn', FromEndpointConfigName: OLD_CONFIG, EndpointConfigName: NEW_CONFIG });

    // The event reaches the queue while the endpoint is still updating: deferred (SQS delivers it again).
    expect(failures(await handler(sqs(delivered(w.events[0]))))).toEqual(['m1']);
    expect(w.targets.has(RESOURCE_ID)).toBe(false);

    // The update ends: the same capacity range and the same policy configuration are back.
    w.endpoint = { EndpointStatus: 'InService', EndpointConfigName: NEW_CONFIG };
    expect(failures(await handler(sqs(delivered(w.events[0]), 2)))).toEqual([]);
    expect(w.targets.get(RESOURCE_ID)).toEqual({ MinCapacity: 2, MaxCapacity: 6 });
    expect(w.policies.get(RESOURCE_ID)).toEqual([expect.objectContaining({
      PolicyName: POLICY.PolicyName, PolicyType: POLICY.PolicyType, TargetTrackingScalingPolicyConfiguration: POLICY.TargetTrackingScalingPolicyConfiguration,
    })]);

    // A duplicate delivery changes nothing.
    const puts = aas.commandCalls(PutScalingPolicyCommand).length;
    expect(failures(await handler(sqs(delivered(w.events[0]), 3)))).toEqual([]);
    expect(aas.commandCalls(PutScalingPolicyCommand)).toHaveLength(puts);
    expect(aas.commandCalls(RegisterScalableTargetCommand)).toHaveLength(1);
    // Target tracking alarms belong to their policy: without step scaling alarms (SCALING_ALARMS) CloudWatch is not called.
    expect(cw.calls()).toHaveLength(0);
  });

  test('same instance type: the target is untouched and the update keeps the current count', async () => {
    const w = world();
    expect(await deploy(approved, cfg({ ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', InitialInstanceCount: 2 }] }))).toBe('deployed');
    expect(aas.commandCalls(DeregisterScalableTargetCommand)).toHaveLength(0);
    expect(aas.calls()).toHaveLength(0);
    expect(w.events).toEqual([]);
    expect(sm.commandCalls(UpdateEndpointCommand)[0].args[0].input.ExcludeRetainedVariantProperties).toEqual([
      { VariantPropertyType: 'DesiredWeight' }, { VariantPropertyType: 'DataCaptureConfig' },
    ]);
  });

  test('an update that fails to start registers the target and its policy again at once', async () => {
    const w = world();
    w.updateFails = validation('Cannot update in-progress endpoint');
    const result = await handler(sqs(approved));
    expect(failures(result)).toEqual(['m1']); // retried later, from the start
    expect(w.targets.get(RESOURCE_ID)).toEqual({ MinCapacity: 2, MaxCapacity: 6 });
    expect(w.policies.get(RESOURCE_ID)?.map((p) => p.PolicyName)).toEqual([POLICY.PolicyName]);
  });

  test('when the record cannot be written, nothing is left deregistered and the update does not start', async () => {
    const w = world();
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });
    await expect(deploy(approved, cfg())).rejects.toThrow(/Could not record the suspended scaling/);
    expect(w.targets.get(RESOURCE_ID)).toEqual({ MinCapacity: 2, MaxCapacity: 6 });
    expect(w.policies.get(RESOURCE_ID)?.map((p) => p.PolicyName)).toEqual([POLICY.PolicyName]);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  test('an update rolled back (endpoint back on the old config): restored on the next delivery, not the first', async () => {
    const w = world();
    await deploy(approved, cfg());
    w.endpoint = { EndpointStatus: 'InService', EndpointConfigName: OLD_CONFIG };
    // First delivery cannot tell "not started yet" from "rolled back": wait one retry interval.
    expect(failures(await handler(sqs(delivered(w.events[0]), 1)))).toEqual(['m1']);
    expect(w.targets.has(RESOURCE_ID)).toBe(false);
    expect(failures(await handler(sqs(delivered(w.events[0]), 2)))).toEqual([]);
    expect(w.targets.get(RESOURCE_ID)).toEqual({ MinCapacity: 2, MaxCapacity: 6 });
  });

  test('a stack deploy that changed the capacity registered the target meanwhile: its range wins, only the missing policy is put back', async () => {
    const w = world();
    await deploy(approved, cfg());
    w.endpoint = { EndpointStatus: 'InService', EndpointConfigName: NEW_CONFIG };
    w.targets.set(RESOURCE_ID, { MinCapacity: 3, MaxCapacity: 10 }); // CloudFormation's RegisterScalableTarget
    expect(failures(await handler(sqs(delivered(w.events[0]), 2)))).toEqual([]);
    expect(w.targets.get(RESOURCE_ID)).toEqual({ MinCapacity: 3, MaxCapacity: 10 });
    expect(aas.commandCalls(RegisterScalableTargetCommand)).toHaveLength(0);
    expect(w.policies.get(RESOURCE_ID)?.map((p) => p.PolicyName)).toEqual([POLICY.PolicyName]);
  });

  test('a scaling event for another endpoint or variant is ignored (anyone with events:PutEvents can send one)', async () => {
    const w = world();
    w.targets.clear();
    const forged = (detail: Record<string, unknown>) => ({ ...delivered({ Source: SCALING_EVENT_SOURCE, DetailType: SCALING_SUSPENDED, Detail: '{}' }), detail });
    const target = { VariantName: 'AllTraffic', ResourceId: RESOURCE_ID, MinCapacity: 1, MaxCapacity: 500, Policies: [] };
    for (const detail of [
      { EndpointName: 'other', FromEndpointConfigName: OLD_CONFIG, EndpointConfigName: NEW_CONFIG, Targets: [{ ...target, ResourceId: 'endpoint/other/variant/AllTraffic' }] },
      { EndpointName: 'mlops-dev-churn', FromEndpointConfigName: OLD_CONFIG, EndpointConfigName: NEW_CONFIG, Targets: [{ ...target, ResourceId: 'endpoint/other/variant/AllTraffic' }] },
      { EndpointName: 'mlops-dev-churn', FromEndpointConfigName: OLD_CONFIG, EndpointConfigName: NEW_CONFIG, Targets: [{ ...target, VariantName: 'Shadow', ResourceId: 'endpoint/mlops-dev-churn/variant/Shadow' }] },
    ]) {
      expect(failures(await handler(sqs(forged(detail), 2)))).toEqual([]);
    }
    expect(aas.commandCalls(RegisterScalableTargetCommand)).toHaveLength(0);
    expect(logged.filter((l) => l.message.startsWith('Not a scaling event of this endpoint'))).toHaveLength(3);
  });
});

describe('instance type change by a stack deploy (Custom::ServedModel)', () => {
  let responses: { Status: string }[];
  beforeEach(() => {
    responses = [];
    jest.spyOn(globalThis, 'fetch').mockImplementation((async (_url: string, init: { body: string }) => {
      responses.push(JSON.parse(init.body));
      return { ok: true, status: 200 };
    }) as never);
  });
  // The Spec property as `SageMakerEndpoint.chooseModelsWith` renders it (camelCase spec, PascalCase variants).
  const request = (instanceType: string, type: 'Update' | 'Create' = 'Update') => ({
    RequestType: type, ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:handler',
    ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/signed',
    StackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/mlops-dev-SageMaker/guid', RequestId: 'req-1',
    LogicalResourceId: 'ChurnServedModel', ResourceType: 'Custom::ServedModel', PhysicalResourceId: 'mlops-dev-churn-served-model', OldResourceProperties: {},
    ResourceProperties: {
      ServiceToken: 'x', EndpointName: 'mlops-dev-churn', BakedModelNames: ['ChurnModel-abc'],
      Spec: JSON.stringify({ endpointName: 'mlops-dev-churn', productionVariants: [{ VariantName: 'AllTraffic', InstanceType: instanceType, InitialInstanceCount: 2 }], autoScaledVariants: ['AllTraffic'] }),
    },
  });

  test('the deploy that changes the type finds the target deregistered (so CloudFormation\'s UpdateEndpoint is accepted) and the record restores it', async () => {
    const w = world();
    sm.on(DescribeModelCommand).resolves({ Containers: [{ ModelPackageName: 'arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/2' }] });
    await handler(request('ml.c5.xlarge') as never);
    expect(responses[0].Status).toBe('SUCCESS');
    expect(w.targets.has(RESOURCE_ID)).toBe(false);
    expect(JSON.parse(w.events[0].Detail!)).toMatchObject({ FromEndpointConfigName: OLD_CONFIG, Targets: [{ MinCapacity: 2, MaxCapacity: 6 }] });

    // CloudFormation updates the endpoint, the update ends; the recorded event registers the target and policy again.
    w.endpoint = { EndpointStatus: 'InService', EndpointConfigName: 'mlops-dev-churn-v2-0a1b2c3d' };
    expect(failures(await handler(sqs(delivered(w.events[0]))))).toEqual([]);
    expect(w.targets.get(RESOURCE_ID)).toEqual({ MinCapacity: 2, MaxCapacity: 6 });
    expect(w.policies.get(RESOURCE_ID)?.map((p) => p.PolicyName)).toEqual([POLICY.PolicyName]);
  });

  test('a deploy that keeps the type (or a rollback to the deployed one) leaves scaling alone', async () => {
    const w = world();
    sm.on(DescribeModelCommand).resolves({ Containers: [{ ModelPackageName: 'arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/2' }] });
    await handler(request('ml.m5.large') as never);
    expect(responses[0].Status).toBe('SUCCESS');
    expect(aas.commandCalls(DeregisterScalableTargetCommand)).toHaveLength(0);
    expect(w.events).toEqual([]);
  });

  test('a failed deregistration fails the custom resource, so CloudFormation stops before the endpoint update', async () => {
    world();
    sm.on(DescribeModelCommand).resolves({ Containers: [{ ModelPackageName: 'arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/2' }] });
    aas.on(DeregisterScalableTargetCommand).rejects(new Error('AccessDeniedException: not authorized'));
    await handler(request('ml.c5.xlarge') as never);
    expect(responses[0]).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/AccessDenied/) });
  });
});

describe('asynchronous endpoint: the scale-from-zero alarm follows its step scaling policy', () => {
  // What `SageMakerEndpoint` creates for an async variant: a target tracking policy on the backlog per instance, and a
  // step scaling policy whose CloudWatch alarm (the stack's own) starts the first instance.
  const STEP: ScalingPolicy = {
    PolicyARN: policyArn('cfn-1', RESOURCE_ID, 'ChurnScalingFromZeroUpperPolicy'),
    PolicyName: 'ChurnScalingFromZeroUpperPolicy', ServiceNamespace: 'sagemaker', ResourceId: RESOURCE_ID, ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
    PolicyType: 'StepScaling',
    StepScalingPolicyConfiguration: { AdjustmentType: 'ChangeInCapacity', Cooldown: 60, MetricAggregationType: 'Average', StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }] },
    Alarms: [{ AlarmName: 'mlops-dev-SageMaker-ChurnScalingFromZeroUpperAlarm-1X2Y3Z', AlarmARN: 'arn:aws:cloudwatch:us-east-1:111111111111:alarm:mlops-dev-SageMaker-ChurnScalingFromZeroUpperAlarm-1X2Y3Z' }],
    CreationTime: new Date('2026-11-20T10:00:00Z'),
  };
  const BACKLOG: ScalingPolicy = {
    ...POLICY, PolicyARN: policyArn('cfn-2', RESOURCE_ID, 'ChurnScalingBacklog'), PolicyName: 'ChurnScalingBacklog',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: 5, CustomizedMetricSpecification: { MetricName: 'ApproximateBacklogSizePerInstance', Namespace: 'AWS/SageMaker', Statistic: 'Average', Dimensions: [{ Name: 'EndpointName', Value: 'mlops-dev-churn' }] },
      ScaleInCooldown: 300, ScaleOutCooldown: 60,
    },
  };
  // The alarm as DescribeAlarms returns it (state fields included; an OK action to an SNS topic that must survive).
  const ALARM: MetricAlarm = {
    AlarmName: STEP.Alarms![0].AlarmName, AlarmArn: STEP.Alarms![0].AlarmARN, AlarmDescription: 'Upper threshold scaling alarm',
    AlarmConfigurationUpdatedTimestamp: new Date('2026-11-20T10:00:00Z'), ActionsEnabled: true,
    OKActions: ['arn:aws:sns:us-east-1:111111111111:alerts'], AlarmActions: [STEP.PolicyARN!], InsufficientDataActions: [],
    StateValue: 'OK', StateReason: 'Threshold Crossed', StateUpdatedTimestamp: new Date('2026-12-01T10:00:00Z'),
    MetricName: 'HasBacklogWithoutCapacity', Namespace: 'AWS/SageMaker', Statistic: 'Average', Dimensions: [{ Name: 'EndpointName', Value: 'mlops-dev-churn' }],
    Period: 60, EvaluationPeriods: 1, DatapointsToAlarm: 1, Threshold: 0.5, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
  };
  const ALARMS = [{ VariantName: 'AllTraffic', PolicyName: STEP.PolicyName!, AlarmName: ALARM.AlarmName! }];
  let alarms: Map<string, MetricAlarm>;
  let denyDescribe: boolean;

  beforeAll(() => { process.env.SCALING_ALARMS = JSON.stringify(ALARMS); });
  afterAll(() => { delete process.env.SCALING_ALARMS; });

  function asyncWorld(): World {
    const w = world();
    w.policies.set(RESOURCE_ID, [BACKLOG, STEP]);
    alarms = new Map([[ALARM.AlarmName!, structuredClone(ALARM)]]);
    denyDescribe = false;
    cw.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames: string[] }) => {
      if (denyDescribe) throw Object.assign(new Error('User is not authorized to perform: cloudwatch:DescribeAlarms'), { name: 'AccessDenied' });
      return { MetricAlarms: input.AlarmNames.filter((n) => alarms.has(n)).map((n) => structuredClone(alarms.get(n)!)) };
    });
    // PutMetricAlarm replaces the whole definition; the state stays.
    cw.on(PutMetricAlarmCommand).callsFake((input: PutMetricAlarmInput) => {
      const was = alarms.get(input.AlarmName!)!;
      alarms.set(input.AlarmName!, { AlarmArn: was.AlarmArn, StateValue: was.StateValue, StateReason: was.StateReason, StateUpdatedTimestamp: was.StateUpdatedTimestamp, ...input } as MetricAlarm);
      return {};
    });
    return w;
  }
  const livePolicy = (w: World) => w.policies.get(RESOURCE_ID)!.find((p) => p.PolicyName === STEP.PolicyName)!;

  test('after the instance type change the alarm runs the live policy, and every other property is as it was', async () => {
    const w = asyncWorld();
    expect(await deploy(approved, cfg())).toBe('deployed');
    // Deregistration deleted both policies; the alarm still names the deleted one.
    expect(w.policies.has(RESOURCE_ID)).toBe(false);
    expect(cw.commandCalls(PutMetricAlarmCommand)).toHaveLength(0);

    w.endpoint = { EndpointStatus: 'InService', EndpointConfigName: NEW_CONFIG };
    expect(failures(await handler(sqs(delivered(w.events[0]), 2)))).toEqual([]);
    const live = livePolicy(w);
    expect(live.PolicyARN).not.toBe(STEP.PolicyARN);
    expect(alarms.get(ALARM.AlarmName!)!.AlarmActions).toEqual([live.PolicyARN]);
    // One PutMetricAlarm, carrying the whole definition read from DescribeAlarms with only the policy ARN changed.
    const puts = cw.commandCalls(PutMetricAlarmCommand);
    expect(puts).toHaveLength(1);
    const { AlarmArn: _arn, AlarmConfigurationUpdatedTimestamp: _updated, StateValue: _state, StateReason: _reason, StateUpdatedTimestamp: _at, ...definition } = ALARM;
    expect(puts[0].args[0].input).toEqual({ ...definition, AlarmActions: [live.PolicyARN] });
    expect(cw.commandCalls(DescribeAlarmsCommand)[0].args[0].input).toEqual({ AlarmNames: [ALARM.AlarmName], AlarmTypes: ['MetricAlarm'] });

    // A repeated delivery finds the alarm pointing at the live policy: nothing is written.
    expect(failures(await handler(sqs(delivered(w.events[0]), 3)))).toEqual([]);
    expect(cw.commandCalls(PutMetricAlarmCommand)).toHaveLength(1);
  });

  test('an update that fails to start puts the policies back at once, and the alarm follows', async () => {
    const w = asyncWorld();
    w.updateFails = validation('Cannot update in-progress endpoint');
    expect(failures(await handler(sqs(approved)))).toEqual(['m1']);
    expect(alarms.get(ALARM.AlarmName!)!.AlarmActions).toEqual([livePolicy(w).PolicyARN]);
  });

  test('a stack deploy registered the target meanwhile (its policies missing): the alarm is pointed at the policy put back', async () => {
    const w = asyncWorld();
    await deploy(approved, cfg());
    w.endpoint = { EndpointStatus: 'InService', EndpointConfigName: NEW_CONFIG };
    w.targets.set(RESOURCE_ID, { MinCapacity: 0, MaxCapacity: 4 });
    expect(failures(await handler(sqs(delivered(w.events[0]), 2)))).toEqual([]);
    expect(alarms.get(ALARM.AlarmName!)!.AlarmActions).toEqual([livePolicy(w).PolicyARN]);
  });

  test('an alarm that cannot be read fails the delivery (retried, then the dead-letter queue alarms); a later one fixes it', async () => {
    const w = asyncWorld();
    await deploy(approved, cfg());
    w.endpoint = { EndpointStatus: 'InService', EndpointConfigName: NEW_CONFIG };
    denyDescribe = true;
    expect(failures(await handler(sqs(delivered(w.events[0]), 2)))).toEqual(['m1']);
    expect(alarms.get(ALARM.AlarmName!)!.AlarmActions).toEqual([STEP.PolicyARN]);
    denyDescribe = false;
    // The policies were put back before; the next delivery finds them registered and repoints the alarm to the live one.
    expect(failures(await handler(sqs(delivered(w.events[0]), 3)))).toEqual([]);
    expect(alarms.get(ALARM.AlarmName!)!.AlarmActions).toEqual([livePolicy(w).PolicyARN]);
  });
});
