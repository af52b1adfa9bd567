import { type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { platformKey } from '../core/defaults';
import { PropsValidator } from '../core/validation';

export interface AlertsTopicProps {
  /** Email addresses subscribed to alerts (each must confirm). @default - none */
  readonly emails?: string[];
  /** @default - a new customer-managed key that CloudWatch alarms and EventBridge may use */
  readonly encryptionKey?: kms.IKey;
  /** @default 'ML platform alerts' */
  readonly displayName?: string;
  /** Removal policy of the key the construct creates. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The SNS topic all platform alarms and failure events go to: KMS-encrypted, publish only over TLS, with
 * optional email subscriptions. CloudWatch alarms and EventBridge rules can publish through the key policy.
 */
export class AlertsTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: AlertsTopicProps = {}) {
    super(scope, id);
    const emails = props.emails ?? [];
    const v = new PropsValidator(this, 'AlertsTopic');
    for (const e of emails) v.check(/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e), 'emails', e, 'each must be an email address');
    v.throwIfInvalid();

    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', {
      description: 'ML platform alerts topic',
      removalPolicy: props.removalPolicy,
      servicePrincipals: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'],
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName ?? 'ML platform alerts',
      masterKey: this.encryptionKey,
      enforceSSL: true,
    });
    for (const e of emails) this.topic.addSubscription(new subscriptions.EmailSubscription(e));
  }

  /** Allow a principal to publish alerts. */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    // Topic.grantPublish would add `kms:GenerateDataKey*`; explicit actions keep the grant free of wildcards.
    this.encryptionKey.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    return iam.Grant.addToPrincipalOrResource({ grantee, actions: ['sns:Publish'], resourceArns: [this.topic.topicArn], resource: this.topic });
  }
}
