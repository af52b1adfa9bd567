import { Duration, RemovalPolicy, Size, Stack, Tags, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { platformKey } from '../core/defaults';
import { acknowledge, acknowledgeControls, compliancePackIds, resourceWildcardId } from '../core/nag';
import { GPU_FAMILIES } from '../core/gpu-families';
import { PropsValidator } from '../core/validation';
import { type ImageRegistry } from '../registry';
import { type DataLake } from '../storage';

/** GPU families a box accepts: every family of the platform's one list ({@link GPU_FAMILIES}), EKS GPU node groups' too. */
export const GPU_INSTANCE_FAMILIES: readonly string[] = Object.keys(GPU_FAMILIES);

/** The family of an instance type (`g5.xlarge` → `g5`), or undefined when it is not in {@link GPU_INSTANCE_FAMILIES}. */
export function gpuInstanceFamily(instanceType: string): string | undefined {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)$/.exec(instanceType);
  return m && GPU_INSTANCE_FAMILIES.includes(m[1]) ? m[1] : undefined;
}

/** Public SSM parameter of the latest Deep Learning Base OSS NVIDIA Driver GPU AMI (Amazon Linux 2023, x86_64). */
export const DEFAULT_DLAMI_PARAMETER = '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id';

/** Where the boot script mounts the data volume. */
export const DATA_MOUNT_POINT = '/data';

/** Device name the data volume is attached as (NVMe instances show it as /dev/nvme*n1 with this name in its serial). */
export const DATA_DEVICE_NAME = '/dev/sdf';

/** Tag naming the box on its instance; the instance role may attach the data volume only to instances with it. */
const BOX_TAG = 'cdk-mlops:gpu-box';

/** CloudWatch namespace the CloudWatch agent on GPU instances publishes to. */
export const DEFAULT_GPU_METRICS_NAMESPACE = 'CdkMlops/GPU';

/** What idle auto-stop watches. */
export type IdleMetric = 'gpu' | 'cpu';

