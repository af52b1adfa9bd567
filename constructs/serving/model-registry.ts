import { Annotations, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../core/defaults';
import { acknowledge, acknowledgeCheck, acknowledgeControls, acknowledgeResourceWildcards, compliancePackIds } from '../core/nag';
import { PropsValidator } from '../core/validation';
import { handlerCode } from '../core/handler-code';
import { SAGEMAKER_NAMESPACE, SCALING_ALARMS_ENV, SCALING_EVENT_SOURCE, SCALING_SUSPENDED, type ScalingAlarm, VARIANT_DIMENSION } from '../../lambda/model-approval/scaling-event';
import { acknowledgePolicyWildcards } from './policy-wildcards';
import { deploymentSpecRequest, type IModelEndpoint, SageMakerEndpoint } from './sagemaker-endpoint';

/** Deploy every approved version of the group's models to an endpoint. */
export interface ApprovalDeploymentOptions {
  /** The endpoint approved versions are rolled onto, with its guardrails (e.g. a {@link SageMakerEndpoint}). */
  readonly endpoint: IModelEndpoint;
  /** Topic told when a deployment fails for good (dead-letter queue alarm) or the handler errors. @default - alarms without actions */
  readonly alarmTopic?: sns.ITopic;
  /** Run the handler in this VPC (it needs a route to the SageMaker API). @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Key of the queues and the handler's log group. @default - a new customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** Deliveries of one event before it moves to the dead-letter queue. @default 12 */
  readonly maxReceiveCount?: number;
  /** Wait before a deferred event (busy endpoint, throttling) is delivered again; at least 6 minutes. @default Duration.minutes(6) */
  readonly retryInterval?: Duration;
  /** Bucket holding registered model artifacts; the endpoint role may read `modelArtifactsPrefixes`. @default - no extra grant */
  readonly modelArtifactsBucket?: s3.IBucket;
  /** @default 'models/' */
  /**
   * Key prefixes of registered artifacts in that bucket: where the training jobs of a model pipeline write
   * (`TRAINING_OUTPUT_PREFIX`) and where models are uploaded by hand.
   * @default ['models/', 'training-jobs/']
   */
  readonly modelArtifactsPrefixes?: string[];
  /** Repositories holding registered inference images; the endpoint role may pull them. @default - none */
  readonly imageRepositories?: ecr.IRepository[];
  /** KMS key of those repositories. @default - none */
  readonly imageEncryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

export interface ModelRegistryProps {
  /** Name of the model package group (one group per model). */
  readonly modelPackageGroupName: string;
  /** @default - none */
  readonly description?: string;
  /** Accounts (e.g. the staging and prod stages) allowed to read and deploy this group's packages. @default - none */
  readonly crossAccountIds?: string[];
  /**
   * Accounts whose model pipelines promote into this group: they may add versions (`CreateModelPackage`, naming the
   * group by ARN) and read them; this account's approval rule then deploys each approved copy. @default - none
   */
  readonly promoterAccountIds?: string[];
  /** Deploy approved versions automatically. @default - no automatic deployment */
  readonly deployment?: ApprovalDeploymentOptions;
  /** What happens to the group and the key on stack deletion (a group with packages cannot be deleted). @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** A model package group a pipeline can register versions in: a {@link ModelRegistry} or an imported group. */
export interface IModelPackageGroup {
  readonly modelPackageGroupName: string;
  readonly modelPackageGroupArn: string;
  /** Allow `grantee` to register new versions in the group. */
  grantRegister(grantee: iam.IGrantable): iam.Grant;
  /** Allow `grantee` to read versions and set their approval status. */
  grantApprove(grantee: iam.IGrantable): iam.Grant;
}

/**
 * A model registry a pipeline registers in and approvers approve in: a {@link ModelRegistry} or one created
 * elsewhere (another stack or account), imported with {@link ModelRegistry.fromModelRegistryAttributes}.
 */
export interface IModelRegistry extends IModelPackageGroup, IConstruct {}

/** A model package group created elsewhere. */
export interface ModelRegistryAttributes {
  readonly modelPackageGroupName: string;
  /** Account holding the group (e.g. a shared tooling account). @default - this stack's account */
  readonly account?: string;
  /** @default - this stack's region */
  readonly region?: string;
}

const REGISTER_ACTIONS = ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackageGroup'];
const APPROVE_ACTIONS = ['sagemaker:DescribeModelPackage', 'sagemaker:UpdateModelPackage', 'sagemaker:DescribeModelPackageGroup'];

/** ListModelPackages has no resource-level permissions: finding the version to approve needs it on `*`. */
const listPackages = (grantee: iam.IGrantable): iam.Grant => {
  acknowledgeResourceWildcards(grantee.grantPrincipal, ['*'], 'sagemaker:ListModelPackages has no resource-level permissions; reading and approving versions stays scoped to one model package group.');
  return iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:ListModelPackages'], resourceArns: ['*'] });
};
const VERSIONS_REASON = 'Model package versions are created at run time with generated numbers; access is limited to this one model package group.';
/** Grant on a group and its versions, the versions' wildcard acknowledged for cdk-nag with its reason. */
const grantOnGroup = (grantee: iam.IGrantable, actions: string[], groupArn: string, packagesArn: string): iam.Grant => {
  acknowledgeResourceWildcards(grantee.grantPrincipal, [packagesArn], VERSIONS_REASON);
  return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [groupArn, packagesArn] });
};
/** Where SageMaker training jobs of a model pipeline write their output (`<prefix><job>/output/model.tar.gz`). */
export const TRAINING_OUTPUT_PREFIX = 'training-jobs/';

const GROUP_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** The event pattern of a package version reaching Approved in `groupName`. */
export const approvedPackagePattern = (groupName: string): events.EventPattern => ({
  source: ['aws.sagemaker'],
  detailType: ['SageMaker Model Package State Change'],
  detail: { ModelPackageGroupName: [groupName], ModelApprovalStatus: ['Approved'] },
});

/**
 * A SageMaker model package group (one per model) with an optional cross-account resource policy, and optional
 * approval-driven deployment: EventBridge ("SageMaker Model Package State Change", Approved) → KMS-encrypted SQS
 * queue → the `lambda/model-approval` handler, which creates a Model and EndpointConfig named after the version and
 * updates the endpoint with its blue/green guardrails (or creates it). Busy endpoints and throttling are retried
 * every `retryInterval`; after `maxReceiveCount` deliveries the event moves to a dead-letter queue whose alarm
 * notifies `alarmTopic`.
 */
export class ModelRegistry extends Construct implements IModelRegistry {
  /** A group created elsewhere (another stack or app), by name; grants are scoped to it and its versions. */
  public static fromModelPackageGroupName(scope: Construct, id: string, modelPackageGroupName: string): IModelRegistry {
    return new ImportedModelPackageGroup(scope, id, { modelPackageGroupName });
  }

  /** A group created elsewhere, in this or another account: grants name the group and its versions there. */
  public static fromModelRegistryAttributes(scope: Construct, id: string, attrs: ModelRegistryAttributes): IModelRegistry {
    return new ImportedModelPackageGroup(scope, id, attrs);
  }

  public readonly modelPackageGroup: sagemaker.CfnModelPackageGroup;
  public readonly modelPackageGroupName: string;
  public readonly modelPackageGroupArn: string;
  /** Present with `deployment`. */
  public readonly handler?: lambda.Function;
  public readonly queue?: sqs.Queue;
  public readonly deadLetterQueue?: sqs.Queue;
  public readonly approvalRule?: events.Rule;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ModelRegistryProps) {
    super(scope, id);
    const name = props.modelPackageGroupName;
    const accounts = props.crossAccountIds ?? [];
    const promoters = props.promoterAccountIds ?? [];
    const d = props.deployment;
    const v = new PropsValidator(this, 'ModelRegistry')
      .check(Token.isUnresolved(name) || GROUP_NAME.test(name), 'modelPackageGroupName', name, 'must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit');
    for (const a of accounts) v.check(/^\d{12}$/.test(a), 'crossAccountIds', a, 'each must be a 12-digit account id');
    for (const a of promoters) v.check(/^\d{12}$/.test(a), 'promoterAccountIds', a, 'each must be a 12-digit account id');
    if (d) {
      v.check(!Token.isUnresolved(d.endpoint.endpointName), 'deployment.endpoint', d.endpoint.endpointName, 'the endpoint name must be known at synth time (it scopes the handler\'s permissions)');
      if (d.maxReceiveCount !== undefined) v.intRange('deployment.maxReceiveCount', d.maxReceiveCount, 1, 1000, 'deliveries');
      if (d.retryInterval) v.intRange('deployment.retryInterval', d.retryInterval.toSeconds(), 360, 43200, 'seconds (6 minutes to 12 hours; 6 times the handler timeout at least)');
    }
    v.throwIfInvalid();

    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const groupArn = stack.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: name.toLowerCase() });
    const packagesArn = stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${name.toLowerCase()}/*` });

    this.modelPackageGroup = new sagemaker.CfnModelPackageGroup(this, 'Group', {
      modelPackageGroupName: name,
      modelPackageGroupDescription: props.description,
      modelPackageGroupPolicy: accounts.length + promoters.length > 0
        ? new iam.PolicyDocument({
          statements: [
            ...(accounts.length > 0 ? [
              new iam.PolicyStatement({
                sid: 'CrossAccountReadGroup',
                principals: accounts.map((a) => new iam.AccountPrincipal(a)),
                actions: ['sagemaker:DescribeModelPackageGroup'],
                resources: [groupArn],
              }),
              new iam.PolicyStatement({
                sid: 'CrossAccountDeployPackages',
                principals: accounts.map((a) => new iam.AccountPrincipal(a)),
                actions: ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages', 'sagemaker:CreateModel'],
                resources: [packagesArn],
              }),
            ] : []),
            ...(promoters.length > 0 ? [
              new iam.PolicyStatement({
                sid: 'CrossAccountPromoteGroup',
                principals: promoters.map((a) => new iam.AccountPrincipal(a)),
                actions: ['sagemaker:DescribeModelPackageGroup'],
                resources: [groupArn],
              }),
              new iam.PolicyStatement({
                sid: 'CrossAccountPromotePackages',
                principals: promoters.map((a) => new iam.AccountPrincipal(a)),
                actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage'],
                resources: [packagesArn],
              }),
            ] : []),
          ],
        }).toJSON()
        : undefined,
    });
    this.modelPackageGroup.applyRemovalPolicy(removalPolicy);
    this.modelPackageGroupName = name;
    this.modelPackageGroupArn = this.modelPackageGroup.attrModelPackageGroupArn;

    if (d) {
      const wired = this.wireDeployment(name, packagesArn, d, removalPolicy);
      this.handler = wired.handler;
      this.queue = wired.queue;
      this.deadLetterQueue = wired.deadLetterQueue;
      this.approvalRule = wired.approvalRule;
    }
  }

  /** Allow `grantee` (e.g. a training pipeline) to register new versions in the group. */
  public grantRegister(grantee: iam.IGrantable): iam.Grant {
    return grantOnGroup(grantee, REGISTER_ACTIONS, this.modelPackageGroupArn, this.packagesArn());
  }

  /**
   * Allow `grantee` (e.g. a reviewer or a pipeline gate) to list versions, read them and set their approval status.
   * Listing is granted on `*` (IAM has no resource type for it); the grant acknowledges that wildcard and the versions'
   * for cdk-nag on the grantee, with their reasons.
   */
  public grantApprove(grantee: iam.IGrantable): iam.Grant {
    return grantOnGroup(grantee, APPROVE_ACTIONS, this.modelPackageGroupArn, this.packagesArn()).combine(listPackages(grantee));
  }

  private packagesArn(): string {
    return Stack.of(this).formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${this.modelPackageGroup.modelPackageGroupName.toLowerCase()}/*` });
  }

  private wireDeployment(groupName: string, packagesArn: string, d: ApprovalDeploymentOptions, removalPolicy: RemovalPolicy) {
    const stack = Stack.of(this);
    const endpoint = d.endpoint;
    const endpointName = endpoint.endpointName;
    // Model and config names are `<prefix>-v<version>-<hash>`; the same prefix scopes the handler's permissions.
    const prefix = endpointName.slice(0, 40).replace(/-+$/, '');
    const key = d.encryptionKey ?? platformKey(this, 'Key', {
      description: `Model approvals of ${groupName}`,
      removalPolicy,
      servicePrincipals: ['events.amazonaws.com', logsServicePrincipal(this)],
    });

    const dlq = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      visibilityTimeout: d.retryInterval ?? Duration.minutes(6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: dlq, maxReceiveCount: d.maxReceiveCount ?? 12 },
    });
    acknowledgeControls(dlq, ['CT.SQS.PR.1 sqs_dlq_check'],
      'This queue is the dead-letter queue of the approval queue: messages land here after the retries and stay 14 days for inspection; a dead-letter queue of its own would only move them again.');
    const approvalRule = new events.Rule(this, 'ApprovedRule', {
      description: `Approved versions of model package group ${groupName} → deployment to ${endpointName}`,
      eventPattern: approvedPackagePattern(groupName),
      targets: [new targets.SqsQueue(queue)],
    });

    const role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Deploys approved ${groupName} versions to SageMaker endpoint ${endpointName}`,
    });
    const logGroup = encryptedLogGroup(this, 'HandlerLogs', { encryptionKey: key, retention: d.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy });
    logGroup.grantWrite(role);
    const sm = (resource: string, resourceName: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadApprovedPackages',
      actions: ['sagemaker:DescribeModelPackage', 'sagemaker:CreateModel'],
      resources: [packagesArn],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ManageVersionedModels',
      actions: ['sagemaker:CreateModel', 'sagemaker:DescribeModel', 'sagemaker:CreateEndpointConfig', 'sagemaker:DescribeEndpointConfig', 'sagemaker:AddTags'],
      resources: [sm('model', `${prefix.toLowerCase()}-v*`), sm('endpoint-config', `${prefix.toLowerCase()}-v*`)],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['sagemaker:DescribeEndpoint', 'sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint', 'sagemaker:AddTags'],
      resources: [endpoint.endpointArn],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [endpoint.role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }));
    // A blue/green update with auto-rollback makes SageMaker read the rollback alarms as the caller of UpdateEndpoint.
    if (endpoint.rollbackAlarms && endpoint.rollbackAlarms.length > 0) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: endpoint.rollbackAlarms.map((a) => a.alarmArn) }));
    }
    const scaling = this.grantScalingAroundTypeChanges(role, endpoint, queue);
    // CreateEndpointConfig with a KmsKeyId makes SageMaker create a grant on the key as the caller.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:CreateGrant', 'kms:DescribeKey'], resources: [endpoint.encryptionKey.keyArn] }));

    // The endpoint's role runs the registered versions: it reads their artifacts and pulls their images.
    if (d.modelArtifactsBucket) {
      const prefixes = d.modelArtifactsPrefixes ?? ['models/', TRAINING_OUTPUT_PREFIX];
      endpoint.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'ReadRegisteredModelArtifacts',
        actions: ['s3:GetObject'],
        resources: prefixes.map((p) => d.modelArtifactsBucket!.arnForObjects(`${p}*`)),
      }));
      if (d.modelArtifactsBucket.encryptionKey) {
        endpoint.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [d.modelArtifactsBucket.encryptionKey.keyArn] }));
      }
      acknowledgePolicyWildcards(endpoint.role, {
        ReadRegisteredModelArtifacts: 'Registered model versions are stored under generated keys (one folder per training job); read access is limited to the artifacts prefixes.',
      }, 'ecr:GetAuthorizationToken and the EC2 Describe calls SageMaker makes for VPC networking have no resource-level permissions.');
    }
    for (const repo of d.imageRepositories ?? []) repo.grantPull(endpoint.role);
    if (d.imageEncryptionKey) endpoint.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [d.imageEncryptionKey.keyArn] }));

    let securityGroups: ec2.ISecurityGroup[] | undefined;
    if (d.vpc) {
      const sg = new ec2.SecurityGroup(this, 'HandlerSecurityGroup', {
        vpc: d.vpc,
        description: `Model approval handler of ${groupName}: HTTPS to the SageMaker API only`,
        allowAllOutbound: false,
      });
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the SageMaker API');
      securityGroups = [sg];
    }

    const fn = new lambda.Function(this, 'Handler', {
      description: `Deploys approved versions of ${groupName} to ${endpointName}`,
      code: handlerCode('model-approval'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(1),
      role,
      logGroup,
      vpc: d.vpc,
      vpcSubnets: d.vpc ? (d.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }) : undefined,
      securityGroups,
      environment: {
        DEPLOYMENT_SPEC: stack.toJsonString(deploymentSpecRequest(endpoint.deploymentSpec)),
        MODEL_PACKAGE_GROUP_NAME: groupName,
        RESOURCE_NAME_PREFIX: prefix,
        POWERTOOLS_SERVICE_NAME: 'model-approval',
        POWERTOOLS_METRICS_NAMESPACE: 'cdk-mlops',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...(scaling && endpoint.scalingAlarms?.length ? {
          [SCALING_ALARMS_ENV]: stack.toJsonString(endpoint.scalingAlarms.map((a): ScalingAlarm => ({ VariantName: a.variantName, PolicyName: a.policyName, AlarmName: a.alarmName }))),
        } : {}),
      },
    });
    fn.addEventSource(new SqsEventSource(queue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: 2 }));
    if (!d.vpc) {
      acknowledgeCheck(fn, 'lambdaInsideVpc',
        'No vpc given: the handler calls only the SageMaker API with IAM-signed TLS requests and reaches nothing inside a VPC. Give vpc to run it in private subnets.');
    } else if (fn.isBoundToVpc && d.vpc.privateSubnets.some((subnet) => Stack.of(subnet) !== Stack.of(this))) {
      acknowledgeControls(fn, ['CT.LAMBDA.PR.3 lambda_inside_vpc_check'],
        'The handler runs in the given VPC\'s private subnets with its own security group; the subnet ids come from the network stack (a cross-stack reference), which the static rule cannot read.');
    }

    // One owner per endpoint: stack deploys ask this handler which model the endpoint config runs.
    if (endpoint instanceof SageMakerEndpoint && Stack.of(endpoint) === stack) {
      endpoint.chooseModelsWith(fn);
      // A new endpoint starts from the newest approved version: ListModelPackages has no resource-level permissions.
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'FindNewestApproved', actions: ['sagemaker:ListModelPackages'], resources: ['*'] }));
    } else {
      Annotations.of(this).addWarningV2('@cdk-mlops/serving:endpointModelOwner',
        `The endpoint ${endpointName} is not a SageMakerEndpoint of this stack: its own stack keeps the model in its template, and a deploy of it replaces the approved version. Deploy approved versions from a ModelRegistry in the endpoint's stack.`);
    }

    if (d.vpc) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: ['*'], // what AWSLambdaVPCAccessExecutionRole grants: Lambda manages the ENIs with generated ids
      }));
    }

    this.alarms.push(
      dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }).createAlarm(this, 'DeadLetterAlarm', {
        alarmDescription: `Approved ${groupName} versions could not be deployed to ${endpointName} (see the dead-letter queue and the handler's logs)`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      fn.metricErrors({ period: Duration.minutes(5) }).createAlarm(this, 'HandlerErrorAlarm', {
        alarmDescription: `The model approval handler of ${groupName} crashed`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    if (d.alarmTopic) for (const alarm of this.alarms) alarm.addAlarmAction(new cwActions.SnsAction(d.alarmTopic));

    acknowledgePolicyWildcards(role, {
      ReadApprovedPackages: 'Package versions are created at run time; access is limited to this one model package group.',
      ManageVersionedModels: 'Models and endpoint configs are named per approved version at run time; access is limited to this endpoint\'s name prefix.',
      ...(scaling ? {
        SuspendEndpointScaling: 'Application Auto Scaling names scalable targets by generated ids (scalable-target/<id>), not by the endpoint; the statement is limited to the sagemaker namespace and the variant instance count dimension, and the handler acts only on this endpoint\'s variants.',
      } : {}),
    }, `sagemaker:ListModelPackages (finding the newest approved version of the group for a new endpoint) has no resource-level permissions; Lambda manages the network interfaces of a VPC function (what AWSLambdaVPCAccessExecutionRole grants), whose ids are generated${scaling ? '; Application Auto Scaling\'s DescribeScalableTargets and DescribeScalingPolicies have no resource-level permissions' : ''}.`);
    acknowledge(role, compliancePackIds('IAMNoInlinePolicy'),
      'The default policy CDK generates for this one handler role from scoped grants; it is not shared with other roles.');
    // SQS (not an async invocation) drives the function: failed events go to the queue's dead-letter queue.
    acknowledge(fn, compliancePackIds('LambdaDLQ'),
      'Invoked by an SQS event source mapping, where a function DLQ never applies; the source queue redrives failed events to its own KMS-encrypted dead-letter queue.');
    // The event source's maxConcurrency (2) bounds the function's concurrency without reserving account capacity.
    acknowledge(fn, compliancePackIds('LambdaConcurrency'),
      'Concurrency is bounded by the SQS event source mapping (maxConcurrency 2); reserved concurrency would fail in accounts at the minimum unreserved quota.');
    return { handler: fn, queue, deadLetterQueue: dlq, approvalRule };
  }

  /**
   * SageMaker rejects an instance-type change of a variant with a registered scalable target. For an autoscaled
   * endpoint the handler saves the target and its policies, deregisters it for the update and registers it again
   * afterwards; what to restore travels as an event on the default bus, routed by this rule to the approval queue.
   */
  private grantScalingAroundTypeChanges(role: iam.Role, endpoint: IModelEndpoint, queue: sqs.IQueue): events.Rule | undefined {
    if (!endpoint.deploymentSpec.autoScaledVariants?.length) return undefined;
    const stack = Stack.of(this);
    const rule = new events.Rule(this, 'ScalingSuspendedRule', {
      description: `Scalable targets of ${endpoint.endpointName} deregistered for an instance type change → registered again when the update ends`,
      eventPattern: { source: [SCALING_EVENT_SOURCE], detailType: [SCALING_SUSPENDED], detail: { EndpointName: [endpoint.endpointName] } },
      targets: [new targets.SqsQueue(queue)],
    });
    const scope = { StringEquals: { 'application-autoscaling:service-namespace': SAGEMAKER_NAMESPACE, 'application-autoscaling:scalable-dimension': VARIANT_DIMENSION } };
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['application-autoscaling:DescribeScalableTargets', 'application-autoscaling:DescribeScalingPolicies'],
      resources: ['*'], // no resource-level permissions
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'SuspendEndpointScaling',
      actions: ['application-autoscaling:DeregisterScalableTarget', 'application-autoscaling:RegisterScalableTarget', 'application-autoscaling:PutScalingPolicy'],
      resources: [stack.formatArn({ service: 'application-autoscaling', resource: 'scalable-target', resourceName: '*' })],
      conditions: scope,
    }));
    // RegisterScalableTarget for a SageMaker variant: Application Auto Scaling checks the endpoint as the caller.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:UpdateEndpointWeightsAndCapacities'], resources: [endpoint.endpointArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [stack.formatArn({
        service: 'iam', region: '', resource: 'role',
        resourceName: 'aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
      })],
      conditions: { StringLike: { 'iam:AWSServiceName': 'sagemaker.application-autoscaling.amazonaws.com' } },
    }));
    // A step scaling policy put back has a new ARN: its alarm (read whole, written back whole) is pointed at it.
    if (endpoint.scalingAlarms?.length) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'RepointScalingAlarms', actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm'], resources: endpoint.scalingAlarms.map((a) => a.alarmArn),
      }));
    }
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['events:PutEvents'],
      resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
      // Multivalued keys (one value per entry of the PutEvents call): every entry must be this record, and there must be entries.
      conditions: {
        'ForAllValues:StringEquals': { 'events:source': [SCALING_EVENT_SOURCE], 'events:detail-type': [SCALING_SUSPENDED] },
        'Null': { 'events:source': 'false', 'events:detail-type': 'false' },
      },
    }));
    return rule;
  }
}

class ImportedModelPackageGroup extends Construct implements IModelRegistry {
  public readonly modelPackageGroupName: string;
  public readonly modelPackageGroupArn: string;
  private readonly packagesArn: string;
  constructor(scope: Construct, id: string, attrs: ModelRegistryAttributes) {
    super(scope, id);
    const stack = Stack.of(this);
    const name = attrs.modelPackageGroupName;
    const where = { account: attrs.account, region: attrs.region };
    this.modelPackageGroupName = name;
    // SageMaker lowercases names in ARNs.
    this.modelPackageGroupArn = stack.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: name.toLowerCase(), ...where });
    this.packagesArn = stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${name.toLowerCase()}/*`, ...where });
  }

  public grantRegister(grantee: iam.IGrantable): iam.Grant {
    return grantOnGroup(grantee, REGISTER_ACTIONS, this.modelPackageGroupArn, this.packagesArn);
  }

  public grantApprove(grantee: iam.IGrantable): iam.Grant {
    return grantOnGroup(grantee, APPROVE_ACTIONS, this.modelPackageGroupArn, this.packagesArn).combine(listPackages(grantee));
  }
}
