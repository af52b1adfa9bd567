import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as cpactions from 'aws-cdk-lib/aws-codepipeline-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { encryptedLogGroup, platformKey } from '../constructs/core/defaults';
import { acknowledge, acknowledgeResourceWildcards, acknowledgeControls, compliancePackIds, CODEPIPELINE_SOURCE_REASON } from '../constructs/core/nag';
import { accessLogsBucket, kmsBucket } from './buckets';
import { type IModelPackageGroup } from '../constructs/serving/model-registry';
import { PropsValidator } from '../constructs/core/validation';
import { ImageScanGate, type ScanSeverity } from './image-scan-gate';
import { ModelPromotion, type PromotionTarget } from './model-promotion';
import { acknowledgeGeneratedWildcards, loggedStateMachine } from './step-function-parts';
import { type IPipelineTrainingStep, type ModelArchives } from './ray-training-step';
import { TrainingWorkflow, type TrainingWorkflowOptions } from './training-workflow';
import { DRIFT_BASELINE_URI_SHELL, EVALUATION_REPORT_URI_SHELL } from '../lambda/model-evaluation/baseline-location';

/** The pipeline variable holding why a run started; the retraining trigger sets it. */
export const RETRAIN_REASON_VARIABLE = 'RetrainReason';

const CONNECTION_ARN = /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[0-9a-f-]{36}$/;
const OWNER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/** A GitHub (or other CodeConnections) repository as the pipeline source. */
export interface ConnectionSource {
  /** CodeConnections connection ARN. */
  readonly connectionArn: string;
  /** Repository as `owner/name`. */
  readonly repository: string;
  /** @default 'main' */
  readonly branch?: string;
}

/** A stage the pipeline promotes approved models to, in order. */
export interface DeliveryTarget extends PromotionTarget {
  /** Manual approval (notifying the alerts topic) right before this target; the first target always follows the main approval. @default false */
  readonly approval?: boolean;
}

export interface ModelDeliveryPipelineProps {
  /** Source repository through CodeConnections. @default - a versioned, KMS-encrypted S3 source bucket; upload `source.zip` to start */
  readonly source?: ConnectionSource;
  /** Repository the training/inference image is pushed to, tagged with the source version (tags are immutable). */
  readonly imageRepository: ecr.IRepository;
  /** Bucket with the training data. */
  readonly trainingDataBucket: s3.IBucket;
  /** Bucket the training jobs write model artifacts to. */
  readonly artifactsBucket: s3.IBucket;
  /** VPC of training jobs and builds. */
  readonly vpc: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Gets manual approval requests and every stage failure. */
  readonly alertsTopic: sns.ITopic;
  /**
   * Another training backend for the Train and Evaluate stages, e.g. `RayTrainingStep` (Ray on EKS); registration then
   * takes the model from its `modelDataUrl`.
   * @default - SageMaker training jobs (`training`)
   */
  readonly trainingStep?: IPipelineTrainingStep;
  /** Training and evaluation settings. @default - the TrainingWorkflow defaults */
  readonly training?: TrainingWorkflowOptions;
  /** Scan gate threshold. @default 'CRITICAL' */
  readonly scanFailOnSeverity?: ScanSeverity;
  /** @default 0 */
  readonly scanMaxFindings?: number;
  /** @default Duration.minutes(20) */
  readonly scanTimeout?: Duration;
  /** The model registry new versions are registered in (PendingManualApproval), e.g. the stage's {@link ModelRegistry}. */
  readonly modelRegistry: IModelPackageGroup;
  /** Stages approved versions are promoted to, in order (deploy, then smoke test). @default - none: the pipeline ends with the approval */
  readonly targets?: DeliveryTarget[];
  /** Smoke test request instances. @default [[0, 0, 0, 0]] */
  readonly smokeTestInstances?: number[][];
  /** Continuous training: start the pipeline on this schedule. @default - no schedule */
  readonly schedule?: scheduler.ScheduleExpression;
  /** Start the pipeline on events matching this pattern (e.g. a drift event). @default - none */
  readonly retrainEventPattern?: events.EventPattern;
  /** Build spec in the source that runs the model's tests. @default 'buildspec.yml' */
  readonly testBuildSpec?: string;
  /** Dockerfile of the image, relative to the source root. @default 'Dockerfile' */
  readonly dockerfile?: string;
  /** Prefix of training job names (`<prefix>-<pipeline execution id>`), at most 26 characters. @default 'model' */
  readonly trainingJobPrefix?: string;
  /** @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Removal policy of buckets, keys and log groups. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The model delivery pipeline (CodePipeline V2): Source → BuildAndTest → Image (build, push, scan gate) → Train →
 * Evaluate → Register → Approve → Deploy-<target> (deploy, smoke test) for each target, with an optional approval
 * before later targets. Artifacts, logs and state are KMS-encrypted; every stage failure goes to the alerts topic;
 * a schedule and/or an event pattern (drift) start it again.
 */
export class ModelDeliveryPipeline extends Construct {
  public readonly pipeline: codepipeline.Pipeline;
  public readonly encryptionKey: kms.IKey;
  public readonly artifactBucket: s3.Bucket;
  /** Present without a connection source: upload `source.zip` here to start the pipeline. */
  public readonly sourceBucket?: s3.Bucket;
  public readonly accessLogsBucket: s3.Bucket;
  public readonly scanGate: ImageScanGate;
  public readonly training: TrainingWorkflow;
  /** Where the packages this pipeline registers keep their model (the training backend's archives): endpoints serving them read these. */
  public readonly modelArchives: ModelArchives;
  public readonly promotion?: ModelPromotion;
  public readonly testProject: codebuild.PipelineProject;
  public readonly imageProject: codebuild.PipelineProject;
  public readonly registerProject: codebuild.PipelineProject;
  public readonly failureRule: events.Rule;
  /** Marks the registered version Rejected when a reviewer rejects (or lets expire) one of the pipeline's approvals. */
  public readonly rejectStateMachine: sfn.StateMachine;
  public readonly rejectionRule: events.Rule;
  public readonly schedule?: scheduler.Schedule;
  public readonly retrainRule?: events.Rule;

