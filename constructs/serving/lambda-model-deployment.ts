import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../core/defaults';
import { handlerCode } from '../core/handler-code';
import { acknowledge, acknowledgeCheck, acknowledgeControls, acknowledgeResourceWildcards, compliancePackIds } from '../core/nag';
import { PropsValidator } from '../core/validation';
import { type LambdaInference } from './lambda-inference';
import { approvedPackagePattern, type IModelPackageGroup, TRAINING_OUTPUT_PREFIX } from './model-registry';

export interface LambdaModelDeploymentProps {
  /**
   * The function approved versions are rolled onto. It needs literal `functionName`, `deploymentApplicationName` and
   * `deploymentGroupName` (the handler names them; a reference would make the function's model depend on itself) and
   * canary deployments (the alias shifts through its CodeDeploy deployment group).
   */
  readonly inference: LambdaInference;
  /** The group whose Approved versions are deployed (e.g. a {@link ModelRegistry} the model pipeline promotes into). */
  readonly modelPackageGroup: IModelPackageGroup;
  /** Bucket the handler copies each version's ONNX model to; the function's role reads it there. */
  readonly modelBucket: s3.IBucket;
  /** Key prefix of the copies, ending in `/`. @default 'lambda-models/<function name>/' */
  readonly modelPrefix?: string;
  /**
   * Key patterns of the registered model archives the handler may read (the packages' `ModelDataUrl`), in any bucket
   * of `sourceAccounts`. @default ['training-jobs/* /output/model.tar.gz'] (a model pipeline's SageMaker training jobs)
   */
  readonly sourceModelKeys?: string[];
  /** Accounts whose buckets hold the registered models (the model pipeline's): their bucket and key policies must admit the handler's role. @default - this account */
  readonly sourceAccounts?: string[];
  /** Name of the handler's role, for bucket and key policies of other accounts. @default - generated */
  readonly roleName?: string;
  /** Told when a deployment fails for good (dead-letter queue) or the handler crashes. @default - alarms without actions */
  readonly alarmTopic?: sns.ITopic;
  /** Key of the queues and the handler's log group. @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** Deliveries of one event before it moves to the dead-letter queue. @default 12 */
  readonly maxReceiveCount?: number;
  /** Wait before a deferred event (alias shifting) is delivered again; at least 6 minutes (a canary takes minutes). @default Duration.minutes(10) */
  readonly retryInterval?: Duration;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Approval-driven deployment to a {@link LambdaInference} function: EventBridge ("SageMaker Model Package State
 * Change", Approved) → KMS-encrypted SQS queue → the `lambda/lambda-model-approval` handler, which copies the version's
 * ONNX model to `modelBucket`, publishes a function version serving it (`MODEL_S3_KEY`, `MODEL_PACKAGE_ARN`) and
 * shifts the alias to it through the function's CodeDeploy deployment group (canary, alarm rollback). The handler also
 * answers the function's `Custom::ServedModel`, so a stack deploy keeps the approved model (one owner of the model).
 */
export class LambdaModelDeployment extends Construct {
  public readonly handler: lambda.Function;
  public readonly role: iam.Role;
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly approvalRule: events.Rule;
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** Prefix of the model copies in the model bucket. */
  public readonly modelPrefix: string;

  constructor(scope: Construct, id: string, props: LambdaModelDeploymentProps) {
    super(scope, id);
    const inf = props.inference;
    const names = inf.physicalNames;
    const groupName = props.modelPackageGroup.modelPackageGroupName;
    const v = new PropsValidator(this, 'LambdaModelDeployment')
      .check(names.functionName !== undefined && !Token.isUnresolved(names.functionName), 'inference', names.functionName, 'must have a literal functionName (the handler names the function its answer configures)')
      .check(!!inf.deploymentGroup && !!names.deploymentApplicationName && !!names.deploymentGroupName, 'inference', names,
        'must have canary deployments with literal deploymentApplicationName and deploymentGroupName (the alias shifts through that deployment group)')
      .check(!Token.isUnresolved(groupName), 'modelPackageGroup', groupName, 'the group name must be known at synth time (it scopes the rule and the handler\'s permissions)');
    if (props.maxReceiveCount !== undefined) v.intRange('maxReceiveCount', props.maxReceiveCount, 1, 1000, 'deliveries');
    if (props.retryInterval) v.intRange('retryInterval', props.retryInterval.toSeconds(), 360, 43200, 'seconds (6 minutes to 12 hours)');
    for (const a of props.sourceAccounts ?? []) v.check(Token.isUnresolved(a) || /^\d{12}$/.test(a), 'sourceAccounts', a, 'each must be a 12-digit account id');
    this.modelPrefix = props.modelPrefix ?? `lambda-models/${names.functionName}/`;
    v.check(/^[A-Za-z0-9!_.*'()/-]{1,512}\/$/.test(this.modelPrefix), 'modelPrefix', this.modelPrefix, 'must be an S3 key prefix ending in "/"');
    v.throwIfInvalid();

    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const functionName = names.functionName!;
    const application = names.deploymentApplicationName!;
    const deploymentGroup = names.deploymentGroupName!;
    const key = props.encryptionKey ?? platformKey(this, 'Key', {
      description: `Model deployments to ${functionName}`, removalPolicy, servicePrincipals: ['events.amazonaws.com', logsServicePrincipal(this)],
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true, retentionPeriod: Duration.days(14) });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true,
      visibilityTimeout: props.retryInterval ?? Duration.minutes(10), retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 12 },
    });
    acknowledgeControls(this.deadLetterQueue, ['CT.SQS.PR.1 sqs_dlq_check'],
      'This queue is the dead-letter queue of the deployment queue: messages land here after the retries and stay 14 days for inspection.');
    this.approvalRule = new events.Rule(this, 'ApprovedRule', {
      description: `Approved versions of model package group ${groupName} → deployment to Lambda function ${functionName}`,
      eventPattern: approvedPackagePattern(groupName),
      targets: [new targets.SqsQueue(this.queue)],
    });

    this.role = new iam.Role(this, 'HandlerRole', {
      roleName: props.roleName,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Deploys approved ${groupName} versions to Lambda function ${functionName}`,
    });
    const logGroup = encryptedLogGroup(this, 'HandlerLogs', { encryptionKey: key, retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy });
    logGroup.grantWrite(this.role);
    const arn = (service: string, resource: string, resourceName: string, sep = ':') => `arn:${stack.partition}:${service}:${stack.region}:${stack.account}:${resource}${sep}${resourceName}`;
    const fnArn = arn('lambda', 'function', functionName);
    const packages = arn('sagemaker', 'model-package', `${groupName.toLowerCase()}/*`, '/');
    const versions = `${fnArn}:*`;
    const configs = arn('codedeploy', 'deploymentconfig', '*');
    const copies = props.modelBucket.arnForObjects(`${this.modelPrefix}*`);
    const sources = (props.sourceModelKeys ?? [`${TRAINING_OUTPUT_PREFIX}*/output/model.tar.gz`]).map((k) => `arn:${stack.partition}:s3:::*/${k}`);
    const accounts = props.sourceAccounts?.length ? props.sourceAccounts : [stack.account];
    const sourceKeyArns = accounts.map((a) => `arn:${stack.partition}:kms:${stack.region}:${a}:key/*`);
    const statements: iam.PolicyStatement[] = [
      new iam.PolicyStatement({ sid: 'ReadApprovedPackages', actions: ['sagemaker:DescribeModelPackage'], resources: [packages] }),
      // The newest approved version for a function without an alias (Custom::ServedModel): no resource-level permissions.
      new iam.PolicyStatement({ sid: 'FindNewestApproved', actions: ['sagemaker:ListModelPackages'], resources: ['*'] }),
      new iam.PolicyStatement({ sid: 'ReadAlias', actions: ['lambda:GetAlias'], resources: [`${fnArn}:${inf.aliasName}`] }),
      new iam.PolicyStatement({ sid: 'PublishModelVersions', actions: ['lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionConfiguration', 'lambda:PublishVersion', 'lambda:ListVersionsByFunction'], resources: [fnArn] }),
      new iam.PolicyStatement({ sid: 'ReadVersions', actions: ['lambda:GetFunctionConfiguration'], resources: [versions] }),
      new iam.PolicyStatement({ sid: 'ShiftAlias', actions: ['codedeploy:CreateDeployment'], resources: [arn('codedeploy', 'deploymentgroup', `${application}/${deploymentGroup}`)] }),
      new iam.PolicyStatement({ sid: 'ReadDeploymentConfigs', actions: ['codedeploy:GetDeploymentConfig'], resources: [configs] }),
      new iam.PolicyStatement({ actions: ['codedeploy:GetApplicationRevision', 'codedeploy:RegisterApplicationRevision'], resources: [arn('codedeploy', 'application', application)] }),
      new iam.PolicyStatement({ sid: 'WriteModelCopies', actions: ['s3:GetObject', 's3:PutObject'], resources: [copies] }),
      // HeadObject of a copy not written yet answers 404 (not 403) only with ListBucket on its prefix.
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.modelBucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${this.modelPrefix}*`] } } }),
      new iam.PolicyStatement({ sid: 'ReadRegisteredModels', actions: ['s3:GetObject'], resources: sources, conditions: { StringEquals: { 'aws:ResourceAccount': accounts } } }),
      new iam.PolicyStatement({ sid: 'DecryptRegisteredModels', actions: ['kms:Decrypt'], resources: sourceKeyArns, conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } } }),
    ];
    for (const s of statements) this.role.addToPrincipalPolicy(s);
    props.modelBucket.encryptionKey?.grant(this.role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
    acknowledgeResourceWildcards(this.role, [packages, versions, configs, copies, ...sources, ...sourceKeyArns],
      'Package versions, function versions and model copies are numbered at run time (limited to one group, one function and its copy prefix); CodeDeploy reads its predefined deployment configs by name; registered models are training-job archives in buckets of the named accounts, whose generated bucket and key names this account cannot know (aws:ResourceAccount, kms:ViaService s3).');
    acknowledgeResourceWildcards(this.role, ['*'], 'sagemaker:ListModelPackages (the newest approved version of the group for a new function) has no resource-level permissions.');

    this.handler = new lambda.Function(this, 'Handler', {
      description: `Deploys approved versions of ${groupName} to ${functionName}:${inf.aliasName}`,
      code: handlerCode('lambda-model-approval'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      // Models are copied through memory (a training archive is unpacked to its ONNX file).
      memorySize: 1024,
      timeout: Duration.minutes(2),
      role: this.role,
      logGroup,
      environment: {
        FUNCTION_NAME: functionName,
        ALIAS_NAME: inf.aliasName,
        MODEL_PACKAGE_GROUP_NAME: groupName,
        CODEDEPLOY_APPLICATION: application,
        CODEDEPLOY_DEPLOYMENT_GROUP: deploymentGroup,
        MODEL_BUCKET: props.modelBucket.bucketName,
        MODEL_PREFIX: this.modelPrefix,
        POWERTOOLS_SERVICE_NAME: 'lambda-model-approval',
        POWERTOOLS_METRICS_NAMESPACE: 'cdk-mlops',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    this.handler.addEventSource(new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: 2 }));
    acknowledgeCheck(this.handler, 'lambdaInsideVpc', 'The handler calls only AWS APIs (SageMaker, Lambda, CodeDeploy, S3) with IAM-signed TLS requests and reaches nothing inside a VPC.');
    acknowledge(this.role, compliancePackIds('IAMNoInlinePolicy'), 'The default policy CDK generates for this one handler role from scoped statements; it is not shared with other roles.');
    acknowledge(this.handler, compliancePackIds('LambdaDLQ'), 'Invoked by an SQS event source mapping, where a function DLQ never applies; the source queue redrives failed events to its own KMS-encrypted dead-letter queue.');
    acknowledge(this.handler, compliancePackIds('LambdaConcurrency'), 'Concurrency is bounded by the SQS event source mapping (maxConcurrency 2); reserved concurrency would fail in accounts at the minimum unreserved quota.');

    // The function reads the copies; its environment names the model the handler answers for (one owner).
    iam.Grant.addToPrincipal({ grantee: inf.role, actions: ['s3:GetObject'], resourceArns: [copies] });
    props.modelBucket.encryptionKey?.grantDecrypt(inf.role);
    acknowledgeResourceWildcards(inf.role, [copies], 'Each approved version\'s model is copied under its own key (version and package hash); read access is limited to this function\'s copy prefix.');
    inf.chooseModelWith(this.handler);

    this.alarms.push(
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }).createAlarm(this, 'DeadLetterAlarm', {
        alarmDescription: `Approved ${groupName} versions could not be deployed to ${functionName} (see the dead-letter queue and the handler's logs)`,
        threshold: 1, evaluationPeriods: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      this.handler.metricErrors({ period: Duration.minutes(5) }).createAlarm(this, 'HandlerErrorAlarm', {
        alarmDescription: `The Lambda model deployment handler of ${groupName} crashed`,
        threshold: 1, evaluationPeriods: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    if (props.alarmTopic) for (const alarm of this.alarms) alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
  }
}
