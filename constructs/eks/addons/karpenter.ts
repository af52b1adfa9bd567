import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { type Construct } from 'constructs';
import { acknowledge, acknowledgeControls, acknowledgeResourceWildcards } from '../../core/nag';
import { type PropsValidator } from '../../core/validation';
import { acceleratorOf, cpuInstanceResources, gpusPerInstance, isCpuInstanceType } from '../instance-types';
import { checkK8sName, HelmAddOn } from './helm-add-on';
import { CAPACITY_LABEL, NODE_GROUP_LABEL } from '../labels';
import { ACCELERATOR_LABEL, GPU_TAINT_KEY } from './nvidia-device-plugin';

/** Karpenter release the add-on pins (chart and controller; supports Kubernetes 1.35 from Karpenter 1.9). */
export const KARPENTER_VERSION = '1.14.1';
/** Where Karpenter publishes its Helm charts (OCI, public ECR). */
export const KARPENTER_CHART_REGISTRY = 'oci://public.ecr.aws/karpenter';
/** How long a Karpenter node lives at most before it is replaced (Karpenter's default, 30 days). */
const EXPIRE_AFTER = '720h';

/** Capacity types a node pool may launch. */
export type KarpenterCapacityType = 'spot' | 'on-demand';

/** One Karpenter NodePool (with an EC2NodeClass of the same name). */
export interface KarpenterNodePoolOptions {
  /** Pool name (Kubernetes name rules); also the `cdk-mlops/node-group` label its nodes carry, which pods select. */
  readonly name: string;
  /** x86_64 instance types the pool may launch: CPU types, or NVIDIA GPU types with the same GPU count. */
  readonly instanceTypes: string[];
  /** Capacity types; with both, Karpenter launches spot and falls back to on-demand when spot has no capacity. @default ['on-demand'] */
  readonly capacityTypes?: KarpenterCapacityType[];
  /** Nodes the pool never exceeds (NodePool `limits`). 0 keeps the pool from launching anything. */
  readonly maxNodes: number;
  /** Encrypted gp3 root volume per node. @default 100 */
  readonly diskSizeGiB?: number;
}

export interface KarpenterProps {
  /** The cluster's name as a literal (it appears in IAM condition keys, which cannot hold tokens). */
  readonly clusterName: string;
  /** Subnets Karpenter launches nodes into (the cluster's node subnets). */
  readonly subnetIds: string[];
  /** Security groups of the nodes (the EKS cluster security group, as on the managed node groups). */
  readonly securityGroupIds: string[];
  /** The node pools. GPU pools (GPU instance types) are tainted `nvidia.com/gpu=true:NoSchedule`. */
  readonly nodePools: KarpenterNodePoolOptions[];
  /**
   * When Karpenter removes nodes: `WhenEmpty` (only nodes without pods; Ray removes idle workers itself, so nodes
   * empty out after the Ray idle timeout) or `WhenEmptyOrUnderutilized` (also moves pods to pack nodes tighter, which
   * restarts running Ray workers).
   * @default 'WhenEmpty'
   */
  readonly consolidationPolicy?: 'WhenEmpty' | 'WhenEmptyOrUnderutilized';
  /** Minutes a node must be empty (or underutilized) before Karpenter removes it. @default 10 */
  readonly consolidateAfterMinutes?: number;
  /**
   * Version of the EKS-optimized AL2023 AMI (`al2023@<version>` alias; Karpenter picks the NVIDIA variant for GPU
   * types). `latest` follows new releases: nodes drift to them (CPU pools 10% at a time, GPU pools only once empty).
   * Pin (`v20251120`) to roll AMIs deliberately.
   * @default 'latest'
   */
  readonly amiVersion?: string;
  /** Chart and controller version. @default KARPENTER_VERSION */
  readonly version?: string;
  /** Controller replicas (one per node: the chart spreads them across hosts). @default 2 */
  readonly replicas?: number;
  /** Node labels the controller must run on: never nodes Karpenter itself manages. @default - any node without `karpenter.sh/nodepool` */
  readonly nodeSelector?: Record<string, string>;
}