  constructor(scope: Construct, id: string, props: ModelDeliveryPipelineProps) {
    super(scope, id);
    const src = props.source;
    const jobPrefix = props.trainingJobPrefix ?? 'model';
    const deliveryTargets = props.targets ?? [];
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const v = new PropsValidator(this, 'ModelDeliveryPipeline')
      .check(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,25}$/.test(jobPrefix), 'trainingJobPrefix', jobPrefix, 'must be 1-26 letters, digits and hyphens (the pipeline execution id is appended)')
      .check(!Token.isUnresolved(props.modelRegistry.modelPackageGroupName), 'modelRegistry', props.modelRegistry.modelPackageGroupName, 'the group name must be known at synth time (it scopes the register step\'s permissions)');
    if (src) {
      v.check(CONNECTION_ARN.test(src.connectionArn), 'source.connectionArn', src.connectionArn, 'must be a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<uuid>)');
      v.check(OWNER_NAME.test(src.repository), 'source.repository', src.repository, 'must be "owner/name"');
    }
    v.throwIfInvalid();

    const stack = Stack.of(this);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', {
      description: 'Model delivery pipeline artifacts, builds, logs and state',
      removalPolicy,
      servicePrincipals: [`logs.${stack.region}.amazonaws.com`],
    });
    const parts = { encryptionKey: this.encryptionKey, logRetention, removalPolicy };

    // Buckets: access logs, pipeline artifacts, and the source bucket when there is no connection.
    this.accessLogsBucket = accessLogsBucket(this, 'AccessLogs', removalPolicy);
    this.artifactBucket = kmsBucket(this, 'Artifacts', this.encryptionKey, this.accessLogsBucket, removalPolicy);

    this.pipeline = new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      executionMode: codepipeline.ExecutionMode.QUEUED,
      artifactBucket: this.artifactBucket,
      restartExecutionOnUpdate: false,
      // Why a run started: the retraining trigger sets it on drift; the Register step records it on the version.
      variables: [new codepipeline.Variable({ variableName: RETRAIN_REASON_VARIABLE, defaultValue: 'source change, schedule or manual start', description: 'Why this run started (drift reason when drift triggered it)' })],
    });

    // 1. Source
    const sourceOutput = new codepipeline.Artifact('Source');
    let sourceAction: codepipeline.IAction;
    let sourceVersion: string;
    if (src) {
      const [owner, repo] = src.repository.split('/');
      sourceAction = new cpactions.CodeStarConnectionsSourceAction({
        actionName: 'Source', connectionArn: src.connectionArn, owner, repo, branch: src.branch ?? 'main',
        output: sourceOutput, triggerOnPush: true, variablesNamespace: 'Source', codeBuildCloneOutput: false,
      });
      sourceVersion = '#{Source.CommitId}';
    } else {
      this.sourceBucket = kmsBucket(this, 'Source', this.encryptionKey, this.accessLogsBucket, removalPolicy, { eventBridgeEnabled: true });
      sourceAction = new cpactions.S3SourceAction({
        actionName: 'Source', bucket: this.sourceBucket, bucketKey: 'source.zip', output: sourceOutput,
        trigger: cpactions.S3Trigger.NONE, variablesNamespace: 'Source',
      });
      sourceVersion = '#{Source.VersionId}';
      // S3 EventBridge notifications start the pipeline on each upload (no CloudTrail trail needed).
      new events.Rule(this, 'SourceUploaded', {
        description: 'Starts the model pipeline when source.zip is uploaded',
        eventPattern: { source: ['aws.s3'], detailType: ['Object Created'], detail: { bucket: { name: [this.sourceBucket.bucketName] }, object: { key: ['source.zip'] } } },
        targets: [new targets.CodePipeline(this.pipeline)],
      });
    }
    this.pipeline.addStage({ stageName: 'Source', actions: [sourceAction] });

    // 2. Build and test
    this.testProject = this.project('Test', parts, codebuild.BuildSpec.fromSourceFilename(props.testBuildSpec ?? 'buildspec.yml'), false);
    this.pipeline.addStage({
      stageName: 'BuildAndTest',
      actions: [new cpactions.CodeBuildAction({ actionName: 'Test', project: this.testProject, input: sourceOutput })],
    });

    // 3. Image: build and push tagged with the source version, then the scan gate.
    const repo = props.imageRepository;
    this.imageProject = this.project('Image', parts, codebuild.BuildSpec.fromObject({
      version: '0.2',
      env: { 'exported-variables': ['IMAGE_TAG', 'IMAGE_URI'] },
      phases: {
        pre_build: {
          commands: [
            // Tags are immutable: one image per source version; a re-run reuses it.
            'IMAGE_TAG=$(printf "%s" "$SOURCE_VERSION" | tr -c "A-Za-z0-9_.-" "_" | cut -c1-120)',
            'REGISTRY="${REPOSITORY_URI%%/*}"',
            'IMAGE_URI="$REPOSITORY_URI:$IMAGE_TAG"',
            'aws ecr get-login-password | docker login --username AWS --password-stdin "$REGISTRY"',
          ],
        },
        build: {
          commands: [
            'if aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" >/dev/null 2>&1; then echo "$IMAGE_URI exists"; else docker build -f "$DOCKERFILE" -t "$IMAGE_URI" . && docker push "$IMAGE_URI"; fi',
          ],
        },
      },
    }), true, {
      REPOSITORY_URI: { value: repo.repositoryUri },
      REPOSITORY_NAME: { value: repo.repositoryName },
      DOCKERFILE: { value: props.dockerfile ?? 'Dockerfile' },
    });
    repo.grant(this.imageProject, 'ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage', 'ecr:DescribeImages',
      'ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload');
    this.authorizationToken(this.imageProject.role as iam.Role);
    this.scanGate = new ImageScanGate(this, 'ScanGate', {
      repository: repo, failOnSeverity: props.scanFailOnSeverity, maxFindings: props.scanMaxFindings, timeout: props.scanTimeout, ...parts,
    });
    this.pipeline.addStage({
      stageName: 'Image',
      actions: [
        new cpactions.CodeBuildAction({
          actionName: 'BuildAndPush', project: this.imageProject, input: sourceOutput, variablesNamespace: 'Image', runOrder: 1,
          environmentVariables: { SOURCE_VERSION: { value: sourceVersion } },
        }),
        this.scanGate.action('ScanGate', '#{Image.IMAGE_TAG}', 2),
      ],
    });

    // 4-5. Train (awaited) and evaluate.
    const jobName = `${jobPrefix}-#{codepipeline.PipelineExecutionId}`;
    this.training = new TrainingWorkflow(this, 'Training', {
      // Champion/challenger against the newest version approved in the group this pipeline registers into.
      championRegistry: props.modelRegistry,
      ...props.training, imageRepository: repo, inputBucket: props.trainingDataBucket, outputBucket: props.artifactsBucket,
      vpc: props.vpc, vpcSubnets: props.vpcSubnets, ...parts,
    });
    const trainer = props.trainingStep ?? this.training;
    this.modelArchives = trainer.modelArchives;
    this.pipeline.addStage({ stageName: 'Train', actions: [trainer.trainAction('Train', jobName, '#{Image.IMAGE_URI}')] });
    // The drift baseline is computed from a SageMaker job's training data; another backend registers without one.
    const baseline = props.trainingStep ? [] : [this.training.baselineAction('DriftBaseline', jobName, 2)];
    this.pipeline.addStage({ stageName: 'Evaluate', actions: [trainer.evaluateAction('Evaluate', jobName), ...baseline] });

    // 6. Register (PendingManualApproval); the version ARN becomes #{Register.MODEL_PACKAGE_ARN}.
    this.registerProject = this.project('Register', parts, codebuild.BuildSpec.fromObject({
      version: '0.2',
      env: { 'exported-variables': ['MODEL_PACKAGE_ARN'] },
      phases: {
        build: {
          commands: [
            // Another backend (Ray) names its model artifact; a SageMaker job is asked for it and for its held-out metric,
            // which travels with the package so the next run's evaluation compares its challenger with it, and its
            // drift baseline (written beside the model by the DriftBaseline step) is attached.
            'if [ -z "$MODEL_DATA_URL" ]; then MODEL_DATA_URL=$(aws sagemaker describe-training-job --training-job-name "$TRAINING_JOB_NAME" --query ModelArtifacts.S3ModelArtifacts --output text); METRIC_VALUE=$(aws sagemaker describe-training-job --training-job-name "$TRAINING_JOB_NAME" --query "FinalMetricDataList[?MetricName==\'$METRIC_NAME\'].Value | [0]" --output text); HAS_BASELINE=1; fi',
            DRIFT_BASELINE_URI_SHELL,
            EVALUATION_REPORT_URI_SHELL,
            'DESCRIPTION=$(printf "Trained by %s from %s. Why: %s" "$TRAINING_JOB_NAME" "$SOURCE_VERSION" "$RETRAIN_REASON" | cut -c1-1000)',
            'METADATA="TrainingJobName=$TRAINING_JOB_NAME,SourceVersion=$SOURCE_VERSION"; if [ -n "$METRIC_VALUE" ] && [ "$METRIC_VALUE" != "None" ]; then METADATA="$METADATA,$METRIC_NAME=$METRIC_VALUE"; fi',
            'if [ -n "$HAS_BASELINE" ]; then BASELINES=$(printf \'{"ModelDataQuality":{"Statistics":{"ContentType":"application/json","S3Uri":"%s"}}}\' "$DRIFT_BASELINE_URI"); METADATA="$METADATA,DriftBaseline=$DRIFT_BASELINE_URI"; fi',
            'SPEC=$(printf \'{"Containers":[{"Image":"%s","ModelDataUrl":"%s"}],"SupportedContentTypes":["application/json"],"SupportedResponseMIMETypes":["application/json"]}\' "$IMAGE_URI" "$MODEL_DATA_URL")',
            // The evaluation gate's report (metric, threshold, champion, verdict) travels with the package as its model quality metrics.
            'if [ -n "$HAS_BASELINE" ]; then MODEL_METRICS=$(printf \'{"ModelQuality":{"Statistics":{"ContentType":"application/json","S3Uri":"%s"}}}\' "$EVALUATION_REPORT_URI"); fi',
            'MODEL_PACKAGE_ARN=$(aws sagemaker create-model-package --model-package-group-name "$MODEL_PACKAGE_GROUP" --model-approval-status PendingManualApproval --model-package-description "$DESCRIPTION" --inference-specification "$SPEC" ${HAS_BASELINE:+--drift-check-baselines "$BASELINES"} ${HAS_BASELINE:+--model-metrics "$MODEL_METRICS"} --customer-metadata-properties "$METADATA" --query ModelPackageArn --output text)',
            'echo "Registered $MODEL_PACKAGE_ARN"',
          ],
        },
      },
    }), false, { MODEL_PACKAGE_GROUP: { value: props.modelRegistry.modelPackageGroupName }, METRIC_NAME: { value: this.training.metricName } });
    const sm = (resource: string, name: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName: name });
    const groupName = props.modelRegistry.modelPackageGroupName;
    const groupPackages = sm('model-package', `${groupName.toLowerCase()}/*`);
    this.registerProject.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeTrainingJob'], resources: [sm('training-job', `${jobPrefix.toLowerCase()}-*`)] }));
    props.modelRegistry.grantRegister(this.registerProject);
    repo.grant(this.registerProject, 'ecr:BatchGetImage', 'ecr:DescribeImages');
    acknowledgeResourceWildcards(this.registerProject.role, [sm('training-job', `${jobPrefix.toLowerCase()}-*`), groupPackages],
      'Training jobs and package versions are named per pipeline run; limited to this pipeline\'s job prefix and model package group.');
    this.pipeline.addStage({
      stageName: 'Register',
      actions: [new cpactions.CodeBuildAction({
        actionName: 'Register', project: this.registerProject, input: sourceOutput, variablesNamespace: 'Register',
        environmentVariables: {
          TRAINING_JOB_NAME: { value: jobName }, IMAGE_URI: { value: '#{Image.IMAGE_URI}' }, SOURCE_VERSION: { value: sourceVersion },
          ...(props.trainingStep ? { MODEL_DATA_URL: { value: props.trainingStep.modelDataUrl(jobName) } } : {}),
          RETRAIN_REASON: { value: `#{variables.${RETRAIN_REASON_VARIABLE}}` },
        },
      })],
    });

    // 7. Approve, notifying the alerts topic.
    const packageArn = '#{Register.MODEL_PACKAGE_ARN}';
    this.pipeline.addStage({
      stageName: 'Approve',
      actions: [new cpactions.ManualApprovalAction({
        actionName: 'Approve', notificationTopic: props.alertsTopic,
        additionalInformation: `Model version ${packageArn} passed evaluation. Approve to deploy it${deliveryTargets.length ? ` to ${deliveryTargets.map((t) => t.name).join(' then ')}` : ''}.`,
      })],
    });

    // 8. Deploy each target, smoke test it; an approval before later targets that ask for one.
    if (deliveryTargets.length > 0) {
      this.promotion = new ModelPromotion(this, 'Promotion', {
        sourceModelPackageGroupName: props.modelRegistry.modelPackageGroupName, targets: deliveryTargets, smokeTestInstances: props.smokeTestInstances, ...parts,
      });
      deliveryTargets.forEach((t, i) => {
        if (i > 0 && t.approval) {
          this.pipeline.addStage({
            stageName: `Approve-${t.name}`,
            actions: [new cpactions.ManualApprovalAction({
              actionName: 'Approve', notificationTopic: props.alertsTopic,
              additionalInformation: `${packageArn} passed the ${deliveryTargets[i - 1].name} smoke test. Approve to deploy it to ${t.name}.`,
            })],
          });
        }
        this.pipeline.addStage({
          stageName: `Deploy-${t.name}`,
          actions: [this.promotion!.deployAction(t.name, packageArn, 1), this.promotion!.smokeTestAction(t.name, packageArn, 2)],
        });
      });
    }

    // A rejected approval leaves the package PendingManualApproval; mark it Rejected so `cdk-mlops promote` (and
    // anyone reading the registry) can tell it was turned down. The Register action's output variable names it.
    const find = new tasks.CallAwsService(this, 'FindRegisteredVersion', {
      service: 'codepipeline', action: 'listActionExecutions', iamAction: 'codepipeline:ListActionExecutions', iamResources: [this.pipeline.pipelineArn],
      parameters: { PipelineName: this.pipeline.pipelineName, Filter: { 'PipelineExecutionId.$': "$.detail['execution-id']" } },
      resultSelector: { 'arns.$': "$.ActionExecutionDetails[?(@.ActionName == 'Register')].Output.OutputVariables.MODEL_PACKAGE_ARN" },
      resultPath: '$.registered',
    });
    const reject = new tasks.CallAwsService(this, 'RejectRegisteredVersion', {
      service: 'sagemaker', action: 'updateModelPackage', iamResources: [groupPackages],
      parameters: {
        'ModelPackageArn.$': 'States.ArrayGetItem($.registered.arns, 0)',
        ModelApprovalStatus: 'Rejected',
        'ApprovalDescription.$': "States.Format('Rejected at {} of model pipeline execution {}', $.detail.stage, $.detail['execution-id'])",
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    this.rejectStateMachine = loggedStateMachine(this, 'RejectStateMachine', find.next(reject), Duration.minutes(5), {
      ...parts, comment: `Marks ${groupName} versions Rejected when their approval is rejected`,
    });
    acknowledgeResourceWildcards(this.rejectStateMachine.role, [groupPackages],
      'Package versions are numbered as they are registered; the statement names this pipeline\'s model package group only.');
    this.rejectionRule = new events.Rule(this, 'ApprovalRejected', {
      description: 'A model pipeline approval was rejected: mark the registered version Rejected',
      eventPattern: {
        source: ['aws.codepipeline'], detailType: ['CodePipeline Action Execution State Change'],
        detail: { pipeline: [this.pipeline.pipelineName], state: ['FAILED'], type: { category: ['Approval'] } },
      },
      targets: [new targets.SfnStateMachine(this.rejectStateMachine)],
    });

    // Every failed stage notifies the alerts topic.
    this.failureRule = new events.Rule(this, 'StageFailed', {
      description: 'A model delivery pipeline stage failed',
      eventPattern: {
        source: ['aws.codepipeline'], detailType: ['CodePipeline Stage Execution State Change'],
        detail: { pipeline: [this.pipeline.pipelineName], state: ['FAILED'] },
      },
      targets: [new targets.SnsTopic(props.alertsTopic, {
        message: events.RuleTargetInput.fromText(`Model delivery pipeline ${events.EventField.fromPath('$.detail.pipeline')}: stage ${events.EventField.fromPath('$.detail.stage')} FAILED (execution ${events.EventField.fromPath('$.detail.execution-id')})`),
      })],
    });

    // Grants aws-cdk-lib writes for the pipeline, its actions, builds and state machines.
    const actionRoles = this.pipeline.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role && c.node.id === 'CodePipelineActionRole');
    const stateMachines = [this.scanGate.stateMachine, this.training.trainStateMachine, this.training.evaluateStateMachine, this.training.baselineStateMachine,
      this.rejectStateMachine, ...(props.trainingStep?.stateMachines ?? []),
      ...(this.promotion ? [this.promotion.deployStateMachine, ...(this.promotion.smokeTestStateMachine ? [this.promotion.smokeTestStateMachine] : []), ...Object.values(this.promotion.remoteSmokeTestStateMachines)] : [])];
    acknowledgeGeneratedWildcards([this.pipeline.role, ...actionRoles, this.testProject.role, this.imageProject.role, this.registerProject.role, ...stateMachines.map((m) => m.role)],
      'Generated by aws-cdk-lib: read/write of this pipeline\'s artifact bucket objects and its KMS key, CodeBuild log streams and report groups of one project, executions of one state machine, versions of one gate function.');
    const notifications = stack.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (notifications) {
      acknowledge(notifications, ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]'],
        'aws-cdk-lib\'s bucket-notifications custom resource (it turns on EventBridge notifications of the source bucket); its role is not configurable.');
      acknowledgeControls(notifications.node.defaultChild ?? notifications, ['CT.LAMBDA.PR.3 lambda_inside_vpc_check'],
        'aws-cdk-lib\'s bucket-notifications custom resource: it runs at deploy time and calls only the S3 API (PutBucketNotificationConfiguration); aws-cdk-lib offers no VPC option for it.');
    }

    // Continuous training.
    if (props.schedule) {
      this.schedule = new scheduler.Schedule(this, 'RetrainSchedule', {
        schedule: props.schedule,
        description: 'Continuous training: starts the model delivery pipeline',
        target: new schedulerTargets.CodePipelineStartPipelineExecution(this.pipeline),
      });
    }
    if (props.retrainEventPattern) {
      this.retrainRule = new events.Rule(this, 'RetrainOnEvent', {
        description: 'Continuous training: starts the model delivery pipeline on drift',
        eventPattern: props.retrainEventPattern,
        targets: [new targets.CodePipeline(this.pipeline)],
      });
    }
  }

  /**
   * Lets `grantee` (the execution role of an endpoint serving this pipeline's versions) read every registered model
   * archive: `s3:GetObject` on {@link ModelDeliveryPipeline.modelArchives} only, and decryption with the bucket's key.
   */
  public grantReadModelArchives(grantee: iam.IGrantable): iam.Grant {
    const { bucket, keyPattern } = this.modelArchives;
    const objects = bucket.arnForObjects(keyPattern);
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [objects] });
    bucket.encryptionKey?.grant(grantee, 'kms:Decrypt');
    acknowledgeResourceWildcards(grantee.grantPrincipal, [objects], 'Model archives are named per training run; read access is limited to the training backend\'s model.tar.gz objects.');
    return grant;
  }

  /** A CodeBuild project with KMS-encrypted artifacts and an encrypted log group with retention. */
  private project(id: string, parts: { encryptionKey: kms.IKey; logRetention: logs.RetentionDays; removalPolicy: RemovalPolicy },
    buildSpec: codebuild.BuildSpec, privileged: boolean, env: Record<string, codebuild.BuildEnvironmentVariable> = {}): codebuild.PipelineProject {
    const logGroup = encryptedLogGroup(this, `${id}Logs`, { encryptionKey: parts.encryptionKey, retention: parts.logRetention, removalPolicy: parts.removalPolicy });
    const project = new codebuild.PipelineProject(this, id, {
      buildSpec,
      encryptionKey: parts.encryptionKey,
      environment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.MEDIUM, privileged },
      environmentVariables: env,
      logging: { cloudWatch: { logGroup } },
      timeout: Duration.minutes(60),
    });
    acknowledge(project, compliancePackIds('CodeBuildProjectSourceRepoUrl'), CODEPIPELINE_SOURCE_REASON);
    if (privileged) {
      // Docker builds need privileged mode; the project runs only this pipeline's image build.
      acknowledge(project, ['AwsSolutions-CB3'], 'Privileged mode is required to run the Docker daemon that builds the model image.');
      acknowledgeControls(project, ['CT.CODEBUILD.PR.4 codebuild_project_environment_privileged_check'],
        'Privileged mode is required to run the Docker daemon that builds the model image (docker build); the project runs only this pipeline\'s buildspec from its own source.');
    }
    return project;
  }

  /** ecr:GetAuthorizationToken has no resource-level permissions: its own policy, its own acknowledgement. */
  private authorizationToken(role: iam.Role): void {
    const policy = new iam.Policy(this, 'EcrAuthorizationToken', {
      roles: [role], statements: [new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] })],
    });
    acknowledge(policy, ['AwsSolutions-IAM5[Resource::*]'], 'ecr:GetAuthorizationToken does not support resource-level permissions; pushes are granted on one repository.');
  }
}
