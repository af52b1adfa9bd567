import { ArnFormat, CfnMapping, Duration, Fn, Names, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge, compliancePackIds } from '../core/nag';
import { lambdaPath } from '../core/paths';
import { PropsValidator } from '../core/validation';
import { acknowledgePolicyWildcards } from './policy-wildcards';
import { isSageMakerInstanceType, type IModelEndpoint, type S3ObjectLocation } from './sagemaker-endpoint';

/** Accounts publishing the Model Monitor analyzer image (`sagemaker-model-monitor-analyzer`), per region. */
export const MODEL_MONITOR_IMAGE_ACCOUNTS: Readonly<Record<string, string>> = {
  'us-east-1': '156813124566', 'us-east-2': '777275614652', 'us-west-1': '890145073186', 'us-west-2': '159807026194',
  'ca-central-1': '536280801234', 'sa-east-1': '539772159869', 'eu-west-1': '468650794304', 'eu-west-2': '749857270468',
  'eu-west-3': '680080141114', 'eu-central-1': '048819808253', 'eu-north-1': '895015795356', 'me-south-1': '607024016150',
  'ap-east-1': '001633400207', 'ap-south-1': '126357580389', 'ap-northeast-1': '574779866223', 'ap-northeast-2': '709848358524',
  'ap-southeast-1': '245545462676', 'ap-southeast-2': '563025443158', 'cn-north-1': '453000072557', 'cn-northwest-1': '453252182341',
};

/** `source` and `detail-type` of the event a data-quality violation produces (for retraining triggers). */
export const DATA_QUALITY_VIOLATION_EVENT = { source: 'aws.sagemaker', detailType: 'SageMaker Processing Job State Change' } as const;

export interface DataQualityMonitorProps {
  /** The endpoint to watch; it must capture data (`dataCapture` on the {@link SageMakerEndpoint}). */
  readonly endpoint: IModelEndpoint;
  /** `statistics.json` of the baseline (from a Model Monitor baselining job on the training data). */
  readonly baselineStatistics: S3ObjectLocation;
  /** `constraints.json` of the baseline. */
  readonly baselineConstraints: S3ObjectLocation;
  /** Where reports (statistics, constraint violations) are written. */
  readonly outputBucket: s3.IBucket;
  /** @default 'model-monitor/<endpoint name>/data-quality/' */
  readonly outputPrefix?: string;
  /** Schedule, a cron expression Model Monitor accepts (hourly or daily). @default 'cron(0 * ? * * *)' (hourly) */
  readonly scheduleExpression?: string;
  /** @default 'ml.m5.large' */
  readonly instanceType?: string;
  /** @default 20 */
  readonly volumeSizeInGb?: number;
  /** Upper bound of one run (at most 1 hour for hourly schedules). @default Duration.minutes(50) */
  readonly maxRuntime?: Duration;
  /** Key for the processing volume and the reports. @default - the endpoint's key */
  readonly encryptionKey?: kms.IKey;
  /** Topic told of each run with violations and each failed run (one message per run, from its event). @default - no notifications */
  readonly alarmTopic?: sns.ITopic;
  /** Run the analysis in this VPC. @default - SageMaker's network */
  readonly vpc?: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default - a new group allowing HTTPS out only */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** The analyzer image. @default - AWS's Model Monitor analyzer image of the stack's region */
  readonly analyzerImageUri?: string;
  /**
   * Flatten nested requests before the analysis: the built-in analyzer needs flat records, the platform's serving
   * paths take `{"instances": [[...], ...]}`. On, each captured request becomes one record per instance (`_c0`,
   * `_c1`, ... or `featureNames`) through `lambda/model-monitor/record_preprocessor.py`, shipped as an asset.
   * Off for endpoints whose requests already are flat records (one CSV line, a flat JSON object).
   * @default true
   */
  readonly flattenInstances?: boolean;
  /** Names of the flattened features, in request order, as the baseline statistics name them. @default - `_c0`, `_c1`, ... (Model Monitor's names for a headerless CSV) */
  readonly featureNames?: string[];
  /** Your own record preprocessor (`s3://bucket/key.py`) instead of the platform's; grant `role` read on it. @default - the platform's, with flattenInstances */
  readonly recordPreprocessorSourceUri?: string;
}

const CRON = /^cron\(.+\)$/;

/**
 * A Model Monitor data-quality schedule for an endpoint with data capture: each run flattens the captured
 * `{"instances": [[...]]}` requests into one record per instance (the platform's record preprocessor), compares them
 * to baseline statistics/constraints and writes a violations report. A run that finds violations ends with exit
 * message `CompletedWithViolations`; an EventBridge rule matches that event (see {@link violationEventPattern}) and
 * notifies `alarmTopic` once per run (the one notification path); its `MatchedEvents` count is the violation metric,
 * with an alarm that has no action (state for dashboards). Use {@link onViolation} to trigger retraining.
 */
