import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type Construct } from 'constructs';
import { logsServicePrincipal, platformKey } from '../../constructs/core/defaults';
import { lambdaPath } from '../../constructs/core/paths';
import { type ImageRegistry } from '../../constructs/registry';
import { DataQualityMonitor } from '../../constructs/serving/data-quality-monitor';
import { ModelImage } from '../../constructs/serving/model-image';
import { ModelRegistry } from '../../constructs/serving/model-registry';
import { SageMakerEndpoint } from '../../constructs/serving/sagemaker-endpoint';
import { type DataLake } from '../../constructs/storage';
import { type SageMakerEndpointConfig } from '../config/components/sagemaker';
import { endpointName, modelPackageGroupName } from '../naming';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

export interface SageMakerStackProps extends PlatformStackProps {
  readonly vpc: ec2.IVpc;
  /** Subnets of endpoints, monitors and the approval handler. */
  readonly workloadSubnets: ec2.SubnetSelection;
  /** Model data, data capture, async output and monitor reports go to its artifacts bucket. */
  readonly dataLake: DataLake;
  /** Images named `{ repository, tag }` in config come from here; registered models may pull from all of it. */
  readonly registry: ImageRegistry;
  readonly alertsTopic: sns.ITopic;
}

type ImageConfig = SageMakerEndpointConfig['image'];

/**
 * The stage's SageMaker serving: one {@link SageMakerEndpoint} per configured endpoint (the platform's model server
 * by default), a {@link ModelRegistry} per model package group (deploying approved versions to the endpoint that
 * names the group) and a {@link DataQualityMonitor} where configured. Outputs `EndpointNames` and
 * `ModelPackageGroupNames` for the operations CLI.
 */
export class SageMakerStack extends PlatformStack {
  public readonly endpoints: Readonly<Record<string, SageMakerEndpoint>>;
  public readonly registries: Readonly<Record<string, ModelRegistry>>;
  public readonly monitors: Readonly<Record<string, DataQualityMonitor>>;

