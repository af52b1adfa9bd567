import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../core/defaults';
import { acknowledge } from '../core/nag';
import { PropsValidator } from '../core/validation';

/** A drift detector: the EventBridge pattern of its violation events (e.g. `DataQualityMonitor.violationEventPattern`). */
export interface DriftSource {
  /** What drifted, for the reason, e.g. the endpoint name. */
  readonly name: string;
  readonly violationEventPattern: events.EventPattern;
  /** What kind of check found the drift, for the reason. @default 'data-quality' */
  readonly kind?: string;
}

export interface RetrainOnDriftProps {
  /** The detectors whose violations request retraining. */
  readonly sources: DriftSource[];
  /** `source` of the retraining request event (what the delivery pipeline's retrain rule matches). */
  readonly requestSource: string;
  /** `detail-type` of the retraining request event. */
  readonly requestDetailType: string;
  /** Bus the request goes to. @default - the account's default event bus */
  readonly eventBus?: events.IEventBus;
  /** Key of the state machine and its logs. @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Closes the retraining loop: a drift violation (e.g. a Model Monitor data-quality run that completed with
 * violations) → an EventBridge rule per source → a small Express state machine that publishes the platform's
 * retraining request event, carrying the reason (what drifted, which monitoring run, when) → the model delivery
 * pipeline's retrain rule starts the pipeline.
 *
 * The hop through Step Functions is what lets the request carry a reason: a rule cannot send a re-shaped event
 * to its own bus, and the CodePipeline target takes no input. Every request is in the state machine's log.
 */
export class RetrainOnDrift extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** One rule per source, in order. */
  public readonly rules: events.Rule[];
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: RetrainOnDriftProps) {
    super(scope, id);
    const v = new PropsValidator(this, 'RetrainOnDrift')
      .check(props.sources.length > 0, 'sources', props.sources.length, 'must list at least one drift source')
      .check(/^[A-Za-z0-9._-]{1,256}$/.test(props.requestSource) && !props.requestSource.startsWith('aws.'), 'requestSource', props.requestSource,
        'must be an event source such as cdk-mlops.monitoring (not starting with "aws.")')
      .check(props.requestDetailType.length > 0 && props.requestDetailType.length <= 128, 'requestDetailType', props.requestDetailType, 'must be 1-128 characters');
    props.sources.forEach((s, i) => v.check(/^[A-Za-z0-9._-]{1,128}$/.test(s.name), `sources[${i}].name`, s.name, 'must be 1-128 letters, digits, ".", "_" and "-"'));
    v.throwIfInvalid();

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', {
      description: 'Drift-triggered retraining requests (state machine and logs)',
      removalPolicy,
      servicePrincipals: [logsServicePrincipal(this)],
    });
    const logGroup = encryptedLogGroup(this, 'Logs', {
      encryptionKey: this.encryptionKey, retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy,
    });

    const publish = new tasks.EventBridgePutEvents(this, 'RequestRetraining', {
      entries: [{
        source: props.requestSource,
        detailType: props.requestDetailType,
        eventBus: props.eventBus,
        detail: sfn.TaskInput.fromObject({
          'reason.$': '$.reason',
          'trigger': 'drift',
          'source.$': '$.source',
          'kind.$': '$.kind',
          'monitoringScheduleArn.$': '$.monitoringScheduleArn',
          'processingJobName.$': '$.processingJobName',
          'detectedAt.$': '$.detectedAt',
        }),
      }],
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      comment: 'Publishes a retraining request with its reason when drift is detected',
      definitionBody: sfn.DefinitionBody.fromChainable(publish),
      timeout: Duration.minutes(1),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(this.encryptionKey),
    });
    acknowledge(this.stateMachine.role.node.tryFindChild('DefaultPolicy') ?? this.stateMachine.role, ['AwsSolutions-IAM5[Resource::*]'],
      'Step Functions log delivery (logs:CreateLogDelivery, ...) and X-Ray actions support only Resource "*"; events:PutEvents names the bus.');

    this.rules = props.sources.map((s) => {
      const kind = s.kind ?? 'data-quality';
      return new events.Rule(this, `On-${s.name}`, {
        description: `Drift (${kind}) on ${s.name} requests retraining`,
        eventPattern: s.violationEventPattern,
        targets: [new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({
            reason: `Drift detected: ${kind} violations on ${s.name} (${events.EventField.fromPath('$.detail.ExitMessage')})`,
            source: s.name,
            kind,
            monitoringScheduleArn: events.EventField.fromPath('$.detail.MonitoringScheduleArn'),
            processingJobName: events.EventField.fromPath('$.detail.ProcessingJobName'),
            detectedAt: events.EventField.time,
          }),
          retryAttempts: 10,
          maxEventAge: Duration.hours(6),
        })],
      });
    });
  }
}
