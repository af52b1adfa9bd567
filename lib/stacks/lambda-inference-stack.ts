import { CfnOutput, Duration, RemovalPolicy, Size, Token } from 'aws-cdk-lib';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type Construct } from 'constructs';
import { acknowledgeResourceWildcards } from '../../constructs/core/nag';
import { InferenceFrontDoor, LambdaInference } from '../../constructs/serving/lambda-inference';
import { LambdaModelDeployment } from '../../constructs/serving/lambda-model-deployment';
import { ModelRegistry } from '../../constructs/serving/model-registry';
import { type DataLake } from '../../constructs/storage';
import { gateFunction } from '../../pipelines/step-function-parts';
import { STAGE_NAMES, type StageConfig } from '../config';
import { type LambdaDeploymentConfigName } from '../config/components/lambda-inference';
import { INFERENCE_ALIAS_NAME, inferenceDeploymentNames, inferenceDeployRoleName, inferenceFunctionName, inferenceModelPackageGroupName, inferenceSmokeTestFunctionName } from '../naming';
import { PlatformStack, type PlatformStackProps } from './platform-stack';
import { promotedModelKeys } from './sagemaker-stack';

/** The stages whose model pipelines promote to this stage's Lambda inference function (`deployTargets[].kind: lambda`). */
export function lambdaPromoters(config: StageConfig, stageConfig: (stage: string) => StageConfig): StageConfig[] {
  return STAGE_NAMES.filter((s) => s !== config.stage).map(stageConfig)
    .filter((oc) => oc.pipelines.enabled && oc.pipelines.deployTargets.some((t) => t.stage === config.stage && t.kind === 'lambda'));
}

export interface LambdaInferenceStackProps extends PlatformStackProps {
  /** Holds the model object when `lambdaInference.modelS3Key` is set (its artifacts bucket). */
  readonly dataLake: DataLake;
  /** Where the function's alarms notify. @default - no notifications */
  readonly alertsTopic?: sns.ITopic;
  /** Every stage's config: model pipelines of other stages that promote to this function get its registry and deployment. @default - none */
  readonly stageConfig?: (stage: string) => StageConfig;
}

const DEPLOYMENT_CONFIGS: Record<LambdaDeploymentConfigName, codedeploy.ILambdaDeploymentConfig> = {
  AllAtOnce: codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
  Canary10Percent5Minutes: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  Canary10Percent10Minutes: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_10MINUTES,
  Canary10Percent15Minutes: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_15MINUTES,
  Canary10Percent30Minutes: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_30MINUTES,
  Linear10PercentEvery1Minute: codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
  Linear10PercentEvery2Minutes: codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_2MINUTES,
  Linear10PercentEvery3Minutes: codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_3MINUTES,
  Linear10PercentEvery10Minutes: codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_10MINUTES,
};

const FRONT_DOORS = { httpApi: InferenceFrontDoor.HTTP_API, functionUrl: InferenceFrontDoor.FUNCTION_URL, none: InferenceFrontDoor.NONE } as const;

/**
 * Lambda container inference for the stage: the model server image (the reference model unless
 * `lambdaInference.modelS3Key` names an artifact), alias + CodeDeploy rollout, and its front door.
 */
export class LambdaInferenceStack extends PlatformStack {
  public readonly inference: LambdaInference;
  /** The group model pipelines promote into and its deployment to the function, when a pipeline targets it. */
  public readonly registry?: ModelRegistry;
  public readonly deployment?: LambdaModelDeployment;
  /** The smoke test model pipelines of other accounts invoke (they cannot reach the function). */
  public readonly smokeTest?: lambda.Function;

