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
