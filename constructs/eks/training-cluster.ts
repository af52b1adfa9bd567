import { KubectlV35Layer } from '@aws-cdk/lambda-layer-kubectl-v35';
import {
  type CfnCondition, DefaultStackSynthesizer, Names, RemovalPolicy, Stack,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
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
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct, type IConstruct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../core/defaults';
import { acknowledge, acknowledgeCheck } from '../core/nag';
import { PropsValidationError, PropsValidator } from '../core/validation';
import { type IClusterAddOn } from './addons/add-on';
import { ClusterAutoscaler } from './addons/cluster-autoscaler';
import { checkK8sName } from './addons/helm-add-on';
import { Karpenter, type KarpenterCapacityType, type KarpenterNodePoolOptions } from './addons/karpenter';
import { KubeRayOperator } from './addons/kuberay-operator';
import { VolcanoScheduler } from './addons/volcano-scheduler';
import { ACCELERATOR_LABEL, GPU_TAINT_KEY, NvidiaDevicePlugin } from './addons/nvidia-device-plugin';
import { CAPACITY_LABEL, NODE_GROUP_LABEL } from './labels';
import {
  acceleratorOf, cpuTypesHint, EFA_REFUSAL, gpusPerInstance, gpuTypesHint, isCpuInstanceType, needsEfa,
} from './instance-types';

export { CAPACITY_LABEL, NODE_GROUP_LABEL } from './labels';

/** Size and instance types of a CPU node group. */
export interface CpuNodeGroupOptions {
  /** x86_64 instance types (AL2023 standard AMI), e.g. `m6i.large`. */
  readonly instanceTypes: string[];
  /** Nodes the group keeps at least. @default 2 for the system group, 0 for the worker group */
  readonly minSize?: number;
  /** Nodes the group never exceeds. @default 3 for the system group, 4 for the worker group */
  readonly maxSize?: number;
}

/** The CPU worker node group: Ray CPU workers and batch pods, kept off the system group. */
export interface WorkerNodeGroupOptions extends CpuNodeGroupOptions {
  /** Spot capacity (cheaper, interruptible) or on-demand. @default true */
  readonly spot?: boolean;
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

/** The taint GPU nodes carry, so only pods that tolerate it (GPU workloads) land there. */
export interface GpuTaint {
  readonly key: string;
  readonly value: string;
  readonly effect: 'NoSchedule';
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
  readonly taint: GpuTaint;
}

/** Kubernetes access of one IAM role, granted through one EKS access entry. */
export interface ClusterAccessOptions {
  /** Read-only access to the whole cluster (`AmazonEKSViewPolicy`, cluster scope). @default false */
  readonly clusterView?: boolean;
  /** Namespaces with read-only access (`AmazonEKSViewPolicy`, namespace scope). @default - none */
  readonly viewNamespaces?: string[];
  /** Namespaces with edit access to built-in objects (`AmazonEKSEditPolicy`, namespace scope). @default - none */
  readonly editNamespaces?: string[];
  /**
   * Kubernetes groups of the principal, bound by in-cluster RBAC (e.g. `RayNamespace.RAY_USERS_GROUP`): how access to
   * custom resources such as RayJobs is given, which no EKS access policy covers.
   * @default - none
   */
  readonly kubernetesGroups?: string[];
}

/** Who adds and removes nodes for pending pods. */
export type NodeProvisioner = 'cluster-autoscaler' | 'karpenter';

/** Karpenter settings of a TrainingCluster (with `nodeProvisioner: 'karpenter'`). */
export interface TrainingClusterKarpenterOptions {
  /** When nodes are removed: only empty ones, or also underutilized ones (restarting their pods elsewhere). @default 'WhenEmpty' */
  readonly consolidationPolicy?: 'WhenEmpty' | 'WhenEmptyOrUnderutilized';
  /** Spot pools (`spot: true`) may fall back to on-demand when spot has no capacity. @default true */
  readonly onDemandFallback?: boolean;
  /** AL2023 EKS AMI release of the nodes (`latest` or e.g. `v20251120`). @default 'latest' */
  readonly amiVersion?: string;
  /** Karpenter chart and controller version. @default KARPENTER_VERSION */
  readonly version?: string;
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
  /**
   * IAM roles granted cluster-admin through EKS access entries. The cluster creator gets no access
   * (`bootstrapClusterCreatorAdminPermissions: false`), so at least one admin is required: these roles, the CDK
   * deploy role (`deployRoleAdmin`), or both.
   * @default - none
   */
  readonly adminRoles?: iam.IRole[];
  /**
   * Make the CDK bootstrap deploy role of the stack (`cdk-<qualifier>-deploy-role-<account>-<region>`, the role
   * `cdk deploy` assumes) a cluster admin, so whoever can deploy the platform can also reach the cluster
   * (`aws eks update-kubeconfig --role-arn <it>`). Needs the DefaultStackSynthesizer.
   * @default - true when `adminRoles` is empty, false otherwise
   */
  readonly deployRoleAdmin?: boolean;
  /** IAM roles with read-only access to the whole cluster (`AmazonEKSViewPolicy`). @default - none */
  readonly viewerRoles?: iam.IRole[];
  /** Key for Kubernetes secrets envelope encryption and the control-plane log group. @default - a new CMK with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Retention of the control-plane log group. @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** The on-demand node group for add-ons and Ray heads. @default - m6i.large, 2 to 3 nodes */
  readonly systemNodeGroup?: CpuNodeGroupOptions;
  /** GPU node groups (AL2023 NVIDIA AMI, tainted `nvidia.com/gpu=true:NoSchedule`). @default - none */
  readonly gpuNodeGroups?: GpuNodeGroupOptions[];
  /**
   * A CPU worker group (spot or on-demand) for Ray CPU workers, so they do not land on the system group beside
   * CoreDNS, the autoscaler and Prometheus.
   * @default - none
   */
  readonly workerNodeGroup?: WorkerNodeGroupOptions;
  /** Minutes a node must be unneeded before it is removed (Cluster Autoscaler scale-down, Karpenter `consolidateAfter`). @default 10 */
  readonly scaleDownUnneededMinutes?: number;
  /**
   * Who adds and removes nodes. `cluster-autoscaler`: the GPU and CPU worker groups are EKS managed node groups the
   * Cluster Autoscaler resizes (from zero). `karpenter`: they become Karpenter NodePools of the same names, labels
   * and taints (from zero, no minimum), and only the system group is a managed node group, kept at its `minSize`.
   * @default 'cluster-autoscaler'
   */
  readonly nodeProvisioner?: NodeProvisioner;
  /** Karpenter settings, with `nodeProvisioner: 'karpenter'`. @default - see TrainingClusterKarpenterOptions */
  readonly karpenter?: TrainingClusterKarpenterOptions;
  /** Install the KubeRay operator 1.7.0. @default true */
  readonly kubeRay?: boolean;
  /** Turn on KubeRay's RayCronJob controller (alpha feature gate). @default false */
  readonly rayCronJobs?: boolean;
  /** Gang scheduling of Ray clusters: install Volcano and make KubeRay create PodGroups for it. @default false */
  readonly gangScheduling?: boolean;
  /** More add-ons, installed after the built-in ones. @default - none */
  readonly addOns?: IClusterAddOn[];
  /** What happens to the encryption key and the log group on stack deletion. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Name and label value of the CPU worker group (node group or Karpenter pool). */
const CPU_WORKERS = 'cpu-workers';
/** Node group label values of the system and CPU worker groups, which GPU groups must not reuse. */
const RESERVED_GROUP_NAMES = ['system', CPU_WORKERS];

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const validCidr = (c: string) => {
  const m = CIDR.exec(c);
  return !!m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
};

/**
 * An EKS cluster Ray workloads and add-ons run on: a {@link TrainingCluster} or one created elsewhere (another stack
 * or app), adopted with {@link TrainingCluster.fromTrainingClusterAttributes}.
 */
export interface ITrainingCluster extends IConstruct, ec2.IConnectable {
  readonly cluster: eks.ICluster;
  /** GPU capacity by node group name, for Ray GPU worker groups. */
  readonly gpuCapacity: Readonly<Record<string, GpuCapacity>>;
  /** Node selector of the system nodes (Ray heads, operators). */
  readonly systemNodeSelector: Readonly<Record<string, string>>;
  /** Node selector of the CPU worker nodes, when there are any. */
  readonly workerNodeSelector?: Readonly<Record<string, string>>;
  /** The KubeRay operator release, when this app installs it (Ray objects are ordered after it). */
  readonly kubeRayOperator?: Construct;
  /** Kubernetes access of one IAM role through one EKS access entry. */
  grantAccess(id: string, role: iam.IRole, options: ClusterAccessOptions): eks.CfnAccessEntry;
  /** Lets a host in the VPC reach the private API endpoint on 443. */
  allowApiFrom(peer: ec2.IConnectable, description?: string): void;
  /** The capacity of one GPU node group. Throws if there is no such group. */
  gpuCapacityOf(name: string): GpuCapacity;
  /** A Container Insights metric of the cluster (`ContainerInsights` namespace, `ClusterName` dimension). */
  metric(metricName: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Average CPU utilization of the nodes, in percent (`node_cpu_utilization`). */
  metricNodeCpuUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Average memory utilization of the nodes, in percent (`node_memory_utilization`). */
  metricNodeMemoryUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Average root filesystem utilization of the nodes, in percent (`node_filesystem_utilization`). */
  metricNodeFilesystemUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Nodes in the cluster (`cluster_node_count`). */
  metricNodeCount(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Nodes that are not ready (`cluster_failed_node_count`). */
  metricFailedNodeCount(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Running pods in one Kubernetes namespace (`namespace_number_of_running_pods`). */
  metricRunningPods(options: RunningPodsMetricOptions): cloudwatch.Metric;
}

/** Options of {@link ITrainingCluster.metricRunningPods}: the Kubernetes namespace and the usual metric options. */
export interface RunningPodsMetricOptions extends cloudwatch.MetricOptions {
  /** Kubernetes namespace whose running pods are counted, e.g. the Ray namespace. */
  readonly kubernetesNamespace: string;
}

/** A cluster created elsewhere, and what its nodes offer. */
export interface TrainingClusterAttributes {
  /** The cluster, e.g. `eks.Cluster.fromClusterAttributes(...)` with a kubectl provider where manifests are applied. */
  readonly cluster: eks.ICluster;
  /** Its GPU node groups' capacity, for Ray GPU worker groups. @default - no GPU capacity */
  readonly gpuCapacity?: Record<string, GpuCapacity>;
  /** Node selector of the nodes Ray heads and operators run on. @default - none (any node) */
  readonly systemNodeSelector?: Record<string, string>;
  /** Node selector of CPU worker nodes. @default - none */
  readonly workerNodeSelector?: Record<string, string>;
}

/** Access, networking and capacity look-ups shared by owned and adopted clusters. */
abstract class TrainingClusterBase extends Construct implements ITrainingCluster {
  public abstract readonly cluster: eks.ICluster;
  public abstract readonly gpuCapacity: Readonly<Record<string, GpuCapacity>>;
  public abstract readonly systemNodeSelector: Readonly<Record<string, string>>;
  public abstract readonly workerNodeSelector?: Readonly<Record<string, string>>;
  public abstract readonly kubeRayOperator?: Construct;

  /** The cluster's security group (control plane and managed nodes). */
  public get connections(): ec2.Connections {
    return this.cluster.connections;
  }

  /**
   * Gives one IAM role Kubernetes access through one EKS access entry: cluster-wide or namespaced read-only,
   * namespaced edit, and Kubernetes groups for in-cluster RBAC. A role can have only one access entry per cluster.
   */
  public grantAccess(id: string, role: iam.IRole, options: ClusterAccessOptions): eks.CfnAccessEntry {
    const v = new PropsValidator(this, 'TrainingCluster.grantAccess');
    [...(options.viewNamespaces ?? []), ...(options.editNamespaces ?? [])].forEach((ns) => checkK8sName(v, `${id}.namespaces`, ns));
    (options.kubernetesGroups ?? []).forEach((g) => v.check(/^[a-zA-Z0-9][\w.:-]{0,62}$/.test(g) && !g.startsWith('system:'), `${id}.kubernetesGroups`, g,
      'must be a group name of letters, digits, ".", ":", "_" and "-", not starting with "system:" (reserved by Kubernetes)'));
    const policies = [
      ...(options.clusterView ? [{ name: 'AmazonEKSViewPolicy', scope: { type: 'cluster' } }] : []),
      ...(options.viewNamespaces?.length ? [{ name: 'AmazonEKSViewPolicy', scope: { type: 'namespace', namespaces: options.viewNamespaces } }] : []),
      ...(options.editNamespaces?.length ? [{ name: 'AmazonEKSEditPolicy', scope: { type: 'namespace', namespaces: options.editNamespaces } }] : []),
    ];
    v.check(policies.length > 0 || (options.kubernetesGroups ?? []).length > 0, id, options, 'grants nothing: give clusterView, namespaces or kubernetesGroups');
    v.throwIfInvalid();
    const partition = Stack.of(this).partition;
    const entry = new eks.CfnAccessEntry(this, `Access${id}`, {
      clusterName: this.cluster.clusterName,
      principalArn: role.roleArn,
      type: 'STANDARD',
      ...(options.kubernetesGroups?.length ? { kubernetesGroups: options.kubernetesGroups } : {}),
      accessPolicies: policies.map((p) => ({
        policyArn: `arn:${partition}:eks::aws:cluster-access-policy/${p.name}`,
        accessScope: p.scope,
      })),
    });
    return entry;
  }

  /**
   * Lets a host in the VPC reach the private API endpoint on 443 (e.g. an SSM-managed instance people port-forward
   * through: `aws ssm start-session --document-name AWS-StartPortForwardingSessionToRemoteHost`).
   */
  public allowApiFrom(peer: ec2.IConnectable, description = 'Kubernetes API from a host in the VPC'): void {
    peer.connections.securityGroups.forEach((sg) => this.cluster.clusterSecurityGroup.addIngressRule(sg, ec2.Port.tcp(443), description));
  }

  /**
   * A Container Insights metric of the cluster: namespace `ContainerInsights`, dimension `ClusterName`, average over
   * 5 minutes unless `options` say otherwise. Published once Container Insights runs on the cluster (the
   * `ContainerInsights` add-on, which the platform's EKS observability stack installs); GPU metrics are not among
   * them (enhanced observability, which adds DCGM GPU metrics, is off).
   */
  public metric(metricName: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'ContainerInsights',
      metricName,
      statistic: 'Average',
      ...options,
      dimensionsMap: { ClusterName: this.cluster.clusterName, ...options.dimensionsMap },
    });
  }

  /** Average CPU utilization of the nodes, in percent (`node_cpu_utilization`). */
  public metricNodeCpuUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('node_cpu_utilization', options);
  }

  /** Average memory utilization of the nodes, in percent (`node_memory_utilization`). */
  public metricNodeMemoryUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('node_memory_utilization', options);
  }

  /** Average root filesystem utilization of the nodes, in percent (`node_filesystem_utilization`): image pulls fill it. */
  public metricNodeFilesystemUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('node_filesystem_utilization', options);
  }

  /** Nodes in the cluster (`cluster_node_count`): GPU groups scaling from and to zero show here. */
  public metricNodeCount(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('cluster_node_count', options);
  }

  /** Nodes that are not ready (`cluster_failed_node_count`); alarm on its maximum. */
  public metricFailedNodeCount(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('cluster_failed_node_count', { statistic: 'Maximum', ...options });
  }

  /** Running pods in one Kubernetes namespace (`namespace_number_of_running_pods`), e.g. the Ray namespace. */
  public metricRunningPods(options: RunningPodsMetricOptions): cloudwatch.Metric {
    const { kubernetesNamespace, ...metricOptions } = options;
    const v = new PropsValidator(this, 'TrainingCluster.metricRunningPods');
    checkK8sName(v, 'kubernetesNamespace', kubernetesNamespace);
    v.throwIfInvalid();
    return this.metric('namespace_number_of_running_pods', {
      ...metricOptions,
      dimensionsMap: { Namespace: kubernetesNamespace, ...metricOptions.dimensionsMap },
    });
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
}

/**
 * An EKS 1.35 cluster for distributed training with Ray: private API endpoint, all control-plane logs to a
 * KMS-encrypted log group, secrets encrypted with a CMK, admin access through access entries; an on-demand
 * system node group, GPU node groups that scale from and to zero with the Cluster Autoscaler, an optional
 * CPU worker group (spot or on-demand), the NVIDIA device plugin and the KubeRay operator.
 *
 * GPU scale-from-zero uses the Cluster Autoscaler on managed node groups by default: the GPU capacity stays in
 * plain EKS managed node groups (AMI updates, node repair and draining handled by EKS), the autoscaler needs only a
 * small IAM policy (no interruption queue, no node-launching permissions) and one Helm chart, and it reads labels
 * and taints of empty groups with `eks:DescribeNodegroup`. With `nodeProvisioner: 'karpenter'` the GPU and CPU worker
 * groups become Karpenter NodePools instead (faster launches, any listed type that fits, spot with on-demand
 * fallback, interruption handling) and no Cluster Autoscaler is installed.
 */
export class TrainingCluster extends TrainingClusterBase {
  /** Adopts a cluster created elsewhere: Ray objects, add-ons and access entries then target it. */
  public static fromTrainingClusterAttributes(scope: Construct, id: string, attrs: TrainingClusterAttributes): ITrainingCluster {
    class Imported extends TrainingClusterBase {
      public readonly cluster = attrs.cluster;
      public readonly gpuCapacity = attrs.gpuCapacity ?? {};
      public readonly systemNodeSelector = attrs.systemNodeSelector ?? {};
      public readonly workerNodeSelector = attrs.workerNodeSelector;
      public readonly kubeRayOperator = undefined;
    }
    return new Imported(scope, id);
  }

  public readonly cluster: eks.ICluster;
  /** The cluster this construct created, with what only an owned cluster offers (node groups, admin grants). */
  public readonly eksCluster: eks.Cluster;
  /** Key of secrets encryption and the control-plane log group. */
  public readonly encryptionKey: kms.IKey;
  /** Control-plane log group (`/aws/eks/<name>/cluster`), created before the cluster so it is encrypted and expires. */
  public readonly controlPlaneLogGroup: logs.LogGroup;
  /** Role of every node (EC2 instance role registered through an EC2_LINUX access entry). */
  public readonly nodeRole: iam.Role;
  public readonly systemNodegroup: eks.Nodegroup;
  /** GPU managed node groups by name (none with Karpenter: see `gpuCapacity`). */
  public readonly gpuNodegroups: Readonly<Record<string, eks.Nodegroup>>;
  /** GPU capacity by node group (or Karpenter pool) name, for Ray GPU worker groups. */
  public readonly gpuCapacity: Readonly<Record<string, GpuCapacity>>;
  /** The CPU worker managed node group, when there is one (none with Karpenter: its pool has the same selector). */
  public readonly workerNodegroup?: eks.Nodegroup;
  /** Node selector of the system group (Ray heads, operators). */
  public readonly systemNodeSelector: Readonly<Record<string, string>>;
  /** Node selector of the CPU worker group or pool, when there is one. */
  public readonly workerNodeSelector?: Readonly<Record<string, string>>;
  /** Who adds and removes nodes. */
  public readonly nodeProvisioner: NodeProvisioner;
  /** The Cluster Autoscaler (with `nodeProvisioner: 'cluster-autoscaler'`). */
  public readonly clusterAutoscaler?: ClusterAutoscaler;
  /** Karpenter, its node role, interruption queue and node pools (with `nodeProvisioner: 'karpenter'`). */
  public readonly karpenter?: Karpenter;
  /** The KubeRay operator release (Ray objects must depend on it: it installs the CRDs). */
  public readonly kubeRayOperator?: Construct;
  /** What each add-on returned from `install`, by add-on name. */
  public readonly addOns: Readonly<Record<string, Construct>>;
  /** The CDK deploy role made cluster admin (`deployRoleAdmin`), if any. */
  public readonly deployRoleArn?: string;

  constructor(scope: Construct, id: string, props: TrainingClusterProps) {
    super(scope, id);
    // Before any child: IRSA service accounts need the cluster's OIDC provider. Without the feature flag, aws-eks-v2
    // makes it with the deprecated custom-resource `OpenIdConnectProvider` (and prints a deprecation warning in the
    // consumer's synth); default to the native AWS::IAM::OIDCProvider unless the app chose otherwise.
    if (this.node.tryGetContext(cxapi.EKS_USE_NATIVE_OIDC_PROVIDER) === undefined) this.node.setContext(cxapi.EKS_USE_NATIVE_OIDC_PROVIDER, true);
    const clusterName = props.clusterName ?? Names.uniqueResourceName(this, { maxLength: 100, separator: '-' });
    const publicCidrs = props.publicAccessCidrs ?? [];
    const system = { minSize: 2, maxSize: 3, ...props.systemNodeGroup, instanceTypes: props.systemNodeGroup?.instanceTypes ?? ['m6i.large'] };
    const gpuGroups = (props.gpuNodeGroups ?? []).map((g) => ({ minSize: 0, maxSize: 2, spot: false, diskSizeGiB: 100, ...g }));
    const workers = props.workerNodeGroup ? { minSize: 0, maxSize: 4, spot: true, ...props.workerNodeGroup } : undefined;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const adminRoles = props.adminRoles ?? [];
    const deployRoleAdmin = props.deployRoleAdmin ?? adminRoles.length === 0;
    const synthesizer = Stack.of(this).synthesizer;
    const provisioner = props.nodeProvisioner ?? 'cluster-autoscaler';
    const karpenterMode = provisioner === 'karpenter';
    this.nodeProvisioner = provisioner;

    const v = new PropsValidator(this, 'TrainingCluster')
      .check(adminRoles.length > 0 || deployRoleAdmin, 'adminRoles', adminRoles.map((r) => r.roleArn),
        'the cluster needs at least one admin (its creator gets no access): give adminRoles or set deployRoleAdmin: true')
      .check(!deployRoleAdmin || synthesizer instanceof DefaultStackSynthesizer, 'deployRoleAdmin', deployRoleAdmin,
        'needs the DefaultStackSynthesizer (its deploy role is the admin); with another synthesizer give adminRoles and set deployRoleAdmin: false')
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
    v.check(provisioner === 'cluster-autoscaler' || provisioner === 'karpenter', 'nodeProvisioner', provisioner, 'must be "cluster-autoscaler" or "karpenter"');
    v.check(karpenterMode || props.karpenter === undefined, 'karpenter', props.karpenter, 'needs nodeProvisioner: "karpenter"');
    // Karpenter keeps no minimum: it launches nodes for pending pods only.
    const noMinimum = (prop: string, min: number) => v.check(!karpenterMode || min === 0, `${prop}.minSize`, min,
      'must be 0 with nodeProvisioner "karpenter" (Karpenter launches nodes for pending pods and keeps no minimum; use the Cluster Autoscaler to keep nodes warm)');
    if (workers) {
      cpuTypes('workerNodeGroup', workers.instanceTypes);
      sizes('workerNodeGroup', workers, 0);
      noMinimum('workerNodeGroup', workers.minSize);
    }
    gpuGroups.forEach((g, i) => {
      const prop = `gpuNodeGroups[${i}]`;
      checkK8sName(v, `${prop}.name`, g.name);
      v.check(!RESERVED_GROUP_NAMES.includes(g.name), `${prop}.name`, g.name, `must differ from ${RESERVED_GROUP_NAMES.join(' and ')} (the system and CPU worker groups' labels)`);
      noMinimum(prop, g.minSize);
      v.check(gpuGroups.findIndex((o) => o.name === g.name) === i, `${prop}.name`, g.name, 'must be unique among gpuNodeGroups');
      v.check(!['system', 'cpu-workers'].includes(g.name), `${prop}.name`, g.name, 'must not be "system" or "cpu-workers" (used by the CPU groups)');
      v.check(g.instanceTypes.length > 0, `${prop}.instanceTypes`, g.instanceTypes, 'must list at least one instance type');
      g.instanceTypes.forEach((t, j) => v.check(gpusPerInstance(t) !== undefined, `${prop}.instanceTypes[${j}]`, t, `must be ${gpuTypesHint()}`)
        .check(!needsEfa(t), `${prop}.instanceTypes[${j}]`, t, EFA_REFUSAL));
      const counts = new Set(g.instanceTypes.map(gpusPerInstance).filter((n) => n !== undefined));
      v.check(counts.size <= 1, `${prop}.instanceTypes`, g.instanceTypes,
        'must all have the same GPU count (the autoscaler builds one template node per group)');
      sizes(prop, g, 0);
      v.intRange(`${prop}.diskSizeGiB`, g.diskSizeGiB, 20, 16384, 'GiB');
    });
    const builtIn = ['cluster-autoscaler', 'karpenter', 'nvidia-device-plugin', 'kuberay-operator', 'volcano'];
    const addOnNames = [...builtIn, ...(props.addOns ?? []).map((a) => a.name)];
    (props.addOns ?? []).forEach((a, i) => v.check(addOnNames.indexOf(a.name) === i + builtIn.length, `addOns[${i}].name`, a.name,
      `must be unique and differ from the built-in add-ons (${builtIn.join(', ')})`));
    v.check(!(props.gangScheduling || props.rayCronJobs) || (props.kubeRay ?? true), 'kubeRay', props.kubeRay, 'must stay true with gangScheduling or rayCronJobs (both are KubeRay features)');
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
    const cluster = new eks.Cluster(this, 'Cluster', {
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
    this.cluster = cluster;
    this.eksCluster = cluster;
    this.cluster.node.addDependency(this.controlPlaneLogGroup);
    this.acknowledgeGeneratedResources();
    adminRoles.forEach((role, i) => this.eksCluster.grantClusterAdmin(`Admin${i}`, role.roleArn));
    if (deployRoleAdmin) {
      const qualifier = (synthesizer as DefaultStackSynthesizer).bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
      const stack = Stack.of(this);
      this.deployRoleArn = stack.formatArn({
        service: 'iam', region: '', resource: 'role', resourceName: `cdk-${qualifier}-deploy-role-${stack.account}-${stack.region}`,
      });
      this.eksCluster.grantClusterAdmin('DeployRoleAdmin', this.deployRoleArn);
    }
    (props.viewerRoles ?? []).forEach((role, i) => this.grantAccess(`Viewer${i}`, role, { clusterView: true }));

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
      if (!karpenterMode) gpuNodegroups[g.name] = this.nodegroup(`Gpu-${g.name}`, {
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

    if (workers) {
      this.workerNodeSelector = { [NODE_GROUP_LABEL]: CPU_WORKERS };
      if (!karpenterMode) this.workerNodegroup = this.nodegroup('CpuWorkers', {
        instanceTypes: workers.instanceTypes, minSize: workers.minSize, maxSize: workers.maxSize, diskSizeGiB: 100,
        amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD, capacityType: workers.spot ? eks.CapacityType.SPOT : eks.CapacityType.ON_DEMAND,
        labels: { ...this.workerNodeSelector, [CAPACITY_LABEL]: workers.spot ? 'spot' : 'on-demand' },
      }, subnets);
    }

    if (karpenterMode) {
      const k = props.karpenter ?? {};
      const capacity = (spot: boolean): KarpenterCapacityType[] => (spot ? ((k.onDemandFallback ?? true) ? ['spot', 'on-demand'] : ['spot']) : ['on-demand']);
      const pools: KarpenterNodePoolOptions[] = [
        ...gpuGroups.map((g) => ({ name: g.name, instanceTypes: g.instanceTypes, capacityTypes: capacity(g.spot), maxNodes: g.maxSize, diskSizeGiB: g.diskSizeGiB })),
        ...(workers ? [{ name: CPU_WORKERS, instanceTypes: workers.instanceTypes, capacityTypes: capacity(workers.spot), maxNodes: workers.maxSize, diskSizeGiB: 100 }] : []),
      ];
      this.karpenter = new Karpenter({
        clusterName,
        subnetIds: props.vpc.selectSubnets(subnets).subnetIds,
        securityGroupIds: [this.cluster.clusterSecurityGroupId],
        nodePools: pools,
        consolidationPolicy: k.consolidationPolicy,
        consolidateAfterMinutes: props.scaleDownUnneededMinutes,
        amiVersion: k.amiVersion,
        version: k.version,
        // One controller per system node (the chart keeps replicas on different hosts).
        replicas: Math.min(2, system.minSize),
        nodeSelector: { ...this.systemNodeSelector },
      });
    } else {
      this.clusterAutoscaler = new ClusterAutoscaler({
        nodegroups: [this.systemNodegroup, ...Object.values(gpuNodegroups), ...(this.workerNodegroup ? [this.workerNodegroup] : [])],
        scaleDownUnneededMinutes: props.scaleDownUnneededMinutes,
        nodeSelector: this.systemNodeSelector,
      });
    }
    const kubeRay = (props.kubeRay ?? true) ? new KubeRayOperator({
      nodeSelector: this.systemNodeSelector,
      rayCronJob: props.rayCronJobs,
      batchScheduler: props.gangScheduling ? 'volcano' : undefined,
    }) : undefined;
    const addOns: IClusterAddOn[] = [
      this.clusterAutoscaler ?? this.karpenter!,
      ...(gpuGroups.length > 0 ? [new NvidiaDevicePlugin()] : []),
      // Before the operator, which checks for Volcano's PodGroup CRD at start-up.
      ...(kubeRay && props.gangScheduling ? [new VolcanoScheduler()] : []),
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

  /** cdk-nag findings on resources aws-cdk-lib's EKS module generates, acknowledged where they are. */
  private acknowledgeGeneratedResources(): void {
    const stack = Stack.of(this);
    const managed = (name: string) => `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;
    acknowledge(this.cluster.node.defaultChild!, ['CloudFormation-Validate::W9009'],
      'aws-cdk-lib renders EncryptionConfig.Resources ["secrets"] for secrets envelope encryption with our CMK; the schema marks the field deprecated, CloudFormation still accepts it.');
    acknowledge(this.eksCluster.role, [managed('AmazonEKSClusterPolicy')],
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
    for (const fn of [handler, onEvent]) {
      acknowledgeCheck(fn, 'lambdaInsideVpc',
        'aws-cdk-lib places the kubectl handler and its provider in the cluster VPC\'s private subnets; the subnet ids come from the network stack (a cross-stack reference), which the static rule cannot read.');
      acknowledgeCheck(fn, ['lambdaDlq', 'lambdaConcurrency'],
        'aws-cdk-lib kubectl custom-resource function: CloudFormation invokes it synchronously during deploys and retries or fails the deployment itself, so a DLQ never receives anything; deploys are serial, so it needs no reserved concurrency.');
      const logGroup = fn.node.tryFindChild('LogGroup');
      if (logGroup) {
        acknowledgeCheck(logGroup, 'logGroupEncrypted',
          'Log group aws-cdk-lib creates for the kubectl handler or its provider (no key option): it holds deploy-time kubectl/Helm output, no workload data.');
      }
    }
    // aws-cdk-lib adds its CfnUtils provider to the stack when a manifest or chart needs it, after this constructor.
    this.node.addValidation({
      validate: () => {
        const cfnUtils = stack.node.tryFindChild('AWSCDKCfnUtilsProviderCustomResourceProvider')?.node.tryFindChild('Handler');
        if (cfnUtils) {
          acknowledgeCheck(cfnUtils, 'lambdaInsideVpc',
            'aws-cdk-lib\'s CfnUtils provider (JSON helpers for the EKS custom resources) computes values at deploy time and calls no AWS or VPC endpoint; aws-cdk-lib offers no VPC option for it.');
        }
        return [];
      },
    });
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
    // aws-cdk-lib checks GPU types against its own, older family list (no gr6, g7e, p5.4xlarge or p6; p6's hyphen is
    // "malformed" to it) before accepting the NVIDIA AMI type. Our one list (core/gpu-families) has validated them, so
    // GPU groups pass their types straight to CloudFormation.
    const nvidia = o.amiType === eks.NodegroupAmiType.AL2023_X86_64_NVIDIA;
    const group = this.eksCluster.addNodegroupCapacity(id, {
      instanceTypes: nvidia ? undefined : o.instanceTypes.map((t) => new ec2.InstanceType(t)),
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
    if (nvidia) (group.node.defaultChild as eks.CfnNodegroup).addPropertyOverride('InstanceTypes', o.instanceTypes);
    return group;
  }
}
