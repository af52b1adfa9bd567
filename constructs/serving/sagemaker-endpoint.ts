import { ArnFormat, CustomResource, Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, type IConstruct } from 'constructs';
import { platformKey } from '../core/defaults';
import { acknowledge, acknowledgeCheck, compliancePackIds } from '../core/nag';
import { acknowledgePolicyWildcards } from './policy-wildcards';
import { propsError, PropsValidator } from '../core/validation';
import { type ModelImage } from './model-image';
import { instanceArchitecture, isHostingInstanceType } from './hosting-instance-types';
import { VARIANT_DIMENSION, variantResourceId } from '../../lambda/model-approval/scaling-event';

/** How the endpoint runs: always-on instances, serverless (scales to zero), or queued asynchronous inference. */
export type EndpointMode = 'real-time' | 'serverless' | 'async';

/** How blue/green deployments shift traffic to the new fleet. */
export type TrafficShifting = 'all-at-once' | 'canary' | 'linear';

/** An S3 object: a bucket and a key. */
export interface S3ObjectLocation {
  readonly bucket: s3.IBucket;
  /** Object key, e.g. `models/churn/model.tar.gz`. */
  readonly key: string;
}

/** One production variant of a multi-variant (A/B) endpoint. */
export interface ProductionVariantOptions {
  /** Variant name, e.g. `champion`, `challenger`. */
  readonly variantName: string;
  /** Relative share of traffic (weights are normalised over all variants). @default 1 */
  readonly initialVariantWeight?: number;
  /** Image of this variant's model. @default - the endpoint's `image` */
  readonly image?: ModelImage;
  /** Model data of this variant's model. @default - the endpoint's `modelData` */
  readonly modelData?: S3ObjectLocation;
  /** Environment merged over the endpoint's `environment`. @default - none */
  readonly environment?: Record<string, string>;
  /** @default - the endpoint's `instanceType` */
  readonly instanceType?: string;
  /** @default - the endpoint's `instanceCount` */
  readonly initialInstanceCount?: number;
}

/** Sizing of a serverless endpoint. */
export interface ServerlessOptions {
  /** Memory in MB: 1024, 2048, 3072, 4096, 5120 or 6144. @default 2048 */
  readonly memorySizeInMb?: number;
  /** Concurrent invocations the endpoint can process (1-200). @default 10 */
  readonly maxConcurrency?: number;
  /** Invocations kept warm (1 to maxConcurrency); billed while provisioned. @default - none (scale to zero) */
  readonly provisionedConcurrency?: number;
}

/** Where asynchronous inference writes results, and whom it tells. */
export interface AsyncInferenceOptions {
  /** Bucket for results and failures (the role may write only under `outputPrefix`). */
  readonly outputBucket: s3.IBucket;
  /** Key prefix of results (`<prefix>output/`) and failures (`<prefix>failures/`). @default 'async-inference/<endpoint name>/' */
  readonly outputPrefix?: string;
  /** Topic told of each success. @default - a new KMS-encrypted topic */
  readonly successTopic?: sns.ITopic;
  /** Topic told of each failure. @default - a new KMS-encrypted topic */
  readonly errorTopic?: sns.ITopic;
  /** Requests each instance processes at once. @default - SageMaker chooses */
  readonly maxConcurrentInvocationsPerInstance?: number;
}

/** Target-tracking autoscaling of instance-based variants. */
export interface EndpointAutoScalingOptions {
  /** @default - the variant's instance count; 0 for async endpoints (scale to zero on an empty queue) */
  readonly minCapacity?: number;
  /** Upper bound of instances per variant. */
  readonly maxCapacity: number;
  /** Real-time: invocations per instance per minute to hold. @default 100 */
  readonly targetInvocationsPerInstance?: number;
  /** Async: queued requests per instance to hold. @default 5 */
  readonly targetBacklogPerInstance?: number;
  /** @default Duration.minutes(5) */
  readonly scaleInCooldown?: Duration;
  /** @default Duration.minutes(1) */
  readonly scaleOutCooldown?: Duration;
}

/** Capture of requests and responses to S3, for Model Monitor and debugging. */
export interface DataCaptureOptions {
  readonly bucket: s3.IBucket;
  /** @default 'data-capture/<endpoint name>/' */
  readonly prefix?: string;
  /** Share of requests captured, 1-100. @default 20 */
  readonly samplingPercentage?: number;
  /** Key encrypting captured objects. @default - the bucket's key, else the endpoint's key */
  readonly encryptionKey?: kms.IKey;
}

/** Blue/green deployment guardrails: shifted traffic, bake time, automatic rollback on alarms. */
export interface DeploymentGuardrailOptions {
  /** @default 'canary' */
  readonly trafficShifting?: TrafficShifting;
  /** Canary: percent of capacity that takes traffic first (1-50). @default 10 */
  readonly canarySizePercent?: number;
  /** Linear: percent of capacity shifted per step (10-50, SageMaker's range). @default 20 */
  readonly linearStepPercent?: number;
  /** Time the new fleet is watched after each shift before going on (0-60 minutes). @default Duration.minutes(10) */
  readonly bakeTime?: Duration;
  /** Time the old fleet is kept after the shift completes, for a fast rollback (0-60 minutes). @default Duration.minutes(5) */
  readonly terminationWait?: Duration;
  /** Upper bound of the whole deployment (10 minutes-4 hours). @default Duration.hours(1) */
  readonly maximumExecutionTimeout?: Duration;
  /** Alarms that roll the deployment back (1-10). @default - the construct's 5xx and model-latency alarms */
  readonly rollbackAlarms?: cloudwatch.IAlarm[];
}

/** Thresholds of the alarms the endpoint creates (used for rollback and sent to `alarmTopic`). */
export interface EndpointAlarmOptions {
  /** 5xx responses per minute, per variant, that raise the alarm. @default 5 */
  readonly errorThreshold?: number;
  /** p99 model latency that raises the alarm (3 minutes in a row). @default Duration.seconds(1) */
  readonly latencyThreshold?: Duration;
}

