import { CfnOutput, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type Construct } from 'constructs';
import { logsServicePrincipal, platformKey } from '../../constructs/core/defaults';
import { type ImageRegistry } from '../../constructs/registry';
import { DataQualityMonitor } from '../../constructs/serving/data-quality-monitor';
import { ModelImage } from '../../constructs/serving/model-image';
import { ModelRegistry, TRAINING_OUTPUT_PREFIX } from '../../constructs/serving/model-registry';
import { SageMakerEndpoint } from '../../constructs/serving/sagemaker-endpoint';
import { type DataLake } from '../../constructs/storage';
import { acknowledgeResourceWildcards } from '../../constructs/core/nag';
import { RAY_JOB_OUTPUT_PREFIX } from '../../constructs/eks/ray/ray-job-gateway';
import { rayModelArchiveKey } from '../../pipelines/ray-training-step';
import { gateFunction } from '../../pipelines/step-function-parts';
import { trainingJobModelKey } from '../../pipelines/training-workflow';
import { STAGE_NAMES, type StageConfig } from '../config';
import { type SageMakerEndpointConfig } from '../config/components/sagemaker';
import { endpointName, endpointRoleName, imageRepositoryName, modelImageRepository, modelPackageGroupName, smokeTestFunctionName } from '../naming';
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
  /**
   * Config of the other stages: a stage whose model pipeline promotes to this one from another account may copy
   * versions into the group it targets and invoke this stage's smoke test of the endpoint that group deploys to.
   * @default - no other stage promotes here across accounts
   */
  readonly stageConfig?: (stage: string) => StageConfig;
}

/**
 * The groups of this stage other stages' model pipelines promote into (by config group name), with the accounts of
 * those pipelines that are not this stage's.
 */
export function promoterAccounts(config: StageConfig, stageConfig: (stage: string) => StageConfig): Record<string, string[]> {
  const own = config.env.account;
  const out: Record<string, string[]> = {};
  for (const other of STAGE_NAMES.filter((s) => s !== config.stage)) {
    const oc = stageConfig(other);
    if (!oc.pipelines.enabled) continue;
    const account = oc.env.account;
    const crossAccount = !!account && !!own && account !== own;
    for (const t of oc.pipelines.deployTargets.filter((x) => x.stage === config.stage)) {
      const group = t.modelPackageGroupName ?? oc.pipelines.modelPackageGroupName;
      out[group] = [...new Set([...(out[group] ?? []), ...(crossAccount ? [account] : [])])];
    }
  }
  return out;
}

/**
 * Keys of the model archives the model pipeline of the stage `config` registers, in that stage's artifacts bucket: those
 * of its training backend (`pipelines.training.backend`: SageMaker training jobs, or RayJobs through the Ray job
 * gateway). Another account names them from config alone; the pipeline's stage checks its pipeline's
 * `ModelDeliveryPipeline.modelArchives` is this.
 */
export function promotedModelKeys(config: StageConfig): string {
  return config.pipelines.training.backend === 'ray' ? rayModelArchiveKey(RAY_JOB_OUTPUT_PREFIX, '*') : trainingJobModelKey(TRAINING_OUTPUT_PREFIX, '*');
}

/**
 * The other stages whose model pipelines promote into each group of this stage (by config group name), in other
 * accounts or in this one: each keeps the promoted versions' model archives and images in its own bucket and repository.
 */
