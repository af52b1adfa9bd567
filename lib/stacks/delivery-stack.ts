import { Aws, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type Construct } from 'constructs';
import { platformKey } from '../../constructs/core/defaults';
import { type ImageRegistry } from '../../constructs/registry';
import { type DataLake } from '../../constructs/storage';
import { GITHUB_OIDC_ISSUER, GitHubDeployRole } from '../../pipelines/github-deploy-role';
import { RetrainingTrigger } from '../../constructs/monitoring/retraining-trigger';
import { type DeliveryTarget, ModelDeliveryPipeline, RETRAIN_REASON_VARIABLE } from '../../pipelines/model-delivery-pipeline';
import { acknowledgeResourceWildcards } from '../../constructs/core/nag';
import { type CheckStatement, pipelineArn, pipelineStatements, smokeStatements, statusStatements } from '../cli/permissions';
import { type ModelRegistry } from '../../constructs/serving/model-registry';
import { type SageMakerEndpoint } from '../../constructs/serving/sagemaker-endpoint';
import { type ModelArchives, RayTrainingStep } from '../../pipelines/ray-training-step';
import { ConfigError, STAGE_NAMES, type StageConfig } from '../config';
import { DRIFT_EVENT, retrainingBusName } from '../config/components/pipelines';
import {
  endpointName, endpointRoleName, INFERENCE_ALIAS_NAME, inferenceDeploymentNames, inferenceDeployRoleName, inferenceFunctionName, inferenceModelPackageGroupName, inferenceSmokeTestFunctionName,
  infrastructurePipelineName, modelImageRepository, modelPackageGroupName, smokeTestFunctionName,
} from '../naming';
import { type EksTraining } from './eks-training';
import { PlatformStack, type PlatformStackProps } from './platform-stack';
import { promotedModelKeys } from './sagemaker-stack';

export interface DeliveryStackProps extends PlatformStackProps {
  readonly vpc: ec2.IVpc;
  readonly workloadSubnets: ec2.SubnetSelection;
  readonly dataLake: DataLake;
  readonly registry: ImageRegistry;
  readonly alertsTopic: sns.ITopic;
  /** The stage's EKS training (Training stack), for `pipelines.training.backend: ray`. @default - none */
  readonly eksTraining?: EksTraining;
  /** Environment of the training jobs, e.g. `MLFLOW_TRACKING_URI` of the Experiments stack. @default - none */
  readonly trainingEnvironment?: Readonly<Record<string, string>>;
  /** This stage's model registries by config group name (its SageMaker stack); the pipeline registers into one. @default - none */
  readonly modelRegistries?: Readonly<Record<string, ModelRegistry>>;
  /** This stage's SageMaker endpoints by config name (its SageMaker stack): `cdk-mlops smoke` asks the asynchronous ones through S3. @default - none */
  readonly sagemakerEndpoints?: Readonly<Record<string, SageMakerEndpoint>>;
  /** Config of each stage in `pipelines.deployTargets`: promotion names are derived from it and checked against it. */
  readonly targetConfigs: (stage: string) => StageConfig;
}

/**
 * The group and endpoint (or Lambda function) a target stage deploys, by the naming functions its SageMaker (or
 * Inference) stack uses; every problem names its key. Roles of other accounts that read the promoted model: endpoint
 * roles (model archive and image), Lambda deployment handlers (model archive, which they copy).
 */