export interface SageMakerEndpointProps {
  /** Container image of the model (see {@link ModelImage}). */
  readonly image: ModelImage;
  /** A `model.tar.gz` SageMaker unpacks into `/opt/ml/model`. @default - none (the model is in the image) */
  readonly modelData?: S3ObjectLocation;
  /** Environment variables of the container. @default - none */
  readonly environment?: Record<string, string>;
  /** @default 'real-time' */
  readonly mode?: EndpointMode;
  /** Real-time/async instance type, an `ml.*` type such as `ml.m5.large` or `ml.g5.xlarge`. @default 'ml.m5.large' */
  readonly instanceType?: string;
  /** Real-time/async instances per variant; use at least 2 in production so instances span AZs. @default 1 */
  readonly instanceCount?: number;
  /** Production variants for A/B tests (not for serverless). @default - one variant `AllTraffic` */
  readonly variants?: ProductionVariantOptions[];
  /** Serverless sizing (mode `serverless`). @default - 2048 MB, 10 concurrent invocations */
  readonly serverless?: ServerlessOptions;
  /** Output location and topics (required for mode `async`). @default - none */
  readonly asyncInference?: AsyncInferenceOptions;
  /** Autoscaling of each variant (real-time and async). @default - fixed instance count */
  readonly autoScaling?: EndpointAutoScalingOptions;
  /** Capture requests and responses (real-time and async). @default - no capture */
  readonly dataCapture?: DataCaptureOptions;
  /** Blue/green deployment guardrails for updates (real-time and async). @default - SageMaker's default all-at-once blue/green without alarms */
  readonly deployment?: DeploymentGuardrailOptions;
  /** Thresholds of the endpoint's alarms. @default - see {@link EndpointAlarmOptions} */
  readonly alarms?: EndpointAlarmOptions;
  /** Topic the endpoint's alarms notify. @default - alarms without actions */
  readonly alarmTopic?: sns.ITopic;
  /** Run the model containers in this VPC (not for serverless). @default - SageMaker's network */
  readonly vpc?: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default - a new group allowing HTTPS out only */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Block all network calls from the model container (SageMaker still fetches image and model data). Not for serverless. @default true (false for serverless) */
  readonly networkIsolation?: boolean;
  /** Execution role of the model. @default - a new role granted only what the endpoint needs */
  readonly role?: iam.IRole;
  /**
   * Name of the execution role created when `role` is not given (another account's bucket, key or repository policy
   * may then name it, e.g. to let it read a promoted model). At most 64 characters. @default - generated
   */
  readonly roleName?: string;
  /** Key for the ML storage volumes, async output and new topics. @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /**
   * Endpoint name (the endpoint config and model names are always generated, so updates can replace them).
   * @default - a unique lowercase name derived from the construct path
   */
  readonly endpointName?: string;
}

const DEFAULT_VARIANT = 'AllTraffic';
const SERVERLESS_MEMORY = [1024, 2048, 3072, 4096, 5120, 6144];
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** `ml.*` instance families SageMaker hosting offers. */
export const SAGEMAKER_INSTANCE_FAMILIES = [
  't2', 't3', 'm4', 'm5', 'm5d', 'm6i', 'm6id', 'm6g', 'm6gd', 'm7i', 'c4', 'c5', 'c5d', 'c6i', 'c6id', 'c6g', 'c6gd', 'c6gn',
  'c7g', 'c7i', 'r5', 'r5d', 'r6i', 'r6id', 'r6g', 'r6gd', 'r7i', 'r8g', 'g4dn', 'g5', 'g6', 'g6e', 'p2', 'p3', 'p3dn', 'p4d', 'p4de',
  'p5', 'p5e', 'inf1', 'inf2', 'trn1', 'trn1n',
] as const;
const GPU_FAMILIES = new Set(['g4dn', 'g5', 'g6', 'g6e', 'p2', 'p3', 'p3dn', 'p4d', 'p4de', 'p5', 'p5e']);
// Nitro instances with local NVMe storage: SageMaker encrypts it in hardware and rejects a KmsKeyId.
const LOCAL_STORAGE_FAMILIES = new Set(['m5d', 'm6id', 'm6gd', 'c5d', 'c6id', 'c6gd', 'r5d', 'r6id', 'r6gd', 'g4dn', 'g5', 'g6', 'g6e', 'p3dn', 'p4d', 'p4de', 'p5', 'p5e', 'trn1', 'trn1n']);
const INSTANCE_TYPE = /^ml\.([a-z0-9]+)\.(medium|large|\d*xlarge)$/;

/** Whether `instanceType` is a valid SageMaker hosting type (`ml.<family>.<size>` of a known family). */
export function isSageMakerInstanceType(instanceType: string): boolean {
  const m = INSTANCE_TYPE.exec(instanceType);
  return !!m && (SAGEMAKER_INSTANCE_FAMILIES as readonly string[]).includes(m[1]);
}

/** Whether `instanceType` has GPUs (billed by the hour even when idle). */
export function isGpuInstanceType(instanceType: string): boolean {
  const m = INSTANCE_TYPE.exec(instanceType);
  return !!m && GPU_FAMILIES.has(m[1]);
}

function hasLocalStorage(instanceType: string): boolean {
  const m = INSTANCE_TYPE.exec(instanceType);
  return !!m && LOCAL_STORAGE_FAMILIES.has(m[1]);
}

/**
 * Everything the model-approval handler needs to roll a new model version onto this endpoint, JSON-serialisable
 * (values may be CDK tokens until synth). Nested configs are in the SageMaker API's shape (PascalCase);
 * {@link deploymentSpecRequest} renders the whole spec in that shape for the handler.
 */
export interface EndpointDeploymentSpec {
  readonly endpointName: string;
  readonly executionRoleArn: string;
  readonly enableNetworkIsolation: boolean;
  /** @default - no VPC */
  readonly vpcConfig?: EndpointVpcConfig;
  readonly environment: Record<string, string>;
  /** Production variants without `ModelName` (the handler fills in the new model). */
  readonly productionVariants: Record<string, unknown>[];
  /** @default - SageMaker's own key */
  readonly kmsKeyId?: string;
  /** @default - no capture */
  readonly dataCaptureConfig?: Record<string, unknown>;
  /** @default - not async */
  readonly asyncInferenceConfig?: Record<string, unknown>;
  /** @default - all at once */
  readonly deploymentConfig?: Record<string, unknown>;
  /** Variants with autoscaling: an update keeps their current instance count. @default - none */
  readonly autoScaledVariants?: string[];
}

/** The spec in the SageMaker API's shape (PascalCase keys), as the model-approval handler reads it. */
export function deploymentSpecRequest(spec: EndpointDeploymentSpec): Record<string, unknown> {
  return {
    EndpointName: spec.endpointName,
    ExecutionRoleArn: spec.executionRoleArn,
    EnableNetworkIsolation: spec.enableNetworkIsolation,
    VpcConfig: spec.vpcConfig ? { SecurityGroupIds: spec.vpcConfig.securityGroupIds, Subnets: spec.vpcConfig.subnets } : undefined,
    Environment: spec.environment,
    ProductionVariants: spec.productionVariants,
    KmsKeyId: spec.kmsKeyId,
    DataCaptureConfig: spec.dataCaptureConfig,
    AsyncInferenceConfig: spec.asyncInferenceConfig,
    DeploymentConfig: spec.deploymentConfig,
    AutoScaledVariants: spec.autoScaledVariants,
  };
}

