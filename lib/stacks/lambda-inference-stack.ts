import { CfnOutput, Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type Construct } from 'constructs';
import { InferenceFrontDoor, LambdaInference } from '../../constructs/serving/lambda-inference';
import { type DataLake } from '../../constructs/storage';
import { type LambdaDeploymentConfigName } from '../config/components/lambda-inference';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

export interface LambdaInferenceStackProps extends PlatformStackProps {
  /** Holds the model object when `lambdaInference.modelS3Key` is set (its artifacts bucket). */
  readonly dataLake: DataLake;
  /** Where the function's alarms notify. @default - no notifications */
  readonly alertsTopic?: sns.ITopic;
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

  constructor(scope: Construct, id: string, props: LambdaInferenceStackProps) {
    super(scope, id, props);
    const { lambdaInference: c, data } = props.config;
    const { frontDoor } = c;

    this.inference = new LambdaInference(this, 'Inference', {
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
      removalPolicy: data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    // How users and the operations CLI find the endpoint (`curl --aws-sigv4 ... $InferenceUrl/predict`).
    new CfnOutput(this, 'InferenceFunctionName', { value: this.inference.function.functionName });
    new CfnOutput(this, 'InferenceAliasName', { value: this.inference.alias.aliasName });
    new CfnOutput(this, 'InferenceUrl', {
      value: this.inference.url ?? 'none (frontDoor.kind is "none": invoke the alias with lambda:InvokeFunction)',
    });
  }
}