export function resolveDeliveryTargets(config: StageConfig, targetConfigs: (stage: string) => StageConfig): {
  targets: DeliveryTarget[]; problems: string[]; endpointRoleArns: string[]; modelCopierRoleArns: string[];
} {
  const p = config.pipelines;
  const problems: string[] = [];
  const targets: DeliveryTarget[] = [];
  const endpointRoleArns: string[] = [];
  const modelCopierRoleArns: string[] = [];
  p.deployTargets.forEach((t, i) => {
    const key = `pipelines.deployTargets.${i}`;
    const tc = targetConfigs(t.stage);
    if (t.kind === 'lambda') {
      const li = tc.lambdaInference;
      if (!li.enabled) {
        problems.push(`${key}.kind: "lambda" — stage ${t.stage} deploys no Lambda inference function (its lambdaInference.enabled is false); switch it on there or promote to an endpoint (kind "endpoint")`);
        return;
      }
      if (!li.canary.enabled) {
        problems.push(`${key}.kind: "lambda" — stage ${t.stage}'s lambdaInference.canary.enabled is false; a promotion shifts the function's alias through its CodeDeploy deployment group: switch it on there`);
        return;
      }
      const crossAccount = !!tc.env.account && !!config.env.account && tc.env.account !== config.env.account;
      // Its deployment handler copies the promoted model's archive from this account.
      if (crossAccount) modelCopierRoleArns.push(`arn:${Aws.PARTITION}:iam::${tc.env.account}:role/${inferenceDeployRoleName(tc.prefix, t.stage)}`);
      targets.push({
        name: t.stage,
        modelPackageGroupName: inferenceModelPackageGroupName(tc.prefix, t.stage),
        functionName: `${inferenceFunctionName(tc.prefix, t.stage)}:${INFERENCE_ALIAS_NAME}`,
        deployment: inferenceDeploymentNames(tc.prefix, t.stage),
        approval: t.approval ?? t.stage === 'prod',
        ...(crossAccount ? { account: tc.env.account, region: tc.env.region ?? config.env.region, smokeTestFunctionName: inferenceSmokeTestFunctionName(tc.prefix, t.stage) } : {}),
      });
      return;
    }
    const group = t.modelPackageGroupName ?? p.modelPackageGroupName;
    if (!tc.sagemaker.enabled) {
      problems.push(`${key}.stage: "${t.stage}" — stage ${t.stage} deploys no SageMaker stack (its sagemaker.enabled is false); switch it on there or remove the target`);
      return;
    }
    if (!tc.sagemaker.modelPackageGroups.includes(group)) {
      problems.push(`${key}.modelPackageGroupName: "${group}" — stage ${t.stage} has no such model package group; allowed: ${tc.sagemaker.modelPackageGroups.join(', ') || 'none (set sagemaker.modelPackageGroups there)'}`);
      return;
    }
    const endpoint = tc.sagemaker.endpoints.find((e) => e.modelPackageGroup === group);
    if (!endpoint) {
      problems.push(`${key}.modelPackageGroupName: "${group}" — no endpoint of stage ${t.stage} deploys this group (set sagemaker.endpoints[].modelPackageGroup there); endpoints: ${tc.sagemaker.endpoints.map((e) => e.name).join(', ') || 'none'}`);
      return;
    }
    if (t.endpointName !== undefined && t.endpointName !== endpoint.name) {
      problems.push(`${key}.endpointName: "${t.endpointName}" — group ${group} of stage ${t.stage} deploys to endpoint "${endpoint.name}"; leave endpointName out or give that one`);
      return;
    }
    // Another account: its group is addressed by ARN (the target stage shares it with this account).
    const crossAccount = !!tc.env.account && !!config.env.account && tc.env.account !== config.env.account;
    // Its endpoint's role reads the promoted model's artifact and image from this account (in one account, the target's
    // identity policy alone lets it: see SageMakerStack).
    if (crossAccount) endpointRoleArns.push(`arn:${Aws.PARTITION}:iam::${tc.env.account}:role/${endpointRoleName(tc.prefix, t.stage, endpoint.name)}`);
    targets.push({
      name: t.stage,
      modelPackageGroupName: modelPackageGroupName(tc.prefix, t.stage, group),
      endpointName: endpointName(tc.prefix, t.stage, endpoint.name),
      approval: t.approval ?? t.stage === 'prod',
      ...(crossAccount ? { account: tc.env.account, region: tc.env.region ?? config.env.region } : {}),
      // The target stage tests an endpoint this pipeline cannot reach (another account) or asks through its own bucket (async).
      ...(crossAccount || endpoint.mode === 'async' ? { smokeTestFunctionName: smokeTestFunctionName(tc.prefix, t.stage, endpoint.name) } : {}),
    });
  });
  return { targets, problems, endpointRoleArns, modelCopierRoleArns };
}

/**
 * Lets the endpoint roles of other accounts (by ARN, each with a literal account) read the model archives the
 * pipeline's training backend writes (`archives`: `ModelDeliveryPipeline.modelArchives`) and pull the model image:
 * bucket, key and repository statements per account, each admitting only those roles (`aws:PrincipalArn`: S3 and KMS
 * reject policies naming roles that do not exist yet), read-only, and decryption only through S3. `artifactOnlyRoleArns`
 * (the Lambda deployment handlers of other accounts, which copy the model) read the archives but pull no image.
 */
