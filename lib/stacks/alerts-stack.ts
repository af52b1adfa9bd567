import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import { type Construct } from 'constructs';
import { AlertsTopic } from '../../constructs/monitoring';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

/** The stage's alerts topic, where every alarm and failure event is sent. */
export class AlertsStack extends PlatformStack {
  public readonly alerts: AlertsTopic;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    this.alerts = new AlertsTopic(this, 'Alerts', {
      emails: props.config.alerts.emails,
      displayName: `${props.config.prefix} ${props.config.stage} ML platform alerts`,
      removalPolicy: props.config.data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    new CfnOutput(this, 'AlertsTopicArn', { value: this.alerts.topic.topicArn });
  }
}
