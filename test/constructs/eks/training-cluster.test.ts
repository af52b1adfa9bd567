import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EKS_USE_NATIVE_OIDC_PROVIDER } from 'aws-cdk-lib/cx-api';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS, DockerHubCache, HelmAddOn, PlatformNetwork, TrainingCluster,
} from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

const charts = (t: Template) => Object.values(t.findResources('Custom::AWSCDK-EKS-HelmChart')).map((r) => r.Properties);

describe('TrainingCluster', () => {
  const stack = newStack();
  const { vpc } = new PlatformNetwork(stack, 'Net', { interfaceEndpoints: false });
  const admin = iam.Role.fromRoleArn(stack, 'Admin', 'arn:aws:iam::111111111111:role/platform-admin');
  const tc = new TrainingCluster(stack, 'Training', {
    vpc,
    clusterName: 'mlops-dev-training',
    adminRoles: [admin],
    gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.xlarge', 'g5.2xlarge'], maxSize: 2 }],
    workerNodeGroup: { instanceTypes: ['m6i.xlarge', 'm5.xlarge'] },
    scaleDownUnneededMinutes: 7,
  });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('Kubernetes 1.35, private endpoint only, all five log types, secrets encrypted with the CMK', () => {
    t.hasResourceProperties('AWS::EKS::Cluster', {
      Name: 'mlops-dev-training',
      Version: '1.35',
      ResourcesVpcConfig: Match.objectLike({ EndpointPrivateAccess: true, EndpointPublicAccess: false }),
      Logging: { ClusterLogging: { EnabledTypes: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'].map((type) => ({ Type: type })) } },
      EncryptionConfig: [{ Provider: { KeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('TrainingKey'), 'Arn'] } }, Resources: ['secrets'] }],
      AccessConfig: Match.objectLike({ BootstrapClusterCreatorAdminPermissions: false }),
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/eks/mlops-dev-training/cluster', RetentionInDays: 90, KmsKeyId: Match.anyValue() });
  });

  test('admin role gets cluster-admin through an access entry', () => {
    t.hasResourceProperties('AWS::EKS::AccessEntry', {
      PrincipalArn: 'arn:aws:iam::111111111111:role/platform-admin',
      AccessPolicies: [{ PolicyArn: { 'Fn::Join': ['', Match.arrayWith([':eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'])] }, AccessScope: { Type: 'cluster' } }],
    });
  });

  test('explicit admin roles replace the deploy-role default; viewers get cluster-scoped AmazonEKSViewPolicy', () => {
    const entries = Object.values(t.findResources('AWS::EKS::AccessEntry')).map((r) => JSON.stringify(r.Properties.PrincipalArn));
    expect(entries.some((e) => e.includes('deploy-role'))).toBe(false);
    const s = newStack();
    const viewer = iam.Role.fromRoleArn(s, 'Viewer', 'arn:aws:iam::111111111111:role/on-call');
    const c = new TrainingCluster(s, 'C', { vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2 }), kubeRay: false, viewerRoles: [viewer] });
    const ray = iam.Role.fromRoleArn(s, 'Scientist', 'arn:aws:iam::111111111111:role/scientist');
    c.grantAccess('Scientist', ray, { viewNamespaces: ['ray'], kubernetesGroups: ['cdk-mlops:ray-users:ray'] });
    const tt = template(s);
    // No admin role given: the CDK deploy role of the stack's account and region is the admin.
    tt.hasResourceProperties('AWS::EKS::AccessEntry', {
      PrincipalArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/cdk-hnb659fds-deploy-role-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] },
      AccessPolicies: [Match.objectLike({ AccessScope: { Type: 'cluster' }, PolicyArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'])] }) })],
    });
    tt.hasResourceProperties('AWS::EKS::AccessEntry', {
      PrincipalArn: 'arn:aws:iam::111111111111:role/on-call', Type: 'STANDARD',
      AccessPolicies: [{ PolicyArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':eks::aws:cluster-access-policy/AmazonEKSViewPolicy']] }, AccessScope: { Type: 'cluster' } }],
    });
    tt.hasResourceProperties('AWS::EKS::AccessEntry', {
      PrincipalArn: 'arn:aws:iam::111111111111:role/scientist', KubernetesGroups: ['cdk-mlops:ray-users:ray'],
      AccessPolicies: [{ PolicyArn: Match.anyValue(), AccessScope: { Type: 'namespace', Namespaces: ['ray'] } }],
    });
    expect(c.deployRoleArn).toBeDefined();
    expect(() => c.grantAccess('Bad', ray, { kubernetesGroups: ['system:masters'] })).toThrow(/Bad\.kubernetesGroups: "system:masters" — must be a group name .*not starting with "system:"/);
    expect(() => c.grantAccess('Nothing', ray, {})).toThrow(/Nothing: \{\} — grants nothing/);
  });

  test('on-demand system group, GPU group from zero with NVIDIA AMI, taint and accelerator label, spot CPU worker group', () => {
    t.resourceCountIs('AWS::EKS::Nodegroup', 3);
    t.hasResourceProperties('AWS::EKS::Nodegroup', {
      AmiType: 'AL2023_x86_64_STANDARD', CapacityType: 'ON_DEMAND', InstanceTypes: ['m6i.large'],
      ScalingConfig: { MinSize: 2, MaxSize: 3, DesiredSize: 2 }, Labels: { 'cdk-mlops/node-group': 'system', 'cdk-mlops/capacity': 'on-demand' },
    });
    t.hasResourceProperties('AWS::EKS::Nodegroup', {
      AmiType: 'AL2023_x86_64_NVIDIA', CapacityType: 'ON_DEMAND', InstanceTypes: ['g5.xlarge', 'g5.2xlarge'],
      ScalingConfig: { MinSize: 0, MaxSize: 2, DesiredSize: 0 },
      Labels: { 'cdk-mlops/node-group': 'gpu-g5', 'k8s.amazonaws.com/accelerator': 'nvidia-a10g', 'cdk-mlops/capacity': 'on-demand' },
      Taints: [{ Key: 'nvidia.com/gpu', Value: 'true', Effect: 'NO_SCHEDULE' }],
    });
    t.hasResourceProperties('AWS::EKS::Nodegroup', {
      AmiType: 'AL2023_x86_64_STANDARD', CapacityType: 'SPOT', ScalingConfig: { MinSize: 0, MaxSize: 4, DesiredSize: 0 },
      Labels: { 'cdk-mlops/node-group': 'cpu-workers', 'cdk-mlops/capacity': 'spot' },
    });
    expect(tc.gpuCapacityOf('gpu-g5')).toEqual({
      name: 'gpu-g5', gpusPerNode: 1, maxNodes: 2, nodeSelector: { 'cdk-mlops/node-group': 'gpu-g5' },
      taint: { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' },
    });
  });

  test('nodes: IMDSv2 only and encrypted gp3 root volumes', () => {
    const templates = Object.values(t.findResources('AWS::EC2::LaunchTemplate'));
    expect(templates).toHaveLength(3);
    for (const lt of templates) {
      expect(lt.Properties.LaunchTemplateData.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
      expect(lt.Properties.LaunchTemplateData.BlockDeviceMappings[0].Ebs).toMatchObject({ Encrypted: true, VolumeType: 'gp3' });
    }
  });

  test('pinned charts: Cluster Autoscaler 1.35, NVIDIA device plugin tolerating the GPU taint, KubeRay 1.7.0 in its own namespace', () => {
    const all = charts(t);
    const byChart = Object.fromEntries(all.map((c) => [c.Chart, c]));
    expect(byChart['cluster-autoscaler']).toMatchObject({ Version: '9.54.0', Namespace: 'kube-system', Repository: 'https://kubernetes.github.io/autoscaler' });
    expect(byChart['nvidia-device-plugin']).toMatchObject({ Version: '0.19.3', Namespace: 'nvidia-device-plugin' });
    expect(byChart['kuberay-operator']).toMatchObject({ Version: '1.7.0', Namespace: 'kuberay-system', Repository: 'https://ray-project.github.io/kuberay-helm/', CreateNamespace: true });
    const values = (chart: Record<string, unknown>) => JSON.parse(chart.Values as string) as unknown;
    const cas = stack.resolve(byChart['cluster-autoscaler'].Values);
    const casText = JSON.stringify(cas);
    expect(casText).toContain('\\"scale-down-unneeded-time\\":\\"7m\\"');
    expect(casText).toContain('\\"tag\\":\\"v1.35.0\\"');
    expect(casText).toContain('\\"expander\\":\\"least-waste\\"');
    expect(casText).toContain('\\"rbac\\":{\\"serviceAccount\\":{\\"create\\":false,\\"name\\":\\"cluster-autoscaler\\"}}');
    expect(values(byChart['nvidia-device-plugin'])).toMatchObject({
      tolerations: expect.arrayContaining([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]),
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k8s.amazonaws.com/accelerator', operator: 'Exists' }] }] } } },
    });
  });

  test('Cluster Autoscaler IAM: describe-only on *, DescribeNodegroup on its node groups, resize only own tagged ASGs, via Pod Identity', () => {
    t.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: 'kube-system', ServiceAccount: 'cluster-autoscaler' });
    const policies = Object.values(t.findResources('AWS::IAM::Policy')).map((p) => p.Properties.PolicyDocument.Statement as any[]);
    const cas = policies.find((s) => s.some((st) => st.Sid === 'ResizeOwnNodegroups'))!;
    const bySid = Object.fromEntries(cas.map((s) => [s.Sid, s]));
    expect(bySid.DescribeScalingState).toMatchObject({ Action: [...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS], Resource: '*' });
    for (const action of bySid.DescribeScalingState.Action as string[]) expect(action).toMatch(/:(Describe|Get)/);
    expect(bySid.ReadNodegroupLabelsAndTaints.Action).toBe('eks:DescribeNodegroup');
    expect(bySid.ReadNodegroupLabelsAndTaints.Resource).toHaveLength(3);
    for (const r of bySid.ReadNodegroupLabelsAndTaints.Resource) expect(JSON.stringify(r)).toMatch(/Nodegroup.*Arn/);
    expect(bySid.ResizeOwnNodegroups.Action).toEqual(['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup']);
    expect(bySid.ResizeOwnNodegroups.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/eks:cluster-name': { Ref: expect.stringMatching(/^TrainingCluster/) } } });
    for (const r of bySid.ResizeOwnNodegroups.Resource) expect(JSON.stringify(r)).toContain(':autoScalingGroup:*:autoScalingGroupName/eks-');
  });

  test('the kubectl handler runs inside the VPC', () => {
    t.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('kubectl'), VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }) });
  });

  test('cdk-nag AwsSolutions finds nothing unacknowledged', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('TrainingCluster options and validation', () => {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  let n = 0;
  const build = (props: Record<string, unknown>) => () => new TrainingCluster(stack, `C${n++}`, { vpc, ...props });

  test('public endpoint only from the given CIDRs', () => {
    const s = newStack();
    new TrainingCluster(s, 'C', { vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2 }), publicAccessCidrs: ['203.0.113.0/24'], kubeRay: false });
    const tt = template(s);
    tt.hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: Match.objectLike({ EndpointPrivateAccess: true, EndpointPublicAccess: true, PublicAccessCidrs: ['203.0.113.0/24'] }),
    });
    expect(charts(tt).map((c) => c.Chart)).toEqual(['cluster-autoscaler']);
  });

  test("a consumer's app without the EKS feature flags gets the native OIDC provider, not the deprecated custom resource", () => {
    // aws-cdk-lib warns (once per process) when the deprecated provider is made; the negative control makes it.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const oidcTemplate = (context: Record<string, unknown>) => {
      const s = new Stack(new App({ builtinCloudFormationValidation: false, context }), 'Consumer');
      const c = new TrainingCluster(s, 'C', { vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2 }), kubeRay: false });
      void c.cluster.openIdConnectProvider; // what an IRSA service account asks for
      return Template.fromStack(s);
    };
    try {
      const bare = oidcTemplate({});
      bare.resourceCountIs('AWS::IAM::OIDCProvider', 1);
      bare.resourceCountIs('Custom::AWSCDKOpenIdConnectProvider', 0);
      // An app that chose the custom resource (an existing deployment) keeps it.
      oidcTemplate({ [EKS_USE_NATIVE_OIDC_PROVIDER]: false }).resourceCountIs('Custom::AWSCDKOpenIdConnectProvider', 1);
    } finally {
      warn.mockRestore();
    }
  });

  test('public endpoint open to the internet is refused', () => {
    expect(build({ publicAccessCidrs: ['0.0.0.0/0'] })).toThrow(/publicAccessCidrs\[0\]: "0.0.0.0\/0" — must be an IPv4 CIDR .* narrower than \/0/);
  });
  test('a cluster without any admin is refused (its creator gets no access)', () => {
    expect(build({ adminRoles: [], deployRoleAdmin: false })).toThrow(/adminRoles: \[\] — the cluster needs at least one admin/);
  });
  test('EFA training instances (p4d/p5 8-GPU) are refused: no EFA, device plugin or placement group here', () => {
    expect(build({ gpuNodeGroups: [{ name: 'g', instanceTypes: ['p4d.24xlarge'] }] })).toThrow(/gpuNodeGroups\[0\]\.instanceTypes\[0\]: "p4d.24xlarge" — is an EFA training instance/);
    expect(build({ gpuNodeGroups: [{ name: 'g', instanceTypes: ['p5.48xlarge'] }] })).toThrow(/NCCL would fall back to TCP/);
  });
  test('Docker Hub cache: the credential must be an ecr-pullthroughcache/ secret', () => {
    expect(() => new DockerHubCache(stack, `Cache${n++}`, { credentialArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:dockerhub-AbC' }))
      .toThrow(/credentialArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:dockerhub-AbC" — must be a Secrets Manager secret ARN whose name starts with ecr-pullthroughcache\//);
  });
  test('min > max', () => {
    expect(build({ gpuNodeGroups: [{ name: 'g', instanceTypes: ['g5.xlarge'], minSize: 3, maxSize: 1 }] }))
      .toThrow(/gpuNodeGroups\[0\]\.minSize: 3 — must not exceed gpuNodeGroups\[0\]\.maxSize \(1\)/);
  });
  test('unknown instance families', () => {
    expect(build({ gpuNodeGroups: [{ name: 'g', instanceTypes: ['m6i.large'] }] })).toThrow(/gpuNodeGroups\[0\]\.instanceTypes\[0\]: "m6i.large" — must be a GPU instance type/);
    expect(build({ systemNodeGroup: { instanceTypes: ['zz9.large'] } })).toThrow(/systemNodeGroup\.instanceTypes\[0\]: "zz9.large" — must be an x86_64 instance type/);
    expect(build({ workerNodeGroup: { instanceTypes: ['m7g.large'] } })).toThrow(/workerNodeGroup\.instanceTypes\[0\]: "m7g.large"/);
  });
  test('GPU types with different GPU counts in one group', () => {
    expect(build({ gpuNodeGroups: [{ name: 'g', instanceTypes: ['g5.xlarge', 'g5.12xlarge'] }] })).toThrow(/gpuNodeGroups\[0\]\.instanceTypes: .* must all have the same GPU count/);
  });
  test('invalid, duplicate and over-long node group names', () => {
    expect(build({ gpuNodeGroups: [{ name: 'GPU', instanceTypes: ['g5.xlarge'] }] })).toThrow(/gpuNodeGroups\[0\]\.name: "GPU" — must be a Kubernetes name/);
    expect(build({ gpuNodeGroups: [{ name: 'g'.repeat(64), instanceTypes: ['g5.xlarge'] }] })).toThrow(/at most 63/);
    expect(build({ gpuNodeGroups: [{ name: 'g', instanceTypes: ['g5.xlarge'] }, { name: 'g', instanceTypes: ['g6.xlarge'] }] }))
      .toThrow(/gpuNodeGroups\[1\]\.name: "g" — must be unique/);
  });
  test('the system group never scales to zero; negative sizes are refused', () => {
    expect(build({ systemNodeGroup: { instanceTypes: ['m6i.large'], minSize: 0 } })).toThrow(/systemNodeGroup\.minSize: 0 — must be a whole number between 1 and 100/);
    expect(build({ workerNodeGroup: { instanceTypes: ['m6i.large'], maxSize: -1 } })).toThrow(/workerNodeGroup\.maxSize: -1/);
  });
  test('autoscaler settings are checked', () => {
    expect(build({ scaleDownUnneededMinutes: 0 })).toThrow(/scaleDownUnneededMinutes: 0 — must be a whole number between 1 and 1440 minutes/);
  });
  test('custom add-ons use the contract and the Helm base; pins and names are checked; duplicates refused', () => {
    class Metrics extends HelmAddOn {
      constructor(version: string, name = 'metrics-server') {
        super({ name, chart: 'metrics-server', repository: 'https://kubernetes-sigs.github.io/metrics-server/', version, namespace: 'kube-system', createNamespace: false });
      }
      protected values() {
        return { replicas: 2 };
      }
    }
    const s = newStack();
    const c = new TrainingCluster(s, 'C', { vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2 }), addOns: [new Metrics('3.13.0')] });
    expect(Object.keys(c.addOns)).toEqual(['cluster-autoscaler', 'kuberay-operator', 'metrics-server']);
    template(s).hasResourceProperties('Custom::AWSCDK-EKS-HelmChart', { Chart: 'metrics-server', Version: '3.13.0', Values: '{"replicas":2}' });
    expect(build({ addOns: [new Metrics('^3.0.0', 'Metrics_Server')] }))
      .toThrow(/version: "\^3.0.0" — must be an exact chart version[\s\S]*release: "Metrics_Server" — must be a Kubernetes name/);
    expect(build({ addOns: [new Metrics('3.13.0', 'kuberay-operator')] })).toThrow(/addOns\[0\]\.name: "kuberay-operator" — must be unique and differ from the built-in add-ons/);
  });

  test('unknown GPU capacity name', () => {
    const s = newStack();
    const c = new TrainingCluster(s, 'C', { vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2 }), kubeRay: false });
    expect(() => c.gpuCapacityOf('nope')).toThrow(/gpuNodeGroups: no group named "nope" — known groups: none/);
  });
});