export function allowPromotedModelReaders(archives: ModelArchives, repository: ecr.IRepository, roleArns: readonly string[], artifactOnlyRoleArns: readonly string[] = []): void {
  const byAccount = new Map<string, string[]>();
  const pullers = new Set(roleArns);
  for (const arn of [...roleArns, ...artifactOnlyRoleArns]) {
    const account = /^arn:[^:]+:iam::(\d{12}):role\/.+$/.exec(arn)?.[1];
    if (!account) throw new Error(`allowPromotedModelReaders: ${arn} must be an IAM role ARN with a literal account`);
    byAccount.set(account, [...(byAccount.get(account) ?? []), arn]);
  }
  const bucket = archives.bucket;
  const region = Stack.of(bucket).region;
  for (const [account, arns] of byAccount) {
    const principal = new iam.AccountPrincipal(account);
    const onlyThese = { ArnEquals: { 'aws:PrincipalArn': arns } };
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: `PromotedModelRead${account}`, principals: [principal], actions: ['s3:GetObject'], resources: [bucket.arnForObjects(archives.keyPattern)], conditions: onlyThese,
    }));
    bucket.encryptionKey?.addToResourcePolicy(new iam.PolicyStatement({
      sid: `PromotedModelDecrypt${account}`, principals: [principal], actions: ['kms:Decrypt'], resources: ['*'],
      conditions: { ...onlyThese, StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
    }));
    // Endpoint roles run the image; Lambda deployment handlers only copy the model.
    const pulling = arns.filter((a) => pullers.has(a));
    if (pulling.length === 0) continue;
    repository.addToResourcePolicy(new iam.PolicyStatement({
      sid: `PromotedModelPull${account}`, principals: [principal],
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], conditions: { ArnEquals: { 'aws:PrincipalArn': pulling } },
    }));
  }
}

/**
 * Whether the infrastructure pipeline (configured by the first stage's `pipelines.infrastructure`, in its tooling account
 * and region, else the first stage's) runs in this stage's account and region. Environment-agnostic stages and an
 * environment-agnostic pipeline share the deploying account.
 */
export function infrastructurePipelineRunsIn(config: StageConfig, first: StageConfig): boolean {
  const infra = first.pipelines.infrastructure;
  return infra.enabled && (infra.account ?? first.env.account) === config.env.account && (infra.region ?? first.env.region) === config.env.region;
}

/**
 * The stage's delivery: the model delivery pipeline with continuous training (`pipelines.enabled`), and the GitHub
 * Actions OIDC deploy role (`pipelines.github`).
 */
export class DeliveryStack extends PlatformStack {
  public readonly modelPipeline?: ModelDeliveryPipeline;
  public readonly githubDeployRole?: GitHubDeployRole;
  /** The Ray training backend of the model pipeline (`pipelines.training.backend: ray`). */
  public readonly rayTraining?: RayTrainingStep;
  /** Drift → one retraining run per model per cooldown; exists with `pipelines.retrainOnDrift`. */
  public readonly retrainingTrigger?: RetrainingTrigger;