/** Metric options of an endpoint metric, optionally for one production variant. */
export interface EndpointMetricOptions extends cloudwatch.MetricOptions {
  /** Production variant. @default - the endpoint as a whole (`metric`), the first variant (named metrics) */
  readonly variantName?: string;
}

/** Where an endpoint's data capture writes: `<prefix><endpoint>/<variant>/YYYY/MM/DD/HH/`. */
export interface DataCaptureLocation {
  readonly bucket: s3.IBucket;
  readonly prefix: string;
  /** Key SageMaker encrypts the captures with. */
  readonly encryptionKey: kms.IKey;
}

/** Where an async endpoint's requests are read from (`<prefix>input/`) and its results written. */
export interface AsyncInferenceLocation {
  readonly bucket: s3.IBucket;
  readonly prefix: string;
  /** Key SageMaker encrypts the results with. */
  readonly encryptionKey: kms.IKey;
}

/** The VPC an endpoint's models run in. */
export interface EndpointVpcConfig {
  readonly securityGroupIds: string[];
  readonly subnets: string[];
}

/**
 * A CloudWatch alarm whose action is a step scaling policy of a variant (an asynchronous endpoint's scale-from-zero
 * alarm). Application Auto Scaling deletes the policy when the variant's scalable target is deregistered, and a policy
 * put again has a new ARN: whoever puts it back must point the alarm at it.
 */
export interface EndpointScalingAlarm {
  readonly variantName: string;
  /** Name of the step scaling policy the alarm runs. */
  readonly policyName: string;
  /**
   * The alarm's fixed name and ARN (not references: the alarm depends on the endpoint through its policy and target, so
   * whatever the endpoint depends on, such as the approval handler answering `Custom::ServedModel`, cannot reference it).
   */
  readonly alarmName: string;
  readonly alarmArn: string;
  readonly alarm: cloudwatch.IAlarm;
}

/** A SageMaker endpoint other constructs (model registry, monitors) can deploy to or watch. */
export interface IModelEndpoint extends iam.IGrantable, IConstruct {
  readonly endpointName: string;
  readonly endpointArn: string;
  readonly mode: EndpointMode;
  /** The execution role models on this endpoint run with. */
  readonly role: iam.IRole;
  readonly encryptionKey: kms.IKey;
  readonly deploymentSpec: EndpointDeploymentSpec;
  /** Alarms a blue/green update rolls back on; whoever calls UpdateEndpoint needs cloudwatch:DescribeAlarms on them. */
  readonly rollbackAlarms?: cloudwatch.IAlarm[];
  /** Alarms that run step scaling policies of autoscaled variants (re-pointed when the policies are put again). @default - none */
  readonly scalingAlarms?: EndpointScalingAlarm[];
  /** Data capture location, when captured. */
  readonly dataCapture?: DataCaptureLocation;
}

interface ResolvedVariant {
  readonly name: string;
  readonly weight: number;
  readonly image: ModelImage;
  readonly modelData?: S3ObjectLocation;
  readonly environment: Record<string, string>;
  readonly instanceType: string;
  readonly instanceCount: number;
}

/**
 * A SageMaker endpoint a team invokes, watches or monitors: a {@link SageMakerEndpoint} or one created elsewhere
 * (another stack or account), imported with {@link SageMakerEndpoint.fromEndpointAttributes}.
 */
export interface ISageMakerEndpoint extends IConstruct {
  readonly endpointName: string;
  readonly endpointArn: string;
  /** How the endpoint runs (decides which metrics it publishes). */
  readonly mode: EndpointMode;
  /** Production variant names, in order; named metrics default to the first. */
  readonly variantNames: string[];
  /** Allow `grantee` to invoke the endpoint (synchronous, streaming and asynchronous). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
  /** A metric of this endpoint in `AWS/SageMaker` (per variant when `variantName` is given). */
  metric(metricName: string, props?: EndpointMetricOptions): cloudwatch.Metric;
  /** Requests sent to the model (Sum). */
  metricInvocations(props?: EndpointMetricOptions): cloudwatch.Metric;
  /** Time the model takes to respond, in microseconds (Average). */
  metricModelLatency(props?: EndpointMetricOptions): cloudwatch.Metric;
  /** Requests the model answered with 5xx (Sum). */
  metric5xx(props?: EndpointMetricOptions): cloudwatch.Metric;
  /** Requests the model answered with 4xx (Sum). */
  metric4xx(props?: EndpointMetricOptions): cloudwatch.Metric;
}

/** An endpoint created elsewhere, by name; grants and metrics are scoped to it. */
export interface SageMakerEndpointAttributes {
  readonly endpointName: string;
  /** Account of the endpoint. @default - this stack's account */
  readonly account?: string;
  /** Region of the endpoint. @default - this stack's region */
  readonly region?: string;
  /** @default 'real-time' */
  readonly mode?: EndpointMode;
  /** @default ['AllTraffic'] */
  readonly variantNames?: string[];
}

/** Grants and metrics shared by owned and imported endpoints. */
abstract class SageMakerEndpointBase extends Construct implements ISageMakerEndpoint {
  public abstract readonly endpointName: string;
  public abstract readonly endpointArn: string;
  public abstract readonly mode: EndpointMode;
  public abstract readonly variantNames: string[];

  /** Allow `grantee` to invoke the endpoint (synchronous, streaming and asynchronous). */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync', 'sagemaker:InvokeEndpointWithResponseStream'],
      resourceArns: [this.endpointArn],
    });
  }

  /** A metric of this endpoint in `AWS/SageMaker` (per variant when `variantName` is given). */
  public metric(metricName: string, props: EndpointMetricOptions = {}): cloudwatch.Metric {
    const { variantName, ...options } = props;
    return new cloudwatch.Metric({
      namespace: 'AWS/SageMaker',
      metricName,
      dimensionsMap: variantName ? { EndpointName: this.endpointName, VariantName: variantName } : { EndpointName: this.endpointName },
      period: Duration.minutes(1),
      ...options,
    });
  }

  /** Requests sent to the model (Sum). Defaults to the first variant. */
  public metricInvocations(props: EndpointMetricOptions = {}): cloudwatch.Metric {
    return this.metric('Invocations', { statistic: 'Sum', variantName: this.variantNames[0], ...props });
  }

  /** Requests per instance (Sum), what autoscaling tracks. */
  public metricInvocationsPerInstance(props: EndpointMetricOptions = {}): cloudwatch.Metric {
    return this.metric('InvocationsPerInstance', { statistic: 'Sum', variantName: this.variantNames[0], ...props });
  }

  /** Time the model takes to respond, in microseconds (Average). */
  public metricModelLatency(props: EndpointMetricOptions = {}): cloudwatch.Metric {
    return this.metric('ModelLatency', { statistic: 'Average', variantName: this.variantNames[0], ...props });
  }

  /** Time SageMaker adds on top of the model, in microseconds (Average). */
  public metricOverheadLatency(props: EndpointMetricOptions = {}): cloudwatch.Metric {
    return this.metric('OverheadLatency', { statistic: 'Average', variantName: this.variantNames[0], ...props });
  }

  /** Requests the model answered with 5xx (Sum). */
  public metric5xx(props: EndpointMetricOptions = {}): cloudwatch.Metric {
    return this.metric('Invocation5XXErrors', { statistic: 'Sum', variantName: this.variantNames[0], ...props });
  }

  /** Requests the model answered with 4xx (Sum). */
  public metric4xx(props: EndpointMetricOptions = {}): cloudwatch.Metric {
    return this.metric('Invocation4XXErrors', { statistic: 'Sum', variantName: this.variantNames[0], ...props });
  }

  /** Async endpoints: queued requests (Average). */
  public metricBacklogSize(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('ApproximateBacklogSize', { statistic: 'Average', ...props });
  }
}