  constructor(scope: Construct, id: string, props: LambdaInferenceStackProps) {
    super(scope, id, props);
    const { lambdaInference: c, data, prefix, stage } = props.config;
    const { frontDoor } = c;
    const promoters = props.stageConfig ? lambdaPromoters(props.config, props.stageConfig) : [];
    // Promoted to: the handler, other accounts and the pipeline's smoke test name the function and its deployment group.
    const fixed = promoters.length > 0;
    const deploymentNames = inferenceDeploymentNames(prefix, stage);
    const removalPolicy = data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.inference = new LambdaInference(this, 'Inference', {
      ...(fixed ? {
        functionName: inferenceFunctionName(prefix, stage),
        aliasName: INFERENCE_ALIAS_NAME,
        deploymentApplicationName: deploymentNames.application,
        deploymentGroupName: deploymentNames.deploymentGroup,
      } : {}),
      architecture: c.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      memorySize: c.memoryMiB,
      timeout: Duration.seconds(c.timeoutSeconds),
      ephemeralStorageSize: Size.mebibytes(c.ephemeralStorageMiB),
      reservedConcurrentExecutions: c.reservedConcurrency > 0 ? c.reservedConcurrency : undefined,
      provisionedConcurrentExecutions: c.provisionedConcurrency > 0 ? c.provisionedConcurrency : undefined,
      maxBatchSize: c.maxBatchSize,
      model: c.modelS3Key ? { bucket: props.dataLake.artifactsBucket, key: c.modelS3Key } : undefined,
      canaryDeployments: c.canary.enabled,
      deploymentConfig: DEPLOYMENT_CONFIGS[c.canary.deploymentConfig],
      latencyAlarmThreshold: Duration.millis(c.canary.latencyAlarmMs),
      // With monitoring on, the Monitoring stack's "serving degraded" composite notifies about this function; its own
      // (canary) alarms notifying too would page twice for one incident.
      alarmTopic: props.config.monitoring.enabled ? undefined : props.alertsTopic,
      frontDoor: FRONT_DOORS[frontDoor.kind],
      authorization: frontDoor.auth === 'jwt' ? { type: 'jwt', issuer: frontDoor.jwtIssuer!, audience: frontDoor.jwtAudience! } : { type: 'iam' },
      throttleRateLimit: frontDoor.throttleRateLimit,
      throttleBurstLimit: frontDoor.throttleBurstLimit,
      // Sampled traffic to the lake for drift detection (same bucket as SageMaker's data capture).
      capture: c.captureSamplingPercent > 0 ? { bucket: props.dataLake.artifactsBucket, samplingPercentage: c.captureSamplingPercent, modelPackageArn: c.modelPackageArn } : undefined,
      logRetention: c.logRetentionDays,
      removalPolicy,
    });

    const wired = fixed ? this.wirePromotions(props, promoters, removalPolicy) : undefined;
    this.registry = wired?.registry;
    this.deployment = wired?.deployment;
    this.smokeTest = wired?.smokeTest;

    // How users and the operations CLI find the endpoint (`curl --aws-sigv4 ... $InferenceUrl/predict`).
    new CfnOutput(this, 'InferenceFunctionName', { value: this.inference.function.functionName });
    new CfnOutput(this, 'InferenceAliasName', { value: this.inference.alias.aliasName });
    new CfnOutput(this, 'InferenceUrl', {
      value: this.inference.url ?? 'none (frontDoor.kind is "none": invoke the alias with lambda:InvokeFunction)',
    });
  }