  constructor(scope: Construct, id: string, props: DeliveryStackProps) {
    super(scope, id, props);
    const { prefix, stage, pipelines: p, data } = props.config;
    const removalPolicy = data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = stage === 'prod' ? logs.RetentionDays.TWO_YEARS : logs.RetentionDays.ONE_YEAR;

    if (p.enabled) {
      const repositories = Object.keys(props.registry.repositories);
      // One image serves training and inference; the `training` repository when the registry has one.
      const imageRepository = props.registry.repositories[modelImageRepository(repositories)];
      const problems: string[] = [];
      const registry = props.modelRegistries?.[p.modelPackageGroupName];
      if (!registry) {
        problems.push(`pipelines.modelPackageGroupName: "${p.modelPackageGroupName}" — the pipeline registers into this stage's model registry: ${props.config.sagemaker.enabled
          ? `allowed: ${Object.keys(props.modelRegistries ?? {}).join(', ') || 'none (set sagemaker.modelPackageGroups)'}`
          : 'sagemaker.enabled is false in this stage; switch it on'}`);
      }
      const resolved = resolveDeliveryTargets(props.config, props.targetConfigs);
      problems.push(...resolved.problems);
      if (problems.length > 0) {
        throw new ConfigError(`Invalid cdk-mlops configuration for stage "${stage}": the model pipeline's registry and targets\n${problems.map((l) => `  - ${l}`).join('\n')}`, problems);
      }
      const targets = resolved.targets;
      if (p.training.backend === 'ray') this.rayTraining = this.rayTrainingStep(props, removalPolicy, logRetention);
      this.modelPipeline = new ModelDeliveryPipeline(this, 'ModelPipeline', {
        trainingStep: this.rayTraining,
        source: p.source.connectionArn && p.source.repository
          ? { connectionArn: p.source.connectionArn, repository: p.source.repository, branch: p.source.branch }
          : undefined,
        imageRepository,
        trainingDataBucket: props.dataLake.processedBucket,
        artifactsBucket: props.dataLake.artifactsBucket,
        vpc: props.vpc,
        vpcSubnets: props.workloadSubnets,
        alertsTopic: props.alertsTopic,
        training: {
          instanceType: p.training.instanceType,
          instanceCount: p.training.instanceCount,
          spot: p.training.spot,
          maxRuntime: Duration.hours(p.training.maxRuntimeHours),
          volumeSizeGiB: p.training.volumeSizeGiB,
          inputPrefix: p.training.dataPrefix,
          metricName: p.evaluation.metricName,
          metricRegex: p.evaluation.metricRegex,
          threshold: p.evaluation.threshold,
          direction: p.evaluation.direction,
          environment: props.trainingEnvironment,
        },
        scanFailOnSeverity: p.scan.failOnSeverity,
        scanMaxFindings: p.scan.maxFindings,
        modelRegistry: registry!,
        targets,
        smokeTestInstances: p.smokeTestInstances,
        schedule: p.schedule ? scheduler.ScheduleExpression.expression(p.schedule) : undefined,
        trainingJobPrefix: `${prefix}-${stage}`.slice(0, 26).replace(/-+$/, ''),
        logRetention,
        removalPolicy,
      });
      // Other accounts name the archives from config (promotedModelKeys): they must be where this pipeline's backend writes.
      const archives = this.modelPipeline.modelArchives;
      if (archives.keyPattern !== promotedModelKeys(props.config)) {
        throw new Error(`The model pipeline of stage ${stage} writes model archives to ${archives.keyPattern}, but promotedModelKeys (lib/stacks/sagemaker-stack.ts) says ${promotedModelKeys(props.config)} for pipelines.training.backend "${p.training.backend}": target stages would grant the wrong keys`);
      }
      if (resolved.endpointRoleArns.length + resolved.modelCopierRoleArns.length > 0) {
        allowPromotedModelReaders(archives, imageRepository, resolved.endpointRoleArns, resolved.modelCopierRoleArns);
      }
      // This stage's endpoint that deploys the pipeline's group serves the registered versions themselves: it reads the archives by reference.
      const own = props.config.sagemaker.endpoints.find((e) => e.modelPackageGroup === p.modelPackageGroupName);
      const ownEndpoint = own ? props.sagemakerEndpoints?.[own.name] : undefined;
      if (ownEndpoint) this.modelPipeline.grantReadModelArchives(ownEndpoint.role);
      new CfnOutput(this, 'ModelPipelineName', { value: this.modelPipeline.pipeline.pipelineName });
      if (p.retrainOnDrift) {
        // Drift from every stage (this account and p.retrainFromAccounts) arrives on the retraining bus.
        this.retrainingTrigger = new RetrainingTrigger(this, 'RetrainOnDrift', {
          pipeline: this.modelPipeline.pipeline,
          eventBusName: retrainingBusName(prefix),
          sourceAccounts: p.retrainFromAccounts,
          requestSource: DRIFT_EVENT.source,
          requestDetailType: DRIFT_EVENT.detailType,
          cooldown: Duration.hours(p.retrainCooldownHours),
          reasonVariable: RETRAIN_REASON_VARIABLE,
          logRetention,
          removalPolicy,
        });
        new CfnOutput(this, 'RetrainingBusArn', { value: this.retrainingTrigger.eventBus.eventBusArn });
      }
      if (this.modelPipeline.sourceBucket) new CfnOutput(this, 'ModelSourceBucketName', { value: this.modelPipeline.sourceBucket.bucketName });
    }

    if (p.github) {
      const stack = Stack.of(this);
      const scope = { partition: stack.partition, account: stack.account, region: stack.region, prefix, stage };
      const toPolicy = (list: CheckStatement[]) => list.map((c) => new iam.PolicyStatement({
        sid: c.sid, actions: [...c.actions], resources: [...c.resources], ...(c.conditions ? { conditions: c.conditions as Record<string, unknown> } : {}),
      }));
      // status also reads the stage's pipelines, each on its exact ARN: this stack's model pipeline, and the
      // infrastructure pipeline where it runs in this stage's account and region (its name is fixed by lib/naming.ts).
      const pipelineArns = [
        ...(this.modelPipeline ? [this.modelPipeline.pipeline.pipelineArn] : []),
        ...(infrastructurePipelineRunsIn(props.config, props.targetConfigs(STAGE_NAMES[0])) ? [pipelineArn(scope, infrastructurePipelineName(prefix))] : []),
      ];
      const status = [...statusStatements(scope), ...pipelineStatements(pipelineArns)];
      const asyncEndpoints = Object.values(props.sagemakerEndpoints ?? {}).flatMap((e) => (e.asyncInference ? [{
        endpointName: e.endpointName, bucketArn: e.asyncInference.bucket.bucketArn, prefix: e.asyncInference.prefix, keyArn: e.asyncInference.encryptionKey.keyArn,
      }] : []));
      const checks = [...status, ...smokeStatements(scope, asyncEndpoints)];
      // One provider per account: imported by its fixed ARN unless this stage is the one that creates it.
      const providerArn = p.github.existingProviderArn ?? `arn:${stack.partition}:iam::${stack.account}:oidc-provider/${GITHUB_OIDC_ISSUER}`;
      this.githubDeployRole = new GitHubDeployRole(this, 'GitHubDeploy', {
        repository: p.github.repository,
        environment: p.github.environment ?? stage,
        branch: p.github.branch,
        provider: p.github.createProvider ? undefined : iam.OidcProviderNative.fromOidcProviderArn(this, 'GitHubOidcProvider', providerArn),
        checkStatements: toPolicy(checks),
        diffBranch: p.github.diffBranch,
        diffStatements: toPolicy(status),
      });
      const wildcards = (list: CheckStatement[]) => list.flatMap((c) => c.resources).filter((r) => r.includes('*') && r !== '*');
      const reason = 'Post-deploy checks (cdk-mlops status/smoke) read and invoke every resource of this stage, all named <prefix>-<stage>-*; the names are generated per deploy (stacks, function versions, node groups), so the ARNs end in a wildcard within the stage.';
      acknowledgeResourceWildcards(this.githubDeployRole.role, wildcards(checks), reason);
      if (this.githubDeployRole.diffRole) acknowledgeResourceWildcards(this.githubDeployRole.diffRole, wildcards(status), reason);
      acknowledgeResourceWildcards(this.githubDeployRole.role, ['*'], 'sagemaker:ListModelPackages has no resource-level permissions (a list action).');
      if (this.githubDeployRole.diffRole) acknowledgeResourceWildcards(this.githubDeployRole.diffRole, ['*'], 'sagemaker:ListModelPackages has no resource-level permissions (a list action).');
      new CfnOutput(this, 'GitHubDeployRoleArn', { value: this.githubDeployRole.role.roleArn });
      if (this.githubDeployRole.diffRole) new CfnOutput(this, 'GitHubDiffRoleArn', { value: this.githubDeployRole.diffRole.roleArn });
    }
  }

