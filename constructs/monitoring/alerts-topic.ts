import { ArnFormat, type RemovalPolicy, Stack } from 'aws-cdk-lib';
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

/** The AWS services that publish alerts, and the `aws:SourceArn` pattern of their resources in the topic's account. */
const ALERT_SOURCES: Readonly<Record<string, (stack: Stack) => string>> = {
  'cloudwatch.amazonaws.com': (stack) => stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
  'events.amazonaws.com': (stack) => stack.formatArn({ service: 'events', resource: 'rule', resourceName: '*' }),
};

/**
 * A topic whose `grantPublish` to CloudWatch or EventBridge adds a topic-policy allow scoped to this account's
 * alarms or rules (`aws:SourceAccount`, `aws:SourceArn`), so every `SnsAction` and `targets.SnsTopic` that reaches
 * it through aws-cdk-lib gets the confused-deputy conditions instead of an unconditioned service allow.
 */
class ScopedPublishTopic extends sns.Topic {
  public override grantPublish(grantee: iam.IGrantable): iam.Grant {
    const principal = grantee.grantPrincipal;
    const sourceArn = principal instanceof iam.ServicePrincipal ? ALERT_SOURCES[principal.service] : undefined;
    if (!sourceArn || !(principal instanceof iam.ServicePrincipal)) return super.grantPublish(grantee);
    const stack = Stack.of(this);
    const scoped = new iam.ServicePrincipal(principal.service, {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': sourceArn(stack) } },
    });
    // The key policy already lets these services use the key (see the constructor); no key statement here.
    return iam.Grant.addToPrincipalOrResource({ grantee: scoped, actions: ['sns:Publish'], resourceArns: [this.topicArn], resource: this });
  }
}

/**
 * The SNS topic all platform alarms and failure events go to: KMS-encrypted, publish only over TLS, with
 * optional email subscriptions. Its topic policy lets CloudWatch alarms and EventBridge rules of this account and
 * region publish (conditions `aws:SourceAccount` and `aws:SourceArn`), and its key policy lets both services use the
 * key. A topic policy replaces SNS's default one, so without the CloudWatch allow no alarm could notify.
 */
export class AlertsTopic extends Construct {
  /**
   * The topic. Its `grantPublish` to `cloudwatch.amazonaws.com` or `events.amazonaws.com` adds the scoped allow;
   * to any other principal it is `sns.Topic`'s.
   */
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
    this.topic = new ScopedPublishTopic(this, 'Topic', {
      displayName: props.displayName ?? 'ML platform alerts',
      masterKey: this.encryptionKey,
      enforceSSL: true,
    });
    // Alarm actions (`SnsAction`) grant nothing themselves: the CloudWatch allow has to be in the topic policy.
    for (const service of Object.keys(ALERT_SOURCES)) this.topic.grantPublish(new iam.ServicePrincipal(service));
    for (const e of emails) this.topic.addSubscription(new subscriptions.EmailSubscription(e));
  }

  /** Allow a principal to publish alerts. */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    // Topic.grantPublish would add `kms:GenerateDataKey*`; explicit actions keep the grant free of wildcards.
    this.encryptionKey.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    return iam.Grant.addToPrincipalOrResource({ grantee, actions: ['sns:Publish'], resourceArns: [this.topic.topicArn], resource: this.topic });
  }
}