/**
 * Karpenter (https://karpenter.sh) as the node provisioner: it watches pending pods and launches the cheapest EC2
 * instance that fits them from a NodePool, then removes nodes once they are empty. GPU pools start at zero nodes.
 *
 * What is created, following the Karpenter getting-started CloudFormation of the pinned release:
 * - the `karpenter-crd` chart (keeps the CRDs upgraded with the release) and the `karpenter` chart in kube-system,
 *   the controller on the given nodes, with AWS access through EKS Pod Identity;
 * - the controller policy of the docs, scoped to this cluster by its tags. One deliberate difference: the instance
 *   profile is created here (`EC2NodeClass.spec.instanceProfile`), so the controller gets no
 *   `iam:CreateInstanceProfile`/`AddRoleToInstanceProfile`/`DeleteInstanceProfile`, only read access to that profile;
 * - the node role (EKS worker, CNI, ECR pull) and its `EC2_LINUX` access entry, so nodes can join;
 * - the interruption queue (SQS, 5-minute retention) fed by EventBridge rules for spot interruption warnings,
 *   rebalance recommendations, instance state changes, scheduled AWS Health events and capacity reservation
 *   interruptions: Karpenter cordons and drains a node before EC2 takes it away;
 * - per pool an EC2NodeClass (AL2023 alias, the node subnets and cluster security group by id, encrypted gp3 root
 *   volume, IMDSv2 with hop limit 1, detailed monitoring) and a NodePool (instance types, capacity types, limits,
 *   consolidation, the GPU taint and accelerator label on GPU pools).
 */
export class Karpenter extends HelmAddOn {
  /** Service account of the controller (kube-system). */
  public static readonly SERVICE_ACCOUNT = 'karpenter';
  private readonly options: KarpenterProps;
  private queue?: sqs.Queue;
  private installed?: {
    readonly nodeRole: iam.Role; readonly controllerRole: iam.IRole; readonly interruptionQueue: sqs.Queue;
    readonly instanceProfile: iam.InstanceProfile; readonly nodePools: eks.KubernetesManifest;
  };

  constructor(props: KarpenterProps) {
    const version = props.version ?? KARPENTER_VERSION;
    super({
      name: 'karpenter',
      chart: 'karpenter',
      repository: `${KARPENTER_CHART_REGISTRY}/karpenter`,
      version,
      namespace: 'kube-system',
      createNamespace: false,
    });
    this.options = props;
  }

  /** Role of the nodes Karpenter launches (set once installed). */
  public get nodeRole(): iam.Role | undefined {
    return this.installed?.nodeRole;
  }

  /** The controller's Pod Identity role (set once installed). */
  public get controllerRole(): iam.IRole | undefined {
    return this.installed?.controllerRole;
  }

  /** The interruption queue (set once installed). */
  public get interruptionQueue(): sqs.Queue | undefined {
    return this.installed?.interruptionQueue;
  }

  /** The EC2NodeClass and NodePool manifest (set once installed). */
  public get nodePoolManifest(): eks.KubernetesManifest | undefined {
    return this.installed?.nodePools;
  }