export interface GpuInstanceProps {
  /** VPC to launch in. */
  readonly vpc: ec2.IVpc;
  /**
   * Private subnets to launch in (the instance never gets a public IP).
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** EC2 instance type in a GPU family ({@link GPU_INSTANCE_FAMILIES}), e.g. `g5.xlarge`. */
  readonly instanceType: string;
  /** Name tag of the instance. @default - the construct path */
  readonly instanceName?: string;
  /**
   * Public SSM parameter holding the AMI id; resolved by CloudFormation at each deploy (no synth-time lookup).
   * A newer image in the parameter replaces the instance on the next deploy (the data volume survives it); pin with
   * `machineImage` so the image changes only when you change it.
   * @default DEFAULT_DLAMI_PARAMETER (Deep Learning Base OSS NVIDIA Driver GPU AMI, Amazon Linux 2023)
   */
  readonly amiParameterName?: string;
  /**
   * A fixed image instead of the SSM parameter, e.g. `ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-…' })`.
   * @default - the image in `amiParameterName`
   */
  readonly machineImage?: ec2.IMachineImage;
  /**
   * Device name of the image's root volume, so the gp3/KMS settings apply to the root and not to an extra disk.
   * @default '/dev/sda1' when the AMI parameter names an Ubuntu image, else '/dev/xvda' (Amazon Linux)
   */
  readonly rootDeviceName?: string;
  /** Size of the encrypted gp3 root volume (100-16384 GiB; the DLAMI snapshots need ~100 GiB). @default 200 */
  readonly rootVolumeGiB?: number;
  /** Key for the root and data volumes. @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /**
   * Size of the encrypted gp3 data volume mounted at {@link DATA_MOUNT_POINT} (1-16384 GiB). It is a separate
   * CloudFormation resource, so it outlives instance replacement, spot interruption and stack deletion.
   * @default 100
   */
  readonly dataVolumeGiB?: number;
  /**
   * What happens to the data volume when it leaves the stack or would be replaced: `RETAIN` or `SNAPSHOT`
   * (`DESTROY` is refused: the volume exists to keep data).
   * @default RemovalPolicy.RETAIN
   */
  readonly dataVolumeRemovalPolicy?: RemovalPolicy;
  /**
   * Run on spot capacity: a one-time spot request, terminated on interruption. EC2 never relaunches it on its own
   * (a persistent request could bring back a box without its idle alarm after the stack let go of it); the data
   * volume keeps the work, and the next deploy that replaces the instance brings a new box that mounts it.
   * @default false
   */
  readonly spot?: boolean;
  /** Stop the instance after it has been idle this many minutes (0 = never; 5-1440). @default 60 */
  readonly idleStopMinutes?: number;
  /** Utilization (percent, 1-99) below which a minute counts as idle. @default 5 */
  readonly idleThresholdPercent?: number;
  /**
   * `gpu`: the highest utilization of any GPU, from the CloudWatch agent's nvidia_smi metrics.
   * `cpu`: EC2's CPUUtilization (needs no agent; use it with images without NVIDIA tooling).
   * @default 'gpu'
   */
  readonly idleMetric?: IdleMetric;
  /** Topic notified when idle auto-stop stops the instance. @default - no notification */
  readonly alarmTopic?: sns.ITopic;
  /**
   * API termination protection (cdk-nag EC29). Turn it off for disposable boxes: a protected instance blocks
   * stack deletion until it is turned off. Not available for spot instances.
   * @default true (false for spot)
   */
  readonly terminationProtection?: boolean;
  /**
   * Allow all outbound traffic. By default only HTTPS leaves the instance (AWS APIs, package indexes, Git over
   * HTTPS); DNS and NTP go to the VPC's link-local services, which security groups do not filter.
   * @default false
   */
  readonly allowAllOutbound?: boolean;
  /** Data lake whose raw/processed data the instance reads and whose artifacts bucket it writes. @default - no data access */
  readonly dataLake?: DataLake;
  /** Registry whose repositories the instance pulls images from. @default - no registry access */
  readonly imageRegistry?: ImageRegistry;
  /** CloudWatch namespace of the agent's metrics. @default DEFAULT_GPU_METRICS_NAMESPACE */
  readonly metricsNamespace?: string;
  /** Extra shell commands run as root at first boot, after the CloudWatch agent is set up. @default - none */
  readonly userDataCommands?: string[];
}

/** Actions the SSM agent needs for Session Manager and Run Command (a scoped AmazonSSMManagedInstanceCore). */
const SESSION_MANAGER_CHANNEL_ACTIONS = [
  'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel',
  'ec2messages:AcknowledgeMessage', 'ec2messages:DeleteMessage', 'ec2messages:FailMessage', 'ec2messages:GetEndpoint',
  'ec2messages:GetMessages', 'ec2messages:SendReply',
];

/** GPU fields the CloudWatch agent reads from nvidia-smi; published as `nvidia_smi_<field>`. */
const NVIDIA_MEASUREMENTS = ['utilization_gpu', 'utilization_memory', 'memory_total', 'memory_used', 'memory_free', 'temperature_gpu', 'power_draw'];

/**
 * A GPU box for training and experiments: AWS Deep Learning AMI from its public SSM parameter, private subnet
 * and no public IP, IMDSv2 only, Session Manager instead of SSH (no key pair, no inbound rules), a KMS-encrypted
 * gp3 root volume, a retained KMS-encrypted data volume at `/data` that every replacement instance attaches at boot,
 * detailed monitoring, GPU metrics through the CloudWatch agent, and idle auto-stop.
 *
 * Idle auto-stop is a single-metric CloudWatch alarm with the EC2 `stop` action. EC2 actions are only allowed on
 * alarms over one metric with an `InstanceId` dimension (not metric math, not composite alarms), so the agent
 * publishes a roll-up of every GPU under the `InstanceId` dimension alone, and the alarm watches its Maximum:
 * the box stops only when no GPU has been busy for the whole window. Missing data (instance stopped, agent
 * starting) counts as not idle, so the alarm returns to OK while stopped and fires again after a later start.
 */
