import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { platformKey } from '../core/defaults';
import { acknowledge, acknowledgeControls } from '../core/nag';
import { PropsValidator } from '../core/validation';

export interface RetrainingRequestForwarderProps {
  /** The retraining bus in the pipeline's account (e.g. `events.EventBus.fromEventBusArn`). */
  readonly retrainingBus: events.IEventBus;
  /** `source` and `detail-type` of the retraining request event. */
  readonly requestSource: string;
  readonly requestDetailType: string;
  /** Bus the local drift detectors publish on. @default - the account's default bus */
  readonly sourceBus?: events.IEventBus;
  /** Key of the dead-letter queue. @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The serving account's end of drift → retraining: a rule on the local bus that forwards every retraining request
 * (from the drift job or Model Monitor's `RetrainOnDrift`) to the retraining bus in the pipeline's account, with a
 * role allowed to put events there and an encrypted dead-letter queue for what cannot be delivered.
 */
export class RetrainingRequestForwarder extends Construct {
  public readonly rule: events.Rule;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: RetrainingRequestForwarderProps) {
    super(scope, id);
    new PropsValidator(this, 'RetrainingRequestForwarder')
      .check(/^[A-Za-z0-9._-]{1,256}$/.test(props.requestSource) && !props.requestSource.startsWith('aws.'), 'requestSource', props.requestSource, 'must be an event source such as cdk-mlops.monitoring (not starting with "aws.")')
      .check(props.requestDetailType.length > 0 && props.requestDetailType.length <= 128, 'requestDetailType', props.requestDetailType, 'must be 1-128 characters')
      .throwIfInvalid();
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const key = props.encryptionKey ?? platformKey(this, 'Key', { description: 'Undeliverable retraining requests', removalPolicy, servicePrincipals: ['events.amazonaws.com'] });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true, retentionPeriod: Duration.days(14), removalPolicy,
    });
    acknowledge(this.deadLetterQueue, ['AwsSolutions-SQS3'], 'This queue is itself the dead-letter queue of the forwarding rule.');
    acknowledgeControls(this.deadLetterQueue, ['CT.SQS.PR.1 sqs_dlq_check'],
      'This queue is itself the dead-letter queue of the forwarding rule: undeliverable events stay 14 days for inspection; a dead-letter queue of its own would only move them again.');
    this.rule = new events.Rule(this, 'Rule', {
      eventBus: props.sourceBus,
      description: 'Forwards retraining requests to the model pipeline\'s retraining bus',
      eventPattern: { source: [props.requestSource], detailType: [props.requestDetailType] },
      targets: [new targets.EventBus(props.retrainingBus, { deadLetterQueue: this.deadLetterQueue })],
    });
  }
}