  /** @internal */
  protected override _validate(v: PropsValidator): void {
    const o = this.options;
    const literalName = !Token.isUnresolved(o.clusterName);
    v.check(literalName && /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/.test(o.clusterName), 'clusterName', literalName ? o.clusterName : '(a token)',
      'must be the cluster\'s literal name (IAM condition keys cannot hold tokens)')
      .check(o.subnetIds.length > 0, 'subnetIds', o.subnetIds, 'must list at least one subnet')
      .check(o.securityGroupIds.length > 0, 'securityGroupIds', o.securityGroupIds, 'must list at least one security group')
      .check(/^(latest|v\d{8})$/.test(o.amiVersion ?? 'latest'), 'amiVersion', o.amiVersion, 'must be "latest" or an AL2023 EKS AMI release such as v20251120')
      .intRange('consolidateAfterMinutes', o.consolidateAfterMinutes, 1, 1440, 'minutes')
      .intRange('replicas', o.replicas, 1, 5);
    const names = o.nodePools.map((p) => p.name);
    o.nodePools.forEach((p, i) => {
      const prop = `nodePools[${i}]`;
      checkK8sName(v, `${prop}.name`, p.name);
      v.check(names.indexOf(p.name) === i, `${prop}.name`, p.name, 'must be unique among the node pools');
      v.check(p.instanceTypes.length > 0, `${prop}.instanceTypes`, p.instanceTypes, 'must list at least one instance type');
      p.instanceTypes.forEach((t, j) => v.check(isCpuInstanceType(t) || gpusPerInstance(t) !== undefined, `${prop}.instanceTypes[${j}]`, t,
        'must be a known x86_64 CPU or NVIDIA GPU instance type'));
      const gpu = p.instanceTypes.map((t) => gpusPerInstance(t) ?? 0);
      v.check(new Set(gpu).size <= 1, `${prop}.instanceTypes`, p.instanceTypes, 'must be all CPU types or all GPU types with the same GPU count');
      const capacity = p.capacityTypes ?? ['on-demand'];
      v.check(capacity.length > 0 && capacity.every((c) => c === 'spot' || c === 'on-demand') && new Set(capacity).size === capacity.length,
        `${prop}.capacityTypes`, capacity, 'must list "spot" and/or "on-demand", each once');
      v.intRange(`${prop}.maxNodes`, p.maxNodes, 0, 1000, 'nodes').intRange(`${prop}.diskSizeGiB`, p.diskSizeGiB, 20, 16384, 'GiB');
    });
  }

