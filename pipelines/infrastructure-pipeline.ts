import { RemovalPolicy, type Stage } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as cpactions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { encryptedLogGroup, limitGrantsToAwsServices, platformKey } from '../constructs/core/defaults';
import { acknowledge, acknowledgeControls, compliancePackIds, CODEPIPELINE_SOURCE_REASON } from '../constructs/core/nag';
import { PropsValidator } from '../constructs/core/validation';
import { accessLogsBucket, kmsBucket } from './buckets';
import { type ConnectionSource } from './model-delivery-pipeline';
import { acknowledgeGeneratedWildcards } from './step-function-parts';

const CONNECTION_ARN = /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[0-9a-f-]{36}$/;
const OWNER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

export interface InfrastructurePipelineProps {
  /** The infrastructure repository through CodeConnections. @default - a versioned, KMS-encrypted S3 source bucket (`source.zip`) */
  readonly source?: ConnectionSource;
  /** Commands that synthesize the app into `cdk.out` (they run `npm ci`, the tests and `cdk synth`). @default ['npm ci', 'npm test', 'npx cdk synth --quiet -c pipeline=true'] (the pipeline must synthesize itself, or self-mutation would remove it) */
  readonly synthCommands?: string[];
  /**
   * The user's config file, relative to the repository root, passed to the default synth command as
   * `-c config=<file>` (the pipeline synthesizes the same platform the user configured). @default - none (built-in defaults)
   */
  readonly configFile?: string;
  /** Stages deploy to other accounts: KMS artifact keys the target accounts can use (each must be bootstrapped with `--trust`). @default true */
  readonly crossAccount?: boolean;
  /** Key of the source bucket and build logs. @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Options of a stage the pipeline deploys. */
export interface InfrastructureStageOptions {
  /** A manual approval before the stage deploys. @default false */
  readonly approval?: boolean;
}

/**
 * Self-mutating infrastructure delivery with CDK Pipelines (CodePipeline V2): Source → Build (tests and synth) →
 * UpdatePipeline → Assets → one wave per stage added with {@link InfrastructurePipeline.addStage}, in order, with a
 * manual approval where asked. Stages in other accounts need `cdk bootstrap --trust <pipeline account>`.
 */
export class InfrastructurePipeline extends Construct {
  public readonly pipeline: pipelines.CodePipeline;
  public readonly encryptionKey: kms.IKey;
  /** Present without a connection source: upload `source.zip` here to start the pipeline. */
  public readonly sourceBucket?: s3.Bucket;
  public readonly accessLogsBucket: s3.Bucket;
  /** Stage names in deployment order, with whether an approval precedes them. */
  public readonly stages: { readonly name: string; readonly approval: boolean }[] = [];

