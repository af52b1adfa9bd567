import { Aws, Stage, type StageProps, Tags, Validations } from 'aws-cdk-lib';
import { type NagPack } from 'cdk-nag';
import { type Construct } from 'constructs';
import { loadStageConfig, STAGE_NAMES, type StageConfig } from './config';
import { driftJobRoleName } from './naming';
import { applyNag } from './nag';
import { IdleCostBudget } from './cost/budget';
import { AlertsStack, DataStack, NetworkStack, type PlatformStack } from './stacks';
import { TrainingStack } from './stacks/training-stack';
import { LambdaInferenceStack } from './stacks/lambda-inference-stack';
import { SageMakerStack } from './stacks/sagemaker-stack';
import { ExperimentsStack } from './stacks/experiments-stack';
import { MonitoringStack } from './stacks/monitoring-stack';
import { EksObservability } from './stacks/eks-observability';
import { DeliveryStack } from './stacks/delivery-stack';
import { DRIFT_EVENT } from './config';
import { DriftDetection, DriftTargets } from '../constructs/monitoring/drift-detection';

export interface PlatformStageProps extends StageProps {
  /** The stage's validated config (see `loadStageConfig`). */
  readonly config: StageConfig;
  /**
   * Config of another stage, for the model pipeline's targets (it promotes into their registries and endpoints).
   * @default - that stage's built-in defaults
   */
  readonly stageConfig?: (stage: string) => StageConfig;
}

/**
 * One environment of the platform (dev, staging or prod): its stacks, tags and cdk-nag gate.
 * Components switched off in config create no stack.
 */
export class PlatformStage extends Stage {
  public readonly config: StageConfig;
  public readonly networkStack: NetworkStack;
  public readonly dataStack: DataStack;
  public readonly alertsStack: AlertsStack;
  /** GPU instances and EKS training; exists when `compute.enabled` or `eks.enabled`. */
  public readonly trainingStack?: TrainingStack;
  /** Lambda container inference and its front door; exists when `lambdaInference.enabled`. */
  public readonly inferenceStack?: LambdaInferenceStack;
  /** SageMaker endpoints, model registry and drift monitoring; exists when `sagemaker.enabled`. */
  public readonly sageMakerStack?: SageMakerStack;
  /** MLflow tracking server and feature groups; exists when `monitoring.enabled` and MLflow or feature groups are configured. */
  public readonly experimentsStack?: ExperimentsStack;
  /** Dashboard and alarms over the other stacks; exists when `monitoring.enabled`. */
  public readonly monitoringStack?: MonitoringStack;
  /** The model delivery pipeline and GitHub deploy role; exists when `pipelines.enabled` or `pipelines.github`. */
  public readonly deliveryStack?: DeliveryStack;
  /** The cdk-nag packs gating this stage (for tests: `pack.validateScope(stage)`). */
  public readonly nagPacks: NagPack[];
  /** Every stack of the stage, in creation order. */
  public readonly stacks: PlatformStack[] = [];