  /** Each run is a RayJob on its own Ray cluster: the default cluster's head and worker shapes, limits from `pipelines.training.ray`. */
  private rayTrainingStep(props: DeliveryStackProps, removalPolicy: RemovalPolicy, logRetention: logs.RetentionDays): RayTrainingStep {
    const { config } = props;
    const eks = props.eksTraining;
    const gateway = eks?.rayJobGateway;
    const defaults = eks?.rayWorkerGroups;
    if (!eks || !gateway || !defaults) throw new Error('pipelines.training.backend "ray" needs the stage\'s EKS training with Ray (eks.enabled, eks.ray.enabled)');
    const limits = config.pipelines.training.ray;
    const ray = config.eks.ray;
    return new RayTrainingStep(this, 'RayTraining', {
      gateway,
      trainingDataBucket: props.dataLake.processedBucket,
      trainingDataPrefix: config.pipelines.training.dataPrefix,
      entrypoint: limits.entrypoint,
      head: { cpu: ray.head.cpu, memory: ray.head.memory, nodeSelector: eks.trainingCluster.systemNodeSelector },
      workerGroups: defaults.map((g) => ({ ...g, maxReplicas: g.gpus ? limits.maxGpuWorkers : limits.maxCpuWorkers })).filter((g) => g.maxReplicas > 0),
      serviceAccountName: eks.rayServiceAccount!.serviceAccountName,
      environment: props.trainingEnvironment,
      maxRuntime: Duration.hours(config.pipelines.training.maxRuntimeHours),
      metricName: config.pipelines.evaluation.metricName,
      threshold: config.pipelines.evaluation.threshold,
      direction: config.pipelines.evaluation.direction,
      encryptionKey: platformKey(this, 'RayTrainingKey', {
        description: 'Ray training state machines and their logs', removalPolicy, servicePrincipals: [`logs.${this.region}.amazonaws.com`],
      }),
      logRetention,
      removalPolicy,
    });
  }
}
