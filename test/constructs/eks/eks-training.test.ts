import * as path from 'node:path';
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

  test('default RayCluster with GPU workers at 0, Ray service account with IRSA and data lake access', () => {
    const manifests = Object.values(t.findResources('Custom::AWSCDK-EKS-KubernetesResource')).map((r) => JSON.stringify(r.Properties.Manifest));
    const ray = manifests.find((m) => m.includes('\\"kind\\":\\"RayCluster\\"'))!;
    expect(ray).toContain('\\"groupName\\":\\"gpu\\",\\"replicas\\":0,\\"minReplicas\\":0,\\"maxReplicas\\":2');
    const head = stage.trainingStack!.eksTraining!.rayCluster!.manifest.spec as any;
    // Monitoring is on in dev: the head publishes Ray's dashboards to Grafana.
    expect(head.headGroupSpec.template.spec.containers.map((c: any) => c.name)).toEqual(['ray-head', 'dashboard-publisher']);
    expect(JSON.stringify(t.findResources('AWS::EKS::PodIdentityAssociation'))).not.toContain('"ServiceAccount":"ray"');
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

// Ray users, viewers, named jobs, gang scheduling and the smoke outputs are asserted on the synthesized
// platform in test/journeys/ray.test.ts.
describe('eks config', () => {
  test('the example Ray config (examples/ray/platform.yaml) is valid in every stage', () => {
    const file = path.join(__dirname, '../../../examples/ray/platform.yaml');
    for (const stage of ['dev', 'staging', 'prod']) {
      const c = loadStageConfig({ stage, file });
      expect(c.pipelines.training.backend).toBe('ray');
      expect(c.eks.ray.jobs.map((j) => j.name)).toEqual(['features', 'nightly-train']);
    }
    expect(loadStageConfig({ stage: 'prod', file }).eks.ray.services[0].gcsFaultTolerance).toMatchObject({ passwordSecretName: 'ray-gcs-redis', passwordSecretKey: 'password' });
  });
  test('no admin at all is a config error', () => {
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { deployRoleAdmin: false } } }))
      .toThrow(/eks\.adminRoleArns: \[\] — the cluster needs at least one admin/);
    expect(loadStageConfig({ stage: 'dev', overrides: { eks: { deployRoleAdmin: false, adminRoleArns: ['arn:aws:iam::111111111111:role/admin'] } } }).eks.deployRoleAdmin).toBe(false);
  });
  test('EKS without NAT gateways is refused with the reason', () => {
    expect(() => loadStageConfig({ stage: 'dev', overrides: { network: { natGateways: 0 } } }))
      .toThrow(/eks\.enabled: true — needs network\.natGateways >= 1: with 0 the cluster runs in isolated subnets, where nodes cannot pull the Helm charts/);
  });
  test('a system node too small for the Ray head and its autoscaler is a config error; p4d is refused', () => {
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { systemNodeGroup: { instanceTypes: ['m6i.large'] }, ray: { head: { cpu: '1', memory: '4Gi' } } } } }))
      .toThrow(/eks\.systemNodeGroup\.instanceTypes\.0: "m6i.large" — has room for about 1\.\d+ vCPU .* needs 1\.5 vCPU/);
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { systemNodeGroup: { instanceTypes: ['m6i.large'] }, ray: { head: { cpu: '500m', memory: '2Gi' } } } } })).not.toThrow();
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { gpuNodeGroups: [{ name: 'big', instanceTypes: ['p5.48xlarge'], minSize: 0, maxSize: 2, spot: false, diskSizeGiB: 500 }] } } }))
      .toThrow(/eks\.gpuNodeGroups\.0\.instanceTypes\.0: "p5.48xlarge" — is an EFA training instance/);
  });
  test('duplicate Ray workload names and GPU jobs without GPU workers are config errors', () => {
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { ray: { jobs: [{ name: 'reference-model', entrypoint: 'python x.py' }] } } } }))
      .toThrow(/eks\.ray\.services\.0\.name: "reference-model" — must be unique among ray\.jobs and ray\.services/);
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { ray: { gpuWorkers: { maxReplicas: 0 }, jobs: [{ name: 'j', entrypoint: 'python x.py', maxGpuWorkers: 1, schedule: 'daily' }] } } } }))
      .toThrow(/eks\.ray\.jobs\.0\.schedule: "daily" — must be a five-field cron[\s\S]*eks\.ray\.jobs\.0\.maxGpuWorkers: 1 — needs GPU workers/);
  });
  test('prod CPU workers have their own on-demand group, off the system group', () => {
    expect(loadStageConfig({ stage: 'prod' }).eks.workerNodeGroup).toMatchObject({ enabled: true, spot: false });
  });
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