  protected override installResources(scope: Construct, cluster: eks.ICluster): Construct {
    const o = this.options;
    const name = o.clusterName;

    const queue = this.interruptionHandling(scope);
    this.queue = queue;
    const nodeRole = new iam.Role(scope, 'NodeRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Nodes Karpenter launches for EKS cluster ${name}`,
      managedPolicies: ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryPullOnly']
        .map((n) => iam.ManagedPolicy.fromAwsManagedPolicyName(n)),
    });
    acknowledge(nodeRole, [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKSWorkerNodePolicy]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKS_CNI_Policy]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly]',
    ], 'EKS requires these AWS-managed policies on node roles (node registration, VPC CNI, image pulls) and AWS updates them with the service; pods get their own permissions through Pod Identity or IRSA.');
    const instanceProfile = new iam.InstanceProfile(scope, 'NodeInstanceProfile', { role: nodeRole });
    // Nodes authenticate with the node role; the access entry puts them in system:nodes.
    const nodeAccess = new eks.CfnAccessEntry(scope, 'NodeAccess', { clusterName: cluster.clusterName, principalArn: nodeRole.roleArn, type: 'EC2_LINUX' });

    const serviceAccount = new eks.ServiceAccount(scope, 'ServiceAccount', {
      cluster,
      name: Karpenter.SERVICE_ACCOUNT,
      namespace: 'kube-system',
      identityType: eks.IdentityType.POD_IDENTITY,
    });
    const policy = this.controllerPolicy(scope, cluster, nodeRole, instanceProfile, queue);
    serviceAccount.role.attachInlinePolicy(policy);

    const crds = new eks.HelmChart(scope, 'Crds', {
      cluster,
      chart: 'karpenter-crd',
      repository: `${KARPENTER_CHART_REGISTRY}/karpenter-crd`,
      version: this.props.version,
      namespace: 'kube-system',
      release: 'karpenter-crd',
      createNamespace: false,
      wait: true,
      timeout: Duration.minutes(5),
    });
    const chart = this.installChart(scope, cluster);
    // The controller starts with its CRDs, credentials and queue in place; nodes it launches can join at once.
    chart.node.addDependency(crds, serviceAccount, policy, nodeAccess, queue);

    const nodePools = new eks.KubernetesManifest(scope, 'NodePools', {
      cluster,
      manifest: o.nodePools.flatMap((p) => [this.nodeClass(p, instanceProfile), this.nodePool(p)]),
      skipValidation: false,
    });
    // Applied once the controller runs, and deleted before it, so Karpenter drains and terminates its nodes.
    nodePools.node.addDependency(chart);
    this.installed = { nodeRole, controllerRole: serviceAccount.role, interruptionQueue: queue, instanceProfile, nodePools };
    return chart;
  }

  protected values(_cluster: eks.ICluster): Record<string, unknown> {
    const o = this.options;
    return {
      settings: { clusterName: o.clusterName, interruptionQueue: this.queue?.queueName },
      serviceAccount: { create: false, name: Karpenter.SERVICE_ACCOUNT },
      replicas: o.replicas ?? 2,
      nodeSelector: { 'kubernetes.io/os': 'linux', ...o.nodeSelector },
      // Below the docs' 1 CPU / 1 GiB, sized for a system node it shares with the Ray head; the limit caps a leak.
      controller: { resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } } },
    };
  }

  /** The interruption queue and the EventBridge rules that feed it. */
  private interruptionHandling(scope: Construct): sqs.Queue {
    const queue = new sqs.Queue(scope, 'InterruptionQueue', {
      // Interruption notices are worth acting on for two minutes; older ones only describe the past.
      retentionPeriod: Duration.minutes(5),
      // SQS-managed keys: EventBridge can deliver to them without a key policy of ours.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(queue, ['AwsSolutions-SQS3'],
      'Karpenter\'s interruption queue: a notice not handled within its 5-minute retention is stale (the instance is gone), so a dead-letter queue would hold only history.');
    acknowledgeControls(queue, ['CT.SQS.PR.1 sqs_dlq_check'],
      'Karpenter\'s interruption queue: a notice not handled within its 5-minute retention is stale (the instance is gone), so a dead-letter queue would hold only history.');
    const rules: Record<string, events.EventPattern> = {
      ScheduledChange: { source: ['aws.health'], detailType: ['AWS Health Event'] },
      SpotInterruption: { source: ['aws.ec2'], detailType: ['EC2 Spot Instance Interruption Warning'] },
      Rebalance: { source: ['aws.ec2'], detailType: ['EC2 Instance Rebalance Recommendation'] },
      InstanceStateChange: { source: ['aws.ec2'], detailType: ['EC2 Instance State-change Notification'] },
      CapacityReservationInterruption: { source: ['aws.ec2'], detailType: ['EC2 Capacity Reservation Instance Interruption Warning'] },
    };
    for (const [id, eventPattern] of Object.entries(rules)) {
      new events.Rule(scope, `${id}Rule`, {
        description: `Karpenter interruption handling of ${this.options.clusterName}: ${eventPattern.detailType![0]}`,
        eventPattern,
        targets: [new targets.SqsQueue(queue)],
      });
    }
    return queue;
  }

  /** The controller policy of the Karpenter docs for this cluster, without instance-profile management. */
  private controllerPolicy(scope: Construct, cluster: eks.ICluster, nodeRole: iam.IRole, instanceProfile: iam.InstanceProfile, queue: sqs.IQueue): iam.Policy {
    const stack = Stack.of(scope);
    const name = this.options.clusterName;
    const ec2 = (resource: string, account = stack.account) => stack.formatArn({ service: 'ec2', account, resource, resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const owned = { [`aws:RequestTag/kubernetes.io/cluster/${name}`]: 'owned', 'aws:RequestTag/eks:eks-cluster-name': name };
    const ownedResource = { StringEquals: { [`aws:ResourceTag/kubernetes.io/cluster/${name}`]: 'owned' }, StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' } };
    const launched = ['fleet', 'instance', 'volume', 'network-interface', 'launch-template', 'spot-instances-request'].map((r) => ec2(r));
    // Subnets of a shared VPC belong to its owner account; AMIs and snapshots are public or the account's own.
    const launchInputs = [ec2('image', ''), ec2('snapshot', ''), ec2('security-group'), ec2('subnet', '*'), ec2('capacity-reservation'), ec2('placement-group')];
    const ssmParameters = stack.formatArn({ service: 'ssm', account: '', resource: 'parameter', resourceName: 'aws/service/*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const policy = new iam.Policy(scope, 'ControllerPolicy', {
      statements: [
        new iam.PolicyStatement({ sid: 'AllowScopedEC2InstanceAccessActions', actions: ['ec2:RunInstances', 'ec2:CreateFleet'], resources: launchInputs }),
        new iam.PolicyStatement({ sid: 'AllowScopedEC2LaunchTemplateAccessActions', actions: ['ec2:RunInstances', 'ec2:CreateFleet'], resources: [ec2('launch-template')], conditions: ownedResource }),
        new iam.PolicyStatement({
          sid: 'AllowScopedEC2InstanceActionsWithTags',
          actions: ['ec2:RunInstances', 'ec2:CreateFleet', 'ec2:CreateLaunchTemplate'],
          resources: launched,
          conditions: { StringEquals: owned, StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' } },
        }),
        new iam.PolicyStatement({
          sid: 'AllowScopedResourceCreationTagging',
          actions: ['ec2:CreateTags'],
          resources: launched,
          conditions: { StringEquals: { ...owned, 'ec2:CreateAction': ['RunInstances', 'CreateFleet', 'CreateLaunchTemplate'] }, StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' } },
        }),
        new iam.PolicyStatement({
          sid: 'AllowScopedResourceTagging',
          actions: ['ec2:CreateTags'],
          resources: [ec2('instance')],
          conditions: {
            ...ownedResource,
            StringEqualsIfExists: { 'aws:RequestTag/eks:eks-cluster-name': name },
            'ForAllValues:StringEquals': { 'aws:TagKeys': ['eks:eks-cluster-name', 'karpenter.sh/nodeclaim', 'Name'] },
          },
        }),
        new iam.PolicyStatement({ sid: 'AllowScopedDeletion', actions: ['ec2:TerminateInstances', 'ec2:DeleteLaunchTemplate'], resources: [ec2('instance'), ec2('launch-template')], conditions: ownedResource }),
        new iam.PolicyStatement({
          sid: 'AllowPassingInstanceRole',
          actions: ['iam:PassRole'],
          resources: [nodeRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
        }),
        new iam.PolicyStatement({ sid: 'AllowInstanceProfileReadActions', actions: ['iam:GetInstanceProfile'], resources: [instanceProfile.instanceProfileArn] }),
        new iam.PolicyStatement({ sid: 'AllowAPIServerEndpointDiscovery', actions: ['eks:DescribeCluster'], resources: [cluster.clusterArn] }),
        new iam.PolicyStatement({ sid: 'AllowInterruptionQueueActions', actions: ['sqs:DeleteMessage', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'], resources: [queue.queueArn] }),
        new iam.PolicyStatement({
          sid: 'AllowRegionalReadActions',
          actions: [
            'ec2:DescribeCapacityReservations', 'ec2:DescribeImages', 'ec2:DescribeInstances', 'ec2:DescribeInstanceStatus', 'ec2:DescribeInstanceTypeOfferings',
            'ec2:DescribeInstanceTypes', 'ec2:DescribeLaunchTemplates', 'ec2:DescribePlacementGroups', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSpotPriceHistory', 'ec2:DescribeSubnets',
          ],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:RequestedRegion': stack.region } },
        }),
        new iam.PolicyStatement({ sid: 'AllowSSMReadActions', actions: ['ssm:GetParameter'], resources: [ssmParameters] }),
        new iam.PolicyStatement({ sid: 'AllowPricingReadActions', actions: ['pricing:GetProducts'], resources: ['*'] }),
        // The garbage collector lists Karpenter-made profiles under /karpenter/<region>/<cluster>/ (there are none here).
        new iam.PolicyStatement({ sid: 'AllowUnscopedInstanceProfileListAction', actions: ['iam:ListInstanceProfiles'], resources: ['*'] }),
      ],
    });
    acknowledge(policy, ['AwsSolutions-IAM5[Resource::*]'],
      'Karpenter controller (docs policy): ec2:Describe* (limited to the region by a condition), pricing:GetProducts and iam:ListInstanceProfiles support no resource-level permissions.');
    acknowledgeResourceWildcards(policy, [...new Set([...launchInputs, ...launched, ssmParameters])],
      'Karpenter controller (docs policy): instances, volumes, ENIs, fleets and launch templates it creates get ids at run time, so their ARNs end in * and conditions '
      + `require this cluster's tags (kubernetes.io/cluster/${name}=owned, karpenter.sh/nodepool); it launches from any AMI/subnet/security group the EC2NodeClass selects, and reads public EKS AMI parameters under /aws/service/.`);
    return policy;
  }

  private nodeClass(p: KarpenterNodePoolOptions, profile: iam.InstanceProfile): Record<string, unknown> {
    const o = this.options;
    return {
      apiVersion: 'karpenter.k8s.aws/v1',
      kind: 'EC2NodeClass',
      metadata: { name: p.name },
      spec: {
        amiSelectorTerms: [{ alias: `al2023@${o.amiVersion ?? 'latest'}` }],
        instanceProfile: profile.instanceProfileName,
        subnetSelectorTerms: o.subnetIds.map((id) => ({ id })),
        securityGroupSelectorTerms: o.securityGroupIds.map((id) => ({ id })),
        blockDeviceMappings: [{
          deviceName: '/dev/xvda',
          rootVolume: true,
          ebs: { volumeSize: `${p.diskSizeGiB ?? 100}Gi`, volumeType: 'gp3', encrypted: true, deleteOnTermination: true },
        }],
        // IMDSv2 only; hop limit 1 keeps pods away from the node role.
        metadataOptions: { httpEndpoint: 'enabled', httpProtocolIPv6: 'disabled', httpPutResponseHopLimit: 1, httpTokens: 'required' },
        // 1-minute EC2 metrics on nodes (Control Tower CT.EC2.PR.10), as on the managed node groups.
        detailedMonitoring: true,
        tags: { [NODE_GROUP_LABEL]: p.name },
      },
    };
  }

  private nodePool(p: KarpenterNodePoolOptions): Record<string, unknown> {
    const o = this.options;
    const gpus = gpusPerInstance(p.instanceTypes[0]) ?? 0;
    const capacity = p.capacityTypes ?? ['on-demand'];
    const labels: Record<string, string> = {
      [NODE_GROUP_LABEL]: p.name,
      ...(gpus > 0 ? { [ACCELERATOR_LABEL]: acceleratorOf(p.instanceTypes[0])! } : {}),
      ...(capacity.length === 1 ? { [CAPACITY_LABEL]: capacity[0] } : {}),
    };
    const cpu = Math.max(0, ...p.instanceTypes.map((t) => cpuInstanceResources(t)?.vcpus ?? 0));
    const memory = Math.max(0, ...p.instanceTypes.map((t) => cpuInstanceResources(t)?.memoryGiB ?? 0));
    const limits: Record<string, string> = {
      nodes: String(p.maxNodes),
      // GPU pools are bounded by their GPUs, CPU pools by vCPUs and memory: a node count in the units Karpenter checks.
      ...(gpus > 0 ? { 'nvidia.com/gpu': String(p.maxNodes * gpus) } : { cpu: String(p.maxNodes * cpu), memory: `${p.maxNodes * memory}Gi` }),
    };
    return {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodePool',
      metadata: { name: p.name },
      spec: {
        template: {
          metadata: { labels },
          spec: {
            nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: p.name },
            requirements: [
              { key: 'node.kubernetes.io/instance-type', operator: 'In', values: [...p.instanceTypes] },
              { key: 'karpenter.sh/capacity-type', operator: 'In', values: [...capacity] },
              { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] },
              { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
            ],
            ...(gpus > 0 ? { taints: [{ key: GPU_TAINT_KEY, value: 'true', effect: 'NoSchedule' }] } : {}),
            expireAfter: EXPIRE_AFTER,
          },
        },
        limits,
        disruption: {
          consolidationPolicy: o.consolidationPolicy ?? 'WhenEmpty',
          consolidateAfter: `${o.consolidateAfterMinutes ?? 10}m`,
          // GPU nodes are not replaced for drift (a new AMI, a changed pool) while they run work, only once empty.
          budgets: gpus > 0 ? [{ nodes: '0', reasons: ['Drifted'] }, { nodes: '10%' }] : [{ nodes: '10%' }],
        },
      },
    };
  }
}
