import { Annotations, CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type Construct } from 'constructs';
import { GpuInstance } from '../../constructs/compute';
import { platformKey } from '../../constructs/core/defaults';
import { type ImageRegistry } from '../../constructs/registry';
import { type DataLake } from '../../constructs/storage';
import { EksTraining } from './eks-training';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

/** A fixed Linux AMI id, valid in whichever region the stack deploys to. */
function pinnedImage(imageId: string): ec2.IMachineImage {
  return { getImage: () => ({ imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() }) };
}

/** Where GPU boxes get the training environment, for every login shell (SSM sessions included). */
export const PROFILE_SCRIPT = '/etc/profile.d/cdk-mlops-training.sh';

/** User-data lines writing `environment` as exports to {@link PROFILE_SCRIPT} (none when empty). */
function profileScript(environment: Readonly<Record<string, string>>): string[] {
  const entries = Object.entries(environment);
  if (entries.length === 0) return [];
  // Values are ARNs and similar (no single quotes); quoting keeps the shell from expanding anything in them.
  return [`cat > ${PROFILE_SCRIPT} <<'PROFILE'`, ...entries.map(([k, v]) => `export ${k}='${v}'`), 'PROFILE', `chmod 644 ${PROFILE_SCRIPT}`];
}

export interface TrainingStackProps extends PlatformStackProps {
  /** The stage's VPC (NetworkStack). */
  readonly vpc: ec2.IVpc;
  /** Private subnets where training compute runs (PlatformNetwork.workloadSubnets). */
  readonly workloadSubnets: ec2.SubnetSelection;
  /** Data lake whose data training reads and whose artifacts bucket it writes (DataStack). */
  readonly dataLake: DataLake;
  /** Image registry training pulls images from (DataStack). */
  readonly registry: ImageRegistry;
  /** Topic told about idle auto-stops and other training alarms (AlertsStack). @default - none */
  readonly alertsTopic?: sns.ITopic;
  /**
   * Environment every training process gets (GPU boxes through `/etc/profile.d`, Ray pods through the container env),
   * e.g. `MLFLOW_TRACKING_URI` of the Experiments stack. @default - none
   */
  readonly trainingEnvironment?: Readonly<Record<string, string>>;
}

/**
 * Training compute of a stage: stand-alone GPU instances (`compute` config) and the EKS cluster with KubeRay
 * (`eks` config). Exists when either is switched on.
 */
export class TrainingStack extends PlatformStack {
  public readonly vpc: ec2.IVpc;
  public readonly workloadSubnets: ec2.SubnetSelection;
  public readonly dataLake: DataLake;
  public readonly registry: ImageRegistry;
  public readonly alertsTopic?: sns.ITopic;
  /** GPU instances by their config name. */
  public readonly gpuInstances: Readonly<Record<string, GpuInstance>> = {};
  /** EKS cluster, KubeRay and the default RayCluster (undefined when `eks.enabled` is false). */
  public readonly eksTraining?: EksTraining;
  /** Key of the GPU instances' root volumes (undefined when there are none). */
  public readonly volumeKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: TrainingStackProps) {
    super(scope, id, props);
    this.vpc = props.vpc;
    this.workloadSubnets = props.workloadSubnets;
    this.dataLake = props.dataLake;
    this.registry = props.registry;
    this.alertsTopic = props.alertsTopic;
    const { compute, data, stage } = props.config;

    if (compute.enabled && compute.instances.length > 0) {
      this.volumeKey = platformKey(this, 'GpuVolumeKey', {
        description: `Root volumes of ${props.config.prefix}-${stage} GPU instances`,
        removalPolicy: data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      const instances: Record<string, GpuInstance> = {};
      for (const c of compute.instances) {
        const box = new GpuInstance(this, `Gpu-${c.name}`, {
          vpc: this.vpc,
          vpcSubnets: this.workloadSubnets,
          instanceType: c.instanceType,
          instanceName: `${props.config.prefix}-${stage}-${c.name}`,
          amiParameterName: c.amiParameterName,
          machineImage: c.amiId ? pinnedImage(c.amiId) : undefined,
          rootVolumeGiB: c.rootVolumeGiB,
          encryptionKey: this.volumeKey,
          spot: c.spot,
          idleStopMinutes: c.idleStopMinutes,
          idleThresholdPercent: c.idleThresholdPercent,
          idleMetric: c.idleMetric,
          alarmTopic: this.alertsTopic,
          terminationProtection: c.terminationProtection ?? (stage === 'prod' && !c.spot),
          allowAllOutbound: c.allowAllOutbound,
          dataLake: this.dataLake,
          imageRegistry: this.registry,
          userDataCommands: profileScript(props.trainingEnvironment ?? {}),
        });
        instances[c.name] = box;
        const outputId = c.name.replace(/[^A-Za-z0-9]/g, '');
        new CfnOutput(this, `${outputId}InstanceId`, {
          value: box.instanceId,
          description: `GPU instance "${c.name}": connect with aws ssm start-session --target <id>`,
        });
      }
      this.gpuInstances = instances;
      if (props.config.network.natGateways === 0) {
        Annotations.of(this).addWarningV2('cdk-mlops:gpuInstancesWithoutNat',
          'GPU instances run in isolated subnets (network.natGateways is 0): Session Manager and the CloudWatch agent need '
          + 'interface endpoints for ssmmessages, ec2messages and monitoring, or idle auto-stop never sees GPU metrics.');
      }
    }

    if (props.config.eks.enabled) {
      this.eksTraining = new EksTraining(this, 'Eks', {
        config: props.config, vpc: this.vpc, workloadSubnets: this.workloadSubnets, dataLake: this.dataLake, rayPodEnv: props.trainingEnvironment,
      });
    }
  }
}
