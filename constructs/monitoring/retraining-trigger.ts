import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../core/defaults';
import { handlerCode } from '../core/handler-code';
import { acknowledge, acknowledgeCheck, acknowledgeControls, compliancePackIds } from '../core/nag';
import { PropsValidator } from '../core/validation';
import { DRIFT_METRICS_NAMESPACE } from './drift-detection';

export interface RetrainingTriggerProps {
  /** The model delivery pipeline (CodePipeline V2) that retrains; it must declare `reasonVariable`. */
  readonly pipeline: codepipeline.IPipeline;
  /** Name of the retraining bus drift events arrive on (from every serving account). */
  readonly eventBusName: string;
  /** Accounts whose drift events the bus accepts, besides this one. @default - none (this account only) */
  readonly sourceAccounts?: string[];
  /** `source` and `detail-type` of the retraining request event. */
  readonly requestSource: string;
  readonly requestDetailType: string;
  /** One retraining run per model within this window. @default Duration.hours(24) */
  readonly cooldown?: Duration;
  /** Pipeline variable that receives the reason. @default 'RetrainReason' */
  readonly reasonVariable?: string;
  /** Key of the bus' dead-letter queue, the cooldown table and the logs. @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The pipeline account's end of drift → retraining: a retraining event bus whose resource policy lets the serving
 * accounts put events, a rule matching the retraining request, and a small handler (`lambda/retrain-trigger`) that
 * starts the pipeline with the reason as a pipeline variable — once per model per cooldown, absorbed while a run is
 * in progress. Undeliverable events go to an encrypted dead-letter queue.
 */
export class RetrainingTrigger extends Construct {
  public readonly eventBus: events.EventBus;
  public readonly rule: events.Rule;
  public readonly function: lambda.Function;
  public readonly table: dynamodb.Table;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: RetrainingTriggerProps) {
    super(scope, id);
    const cooldown = props.cooldown ?? Duration.hours(24);
    const reasonVariable = props.reasonVariable ?? 'RetrainReason';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const stack = Stack.of(this);
    const v = new PropsValidator(this, 'RetrainingTrigger')
      .check(/^[A-Za-z0-9._-]{1,256}$/.test(props.eventBusName) && props.eventBusName !== 'default', 'eventBusName', props.eventBusName, 'must be 1-256 letters, digits, ".", "_" and "-", not "default"')
      .check(cooldown.toSeconds() >= 60 && cooldown.toSeconds() <= 90 * 86400, 'cooldown', `${cooldown.toMinutes({ integral: false })} minutes`, 'must be 1 minute to 90 days')
      .check(/^[A-Za-z0-9@\-_]{1,128}$/.test(reasonVariable), 'reasonVariable', reasonVariable, 'must be a CodePipeline variable name (letters, digits, @, - and _)');
    (props.sourceAccounts ?? []).forEach((a, i) => v.check(Token.isUnresolved(a) || /^\d{12}$/.test(a), `sourceAccounts[${i}]`, a, 'must be a 12-digit account id'));
    v.throwIfInvalid();

    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', {
      description: 'Retraining trigger: dead-letter queue, cooldown table and logs', removalPolicy,
      servicePrincipals: [logsServicePrincipal(this), 'events.amazonaws.com'],
    });

    this.eventBus = new events.EventBus(this, 'Bus', { eventBusName: props.eventBusName, description: 'Retraining requests from every stage\'s drift detection' });
    const others = [...new Set((props.sourceAccounts ?? []).filter((a) => a !== stack.account))];
    if (others.length > 0) {
      // The policy on the bus itself (not an AWS::Events::EventBusPolicy), one document the bus owns.
      const statement = new iam.PolicyStatement({
        sid: 'ServingAccountsPutRetrainingRequests',
        principals: others.map((a) => new iam.AccountPrincipal(a)),
        actions: ['events:PutEvents'],
        // Built from the name: the bus' own ARN attribute inside its own policy would be a circular reference.
        resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: props.eventBusName })],
        // Only the retraining request: a serving account cannot inject other events into this account. The keys are
        // multivalued (one value per entry of a PutEvents call): every entry must match, and they must be present.
        conditions: {
          'ForAllValues:StringEquals': { 'events:source': [props.requestSource], 'events:detail-type': [props.requestDetailType] },
          'Null': { 'events:source': 'false', 'events:detail-type': 'false' },
        },
      });
      (this.eventBus.node.defaultChild as events.CfnEventBus).policy = new iam.PolicyDocument({ statements: [statement] }).toJSON();
    }

    this.table = new dynamodb.Table(this, 'Cooldowns', {
      partitionKey: { name: 'model', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });

    const logGroup = encryptedLogGroup(this, 'Logs', { encryptionKey: this.encryptionKey, retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy });
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: 'Starts the model pipeline on drift' });
    logGroup.grantWrite(role);
    // One dead-letter queue for both failures: events the rule could not deliver, and deliveries the function failed
    // after Lambda's own retries (the function's DLQ), so no retraining request is lost silently.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: this.encryptionKey, enforceSSL: true, retentionPeriod: Duration.days(14), removalPolicy,
    });
    this.encryptionKey.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.function = new lambda.Function(this, 'Function', {
      description: `Starts ${props.pipeline.pipelineName} on drift, once per model per cooldown`,
      code: handlerCode('retrain-trigger'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      // Serializes the in-progress check and the start; EventBridge retries throttled deliveries.
      reservedConcurrentExecutions: 1,
      deadLetterQueue: this.deadLetterQueue,
      environment: {
        PIPELINE_NAME: props.pipeline.pipelineName,
        TABLE_NAME: this.table.tableName,
        REASON_VARIABLE: reasonVariable,
        COOLDOWN_SECONDS: String(cooldown.toSeconds()),
        POWERTOOLS_SERVICE_NAME: 'retrain-trigger',
        POWERTOOLS_METRICS_NAMESPACE: DRIFT_METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    this.table.grant(role, 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['codepipeline:StartPipelineExecution', 'codepipeline:ListPipelineExecutions'], resources: [props.pipeline.pipelineArn] }));
    acknowledge(role.node.tryFindChild('DefaultPolicy') ?? role, ['AwsSolutions-IAM5[Resource::*]'],
      'X-Ray PutTraceSegments and PutTelemetryRecords (added by tracing: ACTIVE) support only Resource "*".');

    acknowledgeCheck(this.function, 'lambdaInsideVpc',
      'The trigger calls only AWS service APIs (CodePipeline, DynamoDB) with IAM-signed TLS requests and reaches nothing inside a VPC; in a VPC it would need NAT or interface endpoints for the same calls.');
    acknowledge(this.table, compliancePackIds('DynamoDBInBackupPlan'),
      'Holds only the last start time per model (the retraining cooldown), with point-in-time recovery on; losing it means at most one extra retraining run, so an AWS Backup plan adds nothing.');
    acknowledge(this.deadLetterQueue, ['AwsSolutions-SQS3'], 'This queue is itself the dead-letter queue of the retraining rule.');
    acknowledgeControls(this.deadLetterQueue, ['CT.SQS.PR.1 sqs_dlq_check'],
      'This queue is itself the dead-letter queue of the retraining rule and its function: undeliverable events stay 14 days for inspection; a dead-letter queue of its own would only move them again.');
    this.rule = new events.Rule(this, 'Rule', {
      eventBus: this.eventBus,
      description: 'Drift anywhere requests retraining: starts the model delivery pipeline (debounced)',
      eventPattern: { source: [props.requestSource], detailType: [props.requestDetailType] },
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 20, maxEventAge: Duration.hours(6), deadLetterQueue: this.deadLetterQueue })],
    });
  }
}
