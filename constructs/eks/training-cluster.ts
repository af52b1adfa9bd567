import { KubectlV35Layer } from '@aws-cdk/lambda-layer-kubectl-v35';
import {
  type CfnCondition, Names, RemovalPolicy, Stack,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
// aws-eks-v2 rather than aws-eks: it renders the native AWS::EKS::Cluster (no cluster-creation custom
// resource and its Lambdas), manages access with EKS access entries instead of the aws-auth ConfigMap, and
// only adds the kubectl provider because we apply Helm charts and manifests. cdk-nag's EKS1/EKS2 rules do not
// inspect it, so the private endpoint, logging and encryption are asserted in this construct's tests.
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../core/defaults';
import { acknowledge } from '../core/nag';
import { PropsValidationError, PropsValidator } from '../core/validation';
import { type IClusterAddOn } from './addons/add-on';
import { ClusterAutoscaler } from './addons/cluster-autoscaler';
import { checkK8sName } from './addons/helm-add-on';
import { KubeRayOperator } from './addons/kuberay-operator';
import { ACCELERATOR_LABEL, GPU_TAINT_KEY, NvidiaDevicePlugin } from './addons/nvidia-device-plugin';
import {
  acceleratorOf, cpuTypesHint, gpusPerInstance, gpuTypesHint, isCpuInstanceType,
} from './instance-types';

/** Label naming the node group a node belongs to; Ray pods select their group with it. */
export const NODE_GROUP_LABEL = 'cdk-mlops/node-group';
/** Label with the capacity type of a node: `on-demand` or `spot`. */
export const CAPACITY_LABEL = 'cdk-mlops/capacity';

/** Size and instance types of a CPU node group. */
export interface CpuNodeGroupOptions {
  /** x86_64 instance types (AL2023 standard AMI), e.g. `m6i.large`. */
  readonly instanceTypes: string[];
  /** Nodes the group keeps at least. @default 2 for the system group, 0 for the spot group */
  readonly minSize?: number;
  /** Nodes the group never exceeds. @default 3 for the system group, 4 for the spot group */
  readonly maxSize?: number;
}

/** A GPU managed node group. */
export interface GpuNodeGroupOptions {
  /** Name, unique in the cluster (Kubernetes name rules); becomes the `cdk-mlops/node-group` label. */
  readonly name: string;
  /** NVIDIA GPU instance types with the same GPU count, e.g. `g5.xlarge`. */
  readonly instanceTypes: string[];
  /** Nodes kept at least; 0 lets the group scale to zero when no pod needs a GPU. @default 0 */
  readonly minSize?: number;
  /** Nodes the group never exceeds. @default 2 */
  readonly maxSize?: number;
  /** Run on spot capacity. @default false */
  readonly spot?: boolean;
  /** Encrypted gp3 root volume size per node. @default 100 */
  readonly diskSizeGiB?: number;
}

/** What a Ray GPU worker group needs to know about the GPU capacity it runs on. */
export interface GpuCapacity {
  /** Node group name. */
  readonly name: string;
  /** NVIDIA GPUs per node. */
  readonly gpusPerNode: number;
  /** Nodes the group can grow to (0 means no GPU capacity). */
  readonly maxNodes: number;
  /** Node selector matching exactly this group's nodes. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Taint the group's nodes carry (pods must tolerate it). */
  readonly taint: { readonly key: string; readonly value: string; readonly effect: 'NoSchedule' };
}

export interface TrainingClusterProps {
  /** VPC of the cluster. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the control plane ENIs, the nodes and the kubectl handler. @default - the VPC's private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Cluster name (1-100 letters, digits, hyphens, underscores). @default - a unique name derived from the construct path */
  readonly clusterName?: string;
  /**
   * CIDRs allowed to reach a public API endpoint. Empty keeps the endpoint private (reached from the VPC,
   * e.g. through SSM port forwarding or a VPN); `0.0.0.0/0` is refused.
   * @default - private endpoint only
   */
  readonly publicAccessCidrs?: string[];
  /** IAM roles granted cluster-admin through EKS access entries. @default - none */
  readonly adminRoles?: iam.IRole[];
  /** Key for Kubernetes secrets envelope encryption and the control-plane log group. @default - a new CMK with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Retention of the control-plane log group. @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** The on-demand node group for add-ons and Ray heads. @default - m6i.large, 2 to 3 nodes */
  readonly systemNodeGroup?: CpuNodeGroupOptions;
  /** GPU node groups (AL2023 NVIDIA AMI, tainted `nvidia.com/gpu=true:NoSchedule`). @default - none */
  readonly gpuNodeGroups?: GpuNodeGroupOptions[];
  /** A spot CPU worker group. @default - none */
  readonly spotNodeGroup?: CpuNodeGroupOptions;
  /** Minutes a node must be unneeded before the Cluster Autoscaler removes it. @default 10 */
  readonly scaleDownUnneededMinutes?: number;
  /** Install the KubeRay operator 1.7.0. @default true */
  readonly kubeRay?: boolean;
  /** More add-ons, installed after the built-in ones. @default - none */
  readonly addOns?: IClusterAddOn[];
  /** What happens to the encryption key and the log group on stack deletion. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const validCidr = (c: string) => {
  const m = CIDR.exec(c);
  return !!m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
};

/**
 * An EKS 1.35 cluster for distributed training with Ray: private API endpoint, all control-plane logs to a
 * KMS-encrypted log group, secrets encrypted with a CMK, admin access through access entries; an on-demand
 * system node group, GPU node groups that scale from and to zero with the Cluster Autoscaler, an optional
 * spot CPU group, the NVIDIA device plugin and the KubeRay operator.
 *
 * GPU scale-from-zero uses the Cluster Autoscaler on managed node groups rather than Karpenter: the GPU
 * capacity stays in plain EKS managed node groups (AMI updates, node repair and draining handled by EKS), the
 * autoscaler needs only a small IAM policy (no interruption queue, no node-launching permissions) and one
 * Helm chart, and it reads labels and taints of empty groups with `eks:DescribeNodegroup`.
 */
export class TrainingCluster extends Construct {
  public readonly cluster: eks.Cluster;
  /** Key of secrets encryption and the control-plane log group. */
  public readonly encryptionKey: kms.IKey;
  /** Control-plane log group (`/aws/eks/<name>/cluster`), created before the cluster so it is encrypted and expires. */
  public readonly controlPlaneLogGroup: logs.LogGroup;
  /** Role of every node (EC2 instance role registered through an EC2_LINUX access entry). */
  public readonly nodeRole: iam.Role;
  public readonly systemNodegroup: eks.Nodegroup;
  /** GPU node groups by name. */
  public readonly gpuNodegroups: Readonly<Record<string, eks.Nodegroup>>;
  /** GPU capacity by node group name, for Ray GPU worker groups. */
  public readonly gpuCapacity: Readonly<Record<string, GpuCapacity>>;
  public readonly spotNodegroup?: eks.Nodegroup;
  /** Node selector of the system group (Ray heads, operators). */
  public readonly systemNodeSelector: Readonly<Record<string, string>>;
  /** Node selector of the spot CPU group, when there is one. */
  public readonly spotNodeSelector?: Readonly<Record<string, string>>;
  public readonly clusterAutoscaler: ClusterAutoscaler;
  /** The KubeRay operator release (Ray objects must depend on it: it installs the CRDs). */
  public readonly kubeRayOperator?: Construct;
  /** What each add-on returned from `install`, by add-on name. */
  public readonly addOns: Readonly<Record<string, Construct>>;

  constructor(scope: Construct, id: string, props: TrainingClusterProps) {
    super(scope, id);
    const clusterName = props.clusterName ?? Names.uniqueResourceName(this, { maxLength: 100, separator: '-' });
    const publicCidrs = props.publicAccessCidrs ?? [];
    const system = { minSize: 2, maxSize: 3, ...props.systemNodeGroup, instanceTypes: props.systemNodeGroup?.instanceTypes ?? ['m6i.large'] };
    const gpuGroups = (props.gpuNodeGroups ?? []).map((g) => ({ minSize: 0, maxSize: 2, spot: false, diskSizeGiB: 100, ...g }));
    const spot = props.spotNodeGroup ? { minSize: 0, maxSize: 4, ...props.spotNodeGroup } : undefined;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const v = new PropsValidator(this, 'TrainingCluster')
      .check(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/.test(clusterName), 'clusterName', clusterName,
        'must be 1-100 letters, digits, hyphens and underscores, starting with a letter or digit');
    publicCidrs.forEach((c, i) => v.check(validCidr(c) && !c.endsWith('/0'), `publicAccessCidrs[${i}]`, c,
      'must be an IPv4 CIDR such as 203.0.113.0/24, narrower than /0 (the API must not be open to the internet)'));
    const sizes = (prop: string, g: { minSize: number; maxSize: number }, minFloor: number) => {
      v.intRange(`${prop}.minSize`, g.minSize, minFloor, 100, 'nodes').intRange(`${prop}.maxSize`, g.maxSize, 0, 100, 'nodes');
      v.check(g.minSize <= g.maxSize, `${prop}.minSize`, g.minSize, `must not exceed ${prop}.maxSize (${g.maxSize})`);
    };
    const cpuTypes = (prop: string, types: string[]) => {
      v.check(types.length > 0, `${prop}.instanceTypes`, types, 'must list at least one instance type');
      types.forEach((t, i) => v.check(isCpuInstanceType(t), `${prop}.instanceTypes[${i}]`, t, `must be ${cpuTypesHint()}`));
    };
    cpuTypes('systemNodeGroup', system.instanceTypes);
    // Add-ons (CoreDNS, autoscaler, operators) need somewhere to run: the system group never scales to zero.
    sizes('systemNodeGroup', system, 1);
    if (spot) {
      cpuTypes('spotNodeGroup', spot.instanceTypes);
      sizes('spotNodeGroup', spot, 0);
    }
    gpuGroups.forEach((g, i) => {
      const prop = `gpuNodeGroups[${i}]`;
      checkK8sName(v, `${prop}.name`, g.name);
      v.check(gpuGroups.findIndex((o) => o.name === g.name) === i, `${prop}.name`, g.name, 'must be unique among gpuNodeGroups');
      v.check(!['system', 'spot-cpu'].includes(g.name), `${prop}.name`, g.name, 'must not be "system" or "spot-cpu" (used by the CPU groups)');
      v.check(g.instanceTypes.length > 0, `${prop}.instanceTypes`, g.instanceTypes, 'must list at least one instance type');
      g.instanceTypes.forEach((t, j) => v.check(gpusPerInstance(t) !== undefined, `${prop}.instanceTypes[${j}]`, t, `must be ${gpuTypesHint()}`));
      const counts = new Set(g.instanceTypes.map(gpusPerInstance).filter((n) => n !== undefined));
      v.check(counts.size <= 1, `${prop}.instanceTypes`, g.instanceTypes,
        'must all have the same GPU count (the autoscaler builds one template node per group)');
      sizes(prop, g, 0);
      v.intRange(`${prop}.diskSizeGiB`, g.diskSizeGiB, 20, 16384, 'GiB');
    });
    const addOnNames = ['cluster-autoscaler', 'nvidia-device-plugin', 'kuberay-operator', ...(props.addOns ?? []).map((a) => a.name)];
    (props.addOns ?? []).forEach((a, i) => v.check(addOnNames.indexOf(a.name) === i + 3, `addOns[${i}].name`, a.name,
      'must be unique and differ from the built-in add-ons (cluster-autoscaler, nvidia-device-plugin, kuberay-operator)'));
    v.throwIfInvalid();

    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', {
      description: `EKS ${clusterName}: Kubernetes secrets and control-plane logs`,
      removalPolicy,
      servicePrincipals: [logsServicePrincipal(this)],
    });
    this.controlPlaneLogGroup = encryptedLogGroup(this, 'ControlPlaneLogs', {
      encryptionKey: this.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy,
    });
    (this.controlPlaneLogGroup.node.defaultChild as logs.CfnLogGroup).logGroupName = `/aws/eks/${clusterName}/cluster`;

    const subnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    this.cluster = new eks.Cluster(this, 'Cluster', {
      clusterName,
      version: eks.KubernetesVersion.V1_35,
      vpc: props.vpc,
      vpcSubnets: [subnets],
      endpointAccess: publicCidrs.length > 0 ? eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom(...publicCidrs) : eks.EndpointAccess.PRIVATE,
      secretsEncryptionKey: this.encryptionKey,
      clusterLogging: [
        eks.ClusterLoggingTypes.API, eks.ClusterLoggingTypes.AUDIT, eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER, eks.ClusterLoggingTypes.SCHEDULER,
      ],
      // Managed node groups below, not EKS Auto Mode: the GPU groups need the NVIDIA AMI, taints and labels.
      defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
      // Only the kubectl handler (through its access entry) and the admin roles below administer the cluster,
      // not whichever role CloudFormation happened to use.
      bootstrapClusterCreatorAdminPermissions: false,
      kubectlProviderOptions: { kubectlLayer: new KubectlV35Layer(this, 'KubectlLayer') },
    });
    this.cluster.node.addDependency(this.controlPlaneLogGroup);
    this.acknowledgeGeneratedResources();
    (props.adminRoles ?? []).forEach((role, i) => this.cluster.grantClusterAdmin(`Admin${i}`, role.roleArn));

    this.nodeRole = new iam.Role(this, 'NodeRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Nodes of EKS cluster ${clusterName}`,
      managedPolicies: ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryPullOnly']
        .map((n) => iam.ManagedPolicy.fromAwsManagedPolicyName(n)),
    });
    acknowledge(this.nodeRole, [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKSWorkerNodePolicy]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKS_CNI_Policy]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly]',
    ], 'EKS requires these AWS-managed policies on node roles (node registration, VPC CNI, image pulls) and AWS updates them with the service; pods get their own permissions through Pod Identity.');

    this.systemNodeSelector = { [NODE_GROUP_LABEL]: 'system' };
    this.systemNodegroup = this.nodegroup('System', {
      instanceTypes: system.instanceTypes, minSize: system.minSize, maxSize: system.maxSize, diskSizeGiB: 50,
      amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD, capacityType: eks.CapacityType.ON_DEMAND,
      labels: { ...this.systemNodeSelector, [CAPACITY_LABEL]: 'on-demand' },
    }, subnets);

    const gpuNodegroups: Record<string, eks.Nodegroup> = {};
    const gpuCapacity: Record<string, GpuCapacity> = {};
    for (const g of gpuGroups) {
      const accelerator = acceleratorOf(g.instanceTypes[0])!;
      const nodeSelector = { [NODE_GROUP_LABEL]: g.name };
      gpuNodegroups[g.name] = this.nodegroup(`Gpu-${g.name}`, {
        instanceTypes: g.instanceTypes, minSize: g.minSize, maxSize: g.maxSize, diskSizeGiB: g.diskSizeGiB,
        amiType: eks.NodegroupAmiType.AL2023_X86_64_NVIDIA,
        capacityType: g.spot ? eks.CapacityType.SPOT : eks.CapacityType.ON_DEMAND,
        // The accelerator label tells the autoscaler this is a GPU group (it waits for the device plugin
        // before judging a new node) and keeps the device plugin on GPU nodes only.
        labels: { ...nodeSelector, [ACCELERATOR_LABEL]: accelerator, [CAPACITY_LABEL]: g.spot ? 'spot' : 'on-demand' },
        taints: [{ key: GPU_TAINT_KEY, value: 'true', effect: eks.TaintEffect.NO_SCHEDULE }],
      }, subnets);
      gpuCapacity[g.name] = {
        name: g.name,
        gpusPerNode: gpusPerInstance(g.instanceTypes[0])!,
        maxNodes: g.maxSize,
        nodeSelector,
        taint: { key: GPU_TAINT_KEY, value: 'true', effect: 'NoSchedule' },
      };
    }
    this.gpuNodegroups = gpuNodegroups;
    this.gpuCapacity = gpuCapacity;

    if (spot) {
      this.spotNodeSelector = { [NODE_GROUP_LABEL]: 'spot-cpu' };
      this.spotNodegroup = this.nodegroup('SpotCpu', {
        instanceTypes: spot.instanceTypes, minSize: spot.minSize, maxSize: spot.maxSize, diskSizeGiB: 100,
        amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD, capacityType: eks.CapacityType.SPOT,
        labels: { ...this.spotNodeSelector, [CAPACITY_LABEL]: 'spot' },
      }, subnets);
    }

    this.clusterAutoscaler = new ClusterAutoscaler({
      nodegroups: [this.systemNodegroup, ...Object.values(gpuNodegroups), ...(this.spotNodegroup ? [this.spotNodegroup] : [])],
      scaleDownUnneededMinutes: props.scaleDownUnneededMinutes,
      nodeSelector: this.systemNodeSelector,
    });
    const kubeRay = (props.kubeRay ?? true) ? new KubeRayOperator({ nodeSelector: this.systemNodeSelector }) : undefined;
    const addOns: IClusterAddOn[] = [
      this.clusterAutoscaler,
      ...(gpuGroups.length > 0 ? [new NvidiaDevicePlugin()] : []),
      ...(kubeRay ? [kubeRay] : []),
      ...(props.addOns ?? []),
    ];
    const installed: Record<string, Construct> = {};
    const addOnScope = new Construct(this, 'AddOns');
    for (const addOn of addOns) {
      const result = addOn.install(new Construct(addOnScope, addOn.name), this.cluster);
      // Charts need nodes to run on.
      result.node.addDependency(this.systemNodegroup);
      installed[addOn.name] = result;
    }
    this.addOns = installed;
    this.kubeRayOperator = kubeRay ? installed[kubeRay.name] : undefined;
  }

  /** The capacity of one GPU node group, for a Ray GPU worker group. Throws if there is no such group. */
  public gpuCapacityOf(name: string): GpuCapacity {
    const capacity = this.gpuCapacity[name];
    if (!capacity) {
      const problem = `gpuNodeGroups: no group named "${name}" — known groups: ${Object.keys(this.gpuCapacity).join(', ') || 'none'}`;
      throw new PropsValidationError(`TrainingCluster at "${this.node.path}" has no such GPU capacity:\n  - ${problem}`, [problem]);
    }
    return capacity;
  }

  /** cdk-nag findings on resources aws-cdk-lib's EKS module generates, acknowledged where they are. */
  private acknowledgeGeneratedResources(): void {
    const stack = Stack.of(this);
    const managed = (name: string) => `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;
    acknowledge(this.cluster.node.defaultChild!, ['CloudFormation-Validate::W9009'],
      'aws-cdk-lib renders EncryptionConfig.Resources ["secrets"] for secrets envelope encryption with our CMK; the schema marks the field deprecated, CloudFormation still accepts it.');
    acknowledge(this.cluster.role, [managed('AmazonEKSClusterPolicy')],
      'EKS requires the AWS-managed AmazonEKSClusterPolicy on the cluster service role; AWS maintains it with the service.');
    const provider = this.cluster.node.findChild('KubectlProvider');
    const handler = provider.node.findChild('Handler') as lambda.Function;
    const ecrPublic = handler.node.findChild('HasEcrPublic') as CfnCondition;
    acknowledge(handler.role!, [
      managed('service-role/AWSLambdaBasicExecutionRole'), managed('service-role/AWSLambdaVPCAccessExecutionRole'),
      managed('AmazonEC2ContainerRegistryReadOnly'),
      // The public-ECR policy is attached through a partition condition; cdk-nag names it by the rendered Fn::If.
      `AwsSolutions-IAM4[Policy::${JSON.stringify({ 'Fn::If': [stack.getLogicalId(ecrPublic), { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly']] }, { Ref: 'AWS::NoValue' }] })}]`,
    ], 'aws-cdk-lib kubectl handler (applies Helm charts and manifests from inside the VPC): it needs Lambda logging, VPC ENIs and pulls of Helm charts from ECR as written by aws-cdk-lib.');
    acknowledge(handler, ['AwsSolutions-L1'],
      'The kubectl handler\'s runtime is fixed by aws-cdk-lib to match the kubectl layer; it is upgraded with aws-cdk-lib.');
    const onEvent = provider.node.findChild('Provider').node.findChild('framework-onEvent') as lambda.Function;
    acknowledge(onEvent.role!, [
      managed('service-role/AWSLambdaBasicExecutionRole'), managed('service-role/AWSLambdaVPCAccessExecutionRole'),
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(handler.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
    ], 'aws-cdk-lib custom-resource provider framework of the kubectl handler: Lambda logging, VPC ENIs, and invoking the handler\'s versions (<arn>:*).');
  }

  private nodegroup(id: string, o: {
    instanceTypes: string[]; minSize: number; maxSize: number; diskSizeGiB: number; amiType: eks.NodegroupAmiType;
    capacityType: eks.CapacityType; labels: Record<string, string>; taints?: eks.TaintSpec[];
  }, subnets: ec2.SubnetSelection): eks.Nodegroup {
    // IMDSv2 only and an encrypted gp3 root volume. Hop limit 1 keeps pods (which get their own credentials
    // from Pod Identity) away from the node role; host-network agents such as the VPC CNI still reach IMDS.
    const launchTemplate = new ec2.LaunchTemplate(this, `${id}LaunchTemplate`, {
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      // 1-minute EC2 metrics on nodes (Control Tower CT.EC2.PR.10).
      detailedMonitoring: true,
      blockDevices: [{
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(o.diskSizeGiB, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
      }],
    });
    return this.cluster.addNodegroupCapacity(id, {
      instanceTypes: o.instanceTypes.map((t) => new ec2.InstanceType(t)),
      minSize: o.minSize,
      maxSize: o.maxSize,
      desiredSize: o.minSize,
      amiType: o.amiType,
      capacityType: o.capacityType,
      labels: o.labels,
      taints: o.taints,
      nodeRole: this.nodeRole,
      subnets,
      launchTemplateSpec: { id: launchTemplate.launchTemplateId!, version: launchTemplate.latestVersionNumber },
      enableNodeAutoRepair: true,
      maxUnavailablePercentage: 33,
    });
  }
}
