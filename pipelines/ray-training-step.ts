import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cpactions from 'aws-cdk-lib/aws-codepipeline-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PropsValidator } from '../constructs/core/validation';
import {
  type RayHeadOptions, type RayJobGateway, type RayWorkerGroupOptions, rayObjectMetadata, renderRayJobSpec, validateRayJobSpec,
} from '../constructs/eks/ray';
import { loggedStateMachine } from './step-function-parts';

/** Where a training backend writes the packaged models it trains: every endpoint that serves them must read these objects. */
export interface ModelArchives {
  readonly bucket: s3.IBucket;
  /** Key pattern of the archives in `bucket`: the key of one run's archive with `*` for the run's name. */
  readonly keyPattern: string;
}

/** Key of a Ray run's packaged model under the gateway's output prefix (`run` may be `*` for all runs). */
export const rayModelArchiveKey = (outputPrefix: string, run: string): string => `${outputPrefix}${run}/model.tar.gz`;

/** What the model delivery pipeline needs from a training backend: one action that trains, one that gates on the metric. */
export interface IPipelineTrainingStep {
  /** Pipeline action that trains `imageUri` as run `jobName` (CodePipeline variables allowed) and waits for it. */
  trainAction(actionName: string, jobName: string, imageUri: string): cpactions.StepFunctionInvokeAction;
  /** Pipeline action that fails unless run `jobName` met the evaluation threshold. */
  evaluateAction(actionName: string, jobName: string): cpactions.StepFunctionInvokeAction;
  /** S3 URI of the run's packaged model (`model.tar.gz`) for registration. */
  modelDataUrl(jobName: string): string;
  /** Where every run's packaged model is: the pipeline lets the endpoints it deploys to read exactly these objects. */
  readonly modelArchives: ModelArchives;
  /** Its state machines (their generated grants are acknowledged with the pipeline's). */
  readonly stateMachines: sfn.StateMachine[];
}

export interface RayTrainingStepProps {
  /** The in-VPC gateway to the cluster (it submits, polls and reads the metric). */
  readonly gateway: RayJobGateway;
  /** Bucket and prefix of the training data (passed to the job as TRAIN_DATA_URI). */
  readonly trainingDataBucket: s3.IBucket;
  /** @default 'training/' */
  readonly trainingDataPrefix?: string;
  /** Driver command, run on the head in the pipeline's image. @default 'python train.py' */
  readonly entrypoint?: string;
  /** Head of each run's Ray cluster. */
  readonly head: RayHeadOptions;
  /** Worker groups of each run's cluster (GPU groups start at zero and go away with the cluster). */
  readonly workerGroups: RayWorkerGroupOptions[];
  /** More environment of every Ray container, e.g. `MLFLOW_TRACKING_URI`. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Service account of the Ray pods (its role reads the lake and writes the artifacts bucket). */
  readonly serviceAccountName: string;
  /** @default Duration.hours(24) */
  readonly maxRuntime?: Duration;
  /** Seconds between status polls. @default Duration.minutes(1) */
  readonly pollInterval?: Duration;
  /** Metric the job writes to `metrics.json`. @default 'validation:accuracy' */
  readonly metricName?: string;
  /** @default 0.8 */
  readonly threshold?: number;
  /** @default 'maximize' */
  readonly direction?: 'maximize' | 'minimize';
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Ray on EKS as the pipeline's training backend. The Train action's state machine submits a RayJob (its own Ray
 * cluster from the pipeline's image: the Dockerfile must build on `rayproject/ray:<version>` — the `-gpu` variant
 * for GPU workers) through the {@link RayJobGateway}, polls it until KubeRay reports a final state, and fails the
 * action with KubeRay's message otherwise. The job reads TRAIN_DATA_URI, writes checkpoints and `model.tar.gz` to
 * OUTPUT_URI (`s3://<artifacts>/ray-jobs/<run>/`) and `metrics.json` there; the Evaluate action reads the metric
 * from it and passes or fails on the threshold. GPU workers scale from zero for the run and the cluster is deleted
 * after it (`shutdownAfterJobFinishes`), so its GPU nodes go back to zero.
 */
export class RayTrainingStep extends Construct implements IPipelineTrainingStep {
  public readonly trainStateMachine: sfn.StateMachine;
  public readonly evaluateStateMachine: sfn.StateMachine;
  /** The RayJob every run starts from (name, image and OUTPUT_URI set per run). */
  public readonly jobTemplate: Record<string, unknown>;
  /** Each run's `model.tar.gz` under the gateway's output prefix. */
  public readonly modelArchives: ModelArchives;
  private readonly gateway: RayJobGateway;

