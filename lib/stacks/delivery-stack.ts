import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type Construct } from 'constructs';
import { type ImageRegistry } from '../../constructs/registry';
import { type DataLake } from '../../constructs/storage';
import { GitHubDeployRole } from '../../pipelines/github-deploy-role';
import { type DeliveryTarget, ModelDeliveryPipeline } from '../../pipelines/model-delivery-pipeline';
import { DRIFT_EVENT } from '../config/components/pipelines';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

export interface DeliveryStackProps extends PlatformStackProps {
  readonly vpc: ec2.IVpc;
  readonly workloadSubnets: ec2.SubnetSelection;
  readonly dataLake: DataLake;
  readonly registry: ImageRegistry;
  readonly alertsTopic: sns.ITopic;
  /** Environment of the training jobs, e.g. `MLFLOW_TRACKING_URI` of the Experiments stack. @default - none */
  readonly trainingEnvironment?: Readonly<Record<string, string>>;
}

/**
 * The stage's delivery: the model delivery pipeline with continuous training (`pipelines.enabled`), and the GitHub
 * Actions OIDC deploy role (`pipelines.github`).
 */
export class DeliveryStack extends PlatformStack {
  public readonly modelPipeline?: ModelDeliveryPipeline;
  public readonly githubDeployRole?: GitHubDeployRole;

  constructor(scope: Construct, id: string, props: DeliveryStackProps) {
    super(scope, id, props);
    const { prefix, stage, pipelines: p, data } = props.config;
    const removalPolicy = data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = stage === 'prod' ? logs.RetentionDays.TWO_YEARS : logs.RetentionDays.ONE_YEAR;

    if (p.enabled) {
      const repositories = Object.keys(props.registry.repositories);
      // One image serves training and inference; the `training` repository when the registry has one.
      const imageRepository = props.registry.repositories[repositories.includes('training') ? 'training' : repositories[0]];
      const targets: DeliveryTarget[] = p.deployTargets.map((t) => {
        const group = t.modelPackageGroupName ?? `${p.modelPackageGroupName}-${t.stage}`;
        return {
          name: t.stage,
          modelPackageGroupName: group,
          ...(t.functionName ? { functionName: t.functionName } : { endpointName: t.endpointName ?? `${prefix}-${t.stage}-${p.modelPackageGroupName}` }),
          approval: t.approval ?? t.stage === 'prod',
        };
      });
      this.modelPipeline = new ModelDeliveryPipeline(this, 'ModelPipeline', {
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
        modelPackageGroupName: p.modelPackageGroupName,
        targets,
        smokeTestInstances: p.smokeTestInstances,
        schedule: p.schedule ? scheduler.ScheduleExpression.expression(p.schedule) : undefined,
        retrainEventPattern: p.retrainOnDrift ? { source: [DRIFT_EVENT.source], detailType: [DRIFT_EVENT.detailType] } : undefined,
        trainingJobPrefix: `${prefix}-${stage}`.slice(0, 26).replace(/-+$/, ''),
        logRetention,
        removalPolicy,
      });
      new CfnOutput(this, 'ModelPipelineName', { value: this.modelPipeline.pipeline.pipelineName });
      if (this.modelPipeline.sourceBucket) new CfnOutput(this, 'ModelSourceBucketName', { value: this.modelPipeline.sourceBucket.bucketName });
    }

    if (p.github) {
      this.githubDeployRole = new GitHubDeployRole(this, 'GitHubDeploy', {
        repository: p.github.repository,
        environment: p.github.environment ?? stage,
        branch: p.github.branch,
        provider: p.github.existingProviderArn ? iam.OidcProviderNative.fromOidcProviderArn(this, 'GitHubOidcProvider', p.github.existingProviderArn) : undefined,
      });
      new CfnOutput(this, 'GitHubDeployRoleArn', { value: this.githubDeployRole.role.roleArn });
    }
  }
}
