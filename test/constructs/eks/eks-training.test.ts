import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { ImagePrePuller, RAY_GPU_IMAGE } from '../../../constructs';
import { loadStageConfig } from '../../../lib/config';
import { nagFindings, newStack, platformStage } from '../../helpers';

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

  test('the Ray GPU image is pre-pulled on GPU nodes: a DaemonSet that only the GPU group\'s nodes match and that tolerates their taint', () => {
    const manifests = Object.values(t.findResources('Custom::AWSCDK-EKS-KubernetesResource')).flatMap((r) => {
      const m = stack.resolve(r.Properties.Manifest);
      return typeof m === 'string' ? JSON.parse(m) : [];
    });
    const ds = manifests.find((m: any) => m.kind === 'DaemonSet' && m.metadata.name === 'ray-gpu-image');
    expect(ds.metadata.namespace).toBe('ray');
    const pod = ds.spec.template.spec;
    expect(pod.containers).toEqual([{
      name: 'image-0', image: RAY_GPU_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['/bin/sleep', 'infinity'],
      resources: { requests: { cpu: '1m', memory: '16Mi' }, limits: { cpu: '10m', memory: '16Mi' } },
      securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    }]);
    expect(pod.automountServiceAccountToken).toBe(false);
    // Placement against the GPU node group as synthesized: its labels carry the affinity key, its taints are tolerated; the system group matches nothing.
    const groups = Object.values(t.findResources('AWS::EKS::Nodegroup')).map((g) => g.Properties);
    const key = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0];
    const runsOn = groups.filter((g) => key.operator === 'Exists' && key.key in (g.Labels ?? {})
      && (g.Taints ?? []).every((taint: any) => pod.tolerations.some((tol: any) => tol.key === taint.Key && tol.operator === 'Exists' && taint.Effect === 'NO_SCHEDULE' && tol.effect === 'NoSchedule')));
    expect(runsOn.map((g) => g.AmiType)).toEqual(['AL2023_x86_64_NVIDIA']);
    expect(stage.trainingStack!.eksTraining!.gpuImagePrePuller!.namespace).toBe('ray');
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
  test('the GPU image pre-puller refuses floating tags and empty image lists', () => {
    const s = newStack();
    const cluster = eks.Cluster.fromClusterAttributes(s, 'Imported', { clusterName: 'c' });
    expect(() => new ImagePrePuller(s, 'P1', { cluster, images: ['rayproject/ray:latest'] })).toThrow(/images\[0\]: "rayproject\/ray:latest" — must be an image reference with a pinned tag or digest/);
    expect(() => new ImagePrePuller(s, 'P2', { cluster, images: [], namespace: 'Ray' })).toThrow(/images: \[\] — must list 1 to 10 images[\s\S]*namespace: "Ray" — must be a Kubernetes name/);
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
  test('Karpenter: config chooses it; no minimum on its pools; reserved group names; its settings are checked', () => {
    for (const s of ['dev', 'staging', 'prod']) expect(loadStageConfig({ stage: s }).eks.nodeProvisioner).toBe('cluster-autoscaler');
    const k = loadStageConfig({ stage: 'prod', overrides: { eks: { nodeProvisioner: 'karpenter' } } }).eks;
    expect(k.karpenter).toEqual({ consolidationPolicy: 'WhenEmpty', onDemandFallback: true, amiVersion: 'latest' });
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { nodeProvisioner: 'karpenter', workerNodeGroup: { minSize: 1 }, gpuNodeGroups: [{ name: 'gpu', instanceTypes: ['g5.xlarge'], minSize: 1, maxSize: 2, spot: false, diskSizeGiB: 100 }] } } }))
      .toThrow(/eks\.gpuNodeGroups\.0\.minSize: 1 — must be 0 with eks\.nodeProvisioner: karpenter \(Karpenter launches nodes for pending pods and keeps no minimum[\s\S]*eks\.workerNodeGroup\.minSize: 1 — must be 0 with eks\.nodeProvisioner: karpenter/);
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { nodeProvisioner: 'karpenter', gpuNodeGroups: [{ name: 'gpu', instanceTypes: ['g5.xlarge'], minSize: 1, maxSize: 2, spot: false, diskSizeGiB: 100 }] } } }))
      .toThrow(/eks\.gpuNodeGroups\.0\.minSize/);
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { nodeProvisioner: 'karpenter-ish' } } }))
      .toThrow(/eks\.nodeProvisioner: "karpenter-ish" — must be "cluster-autoscaler" or "karpenter"/);
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { karpenter: { consolidationPolicy: 'Always', amiVersion: '2025-11-20' } } } }))
      .toThrow(/eks\.karpenter\.consolidationPolicy: "Always" — must be "WhenEmpty" or "WhenEmptyOrUnderutilized"[\s\S]*eks\.karpenter\.amiVersion: "2025-11-20" — must be "latest" or an AL2023 EKS AMI release/);
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { gpuNodeGroups: [{ name: 'system', instanceTypes: ['g5.xlarge'], minSize: 0, maxSize: 2, spot: false, diskSizeGiB: 100 }] } } }))
      .toThrow(/eks\.gpuNodeGroups\.0\.name: "system" — must differ from "system" and "cpu-workers"/);
    // The Karpenter controller shares a system node with the Ray head: a head that fits beside the autoscaler alone may not.
    const head = { cpu: '750m', memory: '2Gi' };
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { ray: { head } } } })).not.toThrow();
    expect(() => loadStageConfig({ stage: 'dev', overrides: { eks: { nodeProvisioner: 'karpenter', ray: { head } } } }))
      .toThrow(/eks\.systemNodeGroup\.instanceTypes\.0: "m6i.large" — has room for about 1\.\d+ vCPU .* and a Karpenter controller \(250m \/ 512Mi\) needs 1\.5 vCPU/);
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
