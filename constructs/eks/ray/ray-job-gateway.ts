import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { encryptedLogGroup } from '../../core/defaults';
import { handlerCode } from '../../core/handler-code';
import { acknowledge, acknowledgeCheck, acknowledgeControls, acknowledgeResourceWildcards } from '../../core/nag';
import { PropsValidator } from '../../core/validation';
import * as perms from '../../storage/perms';
import { type TrainingCluster } from '../training-cluster';
import { SERVE_PORT } from './ray-service';
import { type RayServiceAccount } from './ray-service-account';

/** Where a {@link RayJobGateway} expects job outputs by default (`<prefix><job>/`): the platform's Ray jobs and the pipeline's Ray runs. */
export const RAY_JOB_OUTPUT_PREFIX = 'ray-jobs/';

export interface RayJobGatewayProps {
  /** The cluster (its private endpoint is reached from inside the VPC). */
  readonly trainingCluster: TrainingCluster;
  /** Namespace the gateway submits to; it joins the namespace's Ray users group, nothing more. */
  readonly serviceAccount: RayServiceAccount;
  /** Bucket Ray jobs write their outputs to (`<outputPrefix><job>/metrics.json`, `model.tar.gz`, checkpoints). */
  readonly artifactsBucket: s3.IBucket;
  /** @default RAY_JOB_OUTPUT_PREFIX ('ray-jobs/') */
  readonly outputPrefix?: string;
  /** Subnets of the function (must route to the cluster endpoint and S3). @default - the cluster's private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Key of the function's log group (must allow CloudWatch Logs). @default - the cluster's encryption key */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The in-VPC bridge to a private EKS API for automation (`lambda/ray-job-gateway`): Step Functions' EKS integration
 * works only with public endpoints, so pipelines submit RayJobs, poll them and read their metric through this
 * function, and `cdk-mlops smoke` reaches Ray Serve's internal load balancer through it. Its role is mapped by an
 * access entry to the namespace's Ray users group (RayJobs and services in that namespace only); its security group
 * may reach the cluster endpoint and Serve's port in the VPC; it reads the job outputs under `outputPrefix`.
 */
export class RayJobGateway extends Construct {
  public readonly function: lambda.Function;
  public readonly securityGroup: ec2.SecurityGroup;
  /** Namespace it submits to. */
  public readonly namespace: string;
  /** Where job outputs go: `s3://<bucket>/<outputPrefix><job>/`. */
  public readonly outputPrefix: string;
  public readonly artifactsBucket: s3.IBucket;
  /** The cluster it submits to. */
  public readonly trainingClusterRef: TrainingCluster['cluster'];

  constructor(scope: Construct, id: string, props: RayJobGatewayProps) {
    super(scope, id);
    this.outputPrefix = props.outputPrefix ?? RAY_JOB_OUTPUT_PREFIX;
    new PropsValidator(this, 'RayJobGateway')
      .check(/^[\w!\-.*'()/]{1,200}\/$/.test(this.outputPrefix), 'outputPrefix', this.outputPrefix, 'must be an S3 key prefix ending in "/"')
      .throwIfInvalid();
    const cluster = props.trainingCluster.cluster;
    this.namespace = props.serviceAccount.namespace;
    this.artifactsBucket = props.artifactsBucket;
    this.trainingClusterRef = cluster;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    // The cluster's key already serves CloudWatch Logs (its control-plane log group): no extra key to pay for.
    const key = props.encryptionKey ?? props.trainingCluster.encryptionKey;
    const logGroup = encryptedLogGroup(this, 'Logs', { encryptionKey: key, retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: cluster.vpc, allowAllOutbound: false, description: 'Ray job gateway: the EKS API endpoint, S3 and Ray Serve in the VPC',
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'EKS API endpoint (private ENIs) and S3');
    this.securityGroup.addEgressRule(ec2.Peer.ipv4(cluster.vpc.vpcCidrBlock), ec2.Port.tcp(SERVE_PORT), 'Ray Serve behind internal load balancers');
    cluster.clusterSecurityGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(443), 'Ray job gateway calls the Kubernetes API');

    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: 'Ray job gateway (RayJobs in one namespace)' });
    logGroup.grantWrite(role);
    const outputs = props.artifactsBucket.arnForObjects(`${this.outputPrefix}*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: perms.S3_READ_OBJECT_ACTIONS, resources: [outputs] }));
    props.artifactsBucket.encryptionKey?.grant(role, ...perms.KMS_READ_ACTIONS);
    acknowledgeResourceWildcards(role, [outputs], 'Job outputs are named per run under the gateway\'s output prefix; read-only.');
    // VPC network interfaces of the function: no resource-level permissions exist for these actions.
    const eni = new iam.Policy(this, 'NetworkInterfaces', {
      roles: [role],
      statements: [new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: ['*'],
      })],
    });
    acknowledge(eni, ['AwsSolutions-IAM5[Resource::*]'], 'Lambda VPC networking: ec2:CreateNetworkInterface/Describe/Delete support no resource-level permissions (the AWSLambdaVPCAccessExecutionRole grants them on "*").');

    const subnets = cluster.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    this.function = new lambda.Function(this, 'Function', {
      description: `Ray job gateway of EKS cluster ${cluster.clusterName} (namespace ${this.namespace})`,
      code: handlerCode('ray-job-gateway'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(60),
      role,
      logGroup,
      vpc: cluster.vpc,
      vpcSubnets: { subnets: subnets.subnets },
      securityGroups: [this.securityGroup],
      environment: {
        POWERTOOLS_SERVICE_NAME: 'ray-job-gateway',
        CLUSTER_NAME: cluster.clusterName,
        CLUSTER_ENDPOINT: cluster.clusterEndpoint,
        CLUSTER_CA: cluster.clusterCertificateAuthorityData,
        NAMESPACE: this.namespace,
        ARTIFACTS_BUCKET: props.artifactsBucket.bucketName,
        OUTPUT_PREFIX: this.outputPrefix,
      },
    });
    this.function.node.addDependency(eni);
    if (subnets.subnets.some((subnet) => Stack.of(subnet) !== Stack.of(this))) {
      acknowledgeControls(this.function, ['CT.LAMBDA.PR.3 lambda_inside_vpc_check'],
        'The gateway runs in the cluster VPC\'s private subnets with its own security group; the subnet ids come from the network stack (a cross-stack reference), which the static rule cannot read.');
    }
    acknowledgeCheck(this.function, 'lambdaDlq',
      'Called synchronously (lambda:InvokeFunction by the operations CLI or a state machine, which gets the error back); a dead-letter queue only receives failed asynchronous invocations.');
    acknowledgeCheck(this.function, 'lambdaConcurrency',
      'Called by people and pipeline runs a few times an hour; reserved concurrency would fail the deploy in accounts at the minimum unreserved concurrency quota (new accounts have 10).');
    // Kubernetes RBAC of the namespace's Ray users; no EKS access policy beyond reading that namespace.
    const entry = props.trainingCluster.grantAccess('RayJobGateway', role, { viewNamespaces: [this.namespace], kubernetesGroups: [props.serviceAccount.rayUsersGroup] });
    this.function.node.addDependency(entry, props.serviceAccount.rbacManifest);
  }

  /** Lets a principal (e.g. a state machine or the operations CLI's role) call the gateway. */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.function.grantInvoke(grantee);
  }
}
