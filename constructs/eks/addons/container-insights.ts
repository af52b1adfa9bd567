import { type RemovalPolicy } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { type Construct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../../core/defaults';
import { acknowledge } from '../../core/nag';
import { PropsValidator } from '../../core/validation';
import { type IClusterAddOn } from './add-on';

/** Namespace and service account the `amazon-cloudwatch-observability` add-on runs its agent with. */
export const CLOUDWATCH_AGENT_NAMESPACE = 'amazon-cloudwatch';
export const CLOUDWATCH_AGENT_SERVICE_ACCOUNT = 'cloudwatch-agent';

export interface ContainerInsightsProps {
  /** Key of the Container Insights log group. @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Retention of the performance log group the metrics are extracted from. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Add-on version, e.g. `v4.4.0-eksbuild.1`. @default - the default version EKS picks for the cluster */
  readonly addonVersion?: string;
  /** What happens to the key and log group on stack deletion. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Container Insights for the cluster: the EKS managed add-on `amazon-cloudwatch-observability` (CloudWatch agent
 * DaemonSet) publishing cluster, node, namespace and pod metrics (`ContainerInsights` namespace: e.g.
 * `cluster_node_count`, `node_cpu_utilization`, `namespace_number_of_running_pods`) for the platform dashboard.
 *
 * The metrics are extracted from performance log events; that log group is created here first, KMS-encrypted
 * and with a retention, so the agent never creates an unencrypted, never-expiring one. Container log shipping
 * (Fluent Bit) is off. The agent gets its AWS access through an EKS Pod Identity association.
 */
export class ContainerInsights implements IClusterAddOn {
  public readonly name = 'container-insights';
  /** The performance log group, set once installed. */
  public logGroup?: logs.LogGroup;
  /** The agent's Pod Identity role, set once installed. */
  public role?: iam.Role;

  constructor(private readonly props: ContainerInsightsProps = {}) {}

  public install(scope: Construct, cluster: eks.ICluster): Construct {
    new PropsValidator(scope, 'ContainerInsights')
      .check(this.props.addonVersion === undefined || /^v\d+\.\d+\.\d+-eksbuild\.\d+$/.test(this.props.addonVersion), 'addonVersion',
        this.props.addonVersion, 'must be an EKS add-on version such as v4.4.0-eksbuild.1')
      .throwIfInvalid();
    const key = this.props.encryptionKey ?? platformKey(scope, 'Key', {
      description: `Container Insights of EKS cluster ${cluster.clusterName}`,
      removalPolicy: this.props.removalPolicy,
      servicePrincipals: [logsServicePrincipal(scope)],
    });
    this.logGroup = encryptedLogGroup(scope, 'PerformanceLogs', {
      encryptionKey: key,
      retention: this.props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: this.props.removalPolicy,
    });
    (this.logGroup.node.defaultChild as logs.CfnLogGroup).logGroupName = `/aws/containerinsights/${cluster.clusterName}/performance`;

    this.role = new iam.Role(scope, 'AgentRole', {
      assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com').withSessionTags(),
      description: `CloudWatch agent (Container Insights) of EKS cluster ${cluster.clusterName}`,
    });
    const policy = new iam.Policy(scope, 'AgentPolicy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'PublishContainerInsightsMetrics',
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': 'ContainerInsights' } },
        }),
        new iam.PolicyStatement({
          sid: 'DescribeNodes',
          actions: ['ec2:DescribeTags', 'ec2:DescribeVolumes', 'ec2:DescribeInstances', 'logs:DescribeLogGroups'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'WritePerformanceLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [this.logGroup.logGroupArn],
        }),
      ],
    });
    acknowledge(policy, ['AwsSolutions-IAM5[Resource::*]'],
      'cloudwatch:PutMetricData (limited to the ContainerInsights namespace by a condition), ec2:DescribeTags/Volumes/Instances '
      + 'and logs:DescribeLogGroups support no resource-level permissions.');

    const addon = new eks.Addon(scope, 'Addon', {
      cluster,
      addonName: 'amazon-cloudwatch-observability',
      addonVersion: this.props.addonVersion,
      configurationValues: {
        containerLogs: { enabled: false },
        agent: { config: { logs: { metrics_collected: { kubernetes: { enhanced_container_insights: false } } } } },
      },
    });
    (addon.node.defaultChild as eks.CfnAddon).podIdentityAssociations = [
      { serviceAccount: CLOUDWATCH_AGENT_SERVICE_ACCOUNT, roleArn: this.role.roleArn },
    ];
    // The agent must find its (encrypted) log group and its credentials when it starts.
    addon.node.addDependency(this.logGroup, policy);
    const agent = cluster.eksPodIdentityAgent;
    if (agent) addon.node.addDependency(agent);
    return addon;
  }
}