  constructor(scope: Construct, id: string, props: PlatformStageProps) {
    const { config } = props;
    super(scope, id, {
      env: { account: config.env.account, region: config.env.region },
      ...props,
    });
    this.config = config;
    const stackProps = (part: string) => ({ config, part });

    this.networkStack = this.track(new NetworkStack(this, 'Network', stackProps('Network')));
    this.dataStack = this.track(new DataStack(this, 'Data', stackProps('Data')));
    this.alertsStack = this.track(new AlertsStack(this, 'Alerts', stackProps('Alerts')));

    // Experiments before the training stacks: they take its tracking URI (MLFLOW_TRACKING_URI) into their environment.
    if (config.monitoring.enabled && (config.monitoring.mlflow.enabled || config.monitoring.featureGroups.length > 0)) {
      this.experimentsStack = this.track(new ExperimentsStack(this, 'Experiments', {
        ...stackProps('Experiments'),
        dataLake: this.dataStack.dataLake,
        vpc: this.networkStack.network.vpc,
        workloadSubnets: this.networkStack.network.workloadSubnets,
        endpointSecurityGroup: this.networkStack.network.endpointSecurityGroup,
      }));
    }
    const trainingEnvironment = this.experimentsStack?.trackingEnvironment;

    // Component stacks: each exists only when its config switch is on.
    if (config.sagemaker.enabled) {
      this.sageMakerStack = this.track(new SageMakerStack(this, 'SageMaker', {
        ...stackProps('SageMaker'),
        vpc: this.networkStack.network.vpc,
        workloadSubnets: this.networkStack.network.workloadSubnets,
        dataLake: this.dataStack.dataLake,
        registry: this.dataStack.registry,
        alertsTopic: this.alertsStack.alerts.topic,
        stageConfig: props.stageConfig,
      }));
    }

    if (config.compute.enabled || config.eks.enabled) {
      this.trainingStack = this.track(new TrainingStack(this, 'Training', {
        ...stackProps('Training'),
        vpc: this.networkStack.network.vpc,
        workloadSubnets: this.networkStack.network.workloadSubnets,
        dataLake: this.dataStack.dataLake,
        registry: this.dataStack.registry,
        alertsTopic: this.alertsStack.alerts.topic,
        trainingEnvironment,
      }));
    }

    if (config.lambdaInference.enabled) {
      this.inferenceStack = this.track(new LambdaInferenceStack(this, 'Inference', {
        ...stackProps('Inference'),
        dataLake: this.dataStack.dataLake,
        alertsTopic: this.alertsStack.alerts.topic,
        stageConfig: props.stageConfig,
      }));
    }

    // Delivery: the model pipeline and the GitHub deploy role.
    if (config.pipelines.enabled || config.pipelines.github) {
      this.deliveryStack = this.track(new DeliveryStack(this, 'Delivery', {
        ...stackProps('Delivery'),
        vpc: this.networkStack.network.vpc,
        workloadSubnets: this.networkStack.network.workloadSubnets,
        dataLake: this.dataStack.dataLake,
        registry: this.dataStack.registry,
        alertsTopic: this.alertsStack.alerts.topic,
        modelRegistries: this.sageMakerStack?.registries,
        sagemakerEndpoints: this.sageMakerStack?.endpoints,
        targetConfigs: props.stageConfig ?? ((stage) => loadStageConfig({ stage })),
        eksTraining: this.trainingStack?.eksTraining,
        trainingEnvironment,
      }));
    }

    // The pipeline's stage: drift jobs of stages in other accounts that route here read the baselines training wrote.
    if (this.deliveryStack?.retrainingTrigger && config.env.account) {
      const other = props.stageConfig ?? ((stage: string) => loadStageConfig({ stage }));
      const readers = STAGE_NAMES.filter((s) => s !== config.stage).map(other)
        .filter((c) => c.monitoring.enabled && c.monitoring.drift.enabled && c.env.account && c.env.account !== config.env.account && c.monitoring.drift.pipelineAccount === config.env.account)
        .map((c) => `arn:${Aws.PARTITION}:iam::${c.env.account}:role/${driftJobRoleName(c.prefix, c.stage)}`);
      if (readers.length > 0) DriftDetection.allowBaselineReaders(this.dataStack.dataLake.artifactsBucket, readers);
    }

    // Training principals log to MLflow and read the feature groups' offline stores.
    const training = this.trainingStack;
    for (const principal of [
      ...Object.values(training?.gpuInstances ?? {}),
      ...(training?.eksTraining?.rayServiceAccount ? [training.eksTraining.rayServiceAccount] : []),
      ...(this.deliveryStack?.modelPipeline ? [this.deliveryStack.modelPipeline.training.trainingRole] : []),
    ]) this.experimentsStack?.grantTraining(principal);

    // Observe: created after the component stacks so it can take their resources.
    if (config.monitoring.enabled) {
      const eks = this.trainingStack?.eksTraining;
      const delivery = this.deliveryStack?.modelPipeline;
      if (eks) new EksObservability(this.trainingStack!, 'EksObservability', { config, trainingCluster: eks.trainingCluster, rayServiceAccount: eks.rayServiceAccount });
      this.monitoringStack = this.track(new MonitoringStack(this, 'Monitoring', {
        ...stackProps('Monitoring'),
        alertsTopic: this.alertsStack.alerts.topic,
        sagemakerEndpoints: Object.values(this.sageMakerStack?.endpoints ?? {}),
        inferenceFunctions: this.inferenceStack ? [this.inferenceStack.inference.function] : [],
        gpuInstances: Object.values(this.trainingStack?.gpuInstances ?? {}),
        eksClusters: eks ? [{ clusterName: eks.trainingCluster.cluster.clusterName, rayNamespace: config.eks.ray.namespace }] : [],
        pipelines: delivery ? [{
          pipeline: delivery.pipeline,
          name: 'ModelPipeline',
          scheduleGroupName: delivery.schedule ? (delivery.schedule.scheduleGroup?.scheduleGroupName ?? 'default') : undefined,
          triggerRules: this.deliveryStack?.retrainingTrigger ? [this.deliveryStack.retrainingTrigger.rule] : [],
          // The delivery pipeline sends each failed stage to the alerts topic itself: one notification per failure.
          notifyOnFailure: false,
        }] : [],
        // Model Monitor (where configured) also requests retraining; forwarded like the drift job's events.
        driftSources: Object.entries(this.sageMakerStack?.monitors ?? {}).map(([name, m]) => ({ name, violationEventPattern: m.violationEventPattern })),
        retrainRequest: DRIFT_EVENT,
        // Every serving path with captured traffic, by reference; the model name is the endpoint's (staging and prod share it).
        driftTargets: [
          ...Object.entries(this.sageMakerStack?.endpoints ?? {}).filter(([, ep]) => ep.dataCapture).map(([name, ep]) => DriftTargets.fromSageMakerEndpoint(name, ep)),
          ...(this.inferenceStack?.inference.capture ? [DriftTargets.fromLambdaInference('inference', this.inferenceStack.inference)] : []),
          ...Object.entries(eks?.rayServices ?? {}).filter(([, svc]) => svc.capture).map(([name, svc]) => DriftTargets.fromRayService(name, svc)),
        ],
        reportBucket: this.dataStack.dataLake.artifactsBucket,
      }));
    }

    Tags.of(this).add('Project', config.prefix);
    Tags.of(this).add('Environment', config.stage);
    Tags.of(this).add('ManagedBy', 'cdk-mlops');
    for (const [key, value] of Object.entries(config.tags)) Tags.of(this).add(key, value);

    this.nagPacks = applyNag(this, config);
    if (config.budget?.monthlyIdleUsd !== undefined) {
      Validations.of(this).addPlugins(new IdleCostBudget({ monthlyIdleUsd: config.budget.monthlyIdleUsd, name: `stage ${config.stage}`, settingName: 'budget.monthlyIdleUsd' }));
    }
  }

  private track<T extends PlatformStack>(stack: T): T {
    this.stacks.push(stack);
    return stack;
  }
}
