import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import { type Construct } from 'constructs';
import { MlflowTrackingServer } from '../../constructs/experiments';
import { FeatureGroup, OfflineStoreWorkgroup, VERSIONED_FEATURE_GROUP_BASE_LENGTH } from '../../constructs/features';
import { type DataLake } from '../../constructs/storage';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

export interface ExperimentsStackProps extends PlatformStackProps {
  /** MLflow artifacts go to its artifacts bucket, feature store offline data and Athena results to its processed bucket. */
  readonly dataLake: DataLake;
  /**
   * The stage's VPC: when the platform creates it without NAT gateways, training code there reaches MLflow through
   * an interface endpoint this stack adds. @default - no endpoint
   */
  readonly vpc?: ec2.IVpc;
  /** Subnets of that endpoint (PlatformNetwork.workloadSubnets). @default - the VPC's isolated subnets */
  readonly workloadSubnets?: ec2.SubnetSelection;
  /** Security group of the VPC's interface endpoints (PlatformNetwork.endpointSecurityGroup). @default - a new group */
  readonly endpointSecurityGroup?: ec2.ISecurityGroup;
  /**
   * Training principals known when the stack is built; more can be added with {@link ExperimentsStack.grantTraining}.
   * @default - none
   */
  readonly trainingPrincipals?: iam.IGrantable[];
}

/**
 * Experiment tracking and features, from `config.monitoring`: the SageMaker managed MLflow tracking server
 * (`mlflow.enabled`, version pinned), the Feature Store feature groups (`featureGroups`) with a shared Glue database
 * for their offline stores and an Athena workgroup (SSE-KMS results) to query them, and each group's ingest roles
 * (`ingestRoles`). Exists when `monitoring.enabled` and either is configured.
 *
 * Training principals (SageMaker training job role, Ray pods, GPU boxes) get, through {@link grantTraining}: logging to
 * MLflow, and reading every group's offline store through the workgroup.
 */
