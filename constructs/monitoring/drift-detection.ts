import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../core/defaults';
import { handlerCode } from '../core/handler-code';
import { acknowledge, acknowledgeCheck, acknowledgeResourceWildcards } from '../core/nag';
import { propsError, PropsValidator } from '../core/validation';
import type { TrafficCaptureLocation } from '../serving/lambda-inference';
import type { RayServeCaptureLocation } from '../eks/ray/onnx-ray-service';
import type { DataCaptureLocation } from '../serving/sagemaker-endpoint';
import * as perms from '../storage/perms';

/** CloudWatch namespace of the drift job's metrics. */
export const DRIFT_METRICS_NAMESPACE = 'cdk-mlops/Drift';

/** One model whose captured traffic the drift job compares with its training baseline. */
export interface DriftTarget {
  /** Model name in metrics, reports, alarms and the retraining event (1-64 letters, digits, "-", "_", "."). */
  readonly name: string;
  readonly servingPath: 'sagemaker' | 'lambda' | 'ray';
  /** Bucket holding the captures. */
  readonly bucket: s3.IBucket;
  /** Capture root: sub-folders per variant or model partition, then `YYYY/MM/DD/HH/`. */
  readonly prefix: string;
  /** Key of the captured objects. @default - the bucket's key */
  readonly encryptionKey?: kms.IKey;
  /** SageMaker: the endpoint whose deployed model package names the baseline. @default - none */
  readonly endpointName?: string;
  /** Baseline used when no model package names one, `s3://bucket/key`. @default - the package's baseline only */
  readonly baselineUri?: string;
}

/** What a SageMaker endpoint with data capture offers (`SageMakerEndpoint` has it). */
export interface CapturingEndpoint {
  readonly endpointName: string;
  readonly dataCapture?: DataCaptureLocation;
}

/** What a Lambda inference function with capture offers (`LambdaInference` has it). */
export interface CapturingFunction {
  readonly capture?: TrafficCaptureLocation;
}

/** What a Ray Serve app with capture offers (`OnnxRayService` has it). */
export interface CapturingRayService {
  readonly capture?: RayServeCaptureLocation;
}

/** Drift targets from the serving constructs, wired by reference. */
export class DriftTargets {
  /** SageMaker data capture: SageMaker appends `<endpoint>/<variant>/YYYY/MM/DD/HH/` to the capture prefix. */
  public static fromSageMakerEndpoint(name: string, endpoint: CapturingEndpoint): DriftTarget {
    const dc = endpoint.dataCapture;
    if (!dc) throw propsError(`DriftTargets.fromSageMakerEndpoint: endpoint ${endpoint.endpointName} has no dataCapture; give it dataCapture to detect drift`);
    return { name, servingPath: 'sagemaker', bucket: dc.bucket, prefix: `${dc.prefix}${endpoint.endpointName}/`, encryptionKey: dc.encryptionKey, endpointName: endpoint.endpointName };
  }

  /** The Lambda model server's capture: `<prefix><function name>/<model>/YYYY/MM/DD/HH/`. */
  public static fromLambdaInference(name: string, inference: CapturingFunction, baselineUri?: string): DriftTarget {
    const c = inference.capture;
    if (!c) throw propsError('DriftTargets.fromLambdaInference: the function has no capture; give LambdaInference capture to detect drift');
    return { name, servingPath: 'lambda', bucket: c.bucket, prefix: `${c.prefix}${c.source}/`, encryptionKey: c.encryptionKey, baselineUri };
  }

  /** The Ray Serve app's capture (`lambda/ray-serve-onnx/capture.py`): `<prefix><service name>/<model>/YYYY/MM/DD/HH/`. */
  public static fromRayService(name: string, service: CapturingRayService, baselineUri?: string): DriftTarget {
    const c = service.capture;
    if (!c) throw propsError('DriftTargets.fromRayService: the service has no capture; give OnnxRayService capture to detect drift');
    return { name, servingPath: 'ray', bucket: c.bucket, prefix: `${c.prefix}${c.source}/`, encryptionKey: c.encryptionKey, baselineUri };
  }
}