  /**
   * Model pipelines of other stages promote to this function: the group they copy approved versions into, its
   * deployment (copy the model, publish a version, CodeDeploy shift), and for pipelines of other accounts the smoke
   * test they invoke here.
   */
  private wirePromotions(props: LambdaInferenceStackProps, promoters: StageConfig[], removalPolicy: RemovalPolicy): { registry: ModelRegistry; deployment: LambdaModelDeployment; smokeTest?: lambda.Function } {
    const { prefix, stage } = props.config;
    const own = props.config.env.account;
    const crossAccount = [...new Set(promoters.map((p) => p.env.account).filter((a): a is string => !!a && !!own && a !== own))];
    const groupName = inferenceModelPackageGroupName(prefix, stage);
    const logRetention = stage === 'prod' ? logs.RetentionDays.ONE_YEAR : logs.RetentionDays.THREE_MONTHS;
    const registry = new ModelRegistry(this, 'Registry', {
      modelPackageGroupName: groupName,
      description: `Model versions served by the ${prefix} ${stage} Lambda inference function`,
      promoterAccountIds: crossAccount.length > 0 ? crossAccount : undefined,
      removalPolicy: RemovalPolicy.RETAIN, // a group that holds versions cannot be deleted by CloudFormation
    });
    const deployment = new LambdaModelDeployment(this, 'ModelDeployment', {
      inference: this.inference,
      modelPackageGroup: registry,
      modelBucket: props.dataLake.artifactsBucket,
      // The promoted packages name the pipeline's training archives: in this account, or in the promoting accounts.
      sourceAccounts: [this.account, ...crossAccount],
      // Where each promoting pipeline's training backend writes its archives (SageMaker jobs or Ray runs).
      sourceModelKeys: [...new Set(promoters.map(promotedModelKeys))],
      // A known name: a model pipeline in another account lets exactly this role read the archives it promotes here.
      roleName: inferenceDeployRoleName(prefix, stage),
      alarmTopic: props.alertsTopic,
      logRetention,
      removalPolicy,
    });
    new CfnOutput(this, 'InferenceModelPackageGroupName', { value: groupName, description: 'Model package group whose approved versions the Lambda inference function serves' });
    new CfnOutput(this, 'InferenceDeploymentApplication', { value: this.inference.physicalNames.deploymentApplicationName! });
    new CfnOutput(this, 'InferenceDeploymentGroup', { value: this.inference.physicalNames.deploymentGroupName! });
    if (crossAccount.length === 0) return { registry, deployment };

    const fn = gateFunction(this, 'SmokeTest', 'smoke-test', `Smoke test of the Lambda inference function for model pipelines of ${crossAccount.join(', ')}`, {
      encryptionKey: this.inference.encryptionKey, logRetention, removalPolicy, timeout: Duration.minutes(1),
    });
    (fn.node.defaultChild as lambda.CfnFunction).functionName = inferenceSmokeTestFunctionName(prefix, stage);
    grantLambdaSmokeTest(fn, this.inference, groupName);
    for (const account of crossAccount) {
      if (!Token.isUnresolved(account)) fn.addPermission(`InvokeFrom${account}`, { principal: new iam.AccountPrincipal(account), action: 'lambda:InvokeFunction' });
    }
    return { registry, deployment, smokeTest: fn };
  }
}

/**
 * What a smoke test of a Lambda target reads and calls: the alias and the configuration of the version it serves (which
 * package), the package (which source it was promoted from), and the alias itself.
 */
export function grantLambdaSmokeTest(fn: lambda.Function, inference: LambdaInference, groupName: string): void {
  const stack = inference.function.stack;
  const fnArn = `arn:${stack.partition}:lambda:${stack.region}:${stack.account}:function:${inference.physicalNames.functionName}`;
  const packages = `arn:${stack.partition}:sagemaker:${stack.region}:${stack.account}:model-package/${groupName.toLowerCase()}/*`;
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:GetAlias', 'lambda:InvokeFunction'], resources: [`${fnArn}:${inference.aliasName}`] }));
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:GetFunctionConfiguration'], resources: [`${fnArn}:*`] }));
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [packages] }));
  // Whether the shift to the promoted package was rolled back: the function's versions and the group's deployments.
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:ListVersionsByFunction'], resources: [fnArn] }));
  const names = inference.physicalNames;
  fn.addToRolePolicy(new iam.PolicyStatement({
    actions: ['codedeploy:ListDeployments', 'codedeploy:GetDeployment'],
    resources: [`arn:${stack.partition}:codedeploy:${stack.region}:${stack.account}:deploymentgroup:${names.deploymentApplicationName}/${names.deploymentGroupName}`],
  }));
  acknowledgeResourceWildcards(fn.role!, [`${fnArn}:*`, packages], 'Function and package versions are numbered at run time; read-only, on one function and one group.');
}