/**
 * A SageMaker endpoint in one of three modes (real-time, serverless, async) with secure defaults: a generated
 * EndpointConfig encrypted with a customer-managed key, network isolation, an execution role granted only the
 * model object, the image and the capture/output prefixes, data capture, target-tracking autoscaling, 5xx and
 * latency alarms, and blue/green deployment guardrails (canary or linear) that roll back on those alarms.
 */
export class SageMakerEndpoint extends SageMakerEndpointBase implements IModelEndpoint, ec2.IConnectable {
  /** Uses an endpoint created elsewhere (this or another stack or account): invoke grants, metrics, monitoring. */
  public static fromEndpointAttributes(scope: Construct, id: string, attrs: SageMakerEndpointAttributes): ISageMakerEndpoint {
    class Imported extends SageMakerEndpointBase {
      public readonly endpointName = attrs.endpointName;
      public readonly mode = attrs.mode ?? 'real-time';
      public readonly variantNames = attrs.variantNames ?? ['AllTraffic'];
      public readonly endpointArn = Stack.of(scope).formatArn({
        service: 'sagemaker', resource: 'endpoint', resourceName: attrs.endpointName.toLowerCase(), account: attrs.account, region: attrs.region,
      });
    }
    return new Imported(scope, id);
  }

  public readonly endpointName: string;
  public readonly endpointArn: string;
  public readonly mode: EndpointMode;
  public readonly role: iam.IRole;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly encryptionKey: kms.IKey;
  public readonly endpoint: sagemaker.CfnEndpoint;
  public readonly endpointConfig: sagemaker.CfnEndpointConfig;
  /** Models by variant name. */
  public readonly models: Readonly<Record<string, sagemaker.CfnModel>>;
  /** Variant names, in order. */
  public readonly variantNames: string[];
  /** The 5xx and latency alarms (one pair per variant). */
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly securityGroups: ec2.ISecurityGroup[] = [];
  /** The endpoint's security groups (none outside a VPC): allow the endpoint's models to reach a database, say. */
  public get connections(): ec2.Connections {
    return new ec2.Connections({ securityGroups: this.securityGroups });
  }
  /** Scalable targets by variant name, when autoscaling is on. */
  public readonly scalableTargets: Readonly<Record<string, appscaling.ScalableTarget>>;
  /** Alarms running step scaling policies: an asynchronous endpoint's scale-from-zero alarm per variant. */
  public get scalingAlarms(): EndpointScalingAlarm[] | undefined {
    return [...this.stepScalingAlarms];
  }
  private readonly stepScalingAlarms: EndpointScalingAlarm[] = [];
  public readonly dataCapture?: DataCaptureLocation;
  /** Async endpoints: where requests may be read from (`<prefix>input/`, the role may read it) and results are written. */
  public readonly asyncInference?: AsyncInferenceLocation;
  public readonly asyncSuccessTopic?: sns.ITopic;
  public readonly asyncErrorTopic?: sns.ITopic;
  public readonly deploymentSpec: EndpointDeploymentSpec;
  public readonly rollbackAlarms?: cloudwatch.IAlarm[];
  private served?: CustomResource;
  private readonly productionVariants: sagemaker.CfnEndpointConfig.ProductionVariantProperty[];

