import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  GPU_TAINT_KEY, Karpenter, PlatformNetwork, RayCluster, TrainingCluster,
} from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';
import { TemplateResolver } from '../../journeys/support/resolve';
import { matchesPattern } from '../../journeys/model-world';
import { expectValidKarpenter, karpenterProblems } from '../../karpenter-api';

type K8s = Record<string, any>;
const ACCOUNT = '111111111111';
const REGION = 'us-east-1';

/** Whether a pod spec can be scheduled on nodes of a NodePool: its node selector and tolerations against the pool's labels and taints. */
function fitsPool(pod: K8s, pool: K8s): boolean {
  const labels: Record<string, string> = pool.spec.template.metadata?.labels ?? {};
  const selectorOk = Object.entries<string>(pod.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
  const tolerated = (taint: K8s) => (pod.tolerations ?? []).some((t: K8s) => t.key === taint.key && t.effect === taint.effect
    && (t.operator === 'Exists' || t.value === taint.value));
  return selectorOk && (pool.spec.template.spec.taints ?? []).every(tolerated);
}

describe('TrainingCluster with Karpenter', () => {
  const stack = newStack();
  const { vpc } = new PlatformNetwork(stack, 'Net', { interfaceEndpoints: false });
  const tc = new TrainingCluster(stack, 'Training', {
    vpc,
    clusterName: 'mlops-dev-training',
    adminRoles: [iam.Role.fromRoleArn(stack, 'Admin', `arn:aws:iam::${ACCOUNT}:role/platform-admin`)],
    systemNodeGroup: { instanceTypes: ['m6i.large'], minSize: 1, maxSize: 3 },
    gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.xlarge', 'g5.2xlarge'], maxSize: 3, spot: true, diskSizeGiB: 200 }],
    workerNodeGroup: { instanceTypes: ['m6i.xlarge', 'm5.xlarge'], maxSize: 4, spot: false },
    scaleDownUnneededMinutes: 7,
    nodeProvisioner: 'karpenter',
    karpenter: { amiVersion: 'v20251120' },
  });
  const ray = new RayCluster(stack, 'Ray', {
    trainingCluster: tc, name: 'default', namespace: 'ray',
    head: { cpu: '500m', memory: '2Gi', nodeSelector: tc.systemNodeSelector },
    workerGroups: [
      { groupName: 'cpu', maxReplicas: 4, cpu: '2', memory: '8Gi', nodeSelector: tc.workerNodeSelector },
      { groupName: 'gpu', maxReplicas: 3, cpu: '3', memory: '12Gi', gpus: 1, gpuCapacity: tc.gpuCapacityOf('gpu-g5') },
    ],
  });
  let t: Template;
  let objects: K8s[];
  let resolver: TemplateResolver;
  let resolvedStack: { id: string; stackName: string; account: string; region: string; template: any };
  const byKind = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
  const chart = (name: string) => Object.values(t.findResources('Custom::AWSCDK-EKS-HelmChart')).find((c) => c.Properties.Chart === name);
  const controllerStatements = () => {
    const [, policy] = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.includes('ControllerPolicy'))!;
    return resolver.resolve(resolvedStack, policy.Properties.PolicyDocument.Statement) as K8s[];
  };
  beforeAll(() => {
    t = template(stack);
    resolvedStack = { id: 'Test', stackName: 'Test', account: ACCOUNT, region: REGION, template: t.toJSON() };
    resolver = new TemplateResolver([resolvedStack]);
    objects = Object.values(t.findResources('Custom::AWSCDK-EKS-KubernetesResource'))
      .flatMap((r) => JSON.parse(resolver.resolve(resolvedStack, r.Properties.Manifest)) as K8s[]);
  });

  test('no Cluster Autoscaler and no managed node groups for the GPU and CPU worker capacity: only the system group', () => {
    expect(tc.nodeProvisioner).toBe('karpenter');
    expect(tc.clusterAutoscaler).toBeUndefined();
    expect(chart('cluster-autoscaler')).toBeUndefined();
    t.resourceCountIs('AWS::EKS::Nodegroup', 1);
    t.hasResourceProperties('AWS::EKS::Nodegroup', { Labels: { 'cdk-mlops/node-group': 'system', 'cdk-mlops/capacity': 'on-demand' }, ScalingConfig: { MinSize: 1, MaxSize: 3, DesiredSize: 1 } });
    expect(tc.gpuNodegroups).toEqual({});
    expect(tc.workerNodegroup).toBeUndefined();
    expect(Object.keys(tc.addOns)).toEqual(['karpenter', 'nvidia-device-plugin', 'kuberay-operator']);
  });

  test('Karpenter 1.14.1 from its OCI charts (CRDs first), in kube-system on the system nodes, Pod Identity, its interruption queue', () => {
    expect(chart('karpenter-crd')!.Properties).toMatchObject({ Repository: 'oci://public.ecr.aws/karpenter/karpenter-crd', Version: '1.14.1', Namespace: 'kube-system', Release: 'karpenter-crd' });
    const main = chart('karpenter')!;
    expect(main.Properties).toMatchObject({ Repository: 'oci://public.ecr.aws/karpenter/karpenter', Version: '1.14.1', Namespace: 'kube-system', Release: 'karpenter' });
    expect(main.Properties.CreateNamespace).toBeUndefined();
    const [crdId] = Object.entries(t.findResources('Custom::AWSCDK-EKS-HelmChart')).find(([, c]) => c.Properties.Chart === 'karpenter-crd')!;
    expect(main.DependsOn).toContain(crdId);
    const values = JSON.parse(resolver.resolve(resolvedStack, main.Properties.Values));
    const [queueId] = Object.keys(t.findResources('AWS::SQS::Queue'));
    expect(values).toEqual({
      settings: { clusterName: 'mlops-dev-training', interruptionQueue: resolver.getAtt(resolvedStack, queueId, 'QueueName') },
      serviceAccount: { create: false, name: 'karpenter' },
      // One system node: one replica (the chart keeps replicas on different hosts).
      replicas: 1,
      nodeSelector: { 'kubernetes.io/os': 'linux', 'cdk-mlops/node-group': 'system' },
      controller: { resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } } },
    });
    const sa = byKind('ServiceAccount', 'karpenter');
    expect(sa.metadata.namespace).toBe('kube-system');
    t.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: 'kube-system', ServiceAccount: 'karpenter', RoleArn: Match.anyValue() });
  });

  test('EC2NodeClass and NodePool objects are valid karpenter v1', () => {
    const karpenterObjects = objects.filter((o) => String(o.apiVersion).startsWith('karpenter.'));
    expect(karpenterObjects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['EC2NodeClass/gpu-g5', 'NodePool/gpu-g5', 'EC2NodeClass/cpu-workers', 'NodePool/cpu-workers']);
    for (const o of karpenterObjects) expectValidKarpenter(o);
  });

  test('the API check can fail: v1beta1 placements, restricted labels, bad enums and durations are caught', () => {
    const pool = structuredClone(byKind('NodePool', 'gpu-g5'));
    pool.spec.template.spec.kubelet = { maxPods: 20 };
    pool.spec.disruption.consolidationPolicy = 'WhenUnderutilized';
    pool.spec.disruption.consolidateAfter = '10 minutes';
    pool.spec.template.metadata.labels['karpenter.sh/owner'] = 'me';
    pool.spec.template.spec.requirements.push({ key: 'karpenter.k8s.aws/instance-gpu-count', operator: 'Gt', values: ['one'] });
    expect(karpenterProblems(pool)).toEqual([
      'spec.template.metadata.labels.karpenter.sh/owner: label domain "karpenter.sh" is restricted (karpenter.sh/owner)',
      'spec.template.spec.kubelet: unknown field',
      'spec.template.spec.requirements[4].values: must be one non-negative integer',
      'spec.disruption.consolidationPolicy: "WhenUnderutilized" must be one of WhenEmpty, WhenEmptyOrUnderutilized, Balanced',
      'spec.disruption.consolidateAfter: "10 minutes" is not a duration such as 30s, 10m or Never',
    ]);
    const nodeClass = structuredClone(byKind('EC2NodeClass', 'gpu-g5'));
    nodeClass.spec.role = 'KarpenterNodeRole';
    nodeClass.spec.metadataOptions.httpTokens = 'sometimes';
    expect(karpenterProblems(nodeClass)).toEqual([
      'spec: must specify exactly one of role and instanceProfile',
      'spec.metadataOptions.httpTokens: "sometimes" must be one of required, optional',
    ]);
  });

  test('EC2NodeClass: pinned AL2023 alias, the node subnets and cluster security group, our instance profile, encrypted gp3, IMDSv2 hop 1', () => {
    const nodeClass = byKind('EC2NodeClass', 'gpu-g5');
    const subnets = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnets
      .map((s) => resolver.ref(resolvedStack, stack.getLogicalId(s.node.defaultChild as ec2.CfnSubnet)));
    const clusterId = stack.getLogicalId(tc.cluster.node.defaultChild as eks.CfnCluster);
    const [profileId, profile] = Object.entries(t.findResources('AWS::IAM::InstanceProfile'))[0];
    expect(nodeClass.spec).toEqual({
      amiSelectorTerms: [{ alias: 'al2023@v20251120' }],
      instanceProfile: resolver.ref(resolvedStack, profileId),
      subnetSelectorTerms: subnets.map((id) => ({ id })),
      securityGroupSelectorTerms: [{ id: resolver.getAtt(resolvedStack, clusterId, 'ClusterSecurityGroupId') }],
      blockDeviceMappings: [{ deviceName: '/dev/xvda', rootVolume: true, ebs: { volumeSize: '200Gi', volumeType: 'gp3', encrypted: true, deleteOnTermination: true } }],
      metadataOptions: { httpEndpoint: 'enabled', httpProtocolIPv6: 'disabled', httpPutResponseHopLimit: 1, httpTokens: 'required' },
      detailedMonitoring: true,
      tags: { 'cdk-mlops/node-group': 'gpu-g5' },
    });
    expect(subnets).toHaveLength(2);
    // The profile holds the Karpenter node role, which joins the cluster through its EC2_LINUX access entry.
    const nodeRole = tc.karpenter!.nodeRole!;
    const nodeRoleId = stack.getLogicalId(nodeRole.node.defaultChild as iam.CfnRole);
    expect(profile.Properties.Roles).toEqual([{ Ref: nodeRoleId }]);
    t.hasResourceProperties('AWS::EKS::AccessEntry', { Type: 'EC2_LINUX', PrincipalArn: { 'Fn::GetAtt': [nodeRoleId, 'Arn'] } });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] }),
      ManagedPolicyArns: ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryPullOnly']
        .map((n) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::aws:policy/${n}`]] })),
    });
    expect(byKind('EC2NodeClass', 'cpu-workers').spec.blockDeviceMappings[0].ebs.volumeSize).toBe('100Gi');
  });

  test('GPU pool from zero: GPU taint and accelerator label, spot with on-demand fallback, limits from maxSize, empty-only consolidation, no drift while busy', () => {
    const pool = byKind('NodePool', 'gpu-g5');
    expect(pool.spec.replicas).toBeUndefined();
    expect(pool.spec).toEqual({
      template: {
        metadata: { labels: { 'cdk-mlops/node-group': 'gpu-g5', 'k8s.amazonaws.com/accelerator': 'nvidia-a10g' } },
        spec: {
          nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'gpu-g5' },
          requirements: [
            { key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['g5.xlarge', 'g5.2xlarge'] },
            { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['spot', 'on-demand'] },
            { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] },
            { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
          ],
          taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }],
          expireAfter: '720h',
        },
      },
      limits: { 'nodes': '3', 'nvidia.com/gpu': '3' },
      disruption: { consolidationPolicy: 'WhenEmpty', consolidateAfter: '7m', budgets: [{ nodes: '0', reasons: ['Drifted'] }, { nodes: '10%' }] },
    });
    const cpu = byKind('NodePool', 'cpu-workers');
    expect(cpu.spec.template.metadata.labels).toEqual({ 'cdk-mlops/node-group': 'cpu-workers', 'cdk-mlops/capacity': 'on-demand' });
    expect(cpu.spec.template.spec.taints).toBeUndefined();
    expect(cpu.spec.template.spec.requirements[1]).toEqual({ key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] });
    // 4 nodes of at most 4 vCPU / 16 GiB.
    expect(cpu.spec.limits).toEqual({ nodes: '4', cpu: '16', memory: '64Gi' });
    expect(cpu.spec.disruption.budgets).toEqual([{ nodes: '10%' }]);
    expect(tc.gpuCapacityOf('gpu-g5')).toEqual({
      name: 'gpu-g5', gpusPerNode: 1, maxNodes: 3, nodeSelector: { 'cdk-mlops/node-group': 'gpu-g5' }, taint: { key: GPU_TAINT_KEY, value: 'true', effect: 'NoSchedule' },
    });
  });

  test('Ray pods land where they should: GPU workers only on the GPU pool, CPU workers on the CPU pool, GPU nodes get the device plugin', () => {
    const spec = ray.manifest.spec as K8s;
    const gpuPod = spec.workerGroupSpecs.find((g: K8s) => g.groupName === 'gpu').template.spec;
    const cpuPod = spec.workerGroupSpecs.find((g: K8s) => g.groupName === 'cpu').template.spec;
    const gpuPool = byKind('NodePool', 'gpu-g5');
    const cpuPool = byKind('NodePool', 'cpu-workers');
    expect(fitsPool(gpuPod, gpuPool)).toBe(true);
    expect(fitsPool(gpuPod, cpuPool)).toBe(false);
    expect(fitsPool(cpuPod, cpuPool)).toBe(true);
    // The CPU worker does not tolerate the GPU taint: it never wakes a GPU node.
    expect(fitsPool(cpuPod, gpuPool)).toBe(false);
    expect(fitsPool({ ...cpuPod, nodeSelector: undefined }, gpuPool)).toBe(false);
    // One GPU per worker, one per g5.xlarge/2xlarge node: a worker fits a node of the pool.
    expect(gpuPod.containers[0].resources.limits['nvidia.com/gpu']).toBe('1');
    const plugin = JSON.parse(chart('nvidia-device-plugin')!.Properties.Values);
    const key = plugin.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key;
    expect(Object.keys(gpuPool.spec.template.metadata.labels)).toContain(key);
    expect(plugin.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
  });

  test('interruption queue: 5-minute retention, encrypted, TLS only, fed by the five EventBridge rules of the docs and nothing else', () => {
    const [queueId, queue] = Object.entries(t.findResources('AWS::SQS::Queue'))[0];
    expect(queue.Properties).toEqual({ MessageRetentionPeriod: 300, SqsManagedSseEnabled: true });
    const rules = Object.entries(t.findResources('AWS::Events::Rule'));
    expect(rules.map(([, r]) => r.Properties.EventPattern['detail-type'][0]).sort()).toEqual([
      'AWS Health Event', 'EC2 Capacity Reservation Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation',
      'EC2 Instance State-change Notification', 'EC2 Spot Instance Interruption Warning',
    ]);
    for (const [, r] of rules) expect(r.Properties.Targets).toEqual([{ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] }, Id: 'Target0' }]);
    // Sample events as documented by EC2 (spot interruption warning) and AWS Health (scheduled instance retirement).
    const spot = {
      'version': '0', 'id': '12345678-1234-1234-1234-123456789012', 'detail-type': 'EC2 Spot Instance Interruption Warning', 'source': 'aws.ec2',
      'account': ACCOUNT, 'time': '2026-12-01T12:00:00Z', 'region': REGION, 'resources': [`arn:aws:ec2:${REGION}a:instance/i-1234567890abcdef0`],
      'detail': { 'instance-id': 'i-1234567890abcdef0', 'instance-action': 'terminate' },
    };
    const health = {
      'version': '0', 'id': '7bf73129-1428-4cd3-a780-95db273d1602', 'detail-type': 'AWS Health Event', 'source': 'aws.health', 'account': ACCOUNT,
      'time': '2026-12-01T12:00:00Z', 'region': REGION, 'resources': ['i-1234567890abcdef0'],
      'detail': { eventArn: `arn:aws:health:${REGION}::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/x`, service: 'EC2', eventTypeCode: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED', eventTypeCategory: 'scheduledChange' },
    };
    const fulfilled = { ...spot, 'detail-type': 'EC2 Spot Instance Request Fulfillment' };
    const matching = (event: K8s) => rules.filter(([, r]) => matchesPattern(r.Properties.EventPattern, event)).length;
    expect([matching(spot), matching(health), matching(fulfilled)]).toEqual([1, 1, 0]);
    const [, queuePolicy] = Object.entries(t.findResources('AWS::SQS::QueuePolicy'))[0];
    const statements = queuePolicy.Properties.PolicyDocument.Statement as K8s[];
    expect(statements[0]).toMatchObject({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    const senders = statements.slice(1);
    expect(senders).toHaveLength(5);
    for (const s of senders) expect(s).toMatchObject({ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.stringMatching(/Rule/), 'Arn'] } } } });
  });

  test('controller IAM: the docs\' policy scoped to this cluster by tag, no instance-profile management, PassRole only of the node role to EC2', () => {
    const statements = controllerStatements();
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(Object.keys(bySid).sort()).toEqual([
      'AllowAPIServerEndpointDiscovery', 'AllowInstanceProfileReadActions', 'AllowInterruptionQueueActions', 'AllowPassingInstanceRole', 'AllowPricingReadActions',
      'AllowRegionalReadActions', 'AllowSSMReadActions', 'AllowScopedDeletion', 'AllowScopedEC2InstanceAccessActions', 'AllowScopedEC2InstanceActionsWithTags',
      'AllowScopedEC2LaunchTemplateAccessActions', 'AllowScopedResourceCreationTagging', 'AllowScopedResourceTagging', 'AllowUnscopedInstanceProfileListAction',
    ]);
    const actions = statements.flatMap((s) => [s.Action].flat());
    for (const a of ['iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile', 'iam:RemoveRoleFromInstanceProfile', 'iam:DeleteInstanceProfile', 'iam:TagInstanceProfile']) expect(actions).not.toContain(a);
    expect(actions.filter((a) => !/^(ec2|iam|eks|sqs|ssm|pricing):/.test(a))).toEqual([]);
    const owned = { 'aws:RequestTag/kubernetes.io/cluster/mlops-dev-training': 'owned', 'aws:RequestTag/eks:eks-cluster-name': 'mlops-dev-training' };
    expect(bySid.AllowScopedEC2InstanceActionsWithTags.Condition).toEqual({ StringEquals: owned, StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' } });
    expect(bySid.AllowScopedDeletion.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/kubernetes.io/cluster/mlops-dev-training': 'owned' }, StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' },
    });
    expect(bySid.AllowScopedDeletion.Resource).toEqual([`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/*`, `arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/*`]);
    expect(bySid.AllowScopedResourceCreationTagging.Condition.StringEquals['ec2:CreateAction']).toEqual(['RunInstances', 'CreateFleet', 'CreateLaunchTemplate']);
    const nodeRole = tc.karpenter!.nodeRole!;
    expect(bySid.AllowPassingInstanceRole).toMatchObject({
      Action: 'iam:PassRole', Resource: resolver.arn(resolvedStack, stack.getLogicalId(nodeRole.node.defaultChild as iam.CfnRole)),
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    });
    const [profileId] = Object.keys(t.findResources('AWS::IAM::InstanceProfile'));
    expect(bySid.AllowInstanceProfileReadActions.Resource).toBe(resolver.arn(resolvedStack, profileId));
    const [queueId] = Object.keys(t.findResources('AWS::SQS::Queue'));
    expect(bySid.AllowInterruptionQueueActions).toMatchObject({ Action: ['sqs:DeleteMessage', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'], Resource: resolver.arn(resolvedStack, queueId) });
    expect(bySid.AllowRegionalReadActions.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': REGION } });
    for (const a of bySid.AllowRegionalReadActions.Action as string[]) expect(a).toMatch(/^ec2:Describe/);
    expect(bySid.AllowSSMReadActions.Resource).toBe(`arn:aws:ssm:${REGION}::parameter/aws/service/*`);
    expect(bySid.AllowAPIServerEndpointDiscovery.Resource).toBe(`arn:aws:eks:${REGION}:${ACCOUNT}:cluster/mlops-dev-training`);
  });

  test('cdk-nag AwsSolutions finds nothing unacknowledged', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('Karpenter options and validation', () => {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  let n = 0;
  const build = (props: Record<string, unknown>) => () => new TrainingCluster(stack, `C${n++}`, { vpc, kubeRay: false, nodeProvisioner: 'karpenter', ...props });

  test('spot pools without on-demand fallback launch spot only; two system nodes run two controllers', () => {
    const s = newStack();
    const c = new TrainingCluster(s, 'C', {
      vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2 }), kubeRay: false, nodeProvisioner: 'karpenter', karpenter: { onDemandFallback: false, consolidationPolicy: 'WhenEmptyOrUnderutilized' },
      gpuNodeGroups: [{ name: 'gpu', instanceTypes: ['g6.xlarge'], spot: true }],
    });
    const tt = template(s);
    const manifest = JSON.stringify(s.resolve(Object.values(tt.findResources('Custom::AWSCDK-EKS-KubernetesResource')).map((r) => r.Properties.Manifest)));
    expect(manifest).toContain('{\\"key\\":\\"karpenter.sh/capacity-type\\",\\"operator\\":\\"In\\",\\"values\\":[\\"spot\\"]}');
    expect(manifest).toContain('\\"cdk-mlops/capacity\\":\\"spot\\"');
    expect(manifest).toContain('\\"consolidationPolicy\\":\\"WhenEmptyOrUnderutilized\\"');
    expect(manifest).toContain('\\"alias\\":\\"al2023@latest\\"');
    expect(JSON.stringify(s.resolve(Object.values(tt.findResources('Custom::AWSCDK-EKS-HelmChart')).find((h) => h.Properties.Chart === 'karpenter')!.Properties.Values))).toContain('\\"replicas\\":2');
    expect(c.karpenter!.interruptionQueue).toBeDefined();
  });

  test('Karpenter keeps no minimum: GPU and CPU worker groups with minSize > 0 are refused', () => {
    expect(build({ gpuNodeGroups: [{ name: 'g', instanceTypes: ['g5.xlarge'], minSize: 1, maxSize: 2 }], workerNodeGroup: { instanceTypes: ['m6i.large'], minSize: 2 } }))
      .toThrow(/workerNodeGroup\.minSize: 2 — must be 0 with nodeProvisioner "karpenter"[\s\S]*gpuNodeGroups\[0\]\.minSize: 1 — must be 0 with nodeProvisioner "karpenter" \(Karpenter launches nodes for pending pods and keeps no minimum/);
  });
  test('Karpenter options need the Karpenter provisioner; provisioner names are checked', () => {
    expect(build({ nodeProvisioner: 'cluster-autoscaler', karpenter: { amiVersion: 'latest' } })).toThrow(/karpenter: \{"amiVersion":"latest"\} — needs nodeProvisioner: "karpenter"/);
    expect(build({ nodeProvisioner: 'autoscaler' })).toThrow(/nodeProvisioner: "autoscaler" — must be "cluster-autoscaler" or "karpenter"/);
  });
  test('AMI versions are latest or a release; GPU groups cannot take the system or CPU worker labels', () => {
    expect(build({ karpenter: { amiVersion: '2025.11' } })).toThrow(/amiVersion: "2025.11" — must be "latest" or an AL2023 EKS AMI release such as v20251120/);
    expect(build({ nodeProvisioner: 'cluster-autoscaler', gpuNodeGroups: [{ name: 'cpu-workers', instanceTypes: ['g5.xlarge'] }] }))
      .toThrow(/gpuNodeGroups\[0\]\.name: "cpu-workers" — must differ from system and cpu-workers/);
  });
  test('the add-on on its own: literal cluster name, pools and capacity types are checked', () => {
    const s = newStack();
    const c = new TrainingCluster(s, 'C', { vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2 }), kubeRay: false });
    const addOn = new Karpenter({
      clusterName: c.cluster.clusterName, subnetIds: [], securityGroupIds: ['sg-1'],
      nodePools: [{ name: 'a', instanceTypes: ['g5.xlarge', 'g5.12xlarge'], maxNodes: 2, capacityTypes: ['spot', 'spot'] }, { name: 'a', instanceTypes: ['x9.huge'], maxNodes: -1 }],
    });
    expect(() => addOn.install(new Construct(s, 'Scope'), c.cluster)).toThrow(new RegExp([
      'clusterName: "\\(a token\\)" — must be the cluster\'s literal name', 'subnetIds: \\[\\] — must list at least one subnet',
      'nodePools\\[0\\]\\.instanceTypes: .* — must be all CPU types or all GPU types with the same GPU count', 'nodePools\\[0\\]\\.capacityTypes: \\["spot","spot"\\] — must list "spot" and/or "on-demand", each once',
      'nodePools\\[1\\]\\.name: "a" — must be unique', 'nodePools\\[1\\]\\.instanceTypes\\[0\\]: "x9.huge" — must be a known x86_64 CPU or NVIDIA GPU instance type',
      'nodePools\\[1\\]\\.maxNodes: -1 — must be a whole number between 0 and 1000 nodes',
    ].join('[\\s\\S]*')));
  });
});