  constructor(scope: Construct, id: string, props: RayTrainingStepProps) {
    super(scope, id);
    const maxRuntime = props.maxRuntime ?? Duration.hours(24);
    const metricName = props.metricName ?? 'validation:accuracy';
    const threshold = props.threshold ?? 0.8;
    const direction = props.direction ?? 'maximize';
    const prefix = props.trainingDataPrefix ?? 'training/';
    this.gateway = props.gateway;
    this.modelArchives = { bucket: props.gateway.artifactsBucket, keyPattern: rayModelArchiveKey(props.gateway.outputPrefix, '*') };
    const job = {
      entrypoint: props.entrypoint ?? 'python train.py',
      rayClusterSpec: {
        serviceAccountName: props.serviceAccountName,
        head: props.head,
        workerGroups: props.workerGroups,
        podEnv: { ...props.environment, TRAIN_DATA_URI: `s3://${props.trainingDataBucket.bucketName}/${prefix}`, AWS_REGION: Stack.of(this).region, METRIC_NAME: metricName },
      },
      activeDeadlineSeconds: Math.round(maxRuntime.toSeconds()),
      ttlSecondsAfterFinished: 600,
    };
    const v = new PropsValidator(this, 'RayTrainingStep');
    validateRayJobSpec(v, job);
    v.intRange('maxRuntime', maxRuntime.toHours({ integral: false }), 1, 240, 'hours')
      .check(Number.isFinite(threshold) && threshold >= 0 && threshold <= 1, 'threshold', threshold, 'must be between 0 and 1 (a normalized metric)')
      .check(/^[A-Za-z0-9_:.\/-]{1,255}$/.test(metricName), 'metricName', metricName, 'must be a metric name such as validation:accuracy')
      .throwIfInvalid();
    this.jobTemplate = {
      apiVersion: 'ray.io/v1', kind: 'RayJob', metadata: rayObjectMetadata({ name: 'template', namespace: props.gateway.namespace }),
      spec: renderRayJobSpec(job),
    };
    const parts = { encryptionKey: props.encryptionKey, logRetention: props.logRetention, removalPolicy: props.removalPolicy };
    const fn = props.gateway.function;

    // Train: submit, then poll until KubeRay reports a final state.
    const submit = new tasks.LambdaInvoke(this, 'Submit', {
      lambdaFunction: fn, payloadResponseOnly: true, resultPath: '$.submitted',
      payload: sfn.TaskInput.fromObject({ 'action': 'submit', 'jobName.$': '$.jobName', 'imageUri.$': '$.imageUri', 'template': this.jobTemplate }),
    });
    const wait = new sfn.Wait(this, 'WaitForJob', { time: sfn.WaitTime.duration(props.pollInterval ?? Duration.minutes(1)) });
    const status = new tasks.LambdaInvoke(this, 'Status', {
      lambdaFunction: fn, payloadResponseOnly: true, resultPath: '$.job',
      payload: sfn.TaskInput.fromObject({ 'action': 'status', 'jobName.$': '$.jobName' }),
    });
    const failed = new sfn.Fail(this, 'RayJobFailed', { error: 'RayJobFailed', causePath: sfn.JsonPath.format('RayJob {} ended {} / {}: {}', sfn.JsonPath.stringAt('$.jobName'), sfn.JsonPath.stringAt('$.job.jobDeploymentStatus'), sfn.JsonPath.stringAt('$.job.jobStatus'), sfn.JsonPath.stringAt('$.job.message')) });
    const decide = new sfn.Choice(this, 'Finished?')
      .when(sfn.Condition.booleanEquals('$.job.done', false), wait)
      .when(sfn.Condition.booleanEquals('$.job.succeeded', true), new sfn.Succeed(this, 'Trained'))
      .otherwise(failed);
    this.trainStateMachine = loggedStateMachine(this, 'TrainStateMachine', submit.next(wait).next(status).next(decide), maxRuntime.plus(Duration.hours(1)), {
      ...parts, comment: 'Runs one RayJob on EKS (its own Ray cluster, GPU workers from zero) and waits for it',
    });

    // Evaluate: the metric the job wrote, against the threshold.
    const read = new tasks.LambdaInvoke(this, 'ReadMetric', {
      lambdaFunction: fn, payloadResponseOnly: true, resultPath: '$.metric',
      payload: sfn.TaskInput.fromObject({ 'action': 'metric', 'jobName.$': '$.jobName', metricName }),
    });
    const passes = direction === 'maximize'
      ? sfn.Condition.numberGreaterThanEquals('$.metric.value', threshold)
      : sfn.Condition.numberLessThanEquals('$.metric.value', threshold);
    const gate = new sfn.Choice(this, 'MeetsThreshold?')
      .when(passes, new sfn.Succeed(this, 'Passed'))
      .otherwise(new sfn.Fail(this, 'BelowThreshold', {
        error: 'ModelEvaluationFailed',
        causePath: sfn.JsonPath.format(`${metricName} {} does not meet ${direction === 'maximize' ? '>=' : '<='} ${threshold}`, sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.metric.value'))),
      }));
    this.evaluateStateMachine = loggedStateMachine(this, 'EvaluateStateMachine', read.next(gate), Duration.minutes(10), {
      ...parts, comment: `Fails unless ${metricName} ${direction === 'maximize' ? '>=' : '<='} ${threshold}`,
    });
  }

  public get stateMachines(): sfn.StateMachine[] {
    return [this.trainStateMachine, this.evaluateStateMachine];
  }

  public trainAction(actionName: string, jobName: string, imageUri: string): cpactions.StepFunctionInvokeAction {
    return new cpactions.StepFunctionInvokeAction({
      actionName, stateMachine: this.trainStateMachine, stateMachineInput: cpactions.StateMachineInput.literal({ jobName, imageUri }),
    });
  }

  public evaluateAction(actionName: string, jobName: string): cpactions.StepFunctionInvokeAction {
    return new cpactions.StepFunctionInvokeAction({
      actionName, stateMachine: this.evaluateStateMachine, stateMachineInput: cpactions.StateMachineInput.literal({ jobName }),
    });
  }

  public modelDataUrl(jobName: string): string {
    return `s3://${this.gateway.artifactsBucket.bucketName}/${rayModelArchiveKey(this.gateway.outputPrefix, jobName)}`;
  }
}