export function promotingStages(config: StageConfig, stageConfig: (stage: string) => StageConfig): Record<string, StageConfig[]> {
  const out: Record<string, StageConfig[]> = {};
  for (const other of STAGE_NAMES.filter((s) => s !== config.stage)) {
    const oc = stageConfig(other);
    if (!oc.pipelines.enabled) continue;
    for (const t of oc.pipelines.deployTargets.filter((x) => x.stage === config.stage)) {
      const group = t.modelPackageGroupName ?? oc.pipelines.modelPackageGroupName;
      out[group] = [...(out[group] ?? []), oc];
    }
  }
  return out;
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
  /** Smoke tests other accounts' model pipelines invoke, by endpoint config name. */
  public readonly smokeTests: Readonly<Record<string, lambda.Function>>;
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
        return ModelImage.fromReferenceServer();
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
        // A known name: a model pipeline in another account lets exactly this role read the models it promotes here.
        roleName: endpointRoleName(prefix, stage, e.name),
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
    const promoters = props.stageConfig ? promoterAccounts(props.config, props.stageConfig) : {};
    const smokeTests: Record<string, lambda.Function> = {};
    for (const group of c.modelPackageGroups) {
      const target = c.endpoints.find((e) => e.modelPackageGroup === group);
      const groupName = modelPackageGroupName(prefix, stage, group);
      registries[group] = new ModelRegistry(this, `Registry-${group}`, {
        modelPackageGroupName: groupName,
        description: `${group} model versions of ${prefix} ${stage}`,
        crossAccountIds: c.crossAccountIds,
        promoterAccountIds: promoters[group]?.length ? promoters[group] : undefined,
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

    // A promoted version names the promoting stage's model archive and image (its own bucket and repository, in another
    // account or in this one): the endpoint's role may read them. Across accounts the source account's bucket, key and
    // repository policies name this role too (lib/naming.ts); in one account this identity policy is enough.
    const sources = props.stageConfig ? promotingStages(props.config, props.stageConfig) : {};
    const accountOf = (sc: StageConfig) => (sc.env.account && props.config.env.account && sc.env.account !== props.config.env.account ? sc.env.account : this.account);
    const regionOf = (sc: StageConfig) => sc.env.region ?? this.region;
    for (const [group, from] of Object.entries(sources)) {
      const target = c.endpoints.find((e) => e.modelPackageGroup === group);
      if (!target) continue;
      const role = endpoints[target.name].role;
      // Each promoting stage's archives, where its pipeline's training backend writes them.
      const accountsByKeys = new Map<string, string[]>();
      for (const sc of from) accountsByKeys.set(promotedModelKeys(sc), [...new Set([...(accountsByKeys.get(promotedModelKeys(sc)) ?? []), accountOf(sc)])]);
      const artifacts: string[] = [];
      [...accountsByKeys].forEach(([keys, accounts], i) => {
        const arn = `arn:${this.partition}:s3:::*/${keys}`;
        artifacts.push(arn);
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: `ReadPromotedModelArtifacts${i === 0 ? '' : i}`, actions: ['s3:GetObject'], resources: [arn],
          conditions: { StringEquals: { 'aws:ResourceAccount': accounts } },
        }));
      });
      const keys = new Map(from.map((sc) => [`arn:${this.partition}:kms:${regionOf(sc)}:${accountOf(sc)}:key/*`, regionOf(sc)]));
      for (const [key, region] of keys) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [key], conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } } }));
      }
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'PullPromotedModelImages',
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: from.map((sc) => `arn:${this.partition}:ecr:${regionOf(sc)}:${accountOf(sc)}:repository/${imageRepositoryName(sc.prefix, sc.stage, modelImageRepository(sc.registry.repositories))}`),
      }));
      acknowledgeResourceWildcards(role, [...artifacts, ...keys.keys()],
        'The promoting stage\'s artifacts bucket and key have generated names this stage cannot know: reads are limited to the model archives its pipeline\'s training backend writes, in that stage\'s account (aws:ResourceAccount), and to decryption through S3 with keys of that account; from another account, that account\'s bucket and key policies admit only this role.');
    }

    // A pipeline in another account cannot reach this account's endpoints, and an asynchronous endpoint is asked through
    // this stage's bucket: this stage runs the smoke test of each such endpoint a pipeline promotes to, and lets those
    // accounts invoke it (the pipeline waits for its answer).
    for (const [group, accounts] of Object.entries(promoters)) {
      const target = c.endpoints.find((e) => e.modelPackageGroup === group);
      if (!target || (accounts.length === 0 && target.mode !== 'async')) continue;
      const fn = gateFunction(this, `SmokeTest-${target.name}`, 'smoke-test', `Smoke test of ${endpoints[target.name].endpointName} for model pipelines of ${accounts.join(', ')}`, {
        encryptionKey: key, logRetention: stage === 'prod' ? logs.RetentionDays.ONE_YEAR : logs.RetentionDays.THREE_MONTHS, removalPolicy, timeout: Duration.minutes(1),
      });
      (fn.node.defaultChild as lambda.CfnFunction).functionName = smokeTestFunctionName(prefix, stage, target.name);
      const endpoint = endpoints[target.name];
      const sm = (resource: string, name: string) => this.formatArn({ service: 'sagemaker', resource, resourceName: name });
      const generated = [sm('endpoint-config', `${endpoint.endpointName.toLowerCase()}*`), sm('model', `${endpoint.endpointName.toLowerCase()}*`)];
      const packages = sm('model-package', `${modelPackageGroupName(prefix, stage, group).toLowerCase()}/*`);
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint', 'sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync'], resources: [endpoint.endpointArn] }));
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel'], resources: generated }));
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [packages] }));
      acknowledgeResourceWildcards(fn.role, [...generated, packages],
        'Endpoint configs, models and package versions are created per deployment with names derived from the endpoint and group; read-only Describe actions.');
      const io = endpoint.asyncInference;
      if (io) {
        // The request goes under <prefix>input/smoke-test/; SageMaker writes the answer under <prefix>output or failures.
        const requests = io.bucket.arnForObjects(`${io.prefix}input/smoke-test/*`);
        const answers = [io.bucket.arnForObjects(`${io.prefix}output/*`), io.bucket.arnForObjects(`${io.prefix}failures/*`)];
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [requests] }));
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: answers }));
        // A missing answer is 404 (not 403) only with ListBucket on the prefix.
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [io.bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${io.prefix}*`] } } }));
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'], resources: [io.encryptionKey.keyArn] }));
        acknowledgeResourceWildcards(fn.role, [requests, ...answers],
          'Asynchronous requests and answers are objects under generated keys; access is limited to the endpoint\'s smoke-test input, output and failure prefixes.');
      }
      for (const account of accounts) {
        if (!Token.isUnresolved(account)) fn.addPermission(`InvokeFrom${account}`, { principal: new iam.AccountPrincipal(account), action: 'lambda:InvokeFunction' });
      }
      smokeTests[target.name] = fn;
    }
    this.smokeTests = smokeTests;

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