export class ExperimentsStack extends PlatformStack {
  public readonly mlflow?: MlflowTrackingServer;
  public readonly featureGroups: Readonly<Record<string, FeatureGroup>>;
  public readonly featureStoreDatabase?: glue.CfnDatabase;
  /** Athena workgroup for the offline stores; exists with feature groups. */
  public readonly offlineStoreWorkgroup?: OfflineStoreWorkgroup;
  /** Imported ingest roles by feature group config name. */
  public readonly ingestRoles: Readonly<Record<string, iam.IRole[]>>;
  /** `MLFLOW_TRACKING_URI` for training code; empty when MLflow is off. */
  public readonly trackingEnvironment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ExperimentsStackProps) {
    super(scope, id, props);
    const { monitoring, prefix, stage, data, network } = props.config;
    const removalPolicy = data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    if (monitoring.mlflow.enabled) {
      const m = monitoring.mlflow;
      // Without NAT (and with the platform's own VPC and endpoints), training code has no route to the public MLflow API.
      const isolated = props.vpc && !network.existingVpc && network.natGateways === 0 && network.interfaceEndpoints;
      this.mlflow = new MlflowTrackingServer(this, 'Mlflow', {
        artifactBucket: props.dataLake.artifactsBucket,
        trackingServerName: `${prefix}-${stage}`,
        size: m.size,
        mlflowVersion: m.version,
        automaticModelRegistration: m.automaticModelRegistration,
        weeklyMaintenanceWindowStart: m.weeklyMaintenanceWindowStart,
        privateAccess: isolated ? {
          vpc: props.vpc!, subnets: props.workloadSubnets, securityGroups: props.endpointSecurityGroup ? [props.endpointSecurityGroup] : undefined,
        } : undefined,
      });
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
      new CfnOutput(this, 'MlflowVersion', { key: 'MlflowVersion', value: this.mlflow.mlflowVersion, description: `Install mlflow ${this.mlflow.mlflowMajorVersion}.x in training code` });
      new CfnOutput(this, 'MlflowArtifactStore', { key: 'MlflowArtifactStore', value: this.mlflow.artifactStoreUri });
    }
    this.trackingEnvironment = this.mlflow?.trackingEnvironment ?? {};

    const groups: Record<string, FeatureGroup> = {};
    const ingestRoles: Record<string, iam.IRole[]> = {};
    if (monitoring.featureGroups.length > 0) {
      const databaseName = `${prefix}_${stage}_features`.replace(/-/g, '_');
      this.featureStoreDatabase = new glue.CfnDatabase(this, 'FeatureStoreDatabase', {
        catalogId: this.account,
        databaseInput: { name: databaseName, description: `Offline stores of the ${prefix} ${stage} feature groups` },
      });
      this.featureStoreDatabase.applyRemovalPolicy(removalPolicy);
      new CfnOutput(this, 'FeatureStoreDatabaseName', { key: 'FeatureStoreDatabaseName', value: databaseName });
      this.offlineStoreWorkgroup = new OfflineStoreWorkgroup(this, 'OfflineStoreWorkgroup', {
        workGroupName: `${prefix}-${stage}-features`,
        resultsBucket: props.dataLake.processedBucket,
        resultsPrefix: 'athena-results/',
        removalPolicy,
      });
      new CfnOutput(this, 'FeatureStoreWorkgroup', {
        key: 'FeatureStoreWorkgroup', value: this.offlineStoreWorkgroup.workGroupName,
        description: 'Athena workgroup for the offline stores: aws athena start-query-execution --work-group <this> ...',
      });
      for (const g of monitoring.featureGroups) {
        const group = new FeatureGroup(this, `FeatureGroup-${g.name}`, {
          // Versioned (<base>-v<hash of the create-only properties>): a changed description, store config or revision
          // creates a new group beside the old one instead of a replacement that fails on the fixed name.
          featureGroupName: `${prefix}-${stage}-${g.name}`.slice(0, VERSIONED_FEATURE_GROUP_BASE_LENGTH).replace(/[-_]+$/, ''),
          versionedName: true,
          revision: g.revision,
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
          // Fixed at creation (Tags are create-only): values that never change for this group. Other platform tags
          // (config.tags) are not applied to feature groups; see FeatureGroupProps.tags.
          tags: { Project: prefix, Environment: stage, ManagedBy: 'cdk-mlops' },
        });
        group.node.addDependency(this.featureStoreDatabase);
        groups[g.name] = group;
        ingestRoles[g.name] = (g.ingestRoles ?? []).map((roleName) => {
          const role = iam.Role.fromRoleName(this, `Ingest-${g.name}-${roleName}`, roleName);
          group.grantIngest(role);
          return role;
        });
      }
    }
    this.featureGroups = groups;
    this.ingestRoles = ingestRoles;
    if (Object.keys(groups).length > 0) {
      // The current version of each group, for code outside CDK (ETL jobs, queries): `<config name>=<group>/<Glue table>`.
      new CfnOutput(this, 'FeatureGroups', {
        key: 'FeatureGroups',
        value: Object.entries(groups).map(([n, fg]) => `${n}=${fg.featureGroupName}/${fg.glueTableName}`).join(','),
        description: 'Feature groups (versioned names) and their offline tables: <name>=<feature group>/<Glue table>',
      });
    }
    for (const principal of props.trainingPrincipals ?? []) this.grantTraining(principal);
  }

  /**
   * What training code needs here: logging to MLflow (the server's major version), and reading every feature group's
   * offline store through the Athena workgroup.
   */
  public grantTraining(principal: iam.IGrantable): void {
    this.mlflow?.grantLogTo(principal);
    for (const group of Object.values(this.featureGroups)) group.grantReadOffline(principal);
    this.offlineStoreWorkgroup?.grantQuery(principal);
  }
}