  constructor(scope: Construct, id: string, props: InfrastructurePipelineProps = {}) {
    super(scope, id);
    const src = props.source;
    const v = new PropsValidator(this, 'InfrastructurePipeline');
    if (src) {
      v.check(CONNECTION_ARN.test(src.connectionArn), 'source.connectionArn', src.connectionArn, 'must be a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<uuid>)');
      v.check(OWNER_NAME.test(src.repository), 'source.repository', src.repository, 'must be "owner/name"');
    }
    v.check(props.synthCommands === undefined || props.synthCommands.length > 0, 'synthCommands', props.synthCommands, 'must hold at least one command');
    v.check(props.configFile === undefined || /^(?!\/)[A-Za-z0-9._\/-]+$/.test(props.configFile), 'configFile', props.configFile, 'must be a path relative to the repository root, e.g. platform.yaml');
    v.throwIfInvalid();

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', { description: 'Infrastructure pipeline source and build logs', removalPolicy });
    this.accessLogsBucket = accessLogsBucket(this, 'AccessLogs', removalPolicy);

    let input: pipelines.CodePipelineSource;
    if (src) {
      input = pipelines.CodePipelineSource.connection(src.repository, src.branch ?? 'main', { connectionArn: src.connectionArn, triggerOnPush: true });
    } else {
      this.sourceBucket = kmsBucket(this, 'Source', this.encryptionKey, this.accessLogsBucket, removalPolicy);
      input = pipelines.CodePipelineSource.s3(this.sourceBucket, 'source.zip', { trigger: cpactions.S3Trigger.POLL });
    }
    const logGroup = encryptedLogGroup(this, 'BuildLogs', { encryptionKey: this.encryptionKey, retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy });

    this.pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      crossAccountKeys: props.crossAccount ?? true,
      enableKeyRotation: true,
      selfMutation: true,
      synth: new pipelines.ShellStep('Synth', {
        input,
        commands: props.synthCommands ?? ['npm ci', 'npm test', `npx cdk synth --quiet -c pipeline=true${props.configFile ? ` -c config=${props.configFile}` : ''}`],
      }),
      codeBuildDefaults: {
        buildEnvironment: {
          buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
          computeType: codebuild.ComputeType.MEDIUM,
          // Install-time setting `npm ci` needs offline of NVIDIA's servers (the project .npmrc sets it too).
          environmentVariables: { ONNXRUNTIME_NODE_INSTALL: { value: 'skip' } },
        },
        // standard:7.0 defaults to Node 18; the project targets Node 22 (engines, the GitHub workflows).
        partialBuildSpec: codebuild.BuildSpec.fromObject({ phases: { install: { 'runtime-versions': { nodejs: '22' } } } }),
        logging: { cloudWatch: { logGroup } },
      },
    });
  }

  /** Deploys `stage` after the stages added before it, optionally behind a manual approval. */
  public addStage(stage: Stage, options: InfrastructureStageOptions = {}): pipelines.StageDeployment {
    const approval = options.approval ?? false;
    this.stages.push({ name: stage.stageName, approval });
    return this.pipeline.addStage(stage, {
      pre: approval ? [new pipelines.ManualApprovalStep(`Approve-${stage.stageName}`, { comment: `Deploy the platform to ${stage.stageName}?` })] : [],
    });
  }

  /**
   * Builds the pipeline now (CDK Pipelines otherwise builds it lazily at synth) and acknowledges the cdk-nag findings
   * of what CDK Pipelines generates: its artifact bucket, the synth/self-mutation/asset CodeBuild projects and roles.
   * Call it after the last {@link InfrastructurePipeline.addStage}.
   */
  public buildPipeline(): void {
    this.pipeline.buildPipeline();
    const cp = this.pipeline.pipeline;
    if (cp.artifactBucket.encryptionKey) limitGrantsToAwsServices(cp.artifactBucket.encryptionKey);
    acknowledge(cp.artifactBucket, ['AwsSolutions-S1'],
      'The artifact bucket is generated by CDK Pipelines (KMS-encrypted with a rotated key, TLS-only); it holds build outputs rebuilt on every run.');
    acknowledgeControls(cp.artifactBucket, [
      'CT.S3.PR.2 s3_bucket_logging_enabled_check', 'CT.S3.PR.4 s3_event_notifications_enabled_check', 'CT.S3.PR.6 s3_lifecycle_policy_check',
      'CT.S3.PR.9 s3_bucket_object_lock_enabled_check', 'CT.S3.PR.11 s3_bucket_versioning_enabled_check',
    ], 'Generated by CDK Pipelines (KMS-encrypted with a rotated key, TLS-only, block public access): it holds build outputs that every run rebuilds, so logging, versioning, lifecycle, Object Lock and events add nothing.');
    acknowledge(cp.artifactBucket, ['S3BucketLoggingEnabled', 'S3BucketReplicationEnabled', 'S3BucketVersioningEnabled'].flatMap((rule) => compliancePackIds(rule)),
      'Generated by CDK Pipelines (KMS-encrypted with a rotated key, TLS-only, block public access): it holds build outputs that every run rebuilds from the versioned source, so access logs, versions and replicas of them add nothing.');
    const roles = [cp.role, ...cp.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role)];
    for (const role of this.pipeline.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role)) if (!roles.includes(role)) roles.push(role);
    acknowledgeGeneratedWildcards(roles,
      'Generated by CDK Pipelines: its artifact bucket and key, CodeBuild log streams and report groups of its own projects, and assuming the CDK bootstrap roles (cdk-hnb659fds-*) of the target environments.');
    for (const role of roles.filter((r) => r.node.path.includes('/Assets/'))) {
      acknowledge(role.node.tryFindChild('DefaultPolicy') ?? role, ['AwsSolutions-IAM5[Resource::*]'],
        'Generated by CDK Pipelines: the asset publishing roles start and watch their CodeBuild builds (codebuild:StartBuild, BatchGetBuilds, StopBuild) on "*"; uploads themselves go through the bootstrap publishing roles.');
    }
    for (const role of roles.filter((r) => r.node.path.includes('/UpdatePipeline/SelfMutation/'))) {
      acknowledge(role.node.tryFindChild('DefaultPolicy') ?? role, ['AwsSolutions-IAM5[Resource::*]'],
        'CDK Pipelines\' self-mutation project reads every stack\'s state (cloudformation:DescribeStacks, s3:ListBucket) before it assumes the bootstrap roles; generated by aws-cdk-lib.');
    }
    for (const project of this.pipeline.node.findAll().filter((c): c is codebuild.CfnProject => c instanceof codebuild.CfnProject)) {
      acknowledge(project, ['AwsSolutions-CB4'], 'CDK Pipelines generates this CodeBuild project; its artifacts go to the KMS-encrypted pipeline bucket.');
      acknowledge(project, compliancePackIds('CodeBuildProjectSourceRepoUrl'), CODEPIPELINE_SOURCE_REASON);
      if ((project.environment as codebuild.CfnProject.EnvironmentProperty).privilegedMode === true) {
        acknowledgeControls(project, ['CT.CODEBUILD.PR.4 codebuild_project_environment_privileged_check'],
          'Generated by CDK Pipelines to publish a Docker image asset (the model-server image): docker build needs privileged mode; it runs only the asset publishing commands CDK writes.');
      }
    }
  }
}