export interface DriftDetectionProps {
  readonly targets: DriftTarget[];
  /** Bucket of the drift reports (the data lake's). */
  readonly reportBucket: s3.IBucket;
  /** @default 'drift-reports/' */
  readonly reportPrefix?: string;
  /** Buckets holding baselines (training artifacts); read access to their `drift-baseline.json` objects. @default - the report bucket */
  readonly baselineBuckets?: s3.IBucket[];
  /**
   * Also read baselines in buckets this app does not own (the pipeline's artifacts in another stage or account):
   * `s3:GetObject` on `<any bucket>/<baselineKeyPattern>` and `kms:Decrypt` through S3 only. Cross-account, the
   * pipeline account's bucket and key policies must allow this role too.
   * @default - only baselineBuckets
   */
  readonly readBaselinesAnywhere?: boolean;
  /** @default scheduler.ScheduleExpression.rate(Duration.hours(1)) */
  readonly schedule?: scheduler.ScheduleExpression;
  /** Hours of captures each run compares, 1-744. @default 24 */
  readonly windowHours?: number;
  /** Fewer records is "insufficient data". @default 100 */
  readonly minRecords?: number;
  /** @default 0.2 */
  readonly psiThreshold?: number;
  /** KS statistic that counts as drift (with p below pValue). @default 0.1 */
  readonly ksThreshold?: number;
  /** @default 0.01 */
  readonly pValue?: number;
  /** Records read per model per run (memory and run time). @default 200000 */
  readonly maxRecords?: number;
  /** `source` and `detail-type` of the retraining request event. */
  readonly requestSource: string;
  readonly requestDetailType: string;
  /** Bus the drift events go to. @default - the account's default bus */
  readonly eventBus?: events.IEventBus;
  /** Where each model's drift alarm notifies. @default - no notifications */
  readonly alarmTopic?: sns.ITopic;
  /** Prefix of alarm names (`<prefix>-<endpoint|lambda|ray>-<model>-drift`). @default - CloudFormation generated names */
  readonly alarmNamePrefix?: string;
  /** Name of the job's role (for other accounts' bucket and key policies that let it read baselines). @default - CloudFormation generated */
  readonly roleName?: string;
  /** Key of the log group. @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The platform's drift detection for every serving path: a scheduled Lambda job (`lambda/drift-detection`) reads the
 * captured window of each target (SageMaker data capture, the Lambda model server's capture, Ray Serve's), compares
 * it with the training baseline attached to the served model package, publishes per-feature PSI/KS metrics,
 * writes a report to the lake and emits the retraining request event on drift. One alarm per model.
 *
 * Sized as a Lambda: a run reads at most `maxRecords` sampled records per model (200 000 by default, well under a
 * minute at the measured throughput); beyond that volume, sample less or run the same code as a Processing job.
 */
export class DriftDetection extends Construct {
  public readonly function: lambda.Function;
  public readonly schedule: scheduler.Schedule;
  public readonly encryptionKey: kms.IKey;
  /** Per model: fires when any feature (or the predictions) drifted in a run. */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};
  public readonly targets: DriftTarget[];
  private readonly psiThreshold: number;

