import { ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cpactions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { platformKey } from '../constructs/core/defaults';
import { acknowledge, acknowledgeResourceWildcards } from '../constructs/core/nag';
import { PropsValidator } from '../constructs/core/validation';
import { type IModelPackageGroup, TRAINING_OUTPUT_PREFIX } from '../constructs/serving/model-registry';
import * as perms from '../constructs/storage/perms';
import { type ModelArchives } from './ray-training-step';
import { gateFunction, loggedStateMachine, pollUntilDecided } from './step-function-parts';

/** Key SageMaker uploads a training job's model to under the output prefix (`job` may be `*` for all jobs). */
export const trainingJobModelKey = (outputPrefix: string, job: string): string => `${outputPrefix}${job}/output/model.tar.gz`;

const INSTANCE_TYPE = /^ml\.[a-z0-9]+\.(?:\d*x?large|medium|small|\d+xlarge)$/;
const PREFIX = /^[A-Za-z0-9!_.*'()/-]{1,512}$/;

/** Training and evaluation settings: what a `ModelDeliveryPipeline` passes through to its `TrainingWorkflow`. */
export interface TrainingWorkflowOptions {
  /** @default 'training/' */
  readonly inputPrefix?: string;
  /** Model registries grant endpoints read on the default. @default 'training-jobs/' */
  readonly outputPrefix?: string;
  /** SageMaker training instance type; GPU types are allowed. @default 'ml.m5.xlarge' */
  readonly instanceType?: string;
  /** @default 1 */
  readonly instanceCount?: number;
  /** Managed spot training with checkpoints under the output prefix. @default false */
  readonly spot?: boolean;
  /** @default Duration.hours(24) */
  readonly maxRuntime?: Duration;
  /** ML storage volume per instance, KMS-encrypted. @default 50 */
  readonly volumeSizeGiB?: number;
  /** Metric the evaluation gate reads. @default 'validation:accuracy' */
  readonly metricName?: string;
  /** Regex with one group extracting the metric from the training logs. @default 'validation:accuracy=([0-9.]+)' */
  readonly metricRegex?: string;
  /** The evaluation passes when the metric is >= (maximize) or <= (minimize) this. @default 0.8 */
  readonly threshold?: number;
  /** @default 'maximize' */
  readonly direction?: 'maximize' | 'minimize';
  /**
   * Champion/challenger: the evaluation also fails when the metric is worse than the one recorded (customer metadata
   * `<metricName>`) on this registry's newest Approved version. @default - the threshold only
   */
  readonly championRegistry?: IModelPackageGroup;
  /**
   * Environment of the training container, e.g. `MlflowTrackingServer.trackingEnvironment` (`MLFLOW_TRACKING_URI`)
   * so the training code logs its run to MLflow.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
}

/** Props of a `TrainingWorkflow`: its settings plus the image, buckets, network and key it runs with. */
export interface TrainingWorkflowProps extends TrainingWorkflowOptions {
  /** Repository of the training image (the role may pull from it only). */
  readonly imageRepository: ecr.IRepository;
  /** Bucket with the training data; `inputPrefix` becomes the `train` channel. */
  readonly inputBucket: s3.IBucket;
  /** Bucket the model artifacts (and spot checkpoints) are written to. */
  readonly outputBucket: s3.IBucket;
  /** Training runs in this VPC (private subnets, no internet unless the subnets route to it). */
  readonly vpc: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Key of volumes, artifacts written by the job, logs and state machines. @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Training and evaluation for a model pipeline: a state machine that starts a SageMaker training job and waits for
 * it (the `.sync` integration: in the VPC, KMS-encrypted volumes and output, optional managed spot), and a second
 * one that runs the `lambda/model-evaluation` gate on the job's final metric. Pipelines run them with
 * {@link TrainingWorkflow.trainAction} and {@link TrainingWorkflow.evaluateAction}.
 */
export class TrainingWorkflow extends Construct {
  /** The role SageMaker training jobs run with. */
  public readonly trainingRole: iam.Role;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly trainStateMachine: sfn.StateMachine;
  public readonly evaluateStateMachine: sfn.StateMachine;
  public readonly evaluationHandler: lambda.IFunction;
  /** Writes the drift baseline (training data statistics) beside the model: `lambda/model-evaluation/baseline.ts`. */
  public readonly baselineStateMachine: sfn.StateMachine;
  public readonly baselineHandler: lambda.IFunction;
  public readonly encryptionKey: kms.IKey;
  /** S3 URI prefix of the job outputs (`<prefix><job name>/output/model.tar.gz`). */
  public readonly outputUri: string;
  /** Each job's `model.tar.gz` under the output prefix. */
  public readonly modelArchives: ModelArchives;

  /** The metric the evaluation reads (and the register step records on the package). */
  public readonly metricName: string;
  private readonly threshold: number;
  private readonly direction: 'maximize' | 'minimize';

  constructor(scope: Construct, id: string, props: TrainingWorkflowProps) {
    super(scope, id);
    const instanceType = props.instanceType ?? 'ml.m5.xlarge';
    const instanceCount = props.instanceCount ?? 1;
    const spot = props.spot ?? false;
    const maxRuntime = props.maxRuntime ?? Duration.hours(24);
    const volumeSizeGiB = props.volumeSizeGiB ?? 50;
    const inputPrefix = props.inputPrefix ?? 'training/';
    const outputPrefix = props.outputPrefix ?? TRAINING_OUTPUT_PREFIX;
    this.metricName = props.metricName ?? 'validation:accuracy';
    const metricRegex = props.metricRegex ?? 'validation:accuracy=([0-9.]+)';
    this.threshold = props.threshold ?? 0.8;
    this.direction = props.direction ?? 'maximize';
    let regexOk = true;
    try { new RegExp(metricRegex); } catch { regexOk = false; }
    new PropsValidator(this, 'TrainingWorkflow')
      .check(INSTANCE_TYPE.test(instanceType), 'instanceType', instanceType, 'must be a SageMaker instance type such as ml.m5.xlarge or ml.g5.2xlarge')
      .intRange('instanceCount', instanceCount, 1, 100, 'instances')
      .intRange('maxRuntime', maxRuntime.toHours({ integral: false }), 1, 120, 'hours')
      .intRange('volumeSizeGiB', volumeSizeGiB, 1, 16384, 'GiB')
      .check(PREFIX.test(inputPrefix), 'inputPrefix', inputPrefix, 'must be an S3 key prefix such as training/')
      .check(PREFIX.test(outputPrefix) && outputPrefix.endsWith('/'), 'outputPrefix', outputPrefix, 'must be an S3 key prefix ending in "/"')
      .check(this.metricName.length > 0 && this.metricName.length <= 255, 'metricName', this.metricName, 'must be 1-255 characters')
      .check(regexOk, 'metricRegex', metricRegex, 'must be a valid regular expression with one capture group')
      .check(Number.isFinite(this.threshold), 'threshold', this.threshold, 'must be a finite number in the metric\'s unit')
      .check(this.direction === 'maximize' || this.direction === 'minimize', 'direction', this.direction, 'must be "maximize" or "minimize"')
      .throwIfInvalid();

    const stack = Stack.of(this);
    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', { description: 'Model training volumes, outputs and workflow logs', removalPolicy: props.removalPolicy });
    const parts = { encryptionKey: this.encryptionKey, logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy: props.removalPolicy };

    // The training job's own role: the data it reads, the prefix it writes, its image, its logs and metrics.
    this.trainingRole = new iam.Role(this, 'TrainingRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'SageMaker training jobs of the model pipeline',
    });
    const inputObjects = props.inputBucket.arnForObjects(`${inputPrefix}*`);
    const outputObjects = props.outputBucket.arnForObjects(`${outputPrefix}*`);
    this.trainingRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: perms.S3_READ_OBJECT_ACTIONS, resources: [inputObjects] }));
    this.trainingRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...perms.S3_READ_OBJECT_ACTIONS, ...perms.S3_WRITE_OBJECT_ACTIONS], resources: [outputObjects] }));
    this.trainingRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: perms.S3_LIST_ACTIONS, resources: [props.inputBucket.bucketArn, props.outputBucket.bucketArn] }));
    props.inputBucket.encryptionKey?.grant(this.trainingRole, ...perms.KMS_READ_ACTIONS);
    props.outputBucket.encryptionKey?.grant(this.trainingRole, ...perms.KMS_WRITE_ACTIONS);
    this.encryptionKey.grant(this.trainingRole, 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:DescribeKey');
    acknowledgeResourceWildcards(this.trainingRole, [inputObjects, outputObjects], 'S3 object ARNs need a key wildcard: limited to the training data prefix and the job output prefix, with explicit actions.');
    props.imageRepository.grant(this.trainingRole, 'ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage');
    const trainingLogs = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/TrainingJobs:*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.trainingRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [trainingLogs],
    }));
    acknowledgeResourceWildcards(this.trainingRole, [trainingLogs], 'Log streams of SageMaker\'s fixed training log group, named per job.');
    // Actions without resource-level permissions live in their own policy, so the acknowledgement covers only them.
    const unscoped = new iam.Policy(this, 'TrainingUnscopedActions', {
      roles: [this.trainingRole],
      statements: [new iam.PolicyStatement({
        actions: [
          'cloudwatch:PutMetricData', 'ecr:GetAuthorizationToken',
          'ec2:CreateNetworkInterface', 'ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface', 'ec2:DeleteNetworkInterfacePermission',
          'ec2:DescribeNetworkInterfaces', 'ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups',
        ],
        resources: ['*'],
      })],
    });
    acknowledge(unscoped, ['AwsSolutions-IAM5[Resource::*]'],
      'cloudwatch:PutMetricData, ecr:GetAuthorizationToken and the VPC network-interface actions SageMaker training needs have no resource-level permissions (the SageMaker VPC documentation grants them on "*").');

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Model pipeline training jobs - HTTPS out to AWS APIs and traffic between the instances of one job',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to S3, ECR and AWS APIs');
    if (instanceCount > 1) {
      this.securityGroup.addIngressRule(this.securityGroup, ec2.Port.allTraffic(), 'Distributed training between the job\'s instances');
      this.securityGroup.addEgressRule(this.securityGroup, ec2.Port.allTraffic(), 'Distributed training between the job\'s instances');
    }
    const subnets = props.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });

    this.outputUri = `s3://${props.outputBucket.bucketName}/${outputPrefix}`;
    this.modelArchives = { bucket: props.outputBucket, keyPattern: trainingJobModelKey(outputPrefix, '*') };
    const maxRuntimeSeconds = Math.round(maxRuntime.toSeconds());
    const train = new sfn.CustomState(this, 'Train', {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${stack.partition}:states:::sagemaker:createTrainingJob.sync`,
        Parameters: {
          'TrainingJobName.$': '$.trainingJobName',
          AlgorithmSpecification: {
            'TrainingImage.$': '$.imageUri',
            TrainingInputMode: 'File',
            MetricDefinitions: [{ Name: this.metricName, Regex: metricRegex }],
          },
          RoleArn: this.trainingRole.roleArn,
          ...(props.environment && Object.keys(props.environment).length > 0 ? { Environment: props.environment } : {}),
          InputDataConfig: [{
            ChannelName: 'train',
            DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${props.inputBucket.bucketName}/${inputPrefix}`, S3DataDistributionType: 'FullyReplicated' } },
          }],
          OutputDataConfig: { S3OutputPath: this.outputUri, KmsKeyId: props.outputBucket.encryptionKey?.keyArn ?? this.encryptionKey.keyArn },
          ResourceConfig: { InstanceType: instanceType, InstanceCount: instanceCount, VolumeSizeInGB: volumeSizeGiB, VolumeKmsKeyId: this.encryptionKey.keyArn },
          StoppingCondition: spot
            ? { MaxRuntimeInSeconds: maxRuntimeSeconds, MaxWaitTimeInSeconds: maxRuntimeSeconds * 2 }
            : { MaxRuntimeInSeconds: maxRuntimeSeconds },
          EnableManagedSpotTraining: spot,
          ...(spot ? { CheckpointConfig: { 'S3Uri.$': `States.Format('${this.outputUri}{}/checkpoints/', $.trainingJobName)` } } : {}),
          EnableInterContainerTrafficEncryption: instanceCount > 1,
          VpcConfig: { SecurityGroupIds: [this.securityGroup.securityGroupId], Subnets: subnets.subnetIds },
        },
        ResultSelector: {
          'trainingJobName.$': '$.TrainingJobName',
          'status.$': '$.TrainingJobStatus',
          'modelDataUrl.$': '$.ModelArtifacts.S3ModelArtifacts',
        },
      },
    });
    this.trainStateMachine = loggedStateMachine(this, 'TrainStateMachine', train, maxRuntime.plus(Duration.hours(spot ? maxRuntime.toHours({ integral: false }) + 1 : 1)), {
      ...parts,
      comment: `Runs one ${instanceCount} x ${instanceType}${spot ? ' spot' : ''} training job and waits for it`,
    });
    const jobArn = stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: '*' });
    this.trainStateMachine.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob', 'sagemaker:AddTags'],
      resources: [jobArn],
    }));
    this.trainStateMachine.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iam:PassRole'], resources: [this.trainingRole.roleArn], conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }));
    // The .sync integration learns of the job's end through this managed rule.
    this.trainStateMachine.addToRolePolicy(new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForSageMakerTrainingJobsRule' })],
    }));
    acknowledgeResourceWildcards(this.trainStateMachine.role, [jobArn],
      'Training job names are made per pipeline run; the statement is limited to training jobs and their own actions.');

    const fn = gateFunction(this, 'EvaluationHandler', 'model-evaluation', 'Evaluation gate: reads a training job\'s final metric', parts);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeTrainingJob'], resources: [jobArn] }));
    acknowledgeResourceWildcards(fn.role, [jobArn],
      'The evaluation gate reads the training job of each pipeline run (named per run); read-only DescribeTrainingJob.');
    if (props.championRegistry) {
      const group = props.championRegistry.modelPackageGroupName;
      fn.addToRolePolicy(new iam.PolicyStatement({
        actions: ['sagemaker:DescribeModelPackage'],
        resources: [stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${group.toLowerCase()}/*` })],
      }));
      // ListModelPackages has no resource-level permissions (the Service Authorization Reference lists no resource type).
      const list = new iam.Policy(this, 'EvaluationListModelPackages', {
        roles: [fn.role!], statements: [new iam.PolicyStatement({ actions: ['sagemaker:ListModelPackages'], resources: ['*'] })],
      });
      acknowledge(list, ['AwsSolutions-IAM5[Resource::*]'], 'sagemaker:ListModelPackages supports no resource-level permissions; it lists package summaries, and reading a package is limited to the champion\'s group.');
      acknowledgeResourceWildcards(fn.role, [stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${group.toLowerCase()}/*` })],
        'The champion is the newest approved version of one model package group (numbered at run time); read-only.');
    }
    // The evaluation report goes beside the model (<job>/output/evaluation.json); Register attaches it as ModelMetrics.
    const reports = props.outputBucket.arnForObjects(`${outputPrefix}*/output/evaluation.json`);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [reports] }));
    props.outputBucket.encryptionKey?.grant(fn, ...perms.KMS_WRITE_ACTIONS);
    acknowledgeResourceWildcards(fn.role, [reports], 'The evaluation report of each run is written beside that run\'s model (one folder per training job); only evaluation.json objects.');
    this.evaluationHandler = fn;
    const evaluate = pollUntilDecided(this, 'Evaluate', fn, sfn.TaskInput.fromObject({
      'trainingJobName.$': '$.trainingJobName',
      metricName: this.metricName,
      threshold: this.threshold,
      direction: this.direction,
      ...(props.championRegistry ? { modelPackageGroupName: props.championRegistry.modelPackageGroupName } : {}),
    }), Duration.seconds(30), 'ModelEvaluationFailed');
    this.evaluateStateMachine = loggedStateMachine(this, 'EvaluateStateMachine', evaluate, Duration.minutes(10), {
      ...parts,
      comment: `Fails unless ${this.metricName} ${this.direction === 'maximize' ? '>=' : '<='} ${this.threshold}`,
    });

    // Drift baseline beside the model: reads the train channel (a bounded sample), writes <job>/output/drift-baseline.json.
    const bfn = gateFunction(this, 'BaselineHandler', 'model-evaluation', 'Drift baseline: statistics of the training data beside the model', {
      ...parts, handlerExport: 'baselineHandler', timeout: Duration.minutes(10), memorySize: 1024,
    });
    const baselineObjects = props.outputBucket.arnForObjects(`${outputPrefix}*/output/drift-baseline.json`);
    bfn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeTrainingJob'], resources: [jobArn] }));
    bfn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [inputObjects] }));
    bfn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.inputBucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${inputPrefix}*`] } } }));
    bfn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [baselineObjects] }));
    props.inputBucket.encryptionKey?.grantDecrypt(bfn);
    (props.outputBucket.encryptionKey ?? this.encryptionKey).grant(bfn, 'kms:Encrypt', 'kms:GenerateDataKey');
    acknowledgeResourceWildcards(bfn.role, [jobArn, inputObjects, baselineObjects],
      'The baseline step reads the training job of each run (named per run) and its training data prefix, and writes only drift-baseline.json beside each job\'s model.');
    this.baselineHandler = bfn;
    this.baselineStateMachine = loggedStateMachine(this, 'BaselineStateMachine',
      pollUntilDecided(this, 'Baseline', bfn, sfn.TaskInput.fromObject({ 'trainingJobName.$': '$.trainingJobName' }), Duration.seconds(30), 'DriftBaselineFailed'),
      Duration.minutes(15), { ...parts, comment: 'Writes the drift baseline (training data statistics) beside the model' });
  }

  /** Pipeline action that writes the drift baseline of job `trainingJobName` beside its model. */
  public baselineAction(actionName: string, trainingJobName: string, runOrder?: number): cpactions.StepFunctionInvokeAction {
    return new cpactions.StepFunctionInvokeAction({
      actionName, runOrder, stateMachine: this.baselineStateMachine, stateMachineInput: cpactions.StateMachineInput.literal({ trainingJobName }),
    });
  }

  /** Pipeline action that trains `imageUri` as job `trainingJobName` (CodePipeline variables allowed). */
  public trainAction(actionName: string, trainingJobName: string, imageUri: string): cpactions.StepFunctionInvokeAction {
    return new cpactions.StepFunctionInvokeAction({
      actionName, stateMachine: this.trainStateMachine, stateMachineInput: cpactions.StateMachineInput.literal({ trainingJobName, imageUri }),
    });
  }

  /** Pipeline action that fails unless job `trainingJobName` meets the evaluation threshold. */
  public evaluateAction(actionName: string, trainingJobName: string): cpactions.StepFunctionInvokeAction {
    return new cpactions.StepFunctionInvokeAction({
      actionName, stateMachine: this.evaluateStateMachine, stateMachineInput: cpactions.StateMachineInput.literal({ trainingJobName }),
    });
  }
}
