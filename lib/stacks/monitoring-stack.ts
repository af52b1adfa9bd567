import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type Construct } from 'constructs';
import {
  type DriftSource, type MonitoredEksCluster, type IMonitoredEndpoint, type IMonitoredGpuInstance, type MonitoredPipeline, PlatformMonitoring,
  DriftDetection, type DriftTarget, RetrainingRequestForwarder, RetrainOnDrift,
} from '../../constructs/monitoring';
import { retrainingBusArn } from '../config/components/pipelines';
import { driftJobRoleName } from '../naming';
import { logsServicePrincipal, platformKey } from '../../constructs/core/defaults';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

export interface MonitoringStackProps extends PlatformStackProps {
  /** The stage's alerts topic: every alarm notifies it. */
  readonly alertsTopic: sns.ITopic;
  /** @default - none */
  readonly sagemakerEndpoints?: IMonitoredEndpoint[];
  /** @default - none */
  readonly inferenceFunctions?: lambda.IFunction[];
  /** Model delivery pipelines with their scheduled and drift triggers. @default - none */
  readonly pipelines?: MonitoredPipeline[];
  /** @default - none */
  readonly gpuInstances?: IMonitoredGpuInstance[];
  /** @default - none */
  readonly eksClusters?: MonitoredEksCluster[];
  /** Drift detectors (e.g. data-quality monitors) whose violations request retraining. @default - none */
  readonly driftSources?: DriftSource[];
  /** The retraining request event the model delivery pipeline's retrain rule matches. Needed with driftSources and driftTargets. */
  readonly retrainRequest?: { readonly source: string; readonly detailType: string };
  /** Models whose captured traffic the drift job compares with their training baselines (`monitoring.drift`). @default - none */
  readonly driftTargets?: DriftTarget[];
  /** Bucket of the drift reports and of this stage's baselines (the data lake's artifacts bucket). Needed with driftTargets. */
  readonly reportBucket?: s3.IBucket;
}

/**
 * The stage's platform dashboard (`<prefix>-<stage>`) and alarms with the thresholds of `monitoring.alarms`,
 * over whatever the other component stacks created, and the closed retraining loop: drift violations publish the
 * retraining request (with its reason) that starts the model delivery pipeline. Outputs the dashboard's console URL.
 */
export class MonitoringStack extends PlatformStack {
  public readonly monitoring: PlatformMonitoring;
  /** Drift → retraining request; exists when there are drift sources and a retraining request to publish. */
  public readonly retrainOnDrift?: RetrainOnDrift;
  /** The drift job; exists with `monitoring.drift.enabled` and captured traffic to check. */
  public readonly driftDetection?: DriftDetection;
  /** Forwards this stage's retraining requests to the pipeline account's retraining bus. */
  public readonly retrainingForwarder?: RetrainingRequestForwarder;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { prefix, stage, monitoring: m } = props.config;
    const a = m.alarms;
    this.monitoring = new PlatformMonitoring(this, 'Monitoring', {
      dashboardName: `${prefix}-${stage}`,
      alarmTopic: props.alertsTopic,
      sagemakerEndpoints: props.sagemakerEndpoints,
      inferenceFunctions: props.inferenceFunctions,
      pipelines: props.pipelines,
      gpuInstances: props.gpuInstances,
      eksClusters: props.eksClusters,
      thresholds: {
        period: Duration.minutes(a.periodMinutes),
        evaluationPeriods: a.evaluationPeriods,
        datapointsToAlarm: a.datapointsToAlarm,
        sagemakerLatencyP90: Duration.millis(a.sagemakerLatencyP90Ms),
        sagemaker5xxPercent: a.sagemaker5xxPercent,
        lambdaDurationP90: Duration.millis(a.lambdaDurationP90Ms),
        lambdaErrorPercent: a.lambdaErrorPercent,
        lambdaThrottles: a.lambdaThrottles,
      },
    });
    if ((props.driftSources ?? []).length > 0 && props.retrainRequest) {
      this.retrainOnDrift = new RetrainOnDrift(this, 'RetrainOnDrift', {
        sources: props.driftSources!,
        requestSource: props.retrainRequest.source,
        requestDetailType: props.retrainRequest.detailType,
        logRetention: stage === 'prod' ? logs.RetentionDays.TWO_YEARS : logs.RetentionDays.ONE_YEAR,
        removalPolicy: props.config.data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
    }
    const d = m.drift;
    const removalPolicy = props.config.data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const targets = props.driftTargets ?? [];
    // One key for the drift job's logs and the forwarder's dead-letter queue (a key per construct costs $1 a month each).
    const needsKey = props.retrainRequest && ((d.enabled && targets.length > 0 && props.reportBucket) || this.retrainOnDrift);
    const driftKey = needsKey ? platformKey(this, 'DriftKey', { description: `${prefix} ${stage} drift detection logs and undeliverable retraining requests`, removalPolicy, servicePrincipals: [logsServicePrincipal(this), 'events.amazonaws.com'] }) : undefined;
    if (d.enabled && targets.length > 0 && props.retrainRequest && props.reportBucket) {
      this.driftDetection = new DriftDetection(this, 'DriftDetection', {
        targets,
        reportBucket: props.reportBucket,
        baselineBuckets: [props.reportBucket],
        // The pipeline that wrote the baseline may be another stage's (dev by default) or another account's.
        readBaselinesAnywhere: true,
        encryptionKey: driftKey,
        // A known name: the pipeline account's artifacts bucket and key policies let exactly this role read baselines.
        roleName: driftJobRoleName(prefix, stage),
        schedule: scheduler.ScheduleExpression.expression(d.schedule),
        windowHours: d.windowHours,
        minRecords: d.minRecords,
        psiThreshold: d.psiThreshold,
        ksThreshold: d.ksThreshold,
        pValue: d.pValue,
        requestSource: props.retrainRequest.source,
        requestDetailType: props.retrainRequest.detailType,
        // No alarm action: drift already requests retraining, whose approval notifies the topic; the stage's
        // notifications stay one per incident (the serving composite). The alarm shows on the dashboard.
        alarmNamePrefix: `${prefix}-${stage}`,
        logRetention: stage === 'prod' ? logs.RetentionDays.TWO_YEARS : logs.RetentionDays.ONE_YEAR,
        removalPolicy,
      });
      this.monitoring.dashboard.addWidgets(...this.driftDetection.widgets());
    }
    if ((this.driftDetection || this.retrainOnDrift) && props.retrainRequest) {
      // Drift here → the retraining bus of the pipeline's account (this account unless monitoring.drift.pipelineAccount).
      const busArn = retrainingBusArn({ partition: this.partition, region: d.pipelineRegion ?? this.region, account: d.pipelineAccount ?? this.account, prefix });
      this.retrainingForwarder = new RetrainingRequestForwarder(this, 'ForwardRetrainingRequests', {
        retrainingBus: events.EventBus.fromEventBusArn(this, 'RetrainingBus', busArn),
        requestSource: props.retrainRequest.source,
        requestDetailType: props.retrainRequest.detailType,
        encryptionKey: driftKey,
        removalPolicy,
      });
    }
    new CfnOutput(this, 'DashboardUrl', {
      key: 'DashboardUrl',
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.monitoring.dashboard.dashboardName}`,
    });
  }
}
