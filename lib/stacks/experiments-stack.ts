import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { type Construct } from 'constructs';
import { MlflowTrackingServer } from '../../constructs/experiments';
import { FeatureGroup } from '../../constructs/features';
import { type DataLake } from '../../constructs/storage';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

export interface ExperimentsStackProps extends PlatformStackProps {
  /** MLflow artifacts go to its artifacts bucket, feature store offline data to its processed bucket. */
  readonly dataLake: DataLake;
  /** Training principals (GPU instance roles, Ray service accounts, SageMaker training roles) that log to MLflow. */
  readonly trainingPrincipals?: iam.IGrantable[];
}

/**
 * Experiment tracking and features, from `config.monitoring`: the SageMaker managed MLflow tracking server
 * (`mlflow.enabled`) and the Feature Store feature groups (`featureGroups`) with a shared Glue database for
 * their offline stores. Exists when `monitoring.enabled` and either is configured.
 */
export class ExperimentsStack extends PlatformStack {
  public readonly mlflow?: MlflowTrackingServer;
  public readonly featureGroups: Readonly<Record<string, FeatureGroup>>;
  public readonly featureStoreDatabase?: glue.CfnDatabase;

  constructor(scope: Construct, id: string, props: ExperimentsStackProps) {
    super(scope, id, props);
    const { monitoring, prefix, stage, data } = props.config;
    const removalPolicy = data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    if (monitoring.mlflow.enabled) {
      const m = monitoring.mlflow;
      this.mlflow = new MlflowTrackingServer(this, 'Mlflow', {
        artifactBucket: props.dataLake.artifactsBucket,
        trackingServerName: `${prefix}-${stage}`,
        size: m.size,
        mlflowVersion: m.version,
        automaticModelRegistration: m.automaticModelRegistration,
        weeklyMaintenanceWindowStart: m.weeklyMaintenanceWindowStart,
      });
      for (const principal of props.trainingPrincipals ?? []) this.mlflow.grantLogTo(principal);
      new CfnOutput(this, 'MlflowTrackingServerArn', {
        key: 'MlflowTrackingServerArn',
        value: this.mlflow.trackingServerArn,
        description: 'MLflow tracking URI for the sagemaker-mlflow plugin: mlflow.set_tracking_uri(<this ARN>)',
      });
      new CfnOutput(this, 'MlflowTrackingServerName', {
        key: 'MlflowTrackingServerName',
        value: this.mlflow.trackingServerName,
        description: 'UI: aws sagemaker create-presigned-mlflow-tracking-server-url --tracking-server-name <this name>',
      });
      new CfnOutput(this, 'MlflowArtifactStore', { key: 'MlflowArtifactStore', value: this.mlflow.artifactStoreUri });
    }

    const groups: Record<string, FeatureGroup> = {};
    if (monitoring.featureGroups.length > 0) {
      const databaseName = `${prefix}_${stage}_features`.replace(/-/g, '_');
      this.featureStoreDatabase = new glue.CfnDatabase(this, 'FeatureStoreDatabase', {
        catalogId: this.account,
        databaseInput: { name: databaseName, description: `Offline stores of the ${prefix} ${stage} feature groups` },
      });
      this.featureStoreDatabase.applyRemovalPolicy(removalPolicy);
      new CfnOutput(this, 'FeatureStoreDatabaseName', { key: 'FeatureStoreDatabaseName', value: databaseName });
      for (const g of monitoring.featureGroups) {
        const group = new FeatureGroup(this, `FeatureGroup-${g.name}`, {
          featureGroupName: `${prefix}-${stage}-${g.name}`.slice(0, 64),
          description: g.description,
          recordIdentifierFeatureName: g.recordIdentifier,
          eventTimeFeatureName: g.eventTime,
          features: g.features,
          onlineStore: g.onlineStore,
          onlineTtlDays: g.onlineTtlDays,
          offlineStoreBucket: props.dataLake.processedBucket,
          offlineStorePrefix: 'feature-store/',
          glueDatabaseName: databaseName,
          removalPolicy,
        });
        group.node.addDependency(this.featureStoreDatabase);
        groups[g.name] = group;
      }
    }
    this.featureGroups = groups;
  }
}
