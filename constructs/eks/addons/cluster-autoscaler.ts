import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { type Construct } from 'constructs';
import { acknowledge, acknowledgeResourceWildcards } from '../../core/nag';
import { type PropsValidator } from '../../core/validation';
import { HelmAddOn } from './helm-add-on';

export interface ClusterAutoscalerProps {
  /** The managed node groups the autoscaler may read and resize (it discovers their ASGs by EKS's tags). */
  readonly nodegroups: eks.INodegroup[];
  /** Chart version of `cluster-autoscaler` (9.54.x ships Cluster Autoscaler 1.35 for Kubernetes 1.35). @default '9.54.0' */
  readonly version?: string;
  /** Cluster Autoscaler image tag; its minor must match the Kubernetes minor. @default 'v1.35.0' */
  readonly imageTag?: string;
  /** Minutes a node must be unneeded before it is removed: how fast idle GPU nodes go back to zero. @default 10 */
  readonly scaleDownUnneededMinutes?: number;
  /** Minutes after a scale-up before scale-down is considered again. @default 10 */
  readonly scaleDownDelayAfterAddMinutes?: number;
  /** Node labels the autoscaler pod must match (e.g. the system node group). @default - none */
  readonly nodeSelector?: Record<string, string>;
}

/** Read-only calls the autoscaler makes; AWS offers no resource-level permissions for them. */
export const CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeAutoScalingInstances',
  'autoscaling:DescribeLaunchConfigurations',
  'autoscaling:DescribeScalingActivities',
  'autoscaling:DescribeTags',
  'ec2:DescribeImages',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplateVersions',
  'ec2:GetInstanceTypesFromInstanceRequirements',
] as const;

/**
 * Kubernetes Cluster Autoscaler for EKS managed node groups, with scale-from-zero.
 *
 * Why it works from zero: an empty node group has no node to copy, so the autoscaler builds a template node
 * from the ASG's instance type (vCPU, memory and NVIDIA GPU count from its instance table) and from
 * `eks:DescribeNodegroup` (the group's labels and taints). A pending pod that tolerates the GPU taint and
 * asks for `nvidia.com/gpu` fits that template, so the group is scaled from 0 to 1. When the pod is gone and
 * the node stays unneeded for `scaleDownUnneededMinutes`, the node is drained and the group goes back to 0.
 *
 * IAM (EKS Pod Identity): describe calls on `*` (no resource-level support), `eks:DescribeNodegroup` on
 * exactly the given node groups, and resize/terminate only on ASGs EKS created for those node groups
 * (`eks-<nodegroup>-*`) that also carry this cluster's `eks:cluster-name` tag.
 */
export class ClusterAutoscaler extends HelmAddOn {
  public static readonly SERVICE_ACCOUNT = 'cluster-autoscaler';
  private readonly options: ClusterAutoscalerProps;
  private installedRole?: iam.IRole;

  constructor(props: ClusterAutoscalerProps) {
    super({
      name: 'cluster-autoscaler',
      chart: 'cluster-autoscaler',
      repository: 'https://kubernetes.github.io/autoscaler',
      version: props.version ?? '9.54.0',
      namespace: 'kube-system',
      createNamespace: false,
    });
    this.options = props;
  }

  /** The Pod Identity role of the autoscaler (undefined until the add-on is installed). */
  public get role(): iam.IRole | undefined {
    return this.installedRole;
  }

  /** @internal */
  protected override _validate(v: PropsValidator): void {
    v.intRange('scaleDownUnneededMinutes', this.options.scaleDownUnneededMinutes, 1, 1440, 'minutes')
      .intRange('scaleDownDelayAfterAddMinutes', this.options.scaleDownDelayAfterAddMinutes, 0, 1440, 'minutes')
      .check(/^v1\.35\.\d+$/.test(this.options.imageTag ?? 'v1.35.0'), 'imageTag', this.options.imageTag,
        'must be a Cluster Autoscaler v1.35.x tag: its minor must match Kubernetes 1.35');
  }

  protected override installResources(scope: Construct, cluster: eks.ICluster): Construct {
    const serviceAccount = new eks.ServiceAccount(scope, 'ServiceAccount', {
      cluster,
      name: ClusterAutoscaler.SERVICE_ACCOUNT,
      namespace: 'kube-system',
      identityType: eks.IdentityType.POD_IDENTITY,
    });
    this.installedRole = serviceAccount.role;
    const stack = Stack.of(scope);
    serviceAccount.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DescribeScalingState',
      actions: [...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS],
      resources: ['*'],
    }));
    serviceAccount.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadNodegroupLabelsAndTaints',
      actions: ['eks:DescribeNodegroup'],
      resources: this.options.nodegroups.map((ng) => ng.nodegroupRef.nodegroupArn),
    }));
    const asgArns = this.options.nodegroups.map((ng) => stack.formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      resourceName: `*:autoScalingGroupName/eks-${nodegroupNameOf(ng)}-*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }));
    serviceAccount.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ResizeOwnNodegroups',
      actions: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
      resources: asgArns,
      conditions: { StringEquals: { 'aws:ResourceTag/eks:cluster-name': cluster.clusterName } },
    }));
    acknowledge(serviceAccount.role, ['AwsSolutions-IAM5[Resource::*]'],
      'Cluster Autoscaler describe calls (autoscaling:Describe*, ec2:DescribeInstanceTypes/Images/LaunchTemplateVersions, '
      + 'ec2:GetInstanceTypesFromInstanceRequirements) support no resource-level permissions; write actions are scoped to the node groups\' ASGs.');
    // Resolved at validation time, so the finding ids match with explicit or agnostic account/region alike.
    acknowledgeResourceWildcards(serviceAccount.role, asgArns,
      'EKS names a managed node group\'s ASG eks-<nodegroup>-<uuid> and exposes neither name nor ARN to CloudFormation; '
      + 'the pattern is pinned to this node group and a condition requires the cluster\'s eks:cluster-name tag.');
    const chart = this.installChart(scope, cluster);
    chart.node.addDependency(serviceAccount);
    return chart;
  }

  protected values(cluster: eks.ICluster): Record<string, unknown> {
    const o = this.options;
    return {
      cloudProvider: 'aws',
      awsRegion: Stack.of(cluster).region,
      autoDiscovery: { clusterName: cluster.clusterName },
      image: { tag: o.imageTag ?? 'v1.35.0' },
      rbac: { serviceAccount: { create: false, name: ClusterAutoscaler.SERVICE_ACCOUNT } },
      extraArgs: {
        'scale-down-unneeded-time': `${o.scaleDownUnneededMinutes ?? 10}m`,
        'scale-down-delay-after-add': `${o.scaleDownDelayAfterAddMinutes ?? 10}m`,
        // least-waste picks the smallest group that fits, so a CPU pod never wakes a GPU node.
        expander: 'least-waste',
        'balance-similar-node-groups': true,
        'skip-nodes-with-system-pods': false,
        'skip-nodes-with-local-storage': false,
      },
      priorityClassName: 'system-cluster-critical',
      resources: { requests: { cpu: '100m', memory: '600Mi' }, limits: { cpu: '100m', memory: '600Mi' } },
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
    };
  }
}

/**
 * The node group's name. For node groups of this app it is read from the CloudFormation attribute: the L2's
 * `nodegroupName` is the resource's Ref (`<cluster>/<nodegroup>`) unless a feature flag is set.
 */
function nodegroupNameOf(ng: eks.INodegroup): string {
  const cfn = ng.node.defaultChild;
  return cfn instanceof eks.CfnNodegroup ? cfn.attrNodegroupName : ng.nodegroupName;
}
