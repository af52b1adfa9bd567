import { type Template } from 'aws-cdk-lib/assertions';
import {
  ContainerInsights, PlatformNetwork, TrainingCluster,
} from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

describe('ContainerInsights on a TrainingCluster', () => {
  const stack = newStack();
  const { vpc } = new PlatformNetwork(stack, 'Net', { interfaceEndpoints: false });
  const insights = new ContainerInsights();
  new TrainingCluster(stack, 'Training', { vpc, clusterName: 'ci-test', kubeRay: false, addOns: [insights] });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('amazon-cloudwatch-observability add-on: basic Container Insights, no container log shipping, Pod Identity', () => {
    const [addon] = Object.values(t.findResources('AWS::EKS::Addon', { Properties: { AddonName: 'amazon-cloudwatch-observability' } })).map((r) => r.Properties);
    expect(JSON.parse(addon.ConfigurationValues)).toEqual({
      containerLogs: { enabled: false },
      agent: { config: { logs: { metrics_collected: { kubernetes: { enhanced_container_insights: false } } } } },
    });
    expect(addon.PodIdentityAssociations).toEqual([{ ServiceAccount: 'cloudwatch-agent', RoleArn: { 'Fn::GetAtt': [expect.stringMatching(/AgentRole/), 'Arn'] } }]);
    t.hasResourceProperties('AWS::EKS::Addon', { AddonName: 'eks-pod-identity-agent' });
  });

  test('performance log group exists first: named for the cluster, KMS-encrypted, with retention', () => {
    const group = Object.values(t.findResources('AWS::Logs::LogGroup')).find((g) => JSON.stringify(g.Properties.LogGroupName ?? '').includes('/aws/containerinsights/'))!;
    expect(group.Properties).toMatchObject({ RetentionInDays: 30, KmsKeyId: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
    // The cluster's name (a Ref to the cluster) between the fixed parts.
    expect(group.Properties.LogGroupName).toEqual({ 'Fn::Join': ['', ['/aws/containerinsights/', { Ref: expect.stringMatching(/Cluster/) }, '/performance']] });
    const addon = Object.values(t.findResources('AWS::EKS::Addon', { Properties: { AddonName: 'amazon-cloudwatch-observability' } }))[0];
    expect((addon.DependsOn as string[]).some((d) => d.includes('PerformanceLogs'))).toBe(true);
  });

  test('agent role: Pod Identity trust, metrics only to ContainerInsights, logs only to its log group', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: ['sts:AssumeRole', 'sts:TagSession'], Principal: { Service: 'pods.eks.amazonaws.com' } }] },
    });
    const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p).includes('PublishContainerInsightsMetrics'))!;
    const statements = policy.Properties.PolicyDocument.Statement as { Sid: string; Condition?: unknown; Resource: unknown }[];
    expect(statements.find((s) => s.Sid === 'PublishContainerInsightsMetrics')!.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'ContainerInsights' } });
    expect(JSON.stringify(statements.find((s) => s.Sid === 'WritePerformanceLogs')!.Resource)).toMatch(/PerformanceLogs.*Arn/);
  });

  test('cdk-nag AwsSolutions finds nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  test('a malformed add-on version is refused', () => {
    const s = newStack();
    const net = new PlatformNetwork(s, 'Net', { interfaceEndpoints: false });
    expect(() => new TrainingCluster(s, 'Training', { vpc: net.vpc, kubeRay: false, addOns: [new ContainerInsights({ addonVersion: 'latest' })] }))
      .toThrow(/addonVersion: "latest" — must be an EKS add-on version/);
  });
});