export class GpuInstance extends Construct implements iam.IGrantable, ec2.IConnectable {
  public readonly instance: ec2.Instance;
  public readonly instanceId: string;
  public readonly role: iam.IRole;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly securityGroup: ec2.ISecurityGroup;
  public readonly connections: ec2.Connections;
  /** Launch template of the instance (spot options live here). */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** Key of the root and data volumes. */
  public readonly encryptionKey: kms.IKey;
  /** The data volume mounted at {@link DATA_MOUNT_POINT}; retained (or snapshotted) when the instance goes. */
  public readonly dataVolume: ec2.Volume;
  /** The idle auto-stop alarm (undefined when idleStopMinutes is 0). */
  public readonly idleAlarm?: cloudwatch.Alarm;
  /** Namespace of the CloudWatch agent's GPU, memory and disk metrics. */
  public readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: GpuInstanceProps) {
    super(scope, id);
    const spot = props.spot ?? false;
    const rootVolumeGiB = props.rootVolumeGiB ?? 200;
    const dataVolumeGiB = props.dataVolumeGiB ?? 100;
    const dataVolumeRemovalPolicy = props.dataVolumeRemovalPolicy ?? RemovalPolicy.RETAIN;
    const idleStopMinutes = props.idleStopMinutes ?? 60;
    const idleThreshold = props.idleThresholdPercent ?? 5;
    const idleMetric = props.idleMetric ?? 'gpu';
    const terminationProtection = props.terminationProtection ?? !spot;
    const amiParameterName = props.amiParameterName ?? DEFAULT_DLAMI_PARAMETER;
    const rootDeviceName = props.rootDeviceName ?? (/ubuntu/i.test(amiParameterName) && !props.machineImage ? '/dev/sda1' : '/dev/xvda');
    this.metricsNamespace = props.metricsNamespace ?? DEFAULT_GPU_METRICS_NAMESPACE;

    const v = new PropsValidator(this, 'GpuInstance');
    v.check(Token.isUnresolved(props.instanceType) || gpuInstanceFamily(props.instanceType) !== undefined, 'instanceType', props.instanceType,
      `must be an EC2 instance type in a GPU family (${GPU_INSTANCE_FAMILIES.join(', ')}), e.g. g5.xlarge`)
      .intRange('rootVolumeGiB', rootVolumeGiB, 100, 16384, 'GiB')
      .intRange('dataVolumeGiB', dataVolumeGiB, 1, 16384, 'GiB')
      .check(dataVolumeRemovalPolicy === RemovalPolicy.RETAIN || dataVolumeRemovalPolicy === RemovalPolicy.SNAPSHOT, 'dataVolumeRemovalPolicy', dataVolumeRemovalPolicy,
        'must be RETAIN or SNAPSHOT: the data volume exists to keep data when the instance goes')
      .check(idleStopMinutes === 0 || (Number.isInteger(idleStopMinutes) && idleStopMinutes >= 5 && idleStopMinutes <= 1440), 'idleStopMinutes', idleStopMinutes,
        'must be 0 (never stop) or a whole number between 5 and 1440 minutes (a CloudWatch alarm evaluates at most one day)')
      .intRange('idleThresholdPercent', idleThreshold, 1, 99, 'percent')
      .check(idleMetric === 'gpu' || idleMetric === 'cpu', 'idleMetric', idleMetric, 'must be "gpu" or "cpu"')
      .check(!(spot && terminationProtection), 'terminationProtection', terminationProtection, 'must be false with spot: EC2 does not offer termination protection for spot instances')
      .check(/^\/[A-Za-z0-9_.\-/]+$/.test(amiParameterName), 'amiParameterName', amiParameterName, 'must be an SSM parameter name starting with "/", e.g. ' + DEFAULT_DLAMI_PARAMETER)
      .check(!(props.machineImage && props.amiParameterName), 'machineImage', '(image)', 'cannot be combined with amiParameterName; give one of them')
      .check(/^\/dev\/[a-z0-9]+$/.test(rootDeviceName), 'rootDeviceName', rootDeviceName, 'must be a device name such as /dev/xvda or /dev/sda1')
      .check(/^[A-Za-z0-9_./#:-]{1,255}$/.test(this.metricsNamespace) && !this.metricsNamespace.startsWith('AWS/'), 'metricsNamespace', this.metricsNamespace,
        'must be 1-255 letters, digits or "_./#:-" and must not start with "AWS/"');
    v.throwIfInvalid();

    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'VolumeKey', { description: `Root volume of GPU instance ${this.node.path}` });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `GPU instance ${this.node.path}: Session Manager, CloudWatch agent metrics, data lake access`,
    });
    this.grantPrincipal = this.role;
    const agentPolicy = this.agentPolicy();
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `GPU instance ${this.node.path}: no inbound (Session Manager), ${props.allowAllOutbound ? 'all' : 'HTTPS'} outbound`,
      allowAllOutbound: props.allowAllOutbound ?? false,
    });
    if (!props.allowAllOutbound) this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and package indexes');
    this.connections = this.securityGroup.connections;

    const machineImage = props.machineImage ?? ec2.MachineImage.fromSsmParameter(amiParameterName, { os: ec2.OperatingSystemType.LINUX });
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    // The data volume lives in one AZ; pinning the instance to it keeps every replacement able to attach it.
    const subnets = props.vpc.selectSubnets(vpcSubnets).subnets;
    new PropsValidator(this, 'GpuInstance')
      .check(subnets.length > 0, 'vpcSubnets', '(selection)', 'must select at least one subnet of the VPC (the data volume is created in the first one\'s AZ)')
      .throwIfInvalid();
    const availabilityZone = subnets[0].availabilityZone;

    this.dataVolume = new ec2.Volume(this, 'DataVolume', {
      availabilityZone,
      size: Size.gibibytes(dataVolumeGiB),
      volumeType: ec2.EbsDeviceVolumeType.GP3,
      encrypted: true,
      encryptionKey: this.encryptionKey,
      removalPolicy: dataVolumeRemovalPolicy,
    });
    this.allowAttachingDataVolume(agentPolicy);
    acknowledge(this.dataVolume, compliancePackIds('EC2EBSInBackupPlan'),
      'The platform has no AWS Backup plan to put it in; the volume is kept (RETAIN or SNAPSHOT) when the instance is replaced or the stack deleted. '
      + 'Teams that need point-in-time copies select it into their own plan by its tags.');

    this.instance = new ec2.Instance(this, 'Instance', {
      vpc: props.vpc,
      vpcSubnets,
      availabilityZone,
      instanceType: new ec2.InstanceType(props.instanceType),
      instanceName: props.instanceName,
      machineImage,
      role: this.role,
      securityGroup: this.securityGroup,
      associatePublicIpAddress: false,
      // IMDSv2 only; hop limit 2 lets containers on the box (Docker, Ray) reach the instance role.
      httpTokens: ec2.HttpTokens.REQUIRED,
      httpEndpoint: true,
      httpPutResponseHopLimit: 2,
      detailedMonitoring: true,
      ebsOptimized: true,
      disableApiTermination: terminationProtection,
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.STOP,
      propagateTagsToVolumeOnCreation: true,
      blockDevices: [{
        deviceName: rootDeviceName,
        volume: ec2.BlockDeviceVolume.ebs(rootVolumeGiB, {
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          encrypted: true,
          kmsKey: this.encryptionKey,
          deleteOnTermination: true,
        }),
      }],
      userData: this.renderUserData(props.userDataCommands ?? []),
      // No userDataCausesReplacement: replacing the box for an edited script would be a surprise; the script runs
      // at first boot of each instance, and every new instance mounts the same data volume.
    });
    Tags.of(this.instance).add(BOX_TAG, this.node.path);
    this.instanceId = this.instance.instanceId;
    // The agents start at boot: their permissions must exist before the instance does.
    this.instance.node.addDependency(agentPolicy);

    // Every instance gets a launch template (holding spot options when asked): cdk-nag's EC26 check fails an
    // instance without one when the same stack holds any launch template (e.g. EKS node groups).
    // The template states the instance's IMDSv2 and monitoring settings too, so checks that read launch templates
    // (Control Tower CT.EC2.PR.1/PR.10) see what the instance really gets.
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      requireImdsv2: true,
      httpPutResponseHopLimit: 2,
      detailedMonitoring: true,
      // One-time and terminated on interruption: nothing outside the stack can launch a box without an idle alarm.
      spotOptions: spot ? { requestType: ec2.SpotRequestType.ONE_TIME, interruptionBehavior: ec2.SpotInstanceInterruption.TERMINATE } : undefined,
    });
    (this.instance.node.defaultChild as ec2.CfnInstance).launchTemplate = {
      launchTemplateId: this.launchTemplate.launchTemplateId,
      version: this.launchTemplate.latestVersionNumber,
    };
    acknowledgeControls(this.launchTemplate, ['CT.EC2.PR.2 ec2_launch_template_token_hop_limit_check'],
      'IMDSv2 hop limit 2 is what AWS documents for containers on an instance: Docker and Ray workers on this box use the instance role through IMDS (tokens still required).');
    if (spot) this.allowSpotToUseKey();
    if (!terminationProtection) {
      acknowledge(this.instance, ['AwsSolutions-EC29', ...compliancePackIds('EC2InstanceTerminationProtection')],
        spot
          ? 'Spot instances cannot have API termination protection; work is kept on the retained data volume, which outlives the instance.'
          : 'Termination protection explicitly switched off (terminationProtection: false) for a disposable box; work is kept on the retained data volume.');
    }

    if (props.dataLake) {
      props.dataLake.grantReadData(this.role);
      props.dataLake.grantWriteArtifacts(this.role);
    }

    if (props.imageRegistry) props.imageRegistry.grantPull(this.role);
    acknowledge(this.role, compliancePackIds('IAMNoInlinePolicy'),
      'The policies CDK generates from scoped grants (default policy, ECR token) belong to this single role and are not shared.');
    acknowledge(this.instance, compliancePackIds('EC2InstancesInVPC'),
      'False positive: the instance is launched into a VPC subnet through NetworkInterfaces[0].SubnetId; the rule only reads the top-level SubnetId.');

    if (idleStopMinutes > 0) {
      const metric = (idleMetric === 'gpu' ? this.metricGpuUtilization() : this.metricCpuUtilization()).with({ statistic: 'Maximum', period: Duration.minutes(1) });
      this.idleAlarm = new cloudwatch.Alarm(this, 'IdleStopAlarm', {
        alarmDescription: `Stops ${this.node.path} when the highest ${idleMetric.toUpperCase()} utilization stayed below ${idleThreshold}% for ${idleStopMinutes} minutes.`,
        metric,
        threshold: idleThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: idleStopMinutes,
        datapointsToAlarm: idleStopMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.idleAlarm.addAlarmAction(new cwActions.Ec2Action(cwActions.Ec2InstanceAction.STOP));
      if (props.alarmTopic) this.idleAlarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
    }
  }

  /** A GPU metric the CloudWatch agent publishes (`nvidia_smi_<field>`), rolled up over all GPUs of the instance. */
  public metricGpu(field: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName: `nvidia_smi_${field}`,
      dimensionsMap: { InstanceId: this.instanceId },
      statistic: 'Average',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** GPU utilization in percent (Average over GPUs by default; use `statistic: 'Maximum'` for the busiest). */
  public metricGpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricGpu('utilization_gpu', props);
  }

  /** GPU memory controller utilization in percent. */
  public metricGpuMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricGpu('utilization_memory', props);
  }

  /** GPU memory in use, MiB. */
  public metricGpuMemoryUsed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricGpu('memory_used', props);
  }

  /** EC2 CPU utilization in percent (1-minute detailed monitoring). */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/EC2',
      metricName: 'CPUUtilization',
      dimensionsMap: { InstanceId: this.instanceId },
      statistic: 'Average',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Host memory in use, percent (CloudWatch agent). */
  public metricMemoryUsedPercent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName: 'mem_used_percent',
      dimensionsMap: { InstanceId: this.instanceId },
      statistic: 'Average',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Lets a principal open Session Manager sessions on this instance (and only this one). */
  public grantConnect(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:StartSession'],
      resourceArns: [
        stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: this.instanceId }),
        stack.formatArn({ service: 'ssm', resource: 'document', resourceName: 'SSM-SessionManagerRunShell' }),
      ],
    });
  }

  /** Lets a principal start and stop this instance (e.g. to resume work after an idle stop). */
  public grantStartStop(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ec2:StartInstances', 'ec2:StopInstances'],
      resourceArns: [Stack.of(this).formatArn({ service: 'ec2', resource: 'instance', resourceName: this.instanceId })],
    });
  }

  /**
   * Permissions of the agents on the box, in their own customer-managed policy so that its acknowledged wildcards never cover
   * grants added to the role later. The SSM agent's Session Manager and Run Command actions replace
   * AmazonSSMManagedInstanceCore (no parameter, document or inventory access); PutMetricData is held to the
   * agent's namespace by a condition.
   */
  private agentPolicy(): iam.ManagedPolicy {
    const stack = Stack.of(this);
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    const policy = new iam.ManagedPolicy(this, 'AgentPolicy', {
      description: `Agents on GPU instance ${this.node.path}: SSM Session Manager and CloudWatch agent`,
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'SsmAgentRegistration',
          actions: ['ssm:UpdateInstanceInformation', 'ssm:ListInstanceAssociations', 'ssm:UpdateInstanceAssociationStatus'],
          resources: [instances],
        }),
        new iam.PolicyStatement({ sid: 'SsmAgentChannels', actions: SESSION_MANAGER_CHANNEL_ACTIONS, resources: ['*'] }),
        new iam.PolicyStatement({
          sid: 'CloudWatchAgentMetrics',
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': this.metricsNamespace } },
        }),
      ],
    });
    acknowledge(policy, [
      'AwsSolutions-IAM5[Resource::*]',
      resourceWildcardId(policy, instances),
    ], 'The SSM agent (ssmmessages, ec2messages) and cloudwatch:PutMetricData support no resource-level permissions '
      + '(PutMetricData is held to one namespace by a condition); the SSM agent registers an instance it can only name '
      + 'as instance/* in this account and region (the role exists before the instance id); attaching the data volume '
      + 'names that one volume and instance/* held to instances tagged as this box by an aws:ResourceTag condition.');
    return policy;
  }

  /**
   * The box attaches its data volume itself at boot (a CloudFormation VolumeAttachment cannot move the volume to a
   * replacement instance: the new attachment is created while the old instance still holds the volume).
   * Only this volume, only to instances tagged as this box.
   */
  private allowAttachingDataVolume(policy: iam.ManagedPolicy): void {
    const stack = Stack.of(this);
    policy.addStatements(
      new iam.PolicyStatement({
        sid: 'AttachDataVolume',
        actions: ['ec2:AttachVolume'],
        resources: [stack.formatArn({ service: 'ec2', resource: 'volume', resourceName: this.dataVolume.volumeId })],
      }),
      new iam.PolicyStatement({
        sid: 'AttachDataVolumeToThisBox',
        actions: ['ec2:AttachVolume'],
        resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
        conditions: { StringEquals: { [`aws:ResourceTag/${BOX_TAG}`]: this.node.path } },
      }),
      new iam.PolicyStatement({
        sid: 'UseDataVolumeKey',
        actions: ['kms:CreateGrant'],
        resources: [this.encryptionKey.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
  }

  /** EC2 launches spot volumes through its service-linked role, which must be able to use the volume key. */
  private allowSpotToUseKey(): void {
    // EC2 launches spot volumes through its service-linked role, which must be able to use the volume key.
    const spotRole = `arn:${Stack.of(this).partition}:iam::${Stack.of(this).account}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`;
    this.encryptionKey.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:PrincipalArn': spotRole } },
    }));
    this.encryptionKey.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:PrincipalArn': spotRole }, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    }));
  }

  /**
   * First-boot script: install the CloudWatch agent if the image lacks it, then run it with GPU (nvidia-smi),
   * memory and root-disk metrics. `aggregation_dimensions` adds the per-instance roll-up the idle alarm needs.
   */
  private renderUserData(extraCommands: string[]): ec2.UserData {
    const agentConfig = {
      agent: { metrics_collection_interval: 60, omit_hostname: true },
      metrics: {
        namespace: this.metricsNamespace,
        append_dimensions: { InstanceId: '${aws:InstanceId}' },
        aggregation_dimensions: [['InstanceId']],
        metrics_collected: {
          nvidia_gpu: { measurement: NVIDIA_MEASUREMENTS, metrics_collection_interval: 60 },
          mem: { measurement: ['used_percent'] },
          disk: { measurement: ['used_percent'], resources: ['/'] },
        },
      },
    };
    const configPath = '/opt/aws/amazon-cloudwatch-agent/etc/cdk-mlops-gpu.json';
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'set -euo pipefail',
      'CTL=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl',
      'if [ ! -x "$CTL" ]; then',
      '  if command -v dnf >/dev/null; then dnf install -y amazon-cloudwatch-agent;',
      '  else curl -fsSL -o /tmp/cwagent.deb "https://amazoncloudwatch-agent.s3.amazonaws.com/ubuntu/$(dpkg --print-architecture)/latest/amazon-cloudwatch-agent.deb" && dpkg -i /tmp/cwagent.deb; fi',
      'fi',
      'mkdir -p "$(dirname ' + configPath + ')"',
      `cat > ${configPath} <<'CWAGENT'`,
      JSON.stringify(agentConfig, null, 2),
      'CWAGENT',
      `"$CTL" -a fetch-config -m ec2 -s -c file:${configPath}`,
      ...this.mountDataVolume(),
      ...extraCommands,
    );
    return userData;
  }

  /**
   * Attach (retrying while a replaced instance still holds it), format only if empty, and mount the data volume.
   * Nitro instances name an EBS volume by its id in /dev/disk/by-id, whatever the requested device name.
   */
  private mountDataVolume(): string[] {
    return [
      `DATA_VOLUME_ID=${this.dataVolume.volumeId}`,
      'DATA_DEV="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${DATA_VOLUME_ID//-/}"',
      'if [ ! -e "$DATA_DEV" ]; then',
      '  IMDS=http://169.254.169.254/latest',
      '  TOKEN=$(curl -fsS -X PUT "$IMDS/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")',
      '  IID=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/instance-id")',
      '  REGION=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/placement/region")',
      '  # An instance being replaced keeps the volume until CloudFormation terminates it: keep trying for an hour.',
      '  for _ in $(seq 1 360); do',
      `    aws ec2 attach-volume --region "$REGION" --volume-id "$DATA_VOLUME_ID" --instance-id "$IID" --device ${DATA_DEVICE_NAME} && break`,
      '    sleep 10',
      '  done',
      '  for _ in $(seq 1 60); do [ -e "$DATA_DEV" ] && break; sleep 5; done',
      'fi',
      '# Format only a volume without a file system: a new instance must never wipe the data of the one before.',
      'blkid "$DATA_DEV" >/dev/null || mkfs -t xfs "$DATA_DEV"',
      `mkdir -p ${DATA_MOUNT_POINT}`,
      `grep -q ' ${DATA_MOUNT_POINT} ' /etc/fstab || echo "UUID=$(blkid -s UUID -o value "$DATA_DEV") ${DATA_MOUNT_POINT} xfs defaults,nofail 0 2" >> /etc/fstab`,
      `mountpoint -q ${DATA_MOUNT_POINT} || mount ${DATA_MOUNT_POINT}`,
    ];
  }
}