  constructor(scope: Construct, id: string, props: SageMakerStackProps) {
    super(scope, id, props);
    const { sagemaker: c, prefix, stage, data } = props.config;
    const removalPolicy = data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const artifacts = props.dataLake.artifactsBucket;
    // One key for the stage's endpoints, approval queues and handler logs (events and logs may use it).
    const key = platformKey(this, 'Key', {
      description: `${prefix} ${stage} SageMaker endpoints and model approvals`,
      removalPolicy,
      servicePrincipals: ['events.amazonaws.com', logsServicePrincipal(this)],
    });

    const image = (cfg: ImageConfig): ModelImage => {
      if (!cfg) {
        // SageMaker's CPU hosts and serverless inference run x86_64 images, whatever machine builds them.
        return ModelImage.fromAsset(lambdaPath('model-server'), { file: 'Dockerfile.sagemaker', platform: ecrAssets.Platform.LINUX_AMD64 });
      }
      if ('uri' in cfg) return ModelImage.fromImageUri(cfg.uri, cfg.architecture);
      return ModelImage.fromEcrRepository(props.registry.repository(cfg.repository), cfg.tag, props.registry.encryptionKey, cfg.architecture);
    };

    const endpoints: Record<string, SageMakerEndpoint> = {};
    for (const e of c.endpoints) {
      const instanceBased = e.mode !== 'serverless';
      const g = e.guardrails;
      endpoints[e.name] = new SageMakerEndpoint(this, `Endpoint-${e.name}`, {
        endpointName: endpointName(prefix, stage, e.name),
        mode: e.mode,
        image: image(e.image),
        modelData: e.modelDataKey ? { bucket: artifacts, key: e.modelDataKey } : undefined,
        environment: e.environment,
        instanceType: e.instanceType,
        // Two instances let SageMaker place them in different AZs: prod's default.
        instanceCount: e.instanceCount ?? (stage === 'prod' ? 2 : 1),
        variants: e.variants?.map((v) => ({
          variantName: v.name,
          initialVariantWeight: v.weight,
          instanceType: v.instanceType,
          initialInstanceCount: v.instanceCount,
          image: v.image ? image(v.image) : undefined,
          modelData: v.modelDataKey ? { bucket: artifacts, key: v.modelDataKey } : undefined,
        })),
        serverless: e.serverless ? { memorySizeInMb: e.serverless.memoryMb, maxConcurrency: e.serverless.maxConcurrency, provisionedConcurrency: e.serverless.provisionedConcurrency } : undefined,
        asyncInference: e.mode === 'async' ? { outputBucket: artifacts } : undefined,
        autoScaling: e.autoScaling,
        dataCapture: e.dataCaptureSamplingPercent !== undefined ? { bucket: artifacts, samplingPercentage: e.dataCaptureSamplingPercent } : undefined,
        deployment: g ? {
          trafficShifting: g.trafficShifting,
          canarySizePercent: g.canaryPercent,
          linearStepPercent: g.linearStepPercent,
          bakeTime: Duration.minutes(g.bakeMinutes),
        } : undefined,
        alarms: g ? { latencyThreshold: Duration.millis(g.latencyAlarmMs), errorThreshold: g.errorAlarmCount } : undefined,
        // With monitoring on, the Monitoring stack's "serving degraded" composite notifies about this endpoint; its own
        // (rollback) alarms notifying too would page twice for one incident.
        alarmTopic: props.config.monitoring.enabled ? undefined : props.alertsTopic,
        vpc: instanceBased ? props.vpc : undefined,
        vpcSubnets: instanceBased ? props.workloadSubnets : undefined,
        networkIsolation: e.networkIsolation,
        encryptionKey: key,
      });
    }
    this.endpoints = endpoints;

    const registries: Record<string, ModelRegistry> = {};
    for (const group of c.modelPackageGroups) {
      const target = c.endpoints.find((e) => e.modelPackageGroup === group);
      registries[group] = new ModelRegistry(this, `Registry-${group}`, {
        modelPackageGroupName: modelPackageGroupName(prefix, stage, group),
        description: `${group} model versions of ${prefix} ${stage}`,
        crossAccountIds: c.crossAccountIds,
        removalPolicy: RemovalPolicy.RETAIN, // a group that holds versions cannot be deleted by CloudFormation
        deployment: target ? {
          endpoint: endpoints[target.name],
          alarmTopic: props.alertsTopic,
          vpc: props.vpc,
          vpcSubnets: props.workloadSubnets,
          encryptionKey: key,
          modelArtifactsBucket: artifacts,
          imageRepositories: Object.values(props.registry.repositories),
          imageEncryptionKey: props.registry.encryptionKey,
          logRetention: stage === 'prod' ? logs.RetentionDays.ONE_YEAR : logs.RetentionDays.THREE_MONTHS,
        } : undefined,
      });
    }
    this.registries = registries;

    const monitors: Record<string, DataQualityMonitor> = {};
    for (const e of c.endpoints.filter((x) => x.dataQuality)) {
      monitors[e.name] = new DataQualityMonitor(this, `DataQuality-${e.name}`, {
        endpoint: endpoints[e.name],
        baselineStatistics: { bucket: artifacts, key: e.dataQuality!.baselineStatisticsKey },
        baselineConstraints: { bucket: artifacts, key: e.dataQuality!.baselineConstraintsKey },
        outputBucket: artifacts,
        scheduleExpression: e.dataQuality!.schedule,
        alarmTopic: props.alertsTopic,
        vpc: props.vpc,
        vpcSubnets: props.workloadSubnets,
      });
    }
    this.monitors = monitors;

    // The operations CLI reads these (comma-separated) to list, invoke and promote.
    const list = (values: string[]) => (values.length > 0 ? values.join(',') : 'none');
    new CfnOutput(this, 'EndpointNames', { value: list(Object.values(endpoints).map((e) => e.endpointName)), description: 'SageMaker endpoints of this stage' });
    new CfnOutput(this, 'ModelPackageGroupNames', { value: list(Object.values(registries).map((r) => r.modelPackageGroupName)), description: 'Model package groups of this stage' });
  }
}
