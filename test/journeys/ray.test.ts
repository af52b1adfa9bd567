import { synthesizedVariant, type FoundResource, type SynthesizedPlatform } from './support/assembly';
import { ACCOUNTS, REGION, SCIENTIST } from './support/configs';
import { decide, expectAllowed } from './support/iam';
import { expectValid } from '../kuberay-crds';
import { expectValidKarpenter } from '../karpenter-api';

/**
 * The Ray journey over a synthesized platform: a data scientist gets access, submits a RayJob that reads the lake,
 * its GPU workers come from zero, it checkpoints to S3, the dashboards show it; a RayService serves a model; the
 * model pipeline trains on Ray. Every permission is simulated on the exact ARN the step uses. What needs a running
 * cluster (pods scheduling, the autoscaler scaling, pyarrow reading S3 with the pod's token) is listed in
 * constructs/eks/README.md, not faked here.
 */
type K8s = Record<string, any>;

describe('Ray journey (dev in its own account)', () => {
  let platform: SynthesizedPlatform;
  let objects: K8s[];
  let cluster: FoundResource;
  let raySaRole: FoundResource;
  let lake: { processed: string; artifacts: string; processedKey: string; artifactsKey: string };

  beforeAll(() => {
    platform = synthesizedVariant('ray');
    objects = platform.resources('Custom::AWSCDK-EKS-KubernetesResource', { stack: 'dev/Training' })
      .flatMap((r) => (typeof r.properties.Manifest === 'string' ? JSON.parse(r.properties.Manifest) : []) as K8s[]);
    cluster = platform.only('AWS::EKS::Cluster', 'dev/Training');
    const sa = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'ray' && o.metadata.namespace === 'ray')!;
    const roleArn = sa.metadata.annotations['eks.amazonaws.com/role-arn'];
    raySaRole = platform.byIdentifier(roleArn)!;
    const bucket = (name: string) => platform.only('AWS::S3::Bucket', 'dev/Data', (b) => b.logicalId.includes(name));
    const keyOf = (b: FoundResource) => b.properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID;
    const processed = bucket('Processed');
    const artifacts = bucket('Artifacts');
    lake = { processed: processed.ref, artifacts: artifacts.ref, processedKey: keyOf(processed), artifactsKey: keyOf(artifacts) };
  });

  test('1. access: the data scientist has an access entry in the Ray users group, whose Role may run Ray objects in the Ray namespace only', () => {
    const entry = platform.only('AWS::EKS::AccessEntry', 'dev/Training', (e) => e.properties.PrincipalArn === SCIENTIST);
    expect(entry.properties.ClusterName).toBe(cluster.ref);
    expect(entry.properties.KubernetesGroups).toEqual(['cdk-mlops:ray-users:ray']);
    expect(entry.properties.AccessPolicies).toEqual([{ PolicyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', AccessScope: { Type: 'namespace', Namespaces: ['ray'] } }]);
    const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'ray-user')!;
    expect(binding.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'cdk-mlops:ray-users:ray' }]);
    const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === binding.roleRef.name && o.metadata.namespace === 'ray')!;
    expect(role.rules[0]).toEqual({ apiGroups: ['ray.io'], resources: ['rayjobs', 'raycronjobs', 'rayclusters', 'rayservices'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] });
    // Someone can always administer it: the CDK deploy role of the dev account.
    const admin = platform.only('AWS::EKS::AccessEntry', 'dev/Training', (e) => String(e.properties.PrincipalArn).includes('deploy-role'));
    expect(admin.properties.PrincipalArn).toBe(`arn:aws:iam::${ACCOUNTS.dev}:role/cdk-hnb659fds-deploy-role-${ACCOUNTS.dev}-${REGION}`);
    expect(platform.output('dev/Training', 'ClusterName')).toBe(cluster.ref);
    expect(cluster.properties.ResourcesVpcConfig).toMatchObject({ EndpointPrivateAccess: true, EndpointPublicAccess: false });
    // The private endpoint is reached by SSM port forwarding through the GPU box: its security group may reach the API.
    const boxSg = platform.only('AWS::EC2::SecurityGroup', 'dev/Training', (g) => String(g.properties.GroupDescription).startsWith('GPU instance'));
    const boxSgId = platform.resolver.getAtt(boxSg.stack, boxSg.logicalId, 'GroupId');
    const ingress = platform.resources('AWS::EC2::SecurityGroupIngress', { stack: 'dev/Training' })
      .filter((i) => i.properties.FromPort === 443 && i.properties.SourceSecurityGroupId === boxSgId);
    expect(ingress.map((i) => i.properties.GroupId)).toEqual([platform.resolver.getAtt(cluster.stack, cluster.logicalId, 'ClusterSecurityGroupId')]);
  });

  test('2. the RayJob reads the lake: valid for KubeRay 1.7, told the processed bucket, and its pods\' role may read it', async () => {
    const job = objects.find((o) => o.kind === 'RayJob' && o.metadata.name === 'features')!;
    expectValid(job);
    const head = job.spec.rayClusterSpec.headGroupSpec.template.spec;
    expect(head.serviceAccountName).toBe('ray');
    expect(head.containers[0].env).toContainEqual({ name: 'DATA_LAKE_PROCESSED', value: `s3://${lake.processed}/` });
    await expectAllowed(platform,
      { principal: raySaRole.arn, action: 's3:GetObject', resource: `arn:aws:s3:::${lake.processed}/training/part-0000.parquet` },
      { principal: raySaRole.arn, action: 's3:ListBucket', resource: `arn:aws:s3:::${lake.processed}` },
      { principal: raySaRole.arn, action: 'kms:Decrypt', resource: lake.processedKey, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } });
    // Reading the lake is not writing it.
    expect(await decide(platform, { principal: raySaRole.arn, action: 's3:PutObject', resource: `arn:aws:s3:::${lake.processed}/training/part-0000.parquet` })).not.toBe('Allowed');
    // IRSA: only the ray/ray service account of this cluster's OIDC issuer can assume the role.
    const trust = JSON.stringify(platform.resources('Custom::AWSCDKCfnJson', { stack: 'dev/Training' }).map((c) => c.properties.Value));
    expect(trust).toContain('system:serviceaccount:ray:ray');
  });

  test('3. GPU workers from zero: the job\'s GPU pods fit only the GPU node group at 0, and the autoscaler may resize exactly its ASG', async () => {
    const job = objects.find((o) => o.kind === 'RayJob' && o.metadata.name === 'features')!;
    const gpu = job.spec.rayClusterSpec.workerGroupSpecs.find((g: K8s) => g.groupName === 'gpu');
    expect(gpu).toMatchObject({ minReplicas: 0, replicas: 0, maxReplicas: 2 });
    const group = platform.only('AWS::EKS::Nodegroup', 'dev/Training', (n) => n.properties.AmiType === 'AL2023_x86_64_NVIDIA');
    expect(group.properties.ScalingConfig).toMatchObject({ MinSize: 0, DesiredSize: 0 });
    expect(group.properties.Labels).toMatchObject(gpu.template.spec.nodeSelector);
    expect(group.properties.Taints).toEqual([{ Key: 'nvidia.com/gpu', Value: 'true', Effect: 'NO_SCHEDULE' }]);
    expect(gpu.template.spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    const autoscalerRole = platform.resources('AWS::IAM::Role', { stack: 'dev/Training' })
      .find((r) => platform.resources('AWS::EKS::PodIdentityAssociation', { stack: 'dev/Training' })
        .some((a) => a.properties.ServiceAccount === 'cluster-autoscaler' && a.properties.RoleArn === r.arn))!;
    const asg = `arn:aws:autoscaling:${REGION}:${ACCOUNTS.dev}:autoScalingGroup:0f1e2d3c-aaaa-bbbb-cccc-1234567890ab:autoScalingGroupName/eks-${group.properties.NodegroupName ?? group.ref.split('/').pop()}-12c6a1b2-3d4e`;
    const resize = { principal: autoscalerRole.arn, action: 'autoscaling:SetDesiredCapacity', resource: asg, context: { 'aws:ResourceTag/eks:cluster-name': cluster.ref } };
    await expectAllowed(platform, resize);
    expect(await decide(platform, { ...resize, context: { 'aws:ResourceTag/eks:cluster-name': 'someone-elses-cluster' } })).not.toBe('Allowed');
  });

  test('3b. the multi-GB GPU image comes from the regional ECR pull-through cache, which the nodes may fill', async () => {
    const job = objects.find((o) => o.kind === 'RayJob' && o.metadata.name === 'features')!;
    const gpu = job.spec.rayClusterSpec.workerGroupSpecs.find((g: K8s) => g.groupName === 'gpu');
    const registry = `${ACCOUNTS.dev}.dkr.ecr.${REGION}.amazonaws.com`;
    expect(gpu.template.spec.containers[0].image).toBe(`${registry}/docker-hub/rayproject/ray:2.57.0-py311-gpu`);
    const rule = platform.only('AWS::ECR::PullThroughCacheRule', 'dev/Training');
    expect(rule.properties).toMatchObject({ EcrRepositoryPrefix: 'docker-hub', UpstreamRegistryUrl: 'registry-1.docker.io' });
    const nodeRole = platform.only('AWS::IAM::Role', 'dev/Training', (r) => r.logicalId.startsWith('EksClusterNodeRole'));
    const repo = `arn:aws:ecr:${REGION}:${ACCOUNTS.dev}:repository/docker-hub/rayproject/ray`;
    await expectAllowed(platform,
      { principal: nodeRole.arn, action: 'ecr:BatchImportUpstreamImage', resource: repo },
      { principal: nodeRole.arn, action: 'ecr:CreateRepository', resource: repo });
    expect(await decide(platform, { principal: nodeRole.arn, action: 'ecr:CreateRepository', resource: `arn:aws:ecr:${REGION}:${ACCOUNTS.dev}:repository/other/thing` })).not.toBe('Allowed');
  });

  test('4. checkpoints and the model go to the artifacts bucket (write, no delete)', async () => {
    const checkpoint = `arn:aws:s3:::${lake.artifacts}/ray-jobs/features/checkpoints/epoch-3/checkpoint.pt`;
    await expectAllowed(platform,
      { principal: raySaRole.arn, action: 's3:PutObject', resource: checkpoint },
      { principal: raySaRole.arn, action: 'kms:GenerateDataKey', resource: lake.artifactsKey, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } });
    expect(await decide(platform, { principal: raySaRole.arn, action: 's3:DeleteObject', resource: checkpoint })).not.toBe('Allowed');
  });

  test('5. dashboards: Ray\'s own published by the head, GPUs from DCGM, scraped by the in-cluster Prometheus', () => {
    const rayCluster = objects.find((o) => o.kind === 'RayCluster' && o.metadata.name === 'default')!;
    expect(rayCluster.spec.headGroupSpec.template.spec.containers.map((c: K8s) => c.name)).toEqual(['ray-head', 'dashboard-publisher']);
    const publisher = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'ray-dashboard-publisher')!;
    expect(publisher.subjects).toEqual([{ kind: 'ServiceAccount', name: rayCluster.spec.headGroupSpec.template.spec.serviceAccountName, namespace: 'ray' }]);
    expect(objects.find((o) => o.kind === 'ServiceMonitor' && o.metadata.name === 'dcgm-exporter')).toBeTruthy();
    const dashboard = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cdk-mlops-gpu-dashboard')!;
    const values = JSON.parse(platform.only('Custom::AWSCDK-EKS-HelmChart', 'dev/Training', (c) => c.properties.Chart === 'kube-prometheus-stack').properties.Values);
    // The Grafana sidecar loads exactly what the platform labels.
    expect(dashboard.metadata.labels[values.grafana.sidecar.dashboards.label]).toBe('1');
    expect(values.grafana.sidecar.dashboards.searchNamespace).toBe('ALL');
  });

  test('6. a RayService serves the reference model from the artifacts bucket behind an internal NLB', async () => {
    const svc = objects.find((o) => o.kind === 'RayService' && o.metadata.name === 'reference-model')!;
    expectValid(svc);
    const vpc = platform.only('AWS::EC2::VPC', 'dev/Network');
    expect(svc.spec.serveService.spec.loadBalancerSourceRanges).toEqual([vpc.properties.CidrBlock]);
    await expectAllowed(platform, { principal: raySaRole.arn, action: 's3:GetObject', resource: `arn:aws:s3:::${lake.artifacts}/models/reference/model.onnx` });
    expect(platform.output('dev/Training', 'RayServeServices')).toBe('reference-model-serve-svc=/reference-model');
  });

  test('7. the pipeline trains on Ray: its state machine may call the gateway, the gateway may reach the cluster and read the metric the job writes', async () => {
    const pipeline = platform.only('AWS::CodePipeline::Pipeline', 'dev/Delivery', (p) => p.logicalId.startsWith('ModelPipeline'));
    const train = pipeline.properties.Stages.find((s: K8s) => s.Name === 'Train').Actions[0];
    const machine = platform.byIdentifier(train.Configuration.StateMachineArn)!;
    expect(machine.logicalId).toMatch(/^RayTraining/);
    const gateway = platform.only('AWS::Lambda::Function', 'dev/Training', (f) => f.logicalId.startsWith('EksRayJobGateway'));
    const machineRole = platform.byIdentifier(machine.properties.RoleArn)!;
    await expectAllowed(platform, { principal: machineRole.arn, action: 'lambda:InvokeFunction', resource: gateway.arn });
    const definition = JSON.parse(machine.properties.DefinitionString);
    expect(definition.States.Submit.Resource).toBe(gateway.arn);
    expectValid(definition.States.Submit.Parameters.template);
    // The gateway is mapped into the cluster and allowed through its security group on 443.
    const gatewayRole = platform.byIdentifier(gateway.properties.Role)!;
    const entry = platform.only('AWS::EKS::AccessEntry', 'dev/Training', (e) => e.properties.PrincipalArn === gatewayRole.arn);
    expect(entry.properties.KubernetesGroups).toEqual(['cdk-mlops:ray-users:ray']);
    const sg = gateway.properties.VpcConfig.SecurityGroupIds[0];
    const ingress = platform.resources('AWS::EC2::SecurityGroupIngress', { stack: 'dev/Training' })
      .find((i) => i.properties.SourceSecurityGroupId === sg && i.properties.FromPort === 443)!;
    expect(ingress.properties.GroupId).toBe(platform.resolver.getAtt(cluster.stack, cluster.logicalId, 'ClusterSecurityGroupId'));
    // The hand-off: the job writes metrics.json and model.tar.gz where the gateway reads and Register registers.
    const run = 'acme-ml-dev-8f14e45f-ceea-467f-a8f6-0c9a5bbbb3a1';
    await expectAllowed(platform,
      { principal: raySaRole.arn, action: 's3:PutObject', resource: `arn:aws:s3:::${lake.artifacts}/ray-jobs/${run}/metrics.json` },
      { principal: raySaRole.arn, action: 's3:PutObject', resource: `arn:aws:s3:::${lake.artifacts}/ray-jobs/${run}/model.tar.gz` },
      { principal: gatewayRole.arn, action: 's3:GetObject', resource: `arn:aws:s3:::${lake.artifacts}/ray-jobs/${run}/metrics.json` });
    const register = pipeline.properties.Stages.find((s: K8s) => s.Name === 'Register').Actions[0];
    const env = JSON.parse(register.Configuration.EnvironmentVariables) as { name: string; value: string }[];
    expect(env.find((e) => e.name === 'MODEL_DATA_URL')!.value).toBe(`s3://${lake.artifacts}/ray-jobs/acme-ml-dev-#{codepipeline.PipelineExecutionId}/model.tar.gz`);
    // Evaluate decrypts the metric; dev's own endpoint, which serves the registered versions, may read the run's archive
    // (one account: its identity policy, granted from the pipeline's training backend), not the rest of the run's outputs.
    const handler = platform.only('AWS::Lambda::Function', 'dev/SageMaker', (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === 'acme-ml-dev-default');
    const endpointRole = JSON.parse(handler.properties.Environment.Variables.DEPLOYMENT_SPEC).ExecutionRoleArn as string;
    const decrypt = { action: 'kms:Decrypt', resource: lake.artifactsKey, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } };
    await expectAllowed(platform,
      { principal: gatewayRole.arn, ...decrypt },
      { principal: endpointRole, action: 's3:GetObject', resource: `arn:aws:s3:::${lake.artifacts}/ray-jobs/${run}/model.tar.gz` },
      { principal: endpointRole, ...decrypt });
    expect(await decide(platform, { principal: endpointRole, action: 's3:GetObject', resource: `arn:aws:s3:::${lake.artifacts}/ray-jobs/${run}/checkpoints/epoch-3/checkpoint.pt` })).not.toBe('Allowed');
    expect(await decide(platform, { principal: gatewayRole.arn, action: 's3:GetObject', resource: `arn:aws:s3:::${lake.processed}/training/part-0000.parquet` })).not.toBe('Allowed');
  });

  describe('the same journey on Karpenter (staging)', () => {
    const STACK = 'staging/Training';
    let stagingObjects: K8s[];
    let controllerRole: FoundResource;
    let stagingCluster: FoundResource;
    beforeAll(() => {
      stagingObjects = platform.resources('Custom::AWSCDK-EKS-KubernetesResource', { stack: STACK })
        .flatMap((r) => (typeof r.properties.Manifest === 'string' ? JSON.parse(r.properties.Manifest) : []) as K8s[]);
      stagingCluster = platform.only('AWS::EKS::Cluster', STACK);
      const association = platform.only('AWS::EKS::PodIdentityAssociation', STACK, (a) => a.properties.ServiceAccount === 'karpenter');
      controllerRole = platform.byIdentifier(association.properties.RoleArn)!;
    });
    const pool = (name: string) => stagingObjects.find((o) => o.kind === 'NodePool' && o.metadata.name === name)!;

    test('GPU workers from zero: no GPU node group and no Cluster Autoscaler; the default RayCluster\'s GPU pods fit only the GPU NodePool', () => {
      expect(platform.resources('AWS::EKS::Nodegroup', { stack: STACK }).map((n) => n.properties.Labels['cdk-mlops/node-group'])).toEqual(['system']);
      const charts = platform.resources('Custom::AWSCDK-EKS-HelmChart', { stack: STACK }).map((c) => c.properties.Chart);
      expect(charts).not.toContain('cluster-autoscaler');
      expect(charts).toEqual(expect.arrayContaining(['karpenter-crd', 'karpenter']));
      for (const o of stagingObjects.filter((x) => String(x.apiVersion).startsWith('karpenter.'))) expectValidKarpenter(o);
      const rayCluster = stagingObjects.find((o) => o.kind === 'RayCluster' && o.metadata.name === 'default')!;
      expectValid(rayCluster);
      const gpu = rayCluster.spec.workerGroupSpecs.find((g: K8s) => g.groupName === 'gpu');
      const cpu = rayCluster.spec.workerGroupSpecs.find((g: K8s) => g.groupName === 'cpu');
      expect(gpu).toMatchObject({ minReplicas: 0, replicas: 0 });
      const gpuPool = pool('gpu-g5');
      expect(gpuPool.spec.template.metadata.labels).toMatchObject(gpu.template.spec.nodeSelector);
      expect(gpu.template.spec.tolerations).toEqual(gpuPool.spec.template.spec.taints.map((t: K8s) => ({ ...t, operator: 'Equal' })));
      expect(gpuPool.spec.template.spec.requirements).toContainEqual({ key: 'karpenter.sh/capacity-type', operator: 'In', values: ['spot', 'on-demand'] });
      expect(gpuPool.spec.limits['nvidia.com/gpu']).toBe('4');
      // CPU workers select the CPU pool, which has no GPU taint, and never tolerate the GPU pool's.
      expect(pool('cpu-workers').spec.template.metadata.labels).toMatchObject(cpu.template.spec.nodeSelector);
      expect(cpu.template.spec.tolerations).toBeUndefined();
      // The GPU image is pulled onto each GPU node as it joins.
      const prePull = stagingObjects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'ray-gpu-image')!;
      expect(prePull.spec.template.spec.containers.map((c: K8s) => c.image)).toEqual([gpu.template.spec.containers[0].image]);
      expect(Object.keys(gpuPool.spec.template.metadata.labels)).toContain(prePull.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key);
    });

    test('nodes launch into the cluster\'s subnets with its security group, and join through the node role\'s access entry', () => {
      const nodeClass = stagingObjects.find((o) => o.kind === 'EC2NodeClass' && o.metadata.name === 'gpu-g5')!;
      const nodegroup = platform.only('AWS::EKS::Nodegroup', STACK);
      expect(nodeClass.spec.subnetSelectorTerms.map((t: K8s) => t.id)).toEqual(nodegroup.properties.Subnets);
      for (const id of nodegroup.properties.Subnets) expect(id).toMatch(/^subnet-/);
      expect(nodeClass.spec.securityGroupSelectorTerms).toEqual([{ id: platform.resolver.getAtt(stagingCluster.stack, stagingCluster.logicalId, 'ClusterSecurityGroupId') }]);
      const profile = platform.only('AWS::IAM::InstanceProfile', STACK, (p) => p.ref === nodeClass.spec.instanceProfile);
      const nodeRole = platform.only('AWS::IAM::Role', STACK, (r) => r.ref === profile.properties.Roles[0]);
      const entry = platform.only('AWS::EKS::AccessEntry', STACK, (e) => e.properties.PrincipalArn === nodeRole.arn);
      expect(entry.properties).toMatchObject({ Type: 'EC2_LINUX', ClusterName: stagingCluster.ref });
    });

    test('the controller may launch and terminate this cluster\'s tagged nodes, pass only the node role, read only its queue', async () => {
      const account = ACCOUNTS.staging;
      const name = stagingCluster.ref;
      const instance = `arn:aws:ec2:${REGION}:${account}:instance/i-0123456789abcdef0`;
      const ownedTags = { [`aws:ResourceTag/kubernetes.io/cluster/${name}`]: 'owned', 'aws:ResourceTag/karpenter.sh/nodepool': 'gpu-g5' };
      const launchTags = { [`aws:RequestTag/kubernetes.io/cluster/${name}`]: 'owned', 'aws:RequestTag/eks:eks-cluster-name': name, 'aws:RequestTag/karpenter.sh/nodepool': 'gpu-g5' };
      const terminate = { principal: controllerRole.arn, action: 'ec2:TerminateInstances', resource: instance, context: ownedTags };
      const nodeClass = stagingObjects.find((o) => o.kind === 'EC2NodeClass' && o.metadata.name === 'gpu-g5')!;
      const profile = platform.only('AWS::IAM::InstanceProfile', STACK, (p) => p.ref === nodeClass.spec.instanceProfile);
      const nodeRole = platform.only('AWS::IAM::Role', STACK, (r) => r.ref === profile.properties.Roles[0]);
      const queue = platform.only('AWS::SQS::Queue', STACK);
      await expectAllowed(platform,
        terminate,
        { principal: controllerRole.arn, action: 'ec2:RunInstances', resource: instance, context: launchTags },
        { principal: controllerRole.arn, action: 'ec2:RunInstances', resource: nodeClass.spec.subnetSelectorTerms[0].id.replace(/^/, `arn:aws:ec2:${REGION}:${account}:subnet/`) },
        { principal: controllerRole.arn, action: 'iam:PassRole', resource: nodeRole.arn, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
        { principal: controllerRole.arn, action: 'sqs:ReceiveMessage', resource: queue.arn });
      // Not another cluster's nodes, not untagged launches, not other roles, not instance-profile management.
      expect(await decide(platform, { ...terminate, context: { ...ownedTags, [`aws:ResourceTag/kubernetes.io/cluster/${name}`]: 'shared' } })).not.toBe('Allowed');
      expect(await decide(platform, { principal: controllerRole.arn, action: 'ec2:RunInstances', resource: instance, context: { 'aws:RequestTag/karpenter.sh/nodepool': 'gpu-g5' } })).not.toBe('Allowed');
      expect(await decide(platform, { principal: controllerRole.arn, action: 'iam:PassRole', resource: `arn:aws:iam::${account}:role/admin`, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } })).not.toBe('Allowed');
      expect(await decide(platform, { principal: controllerRole.arn, action: 'iam:CreateInstanceProfile', resource: `arn:aws:iam::${account}:instance-profile/x` })).not.toBe('Allowed');
      // EventBridge may deliver interruption notices, from its rules only.
      const rule = platform.only('AWS::Events::Rule', STACK, (r) => r.properties.EventPattern['detail-type'][0] === 'EC2 Spot Instance Interruption Warning');
      await expectAllowed(platform, { principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: queue.arn, context: { 'aws:SourceArn': rule.arn } });
      expect(await decide(platform, { principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: queue.arn, context: { 'aws:SourceArn': `arn:aws:events:${REGION}:${account}:rule/other` } })).not.toBe('Allowed');
    });

    test('cdk-nag finds nothing unacknowledged in the Karpenter stage', () => {
      expect(platform.validationFailures.filter((f) => f.includes('staging/'))).toEqual([]);
    });
  });

  describe('what the journey relies on', () => {
    test('a scheduled job is a RayCronJob; the operator runs its feature gate and Volcano for gang scheduling', () => {
      const cron = objects.find((o) => o.kind === 'RayCronJob')!;
      expectValid(cron);
      expect(cron).toMatchObject({ metadata: { name: 'nightly-train', labels: { 'ray.io/scheduler-name': 'volcano' } }, spec: { schedule: '0 3 * * *', jobTemplate: { entrypoint: 'python train.py' } } });
      const charts = platform.resources('Custom::AWSCDK-EKS-HelmChart', { stack: 'dev/Training' }).map((c) => c.properties);
      expect(JSON.parse(charts.find((c) => c.Chart === 'kuberay-operator')!.Values)).toMatchObject({
        featureGates: [{ name: 'RayClusterStatusConditions', enabled: true }, { name: 'RayCronJob', enabled: true }], batchScheduler: { name: 'volcano' },
      });
      expect(charts.find((c) => c.Chart === 'volcano')).toMatchObject({ Repository: 'https://volcano-sh.github.io/helm-charts', Version: '1.15.2' });
    });

    test('the viewer reads the whole cluster, nothing more; the Ray users Role cannot read secrets or change RBAC', () => {
      const viewer = platform.only('AWS::EKS::AccessEntry', 'dev/Training', (e) => String(e.properties.PrincipalArn).endsWith(':role/on-call'));
      expect(viewer.properties.AccessPolicies).toEqual([{ PolicyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', AccessScope: { Type: 'cluster' } }]);
      expect(viewer.properties.KubernetesGroups).toBeUndefined();
      const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === 'ray-user')!;
      expect(role.rules.flatMap((r: K8s) => r.resources)).not.toContain('secrets');
      expect(role.rules.flatMap((r: K8s) => r.apiGroups)).not.toContain('rbac.authorization.k8s.io');
    });

    test('the pipeline\'s train machine polls KubeRay and fails with its message; evaluate gates on the configured threshold', () => {
      const machines = platform.resources('AWS::StepFunctions::StateMachine', { stack: 'dev/Delivery', filter: (m) => m.logicalId.startsWith('RayTraining') })
        .map((m) => JSON.parse(m.properties.DefinitionString));
      const train = machines.find((d) => d.StartAt === 'Submit')!;
      expect(train.States['Finished?'].Choices).toEqual([
        { Variable: '$.job.done', BooleanEquals: false, Next: 'WaitForJob' },
        { Variable: '$.job.succeeded', BooleanEquals: true, Next: 'Trained' },
      ]);
      expect(train.States.RayJobFailed.Error).toBe('RayJobFailed');
      const evaluate = machines.find((d) => d.StartAt === 'ReadMetric')!;
      expect(evaluate.States['MeetsThreshold?'].Choices).toEqual([{ Variable: '$.metric.value', NumericGreaterThanEquals: 0.8, Next: 'Passed' }]);
      expect(evaluate.States.BelowThreshold.Error).toBe('ModelEvaluationFailed');
      const template = train.States.Submit.Parameters.template;
      expect(template.spec).toMatchObject({ entrypoint: 'python train.py', shutdownAfterJobFinishes: true, activeDeadlineSeconds: 86400 });
      expect(template.spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].env).toContainEqual({ name: 'TRAIN_DATA_URI', value: `s3://${lake.processed}/training/` });
    });

    test('the Training stack publishes the Ray Serve apps and the gateway for `cdk-mlops smoke`', () => {
      const gateway = platform.only('AWS::Lambda::Function', 'dev/Training', (f) => f.logicalId.startsWith('EksRayJobGateway'));
      expect(platform.output('dev/Training', 'RayJobGatewayFunction')).toBe(gateway.ref);
    });
  });
});
