import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadStageConfig } from '../../../lib/config';
import { nagFindings, platformStage } from '../../helpers';

describe('dev stage: EKS training from the built-in config', () => {
  const stage = platformStage('dev');
  const stack = stage.trainingStack!;
  let t: Template;
  beforeAll(() => {
    t = Template.fromStack(stack);
  });

  test('cluster, three node groups, GPU at min 0, ClusterName output', () => {
    t.hasResourceProperties('AWS::EKS::Cluster', { Name: 'mlops-dev-training', Version: '1.35' });
    t.resourceCountIs('AWS::EKS::Nodegroup', 3);
    t.hasResourceProperties('AWS::EKS::Nodegroup', { AmiType: 'AL2023_x86_64_NVIDIA', ScalingConfig: { MinSize: 0, MaxSize: 2, DesiredSize: 0 } });
    t.hasOutput('ClusterName', { Value: { Ref: Match.stringLikeRegexp('Cluster') } });
  });

  test('default RayCluster with GPU workers at 0, Ray service account with Pod Identity and data lake access', () => {
    const manifests = Object.values(t.findResources('Custom::AWSCDK-EKS-KubernetesResource')).map((r) => JSON.stringify(r.Properties.Manifest));
    const ray = manifests.find((m) => m.includes('\\"kind\\":\\"RayCluster\\"'))!;
    expect(ray).toContain('\\"groupName\\":\\"gpu\\",\\"replicas\\":0,\\"minReplicas\\":0,\\"maxReplicas\\":2');
    t.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: 'ray', ServiceAccount: 'ray' });
    const policies = JSON.stringify(Object.values(t.findResources('AWS::IAM::Policy')).map((p) => p.Properties.PolicyDocument));
    expect(policies).toContain('s3:PutObject');
  });

  test('cdk-nag AwsSolutions finds nothing unacknowledged in the training stack', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('dev stage with Ray off and a public endpoint for an office CIDR', () => {
  test('no operator, no Ray objects; endpoint public only from the CIDR', () => {
    const stage = platformStage('dev', { eks: { endpointAccess: 'public-and-private', publicAccessCidrs: ['198.51.100.0/24'], ray: { enabled: false } } });
    const t = Template.fromStack(stage.trainingStack!);
    t.hasResourceProperties('AWS::EKS::Cluster', { ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: true, PublicAccessCidrs: ['198.51.100.0/24'] }) });
    const charts = Object.values(t.findResources('Custom::AWSCDK-EKS-HelmChart')).map((r) => r.Properties.Chart);
    expect(charts.sort()).toEqual(['cluster-autoscaler', 'nvidia-device-plugin']);
    const manifests = JSON.stringify(t.findResources('Custom::AWSCDK-EKS-KubernetesResource'));
    expect(manifests).not.toContain('ray.io/v1');
    expect(stage.trainingStack!.eksTraining!.rayCluster).toBeUndefined();
  });
});

describe('eks config', () => {
  test('GPU workers without GPU capacity are a config error naming the key', () => {
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { gpuNodeGroups: [] } } }))
      .toThrow(/eks\.ray\.gpuWorkers\.maxReplicas: 2 — GPU workers need GPU capacity/);
  });
  test('min > max and unknown instance families are config errors', () => {
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { systemNodeGroup: { instanceTypes: ['x1.large'], minSize: 3, maxSize: 1 } } } }))
      .toThrow(/eks\.systemNodeGroup\.instanceTypes\.0: "x1.large" — must be an x86_64 instance type[\s\S]*eks\.systemNodeGroup\.minSize: 3 — must not exceed maxSize/);
  });
  test('every stage keeps GPU capacity at zero while idle', () => {
    for (const s of ['dev', 'staging', 'prod']) {
      const { eks } = loadStageConfig({ stage: s });
      expect(eks.gpuNodeGroups.every((g) => g.minSize === 0)).toBe(true);
      expect(eks.ray.gpuWorkers.minReplicas).toBe(0);
      expect(eks.endpointAccess).toBe('private');
    }
  });
});
