import { Names, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeResourceWildcards, resourceWildcardId } from '../core/nag';
import { PropsValidator } from '../core/validation';
import * as perms from './perms';

/** Sizes SageMaker offers: Small (up to ~25 users), Medium (~50), Large (~100). */
export const MLFLOW_SIZES = ['Small', 'Medium', 'Large'] as const;
export type MlflowTrackingServerSize = (typeof MLFLOW_SIZES)[number];

/**
 * The MLflow version servers get unless told otherwise. Pinned, because SageMaker otherwise creates the latest
 * version it offers, and each major version needs its own grants ({@link MlflowTrackingServer.grantLogTo}).
 */
export const MLFLOW_DEFAULT_VERSION = '3.0';
/** Major MLflow versions whose client calls the grants cover. */
export const MLFLOW_MAJOR_VERSIONS = [2, 3] as const;

/** Reaching the server from a VPC without internet egress. */
export interface MlflowPrivateAccess {
  readonly vpc: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly subnets?: ec2.SubnetSelection;
  /**
   * Groups of the endpoint. Give the VPC's endpoint group when the VPC is in another stack: cdk-nag's EC23 cannot
   * evaluate a CIDR imported from another stack.
   * @default - a new group allowing HTTPS from the VPC's CIDR
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
}

export interface MlflowTrackingServerProps {
  /** Bucket of the artifact store (e.g. the data lake's artifacts bucket); SSE-KMS keys are granted too. */
  readonly artifactBucket: s3.IBucket;
  /** Key prefix of the artifact store in the bucket; must end with `/`. @default 'mlflow/' */
  readonly artifactPrefix?: string;
  /**
   * Tracking server name (1-256 letters, digits and hyphens, starting and ending with a letter or digit);
   * part of the server's ARN.
   * @default - a unique name derived from the construct path
   */
  readonly trackingServerName?: string;
  /** Server size. @default 'Small' */
  readonly size?: MlflowTrackingServerSize;
  /**
   * MLflow version, e.g. `2.16.2` or `3.0` (major 2 or 3). Clients should use the same major version.
   * @default MLFLOW_DEFAULT_VERSION ('3.0')
   */
  readonly mlflowVersion?: string;
  /**
   * Register models logged to MLflow in the SageMaker model registry automatically (a model package group per
   * registered model). Gives the server's role model-registry write access.
   * @default false
   */
  readonly automaticModelRegistration?: boolean;
  /** Weekly maintenance window start in UTC, `Ddd:HH:MM` such as `Sun:03:30`. @default - chosen by SageMaker */
  readonly weeklyMaintenanceWindowStart?: string;
  /** Role SageMaker assumes to reach the artifact store. @default - a new role with access to the artifact prefix only */
  readonly role?: iam.IRole;
  /**
   * Create an interface endpoint for the MLflow API (`aws.sagemaker.<region>.experiments`, private DNS) in this VPC,
   * for training code in subnets without a NAT gateway. The plugin's `DescribeMlflowTrackingServer` call also needs
   * the `sagemaker.api` endpoint, and artifacts need S3 (gateway endpoint).
   * @default - none (clients reach the public MLflow endpoint)
   */
  readonly privateAccess?: MlflowPrivateAccess;
}

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$/;
const WINDOW = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):([0-5]\d)$/;
const PREFIX = /^([A-Za-z0-9!_.*'()-]+\/)+$/;

/**
 * A SageMaker managed MLflow tracking server (`AWS::SageMaker::MlflowTrackingServer`) whose artifact store
 * is a prefix of an S3 bucket (e.g. the data lake's KMS-encrypted artifacts bucket).
 *
 * Clients log with the MLflow SDK and the `sagemaker-mlflow` plugin: `mlflow.set_tracking_uri(<trackingUri>)`
 * (the server ARN). They write artifacts straight to S3 with their own credentials, so {@link grantLogTo}
 * gives a training role (EC2 GPU instance, Ray pod, SageMaker training job) the MLflow actions on this server
 * and write access to the artifact prefix — nothing else.
 */
export class MlflowTrackingServer extends Construct implements ec2.IConnectable {
  public readonly trackingServer: sagemaker.CfnMlflowTrackingServer;
  /** Role SageMaker uses for the artifact store (and model registration when on). */
  public readonly role: iam.IRole;
  public readonly trackingServerName: string;
  /** ARN of the server. */
  public readonly trackingServerArn: string;
  /** What `MLFLOW_TRACKING_URI` / `mlflow.set_tracking_uri()` takes with the sagemaker-mlflow plugin: the server ARN. */
  public readonly trackingUri: string;
  /** `s3://<bucket>/<prefix>` of the artifact store. */
  public readonly artifactStoreUri: string;
  public readonly artifactBucket: s3.IBucket;
  public readonly artifactPrefix: string;
  /** The server's MLflow version (pinned). */
  public readonly mlflowVersion: string;
  /** Its major version: what clients install (`mlflow>=3,<4` for 3) and what {@link grantLogTo} grants for. */
  public readonly mlflowMajorVersion: number;
  /** `MLFLOW_TRACKING_URI`: give it to every process that logs (training job, Ray pods, GPU boxes). */
  public readonly trackingEnvironment: Readonly<Record<string, string>>;
  /** The MLflow API interface endpoint, when `privateAccess` is given. */
  public readonly interfaceEndpoint?: ec2.InterfaceVpcEndpoint;

  /**
   * The private endpoint's security groups, HTTPS by default (`connections.allowDefaultPortFrom(cluster)` lets a client
   * group reach the server). Without `privateAccess` the server is reached over AWS's public API: no groups.
   */
  public get connections(): ec2.Connections {
    return this.interfaceEndpoint?.connections ?? new ec2.Connections({ defaultPort: ec2.Port.tcp(443) });
  }

  constructor(scope: Construct, id: string, props: MlflowTrackingServerProps) {
    super(scope, id);
    const name = props.trackingServerName ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-', allowedSpecialCharacters: '-' })
      .replace(/^-+|-+$/g, '');
    const prefix = props.artifactPrefix ?? 'mlflow/';
    const size = props.size ?? 'Small';
    const version = props.mlflowVersion ?? MLFLOW_DEFAULT_VERSION;
    const major = Number(version.split('.')[0]);

    new PropsValidator(this, 'MlflowTrackingServer')
      .check(NAME.test(name) || Token.isUnresolved(name), 'trackingServerName', name,
        'must be 1-256 letters, digits and hyphens, starting and ending with a letter or digit')
      .check((MLFLOW_SIZES as readonly string[]).includes(size), 'size', size, `must be one of ${MLFLOW_SIZES.join(', ')}`)
      .check(/^\d+\.\d+(\.\d+)?$/.test(version), 'mlflowVersion', version, 'must be an MLflow version such as 2.16.2 or 3.0')
      .check(!/^\d+\./.test(version) || (MLFLOW_MAJOR_VERSIONS as readonly number[]).includes(major), 'mlflowVersion', version,
        `must have major version ${MLFLOW_MAJOR_VERSIONS.join(' or ')} (the versions whose client calls the grants cover)`)
      .check(props.weeklyMaintenanceWindowStart === undefined || WINDOW.test(props.weeklyMaintenanceWindowStart),
        'weeklyMaintenanceWindowStart', props.weeklyMaintenanceWindowStart, 'must be Ddd:HH:MM in UTC, e.g. Sun:03:30')
      .check(PREFIX.test(prefix), 'artifactPrefix', prefix, 'must be an S3 key prefix such as "mlflow/" (safe characters, ending with "/", no leading "/")')
      .throwIfInvalid();

    this.trackingServerName = name;
    this.mlflowVersion = version;
    this.mlflowMajorVersion = major;
    this.artifactBucket = props.artifactBucket;
    this.artifactPrefix = prefix;
    this.artifactStoreUri = `s3://${props.artifactBucket.bucketName}/${prefix}`;
    const stack = Stack.of(this);

    this.role = props.role ?? new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `SageMaker MLflow tracking server ${name}: artifact store access`,
    });
    this.grantArtifacts(this.role, true);
    if (props.automaticModelRegistration) {
      const groupArn = stack.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: '*' });
      const packageArn = stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: '*' });
      const policy = new iam.Policy(this, 'ModelRegistrationPolicy', {
        statements: [new iam.PolicyStatement({ actions: [...perms.MODEL_REGISTRATION_ACTIONS], resources: [groupArn, packageArn] })],
      });
      this.role.attachInlinePolicy(policy);
      acknowledge(policy, [resourceWildcardId(policy, groupArn), resourceWildcardId(policy, packageArn)], 'Automatic model registration creates one model package group per MLflow registered model, named by the user at run time; '
        + 'the grant is limited to model packages and groups of this account and region, with explicit actions and no delete.');
    }

    this.trackingServer = new sagemaker.CfnMlflowTrackingServer(this, 'Resource', {
      trackingServerName: name,
      artifactStoreUri: this.artifactStoreUri,
      roleArn: this.role.roleArn,
      trackingServerSize: size,
      mlflowVersion: version,
      automaticModelRegistration: props.automaticModelRegistration ?? false,
      weeklyMaintenanceWindowStart: props.weeklyMaintenanceWindowStart,
    });
    // The server checks its artifact store access when it is created: the role's policy must exist first.
    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) this.trackingServer.node.addDependency(defaultPolicy);
    this.trackingServerArn = this.trackingServer.attrTrackingServerArn;
    this.trackingUri = this.trackingServerArn;
    this.trackingEnvironment = { MLFLOW_TRACKING_URI: this.trackingUri };

    if (props.privateAccess) {
      const a = props.privateAccess;
      let groups = a.securityGroups;
      if (!groups) {
        const sg = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
          vpc: a.vpc, description: `HTTPS from the VPC to the MLflow API of ${name}`, allowAllOutbound: false,
        });
        sg.addIngressRule(ec2.Peer.ipv4(a.vpc.vpcCidrBlock), ec2.Port.tcp(443), 'HTTPS from the VPC');
        groups = [sg];
      }
      this.interfaceEndpoint = new ec2.InterfaceVpcEndpoint(this, 'Endpoint', {
        vpc: a.vpc,
        service: ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_EXPERIMENTS,
        subnets: a.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        securityGroups: groups,
        // The groups already admit HTTPS (ours from the VPC; a given one is the caller's): adding a rule here would
        // also modify a group owned by another stack.
        open: false,
        privateDnsEnabled: true,
      });
    }
  }

  /** MLflow actions a logging client of this server's major version calls (no deletes). */
  public get logActions(): string[] {
    return [...this.readActions, ...perms.MLFLOW_LOG_ACTIONS, ...(this.mlflowMajorVersion >= 3 ? perms.MLFLOW_3_LOG_ACTIONS : [])];
  }

  /** MLflow actions a reading client of this server's major version calls. */
  public get readActions(): string[] {
    return [...perms.MLFLOW_READ_ACTIONS, ...(this.mlflowMajorVersion >= 3 ? perms.MLFLOW_3_READ_ACTIONS : [])];
  }

  /**
   * Lets a training role log to this server: the MLflow read and log actions of the server's major version (MLflow 3
   * adds the logged-model APIs `log_model` calls; no deletes) and the describe call the SDK plugin makes, on this
   * server only, plus write access to the artifact prefix.
   */
  public grantLogTo(grantee: iam.IGrantable): iam.Grant {
    this.grantArtifacts(grantee, true);
    return this.grantServer(grantee, [...perms.TRACKING_SERVER_DESCRIBE_ACTIONS], this.logActions);
  }

  /** Lets a principal read experiments, runs and models (and download their artifacts), e.g. a deployment job. */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    this.grantArtifacts(grantee, false);
    return this.grantServer(grantee, [...perms.TRACKING_SERVER_DESCRIBE_ACTIONS], this.readActions);
  }

  /** Lets a person open the MLflow UI through a presigned URL (`aws sagemaker create-presigned-mlflow-tracking-server-url`). */
  public grantUiAccess(grantee: iam.IGrantable): iam.Grant {
    iam.Grant.addToPrincipal({ grantee, actions: [...perms.MLFLOW_UI_ACTIONS], resourceArns: ['*'] });
    acknowledgeResourceWildcards(grantee.grantPrincipal, ['*'],
      'sagemaker-mlflow:AccessUI has no resource type in the IAM reference, so only Resource "*" matches; the presigned URL itself is created for this server only.');
    return this.grantServer(grantee, [...perms.TRACKING_SERVER_DESCRIBE_ACTIONS, ...perms.TRACKING_SERVER_UI_ACTIONS], []);
  }

  private grantServer(grantee: iam.IGrantable, controlActions: string[], mlflowActions: string[]): iam.Grant {
    // The control-plane (sagemaker:) and data-plane (sagemaker-mlflow:) actions both take the server ARN.
    return iam.Grant.addToPrincipal({ grantee, actions: [...controlActions, ...mlflowActions], resourceArns: [this.trackingServerArn] });
  }

  private grantArtifacts(grantee: iam.IGrantable, write: boolean): void {
    const objects = this.artifactBucket.arnForObjects(`${this.artifactPrefix}*`);
    iam.Grant.addToPrincipal({
      grantee,
      actions: [...perms.ARTIFACT_READ_OBJECT_ACTIONS, ...(write ? perms.ARTIFACT_WRITE_OBJECT_ACTIONS : [])],
      resourceArns: [objects],
    });
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [this.artifactBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [this.artifactPrefix, `${this.artifactPrefix}*`] } },
    }));
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetBucketLocation'],
      resources: [this.artifactBucket.bucketArn],
    }));
    this.artifactBucket.encryptionKey?.grant(grantee, ...(write ? perms.KMS_WRITE_ACTIONS : perms.KMS_READ_ACTIONS));
    acknowledgeResourceWildcards(grantee.grantPrincipal, [objects], perms.ARTIFACT_WILDCARD_REASON);
  }
}