  constructor(scope: Construct, id: string, props: SageMakerEndpointProps) {
    super(scope, id);
    const mode = props.mode ?? 'real-time';
    const instanceBased = mode !== 'serverless';
    const instanceType = props.instanceType ?? 'ml.m5.large';
    const instanceCount = props.instanceCount ?? 1;
    const networkIsolation = props.networkIsolation ?? instanceBased;
    const serverless = { memorySizeInMb: 2048, maxConcurrency: 10, ...props.serverless };
    const endpointName = props.endpointName ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' }).toLowerCase();
    const variants: ResolvedVariant[] = (props.variants ?? [{ variantName: DEFAULT_VARIANT }]).map((v) => ({
      name: v.variantName,
      weight: v.initialVariantWeight ?? 1,
      image: v.image ?? props.image,
      modelData: v.modelData ?? props.modelData,
      environment: { ...props.environment, ...v.environment },
      instanceType: v.instanceType ?? instanceType,
      instanceCount: v.initialInstanceCount ?? instanceCount,
    }));
    const guard = props.deployment;
    const scaling = props.autoScaling;

    // ---- validation: every problem at once, naming the prop ----
    const v = new PropsValidator(this, 'SageMakerEndpoint');
    v.check(['real-time', 'serverless', 'async'].includes(mode), 'mode', mode, 'must be "real-time", "serverless" or "async"');
    if (props.endpointName !== undefined) v.check(NAME.test(props.endpointName), 'endpointName', props.endpointName, 'must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit');
    if (props.roleName !== undefined && !Token.isUnresolved(props.roleName)) {
      v.check(/^[\w+=,.@-]{1,64}$/.test(props.roleName), 'roleName', props.roleName, 'must be 1-64 letters, digits and +=,.@_- (an IAM role name)');
      v.check(props.role === undefined, 'roleName', props.roleName, 'names the role created here; leave it out when giving role');
    }
    const images = [{ prop: 'image', image: props.image }, ...(props.variants ?? []).filter((x) => x.image).map((x) => ({ prop: `variants[${x.variantName}].image`, image: x.image! }))];
    for (const { prop, image } of images) {
      const problem = image.validate();
      if (problem) v.check(false, prop, problem.value, problem.allowed);
    }
    v.check(variants.length >= 1 && variants.length <= 10, 'variants', variants.length, 'must have 1 to 10 variants');
    v.check(new Set(variants.map((x) => x.name)).size === variants.length, 'variants', variants.map((x) => x.name), 'variant names must be unique');
    for (const x of variants) {
      v.check(NAME.test(x.name), 'variants[].variantName', x.name, 'must be 1-63 letters, digits and hyphens');
      v.check(Token.isUnresolved(x.weight) || (x.weight >= 0 && Number.isFinite(x.weight)), `variants[${x.name}].initialVariantWeight`, x.weight, 'must be 0 or more');
      if (instanceBased) {
        const typeKey = props.variants ? `variants[${x.name}].instanceType` : 'instanceType';
        const known = Token.isUnresolved(x.instanceType) || isHostingInstanceType(x.instanceType);
        v.check(known, typeKey, x.instanceType,
          'must be a SageMaker hosting instance type (the ProductionVariantInstanceType list of the SageMaker API), such as ml.m5.large, ml.c6i.xlarge or ml.g5.xlarge');
        if (known && !Token.isUnresolved(x.instanceType)) {
          const arch = instanceArchitecture(x.instanceType);
          v.check(arch === x.image.architecture, typeKey, x.instanceType,
            `is an ${arch} instance but the image (${x.image.description}) is built for ${x.image.architecture}; use an ${x.image.architecture} type such as ${x.image.architecture === 'amd64' ? 'ml.m5.large or ml.c6i.xlarge' : 'ml.m6g.large or ml.c7g.xlarge'}, or an image built for ${arch}`);
        }
        v.intRange(props.variants ? `variants[${x.name}].initialInstanceCount` : 'instanceCount', x.instanceCount, 1, 100, 'instances');
      }
    }
    v.check(variants.some((x) => Token.isUnresolved(x.weight) || x.weight > 0), 'variants[].initialVariantWeight', variants.map((x) => x.weight), 'at least one variant needs a weight above 0, or no traffic is served');
    if (mode === 'serverless') {
      v.check(Token.isUnresolved(serverless.memorySizeInMb) || SERVERLESS_MEMORY.includes(serverless.memorySizeInMb), 'serverless.memorySizeInMb', serverless.memorySizeInMb, `must be one of ${SERVERLESS_MEMORY.join(', ')} MB`);
      v.intRange('serverless.maxConcurrency', serverless.maxConcurrency, 1, 200);
      if (serverless.provisionedConcurrency !== undefined) v.intRange('serverless.provisionedConcurrency', serverless.provisionedConcurrency, 1, Token.isUnresolved(serverless.maxConcurrency) ? 200 : serverless.maxConcurrency, '(at most maxConcurrency)');
      // Features SageMaker serverless inference does not offer.
      v.check(variants.length === 1, 'variants', variants.length, 'serverless endpoints have exactly one variant; use mode "real-time" for A/B variants');
      v.check(!props.dataCapture, 'dataCapture', 'set', 'serverless endpoints do not support data capture; use mode "real-time" or "async"');
      v.check(!props.vpc, 'vpc', 'set', 'serverless endpoints do not support VPC configuration');
      v.check(!networkIsolation, 'networkIsolation', networkIsolation, 'serverless endpoints do not support network isolation');
      v.check(!scaling, 'autoScaling', 'set', 'serverless endpoints scale by themselves; use serverless.maxConcurrency');
      v.check(!guard, 'deployment', 'set', 'deployment guardrails need an instance-based endpoint (mode "real-time" or "async")');
    } else {
      v.check(!props.serverless, 'serverless', 'set', `only applies to mode "serverless" (mode is "${mode}")`);
    }
    if (mode === 'async') {
      v.check(!!props.asyncInference, 'asyncInference', undefined, 'mode "async" needs asyncInference.outputBucket, where results are written');
      if (props.asyncInference?.maxConcurrentInvocationsPerInstance !== undefined) v.intRange('asyncInference.maxConcurrentInvocationsPerInstance', props.asyncInference.maxConcurrentInvocationsPerInstance, 1, 1000);
    } else {
      v.check(!props.asyncInference, 'asyncInference', 'set', `only applies to mode "async" (mode is "${mode}")`);
    }
    if (scaling) {
      const min = scaling.minCapacity ?? (mode === 'async' ? 0 : Math.min(...variants.map((x) => x.instanceCount)));
      v.intRange('autoScaling.minCapacity', min, mode === 'async' ? 0 : 1, 100, 'instances');
      v.intRange('autoScaling.maxCapacity', scaling.maxCapacity, 1, 100, 'instances');
      v.check(Token.isUnresolved(min) || Token.isUnresolved(scaling.maxCapacity) || min <= scaling.maxCapacity, 'autoScaling.minCapacity', min, `must not exceed autoScaling.maxCapacity (${scaling.maxCapacity})`);
      if (scaling.targetInvocationsPerInstance !== undefined) v.check(scaling.targetInvocationsPerInstance > 0, 'autoScaling.targetInvocationsPerInstance', scaling.targetInvocationsPerInstance, 'must be above 0');
      if (scaling.targetBacklogPerInstance !== undefined) v.check(scaling.targetBacklogPerInstance > 0, 'autoScaling.targetBacklogPerInstance', scaling.targetBacklogPerInstance, 'must be above 0');
    }
    if (props.dataCapture?.samplingPercentage !== undefined) v.intRange('dataCapture.samplingPercentage', props.dataCapture.samplingPercentage, 1, 100, 'percent');
    if (guard) {
      const shifting = guard.trafficShifting ?? 'canary';
      v.check(['all-at-once', 'canary', 'linear'].includes(shifting), 'deployment.trafficShifting', shifting, 'must be "all-at-once", "canary" or "linear"');
      if (guard.canarySizePercent !== undefined) v.intRange('deployment.canarySizePercent', guard.canarySizePercent, 1, 50, 'percent');
      if (guard.linearStepPercent !== undefined) v.intRange('deployment.linearStepPercent', guard.linearStepPercent, 10, 50, 'percent (SageMaker shifts 10-50% of capacity per linear step)');
      if (guard.bakeTime) v.intRange('deployment.bakeTime', guard.bakeTime.toSeconds(), 0, 3600, 'seconds');
      if (guard.terminationWait) v.intRange('deployment.terminationWait', guard.terminationWait.toSeconds(), 0, 3600, 'seconds');
      if (guard.maximumExecutionTimeout) v.intRange('deployment.maximumExecutionTimeout', guard.maximumExecutionTimeout.toSeconds(), 600, 14400, 'seconds');
      if (guard.rollbackAlarms) {
        v.check(guard.rollbackAlarms.length > 0, 'deployment.rollbackAlarms', [], 'a guardrail needs at least one alarm to roll back on; leave it out to use the endpoint\'s 5xx and latency alarms');
        v.check(guard.rollbackAlarms.length <= 10, 'deployment.rollbackAlarms', guard.rollbackAlarms.length, 'SageMaker watches at most 10 alarms');
      } else {
        v.check(variants.length * 2 <= 10, 'variants', variants.length, 'with deployment guardrails at most 5 variants (2 rollback alarms each, 10 alarms at most)');
      }
    }
    if (props.alarms?.errorThreshold !== undefined) v.check(props.alarms.errorThreshold > 0, 'alarms.errorThreshold', props.alarms.errorThreshold, 'must be above 0');
    v.throwIfInvalid();

    // ---- identity, keys, network ----
    const stack = Stack.of(this);
    this.mode = mode;
    this.endpointName = endpointName;
    this.endpointArn = stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: endpointName.toLowerCase() });
    this.variantNames = variants.map((x) => x.name);
    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', { description: `SageMaker endpoint ${endpointName}` });
    const role = props.role ?? new iam.Role(this, 'ExecutionRole', {
      roleName: props.roleName,
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Execution role of the models of SageMaker endpoint ${endpointName}`,
    });
    this.role = role;
    this.grantPrincipal = role;

    // Container logs go to /aws/sagemaker/Endpoints/<name>; SageMaker creates the group on first start.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ContainerLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: `/aws/sagemaker/Endpoints/${endpointName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    // Storage volumes and async output are encrypted with the endpoint key; SageMaker needs a grant on it.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:DescribeKey'],
      resources: [this.encryptionKey.keyArn],
    }));

    let vpcConfig: sagemaker.CfnModel.VpcConfigProperty | undefined;
    if (props.vpc) {
      const groups = props.securityGroups ?? [this.newSecurityGroup(props.vpc)];
      this.securityGroups.push(...groups);
      const subnets = props.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
      vpcConfig = { securityGroupIds: groups.map((g) => g.securityGroupId), subnets: subnets.subnetIds };
      this.grantVpcAccess(role, subnets.subnetIds, groups);
    }

    // ---- models: one per variant, so A/B variants can run different images or weights ----
    const models: Record<string, sagemaker.CfnModel> = {};
    const modelData = new Set<string>();
    for (const x of variants) {
      const image = x.image.bind(this, role);
      if (x.modelData) {
        const k = `${x.modelData.bucket.node.addr}/${x.modelData.key}`;
        if (!modelData.has(k)) {
          modelData.add(k);
          this.grantReadObject(role, x.modelData);
        }
      }
      const model = new sagemaker.CfnModel(this, variants.length === 1 && !props.variants ? 'Model' : `Model-${x.name}`, {
        executionRoleArn: role.roleArn,
        primaryContainer: {
          image: image.imageUri,
          modelDataUrl: x.modelData ? x.modelData.bucket.s3UrlForObject(x.modelData.key) : undefined,
          environment: Object.keys(x.environment).length > 0 ? x.environment : undefined,
        },
        enableNetworkIsolation: networkIsolation,
        vpcConfig,
      });
      // The role's policy must exist before SageMaker validates the image and model data.
      model.node.addDependency(role);
      models[x.name] = model;
    }
    this.models = models;

    // ---- endpoint config ----
    const kmsAllowed = !instanceBased || variants.every((x) => Token.isUnresolved(x.instanceType) || !hasLocalStorage(x.instanceType));
    const productionVariants = variants.map((x) => ({
      variantName: x.name,
      initialVariantWeight: x.weight,
      ...(instanceBased
        ? { instanceType: x.instanceType, initialInstanceCount: x.instanceCount }
        : { serverlessConfig: { memorySizeInMb: serverless.memorySizeInMb, maxConcurrency: serverless.maxConcurrency, provisionedConcurrency: serverless.provisionedConcurrency } }),
    }));

    let dataCaptureConfig: sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | undefined;
    if (props.dataCapture) {
      const dc = props.dataCapture;
      const prefix = normalisePrefix(dc.prefix ?? `data-capture/${endpointName}/`);
      const key = dc.encryptionKey ?? dc.bucket.encryptionKey ?? this.encryptionKey;
      this.dataCapture = { bucket: dc.bucket, prefix, encryptionKey: key };
      this.grantWritePrefix('WriteDataCapture', role, dc.bucket, prefix, key);
      dataCaptureConfig = {
        enableCapture: true,
        initialSamplingPercentage: dc.samplingPercentage ?? 20,
        destinationS3Uri: dc.bucket.s3UrlForObject(prefix.replace(/\/$/, '')),
        kmsKeyId: key.keyArn,
        captureOptions: [{ captureMode: 'Input' }, { captureMode: 'Output' }],
        captureContentTypeHeader: { csvContentTypes: ['text/csv'], jsonContentTypes: ['application/json'] },
      };
    }

    let asyncInferenceConfig: sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty | undefined;
    if (props.asyncInference) {
      const ai = props.asyncInference;
      const prefix = normalisePrefix(ai.outputPrefix ?? `async-inference/${endpointName}/`);
      const outputKey = ai.outputBucket.encryptionKey ?? this.encryptionKey;
      this.grantWritePrefix('WriteAsyncOutput', role, ai.outputBucket, prefix, outputKey);
      // InvokeEndpointAsync names an S3 input the endpoint reads with this role: requests go under `<prefix>input/`.
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadAsyncInput', actions: ['s3:GetObject'], resources: [ai.outputBucket.arnForObjects(`${prefix}input/*`)] }));
      this.asyncInference = { bucket: ai.outputBucket, prefix, encryptionKey: outputKey };
      this.asyncSuccessTopic = ai.successTopic ?? new sns.Topic(this, 'AsyncSuccess', { masterKey: this.encryptionKey, enforceSSL: true, displayName: `${endpointName} async inference succeeded` });
      this.asyncErrorTopic = ai.errorTopic ?? new sns.Topic(this, 'AsyncError', { masterKey: this.encryptionKey, enforceSSL: true, displayName: `${endpointName} async inference failed` });
      for (const topic of [this.asyncSuccessTopic, this.asyncErrorTopic]) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
        if (topic.masterKey) role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [topic.masterKey.keyArn] }));
      }
      asyncInferenceConfig = {
        outputConfig: {
          s3OutputPath: ai.outputBucket.s3UrlForObject(`${prefix}output`),
          s3FailurePath: ai.outputBucket.s3UrlForObject(`${prefix}failures`),
          kmsKeyId: outputKey.keyArn,
          notificationConfig: { successTopic: this.asyncSuccessTopic.topicArn, errorTopic: this.asyncErrorTopic.topicArn },
        },
        clientConfig: ai.maxConcurrentInvocationsPerInstance !== undefined ? { maxConcurrentInvocationsPerInstance: ai.maxConcurrentInvocationsPerInstance } : undefined,
      };
    }

    // No endpointConfigName: CloudFormation generates one, so a changed config is created beside the old one.
    this.endpointConfig = new sagemaker.CfnEndpointConfig(this, 'Config', {
      productionVariants: productionVariants.map((p) => ({ ...p, modelName: models[p.variantName].attrModelName })),
      kmsKeyId: kmsAllowed ? this.encryptionKey.keyArn : undefined,
      dataCaptureConfig,
      asyncInferenceConfig,
    });
    this.productionVariants = productionVariants;
    if (!kmsAllowed) {
      acknowledge(this.endpointConfig, compliancePackIds('SageMakerEndpointConfigurationKMSKeyConfigured'),
        'The instance types of this endpoint have local NVMe storage, which SageMaker encrypts in hardware and for which it rejects a KmsKeyId.');
    }

    // ---- alarms (notifications and rollback): created when something acts on them ----
    const errorThreshold = props.alarms?.errorThreshold ?? 5;
    const latency = props.alarms?.latencyThreshold ?? Duration.seconds(1);
    if (props.alarmTopic || (guard && !guard.rollbackAlarms)) {
      for (const x of variants) {
        const suffix = variants.length === 1 ? '' : `-${x.name}`;
        this.alarms.push(
          this.metric5xx({ variantName: x.name, period: Duration.minutes(1) }).createAlarm(this, `Errors5xxAlarm${suffix}`, {
            alarmDescription: `SageMaker endpoint ${endpointName} variant ${x.name}: ${errorThreshold}+ 5xx responses in a minute`,
            threshold: errorThreshold,
            evaluationPeriods: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
          this.metricModelLatency({ variantName: x.name, statistic: 'p99', period: Duration.minutes(1) }).createAlarm(this, `LatencyAlarm${suffix}`, {
            alarmDescription: `SageMaker endpoint ${endpointName} variant ${x.name}: p99 model latency above ${latency.toMilliseconds()} ms for 3 minutes`,
            threshold: latency.toMilliseconds() * 1000, // ModelLatency is in microseconds
            evaluationPeriods: 3,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
        );
      }
    }
    if (props.alarmTopic) {
      const action = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    } else {
      for (const alarm of this.alarms) {
        acknowledgeCheck(alarm, 'alarmAction',
          'SageMaker acts on this alarm: the endpoint\'s deployment config rolls a blue/green update back when it fires. Give alarmTopic to be notified too.');
      }
    }

    // ---- endpoint with deployment guardrails ----
    let deploymentConfig: sagemaker.CfnEndpoint.DeploymentConfigProperty | undefined;
    if (guard) {
      const shifting = guard.trafficShifting ?? 'canary';
      const rollbackAlarms = guard.rollbackAlarms ?? this.alarms;
      this.rollbackAlarms = rollbackAlarms;
      deploymentConfig = {
        blueGreenUpdatePolicy: {
          trafficRoutingConfiguration: {
            type: shifting === 'all-at-once' ? 'ALL_AT_ONCE' : shifting.toUpperCase(),
            waitIntervalInSeconds: (guard.bakeTime ?? Duration.minutes(10)).toSeconds(),
            canarySize: shifting === 'canary' ? { type: 'CAPACITY_PERCENT', value: guard.canarySizePercent ?? 10 } : undefined,
            linearStepSize: shifting === 'linear' ? { type: 'CAPACITY_PERCENT', value: guard.linearStepPercent ?? 20 } : undefined,
          },
          terminationWaitInSeconds: (guard.terminationWait ?? Duration.minutes(5)).toSeconds(),
          maximumExecutionTimeoutInSeconds: (guard.maximumExecutionTimeout ?? Duration.hours(1)).toSeconds(),
        },
        autoRollbackConfiguration: { alarms: rollbackAlarms.map((a) => ({ alarmName: a.alarmName })) },
      };
    }
    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
      deploymentConfig,
      // A stack update that changes the config would otherwise reset an autoscaled fleet to its initial count.
      ...(scaling ? {
        retainAllVariantProperties: true,
        excludeRetainedVariantProperties: [{ variantPropertyType: 'DesiredWeight' }, { variantPropertyType: 'DataCaptureConfig' }],
      } : {}),
    });

    // ---- autoscaling ----
    const targets: Record<string, appscaling.ScalableTarget> = {};
    if (scaling) {
      for (const x of variants) targets[x.name] = this.autoscale(x, mode, scaling);
    }
    this.scalableTargets = targets;

    // ---- what the approval handler needs to create the same config for a new model version ----
    this.deploymentSpec = {
      endpointName,
      executionRoleArn: role.roleArn,
      enableNetworkIsolation: networkIsolation,
      vpcConfig: vpcConfig ? { securityGroupIds: vpcConfig.securityGroupIds, subnets: vpcConfig.subnets } : undefined,
      environment: props.environment ?? {},
      productionVariants: productionVariants.map((p) => pascal(p) as Record<string, unknown>),
      kmsKeyId: kmsAllowed ? this.encryptionKey.keyArn : undefined,
      dataCaptureConfig: dataCaptureConfig ? (pascal(dataCaptureConfig) as Record<string, unknown>) : undefined,
      asyncInferenceConfig: asyncInferenceConfig ? (pascal(asyncInferenceConfig) as Record<string, unknown>) : undefined,
      deploymentConfig: deploymentConfig ? (pascal(deploymentConfig) as Record<string, unknown>) : undefined,
      autoScaledVariants: Object.keys(targets).length > 0 ? Object.keys(targets) : undefined,
    };

    // Every statement above names the exact log group, key, bucket prefix or repository; these are the
    // wildcards IAM cannot avoid.
    acknowledgePolicyWildcards(role, {
      ContainerLogs: 'SageMaker names the log streams of the endpoint\'s own log group at run time; the statement is scoped to that log group.',
      ManageEnis: 'SageMaker creates the endpoint\'s network interfaces with generated ids; creation is limited to the configured subnets and security groups.',
      WriteDataCapture: 'SageMaker writes captured requests under generated keys; the statement is scoped to the endpoint\'s capture prefix.',
      WriteAsyncOutput: 'SageMaker writes async results under generated keys; the statement is scoped to the endpoint\'s output prefix.',
      ReadAsyncInput: 'Asynchronous requests are objects under generated keys; reading is limited to the endpoint\'s input prefix.',
    }, 'ecr:GetAuthorizationToken and the EC2 Describe calls SageMaker makes for VPC networking have no resource-level permissions.');
    if (!props.role) {
      acknowledge(role, compliancePackIds('IAMNoInlinePolicy'),
        'The default policy CDK generates for this one execution role from scoped grants; it is not shared with other roles.');
    }
  }

  /**
   * One owner for the model the endpoint serves: from now on `owner` (the approval handler of a {@link ModelRegistry}
   * deploying to this endpoint, `lambda/model-approval`) answers the `Custom::ServedModel` resource that names the
   * endpoint config and its models whenever a stack deploy creates or changes them. It keeps the approved version the
   * endpoint serves (or starts a new endpoint on the newest approved version), so a `cdk deploy` that changes the
   * endpoint (instance type, capture, guardrails) rolls out the change with the approved model, not the template's.
   * The template's models run only until a version is approved. Called once, by the registry.
   */
  public chooseModelsWith(owner: lambda.IFunction): CustomResource {
    if (this.served) throw propsError(`SageMakerEndpoint at "${this.node.path}": its models are already chosen by ${this.served.node.path}; one registry deploys to an endpoint`);
    const served = new CustomResource(this, 'ServedModel', {
      serviceToken: owner.functionArn,
      resourceType: 'Custom::ServedModel',
      properties: {
        EndpointName: this.endpointName,
        BakedModelNames: this.variantNames.map((n) => this.models[n].attrModelName),
        // Any change of the config or the endpoint asks again (and renames the config, which CloudFormation then replaces).
        Spec: Stack.of(this).toJsonString(this.deploymentSpec),
      },
    });
    this.endpointConfig.endpointConfigName = served.getAttString('EndpointConfigName');
    this.endpointConfig.productionVariants = this.productionVariants.map((p, i) => ({ ...p, modelName: served.getAttString(`ModelName${i}`) }));
    this.served = served;
    return served;
  }

  /** `Custom::ServedModel`, once {@link SageMakerEndpoint.chooseModelsWith} handed the choice of model to an owner. */
  public get servedModel(): CustomResource | undefined {
    return this.served;
  }

  private newSecurityGroup(vpc: ec2.IVpc): ec2.SecurityGroup {
    const sg = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `SageMaker endpoint ${this.endpointName}: HTTPS out to AWS APIs and VPC endpoints only`,
      allowAllOutbound: false,
    });
    sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to S3, ECR and other AWS APIs');
    return sg;
  }

  /** SageMaker attaches ENIs in the given subnets with the given groups. */
  private grantVpcAccess(role: iam.IRole, subnetIds: string[], groups: ec2.ISecurityGroup[]): void {
    const stack = Stack.of(this);
    const ec2Arn = (resource: string, name: string) => stack.formatArn({ service: 'ec2', resource, resourceName: name });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeNetworkInterfaces'],
      resources: ['*'], // Describe calls have no resource-level permissions
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ManageEnis',
      actions: ['ec2:CreateNetworkInterface', 'ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface', 'ec2:DeleteNetworkInterfacePermission'],
      resources: [
        ec2Arn('network-interface', '*'),
        ...subnetIds.map((s) => ec2Arn('subnet', s)),
        ...groups.map((g) => ec2Arn('security-group', g.securityGroupId)),
      ],
    }));
  }

  private grantReadObject(role: iam.IRole, location: S3ObjectLocation): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [location.bucket.arnForObjects(location.key)] }));
    if (location.bucket.encryptionKey) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [location.bucket.encryptionKey.keyArn] }));
    }
  }

  private grantWritePrefix(sid: string, role: iam.IRole, bucket: s3.IBucket, prefix: string, key: kms.IKey): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions: ['s3:PutObject'], resources: [bucket.arnForObjects(`${prefix}*`)] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'], resources: [key.keyArn] }));
  }

  private autoscale(x: ResolvedVariant, mode: EndpointMode, scaling: EndpointAutoScalingOptions): appscaling.ScalableTarget {
    const suffix = this.variantNames.length === 1 ? '' : `-${x.name}`;
    const target = new appscaling.ScalableTarget(this, `Scaling${suffix}`, {
      serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
      resourceId: variantResourceId(this.endpointName, x.name),
      scalableDimension: VARIANT_DIMENSION,
      minCapacity: scaling.minCapacity ?? (mode === 'async' ? 0 : x.instanceCount),
      maxCapacity: scaling.maxCapacity,
    });
    target.node.addDependency(this.endpoint);
    const scaleInCooldown = scaling.scaleInCooldown ?? Duration.minutes(5);
    const scaleOutCooldown = scaling.scaleOutCooldown ?? Duration.minutes(1);
    if (mode === 'async') {
      target.scaleToTrackMetric('Backlog', {
        targetValue: scaling.targetBacklogPerInstance ?? 5,
        customMetric: this.metric('ApproximateBacklogSizePerInstance', { statistic: 'Average' }),
        scaleInCooldown,
        scaleOutCooldown,
      });
      // Target tracking cannot leave zero instances (no per-instance metric at zero): this step starts one.
      const fromZero = target.scaleOnMetric('FromZero', {
        metric: this.metric('HasBacklogWithoutCapacity', { statistic: 'Average' }),
        scalingSteps: [{ upper: 0, change: 0 }, { lower: 0.5, change: 1 }],
        adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        cooldown: scaleOutCooldown,
        evaluationPeriods: 1,
      });
      // Its alarms name the policies by ARN, which changes when a policy is put again (target tracking alarms belong to
      // their policy). Named after the endpoint, so the approval handler can be told and granted them without a reference.
      for (const [which, action, alarm] of [['lower', fromZero.lowerAction, fromZero.lowerAlarm], ['upper', fromZero.upperAction, fromZero.upperAlarm]] as const) {
        const policy = action?.node.defaultChild as appscaling.CfnScalingPolicy | undefined;
        if (!policy || !alarm) continue;
        const alarmName = `${this.endpointName}-${x.name}-scale-from-zero${which === 'upper' ? '' : `-${which}`}`;
        (alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName = alarmName;
        const alarmArn = Stack.of(this).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: alarmName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
        this.stepScalingAlarms.push({ variantName: x.name, policyName: policy.policyName, alarmName, alarmArn, alarm });
      }
    } else {
      target.scaleToTrackMetric('Invocations', {
        targetValue: scaling.targetInvocationsPerInstance ?? 100,
        predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        scaleInCooldown,
        scaleOutCooldown,
      });
    }
    return target;
  }
}

function normalisePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

// Where the SageMaker API spells a field differently from CloudFormation.
const API_NAMES: Record<string, string> = { memorySizeInMb: 'MemorySizeInMB' };

/** camelCase CloudFormation property objects to the SageMaker API's PascalCase (tokens pass through). */
function pascal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascal);
  if (value && typeof value === 'object' && !Token.isUnresolved(value) && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [API_NAMES[k] ?? k.charAt(0).toUpperCase() + k.slice(1), pascal(v)]),
    );
  }
  return value;
}