  constructor(scope: Construct, id: string, props: DriftDetectionProps) {
    super(scope, id);
    const windowHours = props.windowHours ?? 24;
    const minRecords = props.minRecords ?? 100;
    const psiThreshold = props.psiThreshold ?? 0.2;
    const ksThreshold = props.ksThreshold ?? 0.1;
    const pValue = props.pValue ?? 0.01;
    const maxRecords = props.maxRecords ?? 200_000;
    const reportPrefix = props.reportPrefix ?? 'drift-reports/';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const v = new PropsValidator(this, 'DriftDetection')
      .check(props.targets.length > 0, 'targets', props.targets.length, 'must list at least one model to monitor')
      .intRange('windowHours', windowHours, 1, 744, 'hours')
      .intRange('minRecords', minRecords, 1, 10_000_000, 'records')
      .intRange('maxRecords', maxRecords, minRecords, 10_000_000, 'records')
      .check(psiThreshold > 0 && psiThreshold <= 10, 'psiThreshold', psiThreshold, 'must be above 0 and at most 10 (0.1 moderate, 0.2 significant shift)')
      .check(ksThreshold > 0 && ksThreshold <= 1, 'ksThreshold', ksThreshold, 'must be above 0 and at most 1')
      .check(pValue > 0 && pValue < 1, 'pValue', pValue, 'must be between 0 and 1, exclusive')
      .check(/^[A-Za-z0-9!_.*'()/-]{0,256}$/.test(reportPrefix) && (reportPrefix === '' || reportPrefix.endsWith('/')), 'reportPrefix', reportPrefix, 'must be an S3 key prefix ending in "/"');
    const names = new Set<string>();
    props.targets.forEach((t, i) => {
      v.check(/^[A-Za-z0-9._-]{1,64}$/.test(t.name), `targets[${i}].name`, t.name, 'must be 1-64 letters, digits, ".", "_" and "-"');
      v.check(!names.has(t.name), `targets[${i}].name`, t.name, 'must be unique among targets');
      names.add(t.name);
      v.check(Token.isUnresolved(t.prefix) || t.prefix.endsWith('/'), `targets[${i}].prefix`, t.prefix, 'must end in "/"');
      v.check(t.baselineUri === undefined || /^s3:\/\/[^/]+\/.+/.test(t.baselineUri), `targets[${i}].baselineUri`, t.baselineUri, 'must be s3://bucket/key');
    });
    v.throwIfInvalid();
    this.targets = props.targets;
    this.psiThreshold = psiThreshold;

    const stack = Stack.of(this);
    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', { description: 'Drift detection logs', removalPolicy, servicePrincipals: [logsServicePrincipal(this)] });
    const logGroup = encryptedLogGroup(this, 'Logs', { encryptionKey: this.encryptionKey, retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy });
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: 'Drift detection job', roleName: props.roleName });
    logGroup.grantWrite(role);

    const bus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.function = new lambda.Function(this, 'Function', {
      description: `Drift detection of ${props.targets.map((t) => t.name).join(', ')}`.slice(0, 256),
      code: handlerCode('drift-detection'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      // Memory is CPU on Lambda: 2 GB holds maxRecords rows and parses them at full speed.
      memorySize: 2048,
      timeout: Duration.minutes(15),
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      // One run at a time: runs are hourly and idempotent; overlapping ones would double-count nothing but cost.
      reservedConcurrentExecutions: 1,
      environment: {
        DRIFT_TARGETS: stack.toJsonString(props.targets.map((t) => ({
          name: t.name, servingPath: t.servingPath, bucket: t.bucket.bucketName, prefix: t.prefix, endpointName: t.endpointName, baselineUri: t.baselineUri,
        }))),
        REPORT_BUCKET: props.reportBucket.bucketName,
        REPORT_PREFIX: reportPrefix,
        ...(props.reportBucket.encryptionKey ? { REPORT_KMS_KEY_ID: props.reportBucket.encryptionKey.keyArn } : {}),
        WINDOW_HOURS: String(windowHours),
        MIN_RECORDS: String(minRecords),
        MAX_RECORDS: String(maxRecords),
        PSI_THRESHOLD: String(psiThreshold),
        KS_THRESHOLD: String(ksThreshold),
        P_VALUE: String(pValue),
        EVENT_BUS_NAME: bus.eventBusName,
        EVENT_SOURCE: props.requestSource,
        EVENT_DETAIL_TYPE: props.requestDetailType,
        POWERTOOLS_SERVICE_NAME: 'drift-detection',
        POWERTOOLS_METRICS_NAMESPACE: DRIFT_METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });

    acknowledgeCheck(this.function, 'lambdaInsideVpc',
      'The drift job calls only AWS service APIs (S3, SageMaker, EventBridge, CloudWatch) with IAM-signed TLS requests and reaches nothing inside a VPC; in a VPC it would need NAT or interface endpoints for the same calls.');
    acknowledgeCheck(this.function, 'lambdaDlq',
      'A scheduled, idempotent job: a failed run is retried by the schedule (retryAttempts) and the next run re-reads the same capture window; an undelivered event carries no data a queue could replay.');

    // Read the captures (prefix-scoped), write reports, read baselines; keys of each.
    const wildcards: string[] = [];
    for (const t of props.targets) {
      const objects = t.bucket.arnForObjects(`${t.prefix}*`);
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects] }));
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [t.bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${t.prefix}*`] } } }));
      (t.encryptionKey ?? t.bucket.encryptionKey)?.grantDecrypt(role);
      wildcards.push(objects);
    }
    const reports = props.reportBucket.arnForObjects(`${reportPrefix}*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [reports] }));
    props.reportBucket.encryptionKey?.grant(role, ...perms.KMS_WRITE_ACTIONS);
    wildcards.push(reports);
    for (const b of props.baselineBuckets ?? [props.reportBucket]) {
      const baselines = b.arnForObjects('*/drift-baseline.json');
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [baselines] }));
      b.encryptionKey?.grantDecrypt(role);
      wildcards.push(baselines);
    }
    if (props.readBaselinesAnywhere) {
      const anywhere = `arn:${stack.partition}:s3:::*/*/drift-baseline.json`;
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [anywhere] }));
      const viaS3 = new iam.Policy(this, 'BaselineKeys', {
        roles: [role],
        statements: [new iam.PolicyStatement({
          actions: ['kms:Decrypt'], resources: ['*'],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
        })],
      });
      acknowledge(viaS3, ['AwsSolutions-IAM5[Resource::*]'],
        'The baseline\'s bucket key belongs to the stage or account hosting the pipeline, unknown here; Decrypt is allowed only through S3, and the S3 grant covers only drift-baseline.json objects (aggregate statistics, no records).');
      wildcards.push(anywhere);
    }
    const sm = (resource: string, name: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName: name });
    const endpoints = props.targets.filter((t) => t.endpointName).map((t) => sm('endpoint', t.endpointName!.toLowerCase()));
    if (endpoints.length > 0) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint'], resources: endpoints }));
      const configs = [sm('endpoint-config', '*'), sm('model', '*')];
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel'], resources: configs }));
      wildcards.push(...configs);
    }
    // Packages may live in the pipeline's account (shared registries): any account's packages, read-only.
    const packages = `arn:${stack.partition}:sagemaker:${stack.region}:*:model-package/*`;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [packages] }));
    wildcards.push(packages);
    bus.grantPutEventsTo(role);
    acknowledgeResourceWildcards(role, wildcards,
      'Captured objects, reports and baselines have generated keys (prefix-scoped); endpoint configs and models are named per deployment and model packages per version: read-only Describe actions.');
    acknowledge(role.node.tryFindChild('DefaultPolicy') ?? role, ['AwsSolutions-IAM5[Resource::*]'],
      'X-Ray PutTraceSegments and PutTelemetryRecords (added by tracing: ACTIVE) support only Resource "*".');

    // Own role for the schedule, so its invoke grant (function ARN and versions) is acknowledged on exactly this role.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', { assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'), description: 'Invokes the drift job' });
    acknowledgeResourceWildcards(scheduleRole, [`${this.function.functionArn}:*`], 'aws-cdk-lib\'s invoke grant covers the drift function and its versions; nothing else.');
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: props.schedule ?? scheduler.ScheduleExpression.rate(Duration.hours(1)),
      description: 'Runs the drift job over the captured window',
      target: new schedulerTargets.LambdaInvoke(this.function, {
        input: scheduler.ScheduleTargetInput.fromObject({ time: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: 2,
        role: scheduleRole,
      }),
    });

    for (const t of props.targets) {
      const alarm = new cloudwatch.Alarm(this, `Drift-${t.name}`, {
        // The platform's alarm naming: <prefix>-<endpoint|lambda|ray>-<name>-<what>.
        alarmName: props.alarmNamePrefix ? `${props.alarmNamePrefix}-${t.servingPath === 'sagemaker' ? 'endpoint' : t.servingPath}-${t.name}-drift` : undefined,
        alarmDescription: `Features of ${t.name} (or its predictions) drifted from the training baseline; see the drift report in the lake`,
        metric: this.metricDriftedFeatures(t.name),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // No run, or insufficient data, publishes no DriftedFeatures: not drift.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
      else {
        acknowledgeCheck(alarm, 'alarmAction',
          'The drift run that trips this alarm also publishes a retraining request event (requestSource), which is how drift is acted on; the alarm is its dashboard view. Give alarmTopic to notify people too.');
      }
      this.alarms[t.name] = alarm;
    }
  }

  /**
   * Lets drift jobs in other accounts read the baselines in `bucket` (the pipeline account's artifacts bucket, where
   * training writes `…/drift-baseline.json`): its bucket policy and its key's policy allow exactly these roles
   * (`readBaselinesAnywhere` gives them the matching identity policy), `s3:GetObject` on baseline objects only and
   * `kms:Decrypt` only through S3. The roles are matched by `aws:PrincipalArn` under their account's principal, so
   * the policies deploy before the roles exist (S3 and KMS reject a policy naming a role that does not exist yet).
   */
  public static allowBaselineReaders(bucket: s3.IBucket, roleArns: string[]): void {
    const byAccount = new Map<string, string[]>();
    for (const arn of roleArns) {
      // The partition may be a token; the account must be literal (one statement per account).
      const account = /^arn:[^:]+:iam::(\d{12}):role\/.+$/.exec(arn)?.[1];
      if (!account) throw propsError(`DriftDetection.allowBaselineReaders: ${arn} must be an IAM role ARN with a literal account`);
      byAccount.set(account, [...(byAccount.get(account) ?? []), arn]);
    }
    const stack = Stack.of(bucket);
    for (const [account, arns] of byAccount) {
      const principal = new iam.AccountPrincipal(account);
      const onlyThese = { ArnEquals: { 'aws:PrincipalArn': arns } };
      bucket.addToResourcePolicy(new iam.PolicyStatement({
        sid: `DriftBaselineRead${account}`, principals: [principal], actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*/drift-baseline.json')], conditions: onlyThese,
      }));
      bucket.encryptionKey?.addToResourcePolicy(new iam.PolicyStatement({
        sid: `DriftBaselineDecrypt${account}`, principals: [principal], actions: ['kms:Decrypt'], resources: ['*'],
        conditions: { ...onlyThese, StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      }));
    }
  }

  /** Features (and predictions) that drifted in a run, per model. */
  public metricDriftedFeatures(model: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: DRIFT_METRICS_NAMESPACE, metricName: 'DriftedFeatures', dimensionsMap: { model, service: 'drift-detection' },
      statistic: 'Maximum', period: Duration.hours(1), ...props,
    });
  }

  /** PSI of every feature of a model over time (a search: features come from the baseline, not from synth). */
  public metricFeaturePsi(model: string, period: Duration = Duration.hours(1)): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `SEARCH('{${DRIFT_METRICS_NAMESPACE},feature,model,service} MetricName="FeaturePSI" model="${model}"', 'Maximum', ${period.toSeconds()})`,
      label: `${model} PSI per feature`,
      period,
    });
  }

  /** Dashboard widgets: PSI per feature over time and drifted features, per model. */
  public widgets(): cloudwatch.IWidget[] {
    return this.targets.flatMap((t) => [
      new cloudwatch.GraphWidget({
        title: `Drift of ${t.name}: PSI per feature`, width: 12, height: 6, left: [this.metricFeaturePsi(t.name)],
        leftAnnotations: [{ value: this.psiThreshold, label: 'drift threshold (PSI)', color: '#d62728' }],
      }),
      new cloudwatch.AlarmWidget({ title: `Drift of ${t.name}: drifted features`, width: 12, height: 6, alarm: this.alarms[t.name] }),
    ]);
  }
}