export class DataQualityMonitor extends Construct {
  public readonly role: iam.Role;
  public readonly jobDefinition: sagemaker.CfnDataQualityJobDefinition;
  public readonly schedule: sagemaker.CfnMonitoringSchedule;
  public readonly monitoringScheduleName: string;
  /** EventBridge pattern of a run of this schedule that found violations. */
  public readonly violationEventPattern: events.EventPattern;
  public readonly violationRule: events.Rule;
  /** Alarm on violations (any run with violations in the evaluation hour). */
  public readonly violationAlarm: cloudwatch.Alarm;
  public readonly failureRule: events.Rule;
  /** The platform's record preprocessor script (with flattenInstances and no recordPreprocessorSourceUri). */
  public readonly recordPreprocessor?: s3assets.Asset;

  constructor(scope: Construct, id: string, props: DataQualityMonitorProps) {
    super(scope, id);
    const endpoint = props.endpoint;
    const capture = endpoint.dataCapture;
    const instanceType = props.instanceType ?? 'ml.m5.large';
    const volume = props.volumeSizeInGb ?? 20;
    const maxRuntime = props.maxRuntime ?? Duration.minutes(50);
    const scheduleExpression = props.scheduleExpression ?? 'cron(0 * ? * * *)';

    const v = new PropsValidator(this, 'DataQualityMonitor')
      .check(!!capture, 'endpoint', endpoint.endpointName, 'the endpoint captures no data: set dataCapture on the endpoint (serverless endpoints cannot capture)')
      .check(Token.isUnresolved(instanceType) || isSageMakerInstanceType(instanceType), 'instanceType', instanceType, 'must be an ml.* instance type such as ml.m5.large')
      .intRange('volumeSizeInGb', volume, 1, 16384, 'GB')
      .intRange('maxRuntime', maxRuntime.toSeconds(), 60, 86400, 'seconds')
      .check(Token.isUnresolved(scheduleExpression) || CRON.test(scheduleExpression), 'scheduleExpression', scheduleExpression, 'must be a cron expression such as cron(0 * ? * * *) (hourly) or cron(0 0 ? * * *) (daily)');
    const flatten = props.flattenInstances ?? true;
    v.check(props.recordPreprocessorSourceUri === undefined || Token.isUnresolved(props.recordPreprocessorSourceUri) || /^s3:\/\/[^/]+\/.+\.py$/.test(props.recordPreprocessorSourceUri),
      'recordPreprocessorSourceUri', props.recordPreprocessorSourceUri, 'must be s3://bucket/key of a .py file');
    v.check(!(props.recordPreprocessorSourceUri && props.flattenInstances === false), 'flattenInstances', props.flattenInstances, 'must not be false with recordPreprocessorSourceUri (that preprocessor would run anyway)');
    v.check(!props.featureNames || (props.featureNames.length > 0 && props.featureNames.every((n) => /^[A-Za-z_][\w.-]{0,63}$/.test(n))), 'featureNames', props.featureNames,
      'must list 1 or more names of letters, digits, "_", "." and "-", starting with a letter or "_"');
    v.check(!props.featureNames || flatten, 'featureNames', props.featureNames, 'names the platform preprocessor\'s output: needs flattenInstances');
    for (const [prop, loc] of [['baselineStatistics', props.baselineStatistics], ['baselineConstraints', props.baselineConstraints]] as const) {
      v.check(Token.isUnresolved(loc.key) || (loc.key.length > 0 && !loc.key.endsWith('/')), `${prop}.key`, loc.key, 'must be the key of a JSON object (not a prefix)');
    }
    v.throwIfInvalid();

    const stack = Stack.of(this);
    const key = props.encryptionKey ?? endpoint.encryptionKey;
    const outputPrefix = (props.outputPrefix ?? `model-monitor/${endpoint.endpointName}/data-quality/`).replace(/^\/+/, '').replace(/\/?$/, '/');
    const scheduleName = Names.uniqueResourceName(this, { maxLength: 63, separator: '-' }).toLowerCase();
    this.monitoringScheduleName = scheduleName;

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Model Monitor data-quality runs of endpoint ${endpoint.endpointName}`,
    });
    const role = this.role;
    const allow = (actions: string[], resources: string[], sid?: string) => role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions, resources }));
    for (const loc of [props.baselineStatistics, props.baselineConstraints]) {
      allow(['s3:GetObject'], [loc.bucket.arnForObjects(loc.key)]);
      if (loc.bucket.encryptionKey) allow(['kms:Decrypt'], [loc.bucket.encryptionKey.keyArn]);
    }
    if (capture) {
      allow(['s3:GetObject'], [capture.bucket.arnForObjects(`${capture.prefix}*`)], 'ReadCapturedData');
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [capture.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${capture.prefix}*`] } },
      }));
      allow(['kms:Decrypt'], [capture.encryptionKey.keyArn]);
    }
    allow(['s3:PutObject'], [props.outputBucket.arnForObjects(`${outputPrefix}*`)], 'WriteReports');
    allow(['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:DescribeKey'],
      [...new Set([key.keyArn, ...(props.outputBucket.encryptionKey ? [props.outputBucket.encryptionKey.keyArn] : [])])]);
    allow(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/ProcessingJobs:*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })], 'ProcessingLogs');
    // The analyzer publishes per-feature drift metrics; PutMetricData has no resource-level permissions.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': 'aws/sagemaker/Endpoints/data-metrics' } },
    }));

    let imageUri = props.analyzerImageUri;
    if (!imageUri) {
      const accounts = new CfnMapping(this, 'AnalyzerAccounts', {
        mapping: Object.fromEntries(Object.entries(MODEL_MONITOR_IMAGE_ACCOUNTS).map(([region, account]) => [region, { account }])),
        lazy: true,
      });
      const account = accounts.findInMap(stack.region, 'account');
      imageUri = `${account}.dkr.ecr.${stack.region}.${stack.urlSuffix}/sagemaker-model-monitor-analyzer`;
      allow(['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        [stack.formatArn({ service: 'ecr', account, resource: 'repository', resourceName: 'sagemaker-model-monitor-analyzer' })]);
      allow(['ecr:GetAuthorizationToken'], ['*']);
    }

    let vpcConfig: sagemaker.CfnDataQualityJobDefinition.VpcConfigProperty | undefined;
    if (props.vpc) {
      let groups = props.securityGroups;
      if (!groups) {
        const sg = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: props.vpc, description: `Model Monitor of ${endpoint.endpointName}: HTTPS out only`, allowAllOutbound: false });
        sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to S3, ECR and CloudWatch');
        groups = [sg];
      }
      const subnets = props.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
      vpcConfig = { securityGroupIds: groups.map((g) => g.securityGroupId), subnets: subnets.subnetIds };
      allow(['ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeNetworkInterfaces',
        'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface'], ['*']);
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterfacePermission'],
        resources: [stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' })],
        sid: 'ManageEnis',
      }));
    }

    // The platform's preprocessor, uploaded with the app's assets; the role reads exactly that object.
    let recordPreprocessorSourceUri = props.recordPreprocessorSourceUri;
    if (!recordPreprocessorSourceUri && flatten) {
      this.recordPreprocessor = new s3assets.Asset(this, 'RecordPreprocessor', { path: lambdaPath('model-monitor', 'record_preprocessor.py') });
      allow(['s3:GetObject'], [this.recordPreprocessor.bucket.arnForObjects(this.recordPreprocessor.s3ObjectKey)]);
      recordPreprocessorSourceUri = this.recordPreprocessor.s3ObjectUrl;
    }

    this.jobDefinition = new sagemaker.CfnDataQualityJobDefinition(this, 'JobDefinition', {
      roleArn: role.roleArn,
      dataQualityAppSpecification: {
        imageUri,
        environment: { publish_cloudwatch_metrics: 'Enabled', ...(props.featureNames ? { FEATURE_NAMES: props.featureNames.join(',') } : {}) },
        recordPreprocessorSourceUri,
      },
      dataQualityBaselineConfig: {
        statisticsResource: { s3Uri: props.baselineStatistics.bucket.s3UrlForObject(props.baselineStatistics.key) },
        constraintsResource: { s3Uri: props.baselineConstraints.bucket.s3UrlForObject(props.baselineConstraints.key) },
      },
      dataQualityJobInput: {
        endpointInput: {
          endpointName: endpoint.endpointName,
          localPath: '/opt/ml/processing/input/endpoint',
          s3InputMode: 'File',
          s3DataDistributionType: 'FullyReplicated',
        },
      },
      dataQualityJobOutputConfig: {
        kmsKeyId: key.keyArn,
        monitoringOutputs: [{ s3Output: { s3Uri: props.outputBucket.s3UrlForObject(outputPrefix.replace(/\/$/, '')), localPath: '/opt/ml/processing/output', s3UploadMode: 'EndOfJob' } }],
      },
      jobResources: { clusterConfig: { instanceCount: 1, instanceType, volumeSizeInGb: volume, volumeKmsKeyId: key.keyArn } },
      networkConfig: { enableInterContainerTrafficEncryption: true, enableNetworkIsolation: false, vpcConfig },
      stoppingCondition: { maxRuntimeInSeconds: maxRuntime.toSeconds() },
    });
    // The role's policy must exist before SageMaker validates the job definition.
    this.jobDefinition.node.addDependency(role);

    this.schedule = new sagemaker.CfnMonitoringSchedule(this, 'Schedule', {
      monitoringScheduleName: scheduleName,
      monitoringScheduleConfig: {
        // CloudFormation generates the definition's name (any change replaces it); the name is the ARN's last part.
        monitoringJobDefinitionName: Fn.select(1, Fn.split('/', this.jobDefinition.attrJobDefinitionArn)),
        monitoringType: 'DataQuality',
        scheduleConfig: { scheduleExpression },
      },
    });
    // Model Monitor reads the endpoint's capture, so the endpoint must exist first.
    this.schedule.node.addDependency(endpoint);

    const scheduleArn = stack.formatArn({ service: 'sagemaker', resource: 'monitoring-schedule', resourceName: scheduleName });
    // Each run is a processing job carrying the schedule's ARN; violations end it with this exit message.
    this.violationEventPattern = {
      source: [DATA_QUALITY_VIOLATION_EVENT.source],
      detailType: [DATA_QUALITY_VIOLATION_EVENT.detailType],
      detail: {
        MonitoringScheduleArn: [scheduleArn],
        ProcessingJobStatus: ['Completed'],
        ExitMessage: events.Match.prefix('CompletedWithViolations'),
      },
    };
    this.violationRule = new events.Rule(this, 'ViolationRule', {
      description: `Data-quality violations on endpoint ${endpoint.endpointName}`,
      eventPattern: this.violationEventPattern,
    });
    this.failureRule = new events.Rule(this, 'FailureRule', {
      description: `Failed data-quality runs on endpoint ${endpoint.endpointName}`,
      eventPattern: {
        source: [DATA_QUALITY_VIOLATION_EVENT.source],
        detailType: [DATA_QUALITY_VIOLATION_EVENT.detailType],
        detail: { MonitoringScheduleArn: [scheduleArn], ProcessingJobStatus: ['Failed'] },
      },
    });
    if (props.alarmTopic) {
      this.violationRule.addTarget(new targets.SnsTopic(props.alarmTopic));
      this.failureRule.addTarget(new targets.SnsTopic(props.alarmTopic));
    }
    this.violationAlarm = this.metricViolations().createAlarm(this, 'ViolationAlarm', {
      alarmDescription: `Model Monitor found data-quality violations on endpoint ${endpoint.endpointName} (report under s3://…/${outputPrefix})`,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // No alarm action: the violation rule already tells alarmTopic of each run with violations (the event names the
    // run and its report); an action here would notify a second time for the same violation. The alarm is state
    // for dashboards and composites.
    acknowledge(this.violationAlarm, compliancePackIds('CloudWatchAlarmAction'),
      'Each run with violations is already notified, once, by the violation rule (to alarmTopic); an alarm action would send a second message for the same violation.');

    acknowledgePolicyWildcards(role, {
      ReadCapturedData: 'SageMaker writes captured requests under generated keys; reads are limited to the endpoint\'s capture prefix.',
      WriteReports: 'Model Monitor writes reports under generated keys; writes are limited to the monitor\'s output prefix.',
      ProcessingLogs: 'Processing jobs log to /aws/sagemaker/ProcessingJobs with generated stream names; no other log group is reachable.',
      ManageEnis: 'SageMaker attaches network interfaces with generated ids to the processing job.',
    }, 'ecr:GetAuthorizationToken, cloudwatch:PutMetricData (limited by a namespace condition) and the EC2 calls SageMaker makes for VPC networking have no resource-level permissions.');
    acknowledge(role, compliancePackIds('IAMNoInlinePolicy'),
      'The default policy CDK generates for this one monitoring role from scoped grants; it is not shared with other roles.');
  }

  /** Runs of this schedule that found violations (EventBridge `MatchedEvents` of the violation rule, Sum per hour). */
  public metricViolations(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'MatchedEvents',
      dimensionsMap: { RuleName: this.violationRule.ruleName },
      statistic: 'Sum',
      period: Duration.hours(1),
      ...props,
    });
  }

  /** A rule on violations of this schedule, e.g. to start a retraining pipeline. */
  public onViolation(id: string, options: events.OnEventOptions = {}): events.Rule {
    const rule = new events.Rule(this, id, {
      description: options.description,
      ruleName: options.ruleName,
      eventPattern: { ...this.violationEventPattern, ...options.eventPattern },
    });
    if (options.target) rule.addTarget(options.target);
    return rule;
  }
}
