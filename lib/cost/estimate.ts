import { DEFAULT_PRICE_TABLE, type PriceTable, type RegionPrices } from './prices';

/*
 * The idle-cost estimate: what a set of synthesized CloudFormation templates costs per month while nobody uses
 * them. It reads templates only (no config, no CDK), so it prices any app's cloud assembly the same way.
 * Each resource type falls in exactly one class: priced (bills by the hour or month whatever the traffic),
 * usage-priced (listed apart, never guessed), free, or not priced (counted and reported, never $0).
 */

/** One resource of a template, as CloudFormation sees it. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** A synthesized CloudFormation template (only `Resources` is read). */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
}

/** One stack to price. */
export interface StackTemplate {
  /** Stack name as deployed, e.g. `mlops-dev-Network`. */
  readonly stackName: string;
  readonly template: CfnTemplate;
  /** The stack's region; undefined for environment-agnostic stacks. @default - environment-agnostic */
  readonly region?: string;
  /** Where the template is on disk, for reports. @default - not reported */
  readonly templatePath?: string;
  /** Construct path per logical id (from the cloud assembly's metadata), for reports. @default - `aws:cdk:path` metadata */
  readonly paths?: Readonly<Record<string, string>>;
}

export interface EstimateOptions {
  /** Name of what is priced (a stage), for reports. @default 'app' */
  readonly name?: string;
  /** @default DEFAULT_PRICE_TABLE */
  readonly prices?: PriceTable;
}

/** What a priced resource costs per month while idle. */
export interface CostItem {
  readonly stackName: string;
  readonly logicalId: string;
  /** Construct path from the template's `aws:cdk:path` metadata, when present. */
  readonly path?: string;
  readonly resourceType: string;
  /** Resource kind the estimate is summed by, e.g. `NAT gateways`. */
  readonly kind: string;
  /** How the figure was computed, e.g. `2 × m6i.large × $0.096/h × 730 h`. */
  readonly detail: string;
  readonly monthlyUsd: number;
  readonly templatePath?: string;
}

/** Resources of one type that could not be priced, and why. */
export interface NotPriced {
  readonly resourceType: string;
  readonly reason: string;
  readonly count: number;
  readonly resources: ReadonlyArray<{ readonly stackName: string; readonly logicalId: string }>;
}

/** Resources whose bill depends on use: listed, never estimated. */
export interface UsagePriced {
  readonly label: string;
  /** What drives their bill. */
  readonly billedFor: string;
  readonly count: number;
}

export interface StackCost {
  readonly stackName: string;
  /** The stack's own region (undefined: environment-agnostic). */
  readonly region?: string;
  /** The region whose prices were used. */
  readonly pricedAs: string;
  readonly monthlyUsd: number;
}

export interface KindCost {
  readonly kind: string;
  readonly monthlyUsd: number;
  /** Resources of this kind (including those that cost $0 at idle, e.g. node groups at minSize 0). */
  readonly count: number;
}

/** The monthly idle estimate of one stage (or any set of stacks). */
export interface IdleCostEstimate {
  readonly name: string;
  readonly monthlyUsd: number;
  readonly stacks: readonly StackCost[];
  /** Kinds in the order of {@link COST_KINDS}, only those present. */
  readonly byKind: readonly KindCost[];
  /** Every priced resource, most expensive first (zero-cost ones, e.g. GPU groups at 0 nodes, last). */
  readonly items: readonly CostItem[];
  readonly notPriced: readonly NotPriced[];
  readonly usagePriced: readonly UsagePriced[];
  readonly assumptions: readonly string[];
  readonly warnings: readonly string[];
  readonly prices: { readonly currency: string; readonly date: string; readonly source: string; readonly hoursPerMonth: number };
}

/** The kinds the estimate sums by, in report order. */
export const COST_KINDS = [
  'EKS clusters', 'EKS node groups', 'EC2 instances', 'Auto Scaling groups', 'EBS volumes', 'NAT gateways',
  'Public IPv4 addresses', 'Interface endpoints', 'Load balancers', 'SageMaker endpoints',
  'SageMaker serverless provisioned concurrency', 'Lambda provisioned concurrency', 'MLflow tracking servers',
  'Feature Store online stores', 'KMS keys', 'CloudWatch alarms', 'CloudWatch dashboards', 'Secrets',
  'Route 53 hosted zones', 'SSM advanced parameters', 'CodePipeline V1 pipelines',
] as const;
export type CostKind = (typeof COST_KINDS)[number];

/** Resource types that never bill on their own (IAM, wiring, configuration). */
const FREE_TYPES = new Set([
  'AWS::CDK::Metadata', 'AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::Route',
  'AWS::EC2::SubnetRouteTableAssociation', 'AWS::EC2::InternetGateway', 'AWS::EC2::VPCGatewayAttachment',
  'AWS::EC2::EgressOnlyInternetGateway', 'AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress',
  'AWS::EC2::SecurityGroupEgress', 'AWS::EC2::NetworkAcl', 'AWS::EC2::NetworkAclEntry',
  'AWS::EC2::SubnetNetworkAclAssociation', 'AWS::EC2::LaunchTemplate', 'AWS::EC2::VPCCidrBlock',
  'AWS::EC2::KeyPair', 'AWS::EC2::PlacementGroup', 'AWS::EC2::SpotFleet',
  'AWS::EKS::AccessEntry', 'AWS::EKS::Addon', 'AWS::EKS::PodIdentityAssociation', 'AWS::EKS::IdentityProviderConfig',
  'AWS::Lambda::Permission', 'AWS::Lambda::LayerVersion', 'AWS::Lambda::LayerVersionPermission',
  'AWS::Lambda::EventSourceMapping', 'AWS::Lambda::Url', 'AWS::Lambda::EventInvokeConfig',
  'AWS::S3::BucketPolicy', 'AWS::SNS::TopicPolicy', 'AWS::SNS::Subscription', 'AWS::SQS::QueuePolicy',
  'AWS::KMS::Alias', 'AWS::Logs::ResourcePolicy', 'AWS::Logs::SubscriptionFilter', 'AWS::Logs::MetricFilter',
  'AWS::ApiGatewayV2::Integration', 'AWS::ApiGatewayV2::Route', 'AWS::ApiGatewayV2::Stage', 'AWS::ApiGatewayV2::Authorizer',
  'AWS::ApiGatewayV2::Deployment', 'AWS::ApiGateway::Resource', 'AWS::ApiGateway::Method', 'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Stage', 'AWS::ApiGateway::Account', 'AWS::SageMaker::Model', 'AWS::SageMaker::ModelPackageGroup',
  'AWS::SageMaker::EndpointConfig', 'AWS::SageMaker::DataQualityJobDefinition', 'AWS::SageMaker::ModelQualityJobDefinition',
  'AWS::CodeDeploy::Application', 'AWS::CodeDeploy::DeploymentGroup', 'AWS::CodeDeploy::DeploymentConfig',
  'AWS::ECR::RegistryPolicy', 'AWS::ECR::ReplicationConfiguration', 'AWS::Events::EventBusPolicy',
  'AWS::Scheduler::ScheduleGroup', 'AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::ApplicationAutoScaling::ScalingPolicy',
  'AWS::AutoScaling::LaunchConfiguration', 'AWS::AutoScaling::LifecycleHook', 'AWS::AutoScaling::ScalingPolicy',
  'AWS::Glue::Database', 'AWS::CodeStarConnections::Connection', 'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElasticLoadBalancingV2::ListenerRule', 'AWS::ElasticLoadBalancingV2::TargetGroup', 'AWS::LakeFormation::Permissions',
  'AWS::Athena::WorkGroup', 'AWS::ServiceDiscovery::PrivateDnsNamespace',
]);
const FREE_PREFIXES = ['AWS::IAM::', 'Custom::', 'AWS::CloudFormation::'];

/** Usage-priced resource types: what they are and what their bill depends on. */
const USAGE_TYPES: Record<string, { label: string; billedFor: string }> = {
  'AWS::S3::Bucket': { label: 'S3 buckets', billedFor: 'GB stored, requests, data transfer' },
  'AWS::Logs::LogGroup': { label: 'CloudWatch log groups', billedFor: 'GB ingested and stored' },
  'AWS::EC2::FlowLog': { label: 'VPC flow logs', billedFor: 'GB of flow records delivered' },
  'AWS::Lambda::Function': { label: 'Lambda functions', billedFor: 'requests and GB-seconds of duration' },
  'AWS::StepFunctions::StateMachine': { label: 'Step Functions state machines', billedFor: 'state transitions, and the training/processing jobs they start' },
  'AWS::CodeBuild::Project': { label: 'CodeBuild projects', billedFor: 'build minutes' },
  'AWS::SNS::Topic': { label: 'SNS topics', billedFor: 'messages published and delivered' },
  'AWS::SQS::Queue': { label: 'SQS queues', billedFor: 'requests' },
  'AWS::Events::Rule': { label: 'EventBridge rules', billedFor: 'custom and cross-account events' },
  'AWS::Events::EventBus': { label: 'EventBridge buses', billedFor: 'events published' },
  'AWS::Scheduler::Schedule': { label: 'EventBridge schedules', billedFor: 'invocations beyond the free tier' },
  'AWS::ECR::Repository': { label: 'ECR repositories', billedFor: 'GB of images stored, data transfer' },
  'AWS::ApiGatewayV2::Api': { label: 'API Gateway HTTP APIs', billedFor: 'requests' },
  'AWS::ApiGateway::RestApi': { label: 'API Gateway REST APIs', billedFor: 'requests' },
  'AWS::SageMaker::MonitoringSchedule': { label: 'SageMaker model monitoring schedules', billedFor: 'instance-hours of each monitoring job' },
  'AWS::SageMaker::Pipeline': { label: 'SageMaker pipelines', billedFor: 'the training/processing jobs each run starts' },
  'AWS::SSM::Parameter': { label: 'SSM parameters (standard)', billedFor: 'API requests above standard throughput' },
  'AWS::EFS::FileSystem': { label: 'EFS file systems', billedFor: 'GB stored and throughput' },
  'AWS::Glue::Crawler': { label: 'Glue crawlers', billedFor: 'DPU-hours per run' },
  'AWS::Glue::Job': { label: 'Glue jobs', billedFor: 'DPU-hours per run' },
  'AWS::CloudTrail::Trail': { label: 'CloudTrail trails', billedFor: 'events beyond the first management copy, S3 delivery' },
  'AWS::KinesisFirehose::DeliveryStream': { label: 'Firehose streams', billedFor: 'GB ingested' },
  'AWS::Events::Archive': { label: 'EventBridge archives', billedFor: 'GB archived' },
  'AWS::EKS::FargateProfile': { label: 'EKS Fargate profiles', billedFor: 'vCPU and memory of running pods' },
};
const USAGE_EXTRA = {
  serverless: { label: 'SageMaker serverless endpoints (on demand)', billedFor: 'GB-seconds of inference and data processed' },
  featureOnDemand: { label: 'Feature Store online stores (on demand)', billedFor: 'read/write units and GB stored' },
  featureOffline: { label: 'Feature Store offline stores', billedFor: 'S3 storage and Glue catalog requests' },
  pipelineV2: { label: 'CodePipeline V2 pipelines', billedFor: 'action execution minutes' },
  dynamoOnDemand: { label: 'DynamoDB tables (on demand)', billedFor: 'request units and GB stored' },
} as const;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A value CloudFormation resolves at deploy time (Ref, Fn::*), so it has no price at synth. */
const isIntrinsic = (v: unknown): boolean => isObj(v) && Object.keys(v).length === 1 && /^(Ref|Fn::|Condition)/.test(Object.keys(v)[0]);
const literal = <T>(v: unknown): T | undefined => (v === undefined || isIntrinsic(v) ? undefined : (v as T));
const num = (v: unknown): number | undefined => {
  const l = literal<unknown>(v);
  const n = typeof l === 'string' && l.trim() !== '' ? Number(l) : l;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};
/** Rounds away float noise (197.47999999999996) without rounding real fractions of a cent. */
const exact = (n: number): number => Math.round(n * 1e6) / 1e6;

/** A rate as written in the price table (no rounding: details show the figures the sum used). */
const usd = (n: number): string => `$${Number(n.toPrecision(6))}`;

/** The logical id a `Ref` or `Fn::GetAtt` points at. */
function target(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  if (typeof v.Ref === 'string') return v.Ref;
  const att = v['Fn::GetAtt'];
  if (Array.isArray(att) && typeof att[0] === 'string') return att[0];
  if (typeof att === 'string') return att.split('.')[0];
  return undefined;
}

interface Ctx {
  readonly stack: StackTemplate;
  readonly resources: Record<string, CfnResource>;
  readonly prices: RegionPrices;
  readonly region: string;
  readonly hours: number;
  price(item: Omit<CostItem, 'stackName' | 'logicalId' | 'resourceType' | 'path' | 'templatePath'>): void;
  notPriced(reason: string): void;
  usage(u: { label: string; billedFor: string }): void;
  assume(text: string): void;
}

type Pricer = (p: Json, ctx: Ctx, id: string) => void;

const missing = (what: string, region: string) => `no ${what} price for ${region} in the price table`;

/** The EBS volumes of a launch template or instance block-device mapping, priced per GB-month. */
function priceVolumes(mappings: unknown, count: number, ctx: Ctx, owner: string): void {
  if (count === 0 || !Array.isArray(mappings)) return;
  for (const m of mappings) {
    const ebs = isObj(m) ? m.Ebs : undefined;
    if (!isObj(ebs)) continue;
    const size = num(ebs.VolumeSize);
    const type = literal<string>(ebs.VolumeType) ?? 'gp2';
    const rate = ctx.prices.ebsGbMonth?.[type];
    if (size === undefined) { ctx.notPriced(`${owner}: volume size is not a literal`); continue; }
    if (rate === undefined) { ctx.notPriced(missing(`EBS ${type}`, ctx.region)); continue; }
    ctx.price({ kind: 'EBS volumes', detail: `${count} × ${size} GiB ${type} × ${usd(rate)}/GB-month (${owner})`, monthlyUsd: count * size * rate });
  }
}

function launchTemplateData(ref: unknown, ctx: Ctx): Json | undefined {
  const id = isObj(ref) ? target(ref.LaunchTemplateId ?? ref.Id) : undefined;
  const data = id ? ctx.resources[id]?.Properties?.LaunchTemplateData : undefined;
  return isObj(data) ? data : undefined;
}

function priceInstances(kind: CostKind, type: string | undefined, count: number, ctx: Ctx, what: string): void {
  if (count === 0) {
    ctx.price({ kind, detail: `0 ${what} at idle`, monthlyUsd: 0 });
    return;
  }
  if (type === undefined) { ctx.notPriced(`${what}: instance type is not a literal`); return; }
  const rate = ctx.prices.ec2InstanceHour?.[type];
  if (rate === undefined) { ctx.notPriced(missing(`EC2 ${type}`, ctx.region)); return; }
  ctx.price({ kind, detail: `${count} × ${type} × ${usd(rate)}/h × ${ctx.hours} h`, monthlyUsd: count * rate * ctx.hours });
}

const nodegroup: Pricer = (p, ctx, id) => {
  const scaling = isObj(p.ScalingConfig) ? p.ScalingConfig : {};
  const min = num(scaling.MinSize);
  const desired = num(scaling.DesiredSize);
  // The floor a cluster autoscaler scales idle nodes down to; without ScalingConfig EKS starts 1 node minimum.
  const count = min ?? desired ?? (scaling.MinSize === undefined && scaling.DesiredSize === undefined ? 1 : undefined);
  if (count === undefined) { ctx.notPriced('node group size is not a literal'); return; }
  if (desired !== undefined && desired > count) ctx.assume(`${id}: priced at minSize ${count}, not desiredSize ${desired} (an autoscaler removes idle nodes down to minSize)`);
  const lt = launchTemplateData(p.LaunchTemplate, ctx);
  const types = literal<unknown[]>(p.InstanceTypes);
  let type = Array.isArray(types) ? literal<string>(types[0]) : literal<string>(lt?.InstanceType);
  if (type === undefined && p.InstanceTypes === undefined && lt?.InstanceType === undefined) {
    type = 't3.medium';
    ctx.assume(`${id}: no instance type given, priced as EKS's default t3.medium`);
  }
  if (literal<string>(p.CapacityType) === 'SPOT' && count > 0) ctx.assume(`${id}: spot nodes priced at the on-demand rate (an upper bound)`);
  priceInstances('EKS node groups', type, count, ctx, `${id} nodes`);
  if (lt?.BlockDeviceMappings) priceVolumes(lt.BlockDeviceMappings, count, ctx, `${id} node root`);
  else if (count > 0) priceVolumes([{ Ebs: { VolumeSize: p.DiskSize ?? 20, VolumeType: 'gp2' } }], count, ctx, `${id} node root`);
};

/** Whether a CloudWatch alarm of the template stops this instance when it fires (idle auto-stop). */
function stoppedWhenIdle(id: string, ctx: Ctx): boolean {
  return Object.values(ctx.resources).some((r) => {
    if (r.Type !== 'AWS::CloudWatch::Alarm') return false;
    const props = r.Properties ?? {};
    const stops = /automate.*?:ec2:stop/.test(JSON.stringify(props.AlarmActions ?? []));
    const dims = Array.isArray(props.Dimensions) ? props.Dimensions : [];
    return stops && dims.some((d) => isObj(d) && d.Name === 'InstanceId' && target(d.Value) === id);
  });
}

const instance: Pricer = (p, ctx, id) => {
  const lt = launchTemplateData(p.LaunchTemplate, ctx);
  const type = literal<string>(p.InstanceType) ?? literal<string>(lt?.InstanceType);
  if (stoppedWhenIdle(id, ctx)) {
    ctx.assume(`${id}: an alarm stops it when idle, so only its volumes are priced`);
    ctx.price({ kind: 'EC2 instances', detail: `${type ?? 'instance'} stopped when idle (idle auto-stop alarm): $0 compute`, monthlyUsd: 0 });
  } else {
    priceInstances('EC2 instances', type, 1, ctx, id);
  }
  const mappings = p.BlockDeviceMappings ?? lt?.BlockDeviceMappings;
  if (mappings) priceVolumes(mappings, 1, ctx, id);
  else ctx.assume(`${id}: root volume size comes from the AMI and is not priced`);
};

const autoScalingGroup: Pricer = (p, ctx, id) => {
  const min = num(p.MinSize);
  if (min === undefined) { ctx.notPriced('Auto Scaling group MinSize is not a literal'); return; }
  const mixed = isObj(p.MixedInstancesPolicy) && isObj(p.MixedInstancesPolicy.LaunchTemplate) ? p.MixedInstancesPolicy.LaunchTemplate : undefined;
  const lt = launchTemplateData(mixed ? (mixed.LaunchTemplateSpecification as Json) : p.LaunchTemplate, ctx);
  const overrides = mixed && Array.isArray(mixed.Overrides) ? mixed.Overrides : [];
  const lcId = target(p.LaunchConfigurationName);
  const lc = lcId ? ctx.resources[lcId]?.Properties : undefined;
  const type = literal<string>(isObj(overrides[0]) ? overrides[0].InstanceType : undefined) ?? literal<string>(lt?.InstanceType) ?? literal<string>(lc?.InstanceType);
  priceInstances('Auto Scaling groups', type, min, ctx, `${id} instances`);
  const mappings = lt?.BlockDeviceMappings ?? lc?.BlockDeviceMappings;
  if (mappings) priceVolumes(mappings, min, ctx, `${id} instance`);
};

const volume: Pricer = (p, ctx, id) => priceVolumes([{ Ebs: { VolumeSize: p.Size, VolumeType: p.VolumeType ?? 'gp2' } }], 1, ctx, id);

const hourly = (kind: CostKind, key: keyof RegionPrices, what: string): Pricer => (_p, ctx) => {
  const rate = ctx.prices[key] as number | undefined;
  if (rate === undefined) { ctx.notPriced(missing(what, ctx.region)); return; }
  ctx.price({ kind, detail: `${usd(rate)}/h × ${ctx.hours} h`, monthlyUsd: rate * ctx.hours });
};

const monthly = (kind: CostKind, key: keyof RegionPrices, what: string): Pricer => (_p, ctx) => {
  const rate = ctx.prices[key] as number | undefined;
  if (rate === undefined) { ctx.notPriced(missing(what, ctx.region)); return; }
  ctx.price({ kind, detail: `${usd(rate)}/month`, monthlyUsd: rate });
};

const vpcEndpoint: Pricer = (p, ctx) => {
  // CloudFormation's default endpoint type is Gateway (S3, DynamoDB), which is free.
  const type = literal<string>(p.VpcEndpointType) ?? 'Gateway';
  if (type === 'Gateway') return;
  if (type !== 'Interface') { ctx.notPriced(`${type} endpoints have no price in the table`); return; }
  const subnets = literal<unknown[]>(p.SubnetIds);
  if (!Array.isArray(subnets)) { ctx.notPriced('interface endpoint subnets (its AZ count) are not a literal list'); return; }
  const rate = ctx.prices.interfaceEndpointAzHour;
  if (rate === undefined) { ctx.notPriced(missing('interface endpoint', ctx.region)); return; }
  // `com.amazonaws.<region>.ecr.api`, usually joined around a region Ref: the service is what follows the region.
  const parts = JSON.stringify(p.ServiceName ?? '').match(/"[^"]*"/g) ?? [];
  const service = (parts.length ? JSON.parse(parts[parts.length - 1]) as string : '').replace(/^com\.amazonaws\.([a-z0-9-]+\.)?/, '').replace(/^\./, '') || 'endpoint';
  ctx.price({ kind: 'Interface endpoints', detail: `${service}: ${subnets.length} AZ × ${usd(rate)}/h × ${ctx.hours} h`, monthlyUsd: subnets.length * rate * ctx.hours });
};

/** Minimum instances of an endpoint variant from an Application Auto Scaling target in the same template. */
function variantMinCapacity(endpointId: string, endpointName: string | undefined, variant: string, ctx: Ctx): number | undefined {
  for (const r of Object.values(ctx.resources)) {
    if (r.Type !== 'AWS::ApplicationAutoScaling::ScalableTarget') continue;
    const props = r.Properties ?? {};
    if (props.ScalableDimension !== 'sagemaker:variant:DesiredInstanceCount') continue;
    const resourceId = JSON.stringify(props.ResourceId ?? '');
    const names = resourceId.includes(`"${endpointId}"`) || (endpointName !== undefined && resourceId.includes(`endpoint/${endpointName}/`));
    if (names && resourceId.includes(`/variant/${variant}`)) return num(props.MinCapacity);
  }
  return undefined;
}

const sagemakerEndpoint: Pricer = (p, ctx, id) => {
  const configId = target(p.EndpointConfigName);
  const config = configId ? ctx.resources[configId] : undefined;
  if (!config || config.Type !== 'AWS::SageMaker::EndpointConfig') { ctx.notPriced('its endpoint config is not in the same template'); return; }
  const cp = config.Properties ?? {};
  const mode = cp.AsyncInferenceConfig ? 'async' : 'real-time';
  const variants = Array.isArray(cp.ProductionVariants) ? cp.ProductionVariants.filter(isObj) : [];
  for (const v of variants) {
    const name = literal<string>(v.VariantName) ?? 'variant';
    if (isObj(v.ServerlessConfig)) {
      const memoryMb = num(v.ServerlessConfig.MemorySizeInMB);
      const provisioned = num(v.ServerlessConfig.ProvisionedConcurrency) ?? 0;
      if (provisioned === 0) { ctx.usage(USAGE_EXTRA.serverless); continue; }
      const rate = ctx.prices.sagemakerServerlessProvisionedGbSecond;
      if (memoryMb === undefined) { ctx.notPriced('serverless memory size is not a literal'); continue; }
      if (rate === undefined) { ctx.notPriced(missing('SageMaker serverless provisioned concurrency', ctx.region)); continue; }
      const gb = memoryMb / 1024;
      ctx.price({
        kind: 'SageMaker serverless provisioned concurrency',
        detail: `${name}: ${provisioned} × ${gb} GB × ${usd(rate)}/GB-s × ${ctx.hours * 3600} s`,
        monthlyUsd: provisioned * gb * rate * ctx.hours * 3600,
      });
      continue;
    }
    const type = literal<string>(v.InstanceType);
    const initial = num(v.InitialInstanceCount);
    const min = variantMinCapacity(id, literal<string>(p.EndpointName), name, ctx);
    const count = min ?? initial;
    if (min !== undefined && initial !== undefined && min !== initial) ctx.assume(`${id}/${name}: priced at the autoscaling minimum ${min}, not the initial ${initial} instances`);
    if (count === undefined) { ctx.notPriced('endpoint instance count is not a literal'); continue; }
    if (count === 0) { ctx.price({ kind: 'SageMaker endpoints', detail: `${name} (${mode}): scales to 0 instances at idle`, monthlyUsd: 0 }); continue; }
    const rate = type ? ctx.prices.sagemakerHostingInstanceHour?.[type] : undefined;
    if (type === undefined) { ctx.notPriced('endpoint instance type is not a literal'); continue; }
    if (rate === undefined) { ctx.notPriced(missing(`SageMaker hosting ${type}`, ctx.region)); continue; }
    ctx.price({ kind: 'SageMaker endpoints', detail: `${name} (${mode}): ${count} × ${type} × ${usd(rate)}/h × ${ctx.hours} h`, monthlyUsd: count * rate * ctx.hours });
  }
};

const lambdaProvisioned: Pricer = (p, ctx) => {
  const pc = isObj(p.ProvisionedConcurrencyConfig) ? num(p.ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions) : 0;
  if (pc === 0) return; // an alias or version without provisioned concurrency bills nothing by itself
  if (pc === undefined) { ctx.notPriced('provisioned concurrency is not a literal'); return; }
  const fnId = target(p.FunctionName);
  const fn = fnId ? ctx.resources[fnId]?.Properties : undefined;
  if (!fn) { ctx.notPriced('its function is not in the same template (memory unknown)'); return; }
  const memory = num(fn.MemorySize ?? 128);
  const archs = literal<unknown[]>(fn.Architectures);
  const arch = (Array.isArray(archs) ? literal<string>(archs[0]) : 'x86_64') ?? 'x86_64';
  const rate = ctx.prices.lambdaProvisionedGbSecond?.[arch as 'x86_64' | 'arm64'];
  if (memory === undefined) { ctx.notPriced('function memory is not a literal'); return; }
  if (rate === undefined) { ctx.notPriced(missing(`Lambda ${arch} provisioned concurrency`, ctx.region)); return; }
  const gb = memory / 1024;
  ctx.price({
    kind: 'Lambda provisioned concurrency',
    detail: `${pc} × ${gb} GB ${arch} × ${usd(rate)}/GB-s × ${ctx.hours * 3600} s`,
    monthlyUsd: pc * gb * rate * ctx.hours * 3600,
  });
};

const mlflow: Pricer = (p, ctx) => {
  const size = literal<string>(p.TrackingServerSize) ?? 'Small';
  const rate = ctx.prices.mlflowTrackingServerHour?.[size];
  if (rate === undefined) { ctx.notPriced(missing(`MLflow ${size} tracking server`, ctx.region)); return; }
  ctx.price({ kind: 'MLflow tracking servers', detail: `${size}: ${usd(rate)}/h × ${ctx.hours} h`, monthlyUsd: rate * ctx.hours });
};

const featureGroup: Pricer = (p, ctx) => {
  if (p.OfflineStoreConfig) ctx.usage(USAGE_EXTRA.featureOffline);
  const online = isObj(p.OnlineStoreConfig) ? p.OnlineStoreConfig : undefined;
  if (!online || literal<boolean>(online.EnableOnlineStore) !== true) return;
  if (literal<string>(online.StorageType) === 'InMemory') { ctx.notPriced('in-memory online stores have no price in the table'); return; }
  const throughput = isObj(p.ThroughputConfig) ? p.ThroughputConfig : {};
  if (literal<string>(throughput.ThroughputMode) !== 'Provisioned') { ctx.usage(USAGE_EXTRA.featureOnDemand); return; }
  const reads = num(throughput.ProvisionedReadCapacityUnits);
  const writes = num(throughput.ProvisionedWriteCapacityUnits);
  const rates = ctx.prices.featureStoreProvisionedUnitHour;
  if (reads === undefined || writes === undefined) { ctx.notPriced('provisioned read/write units are not literals'); return; }
  if (rates?.read === undefined || rates.write === undefined) { ctx.notPriced(missing('Feature Store provisioned throughput', ctx.region)); return; }
  ctx.price({
    kind: 'Feature Store online stores',
    detail: `${reads} RCU × ${usd(rates.read)}/h + ${writes} WCU × ${usd(rates.write)}/h, × ${ctx.hours} h`,
    monthlyUsd: (reads * rates.read + writes * rates.write) * ctx.hours,
  });
};

const alarm: Pricer = (p, ctx) => {
  const rates = ctx.prices.alarmMetricMonth;
  const metrics = Array.isArray(p.Metrics) ? p.Metrics.filter(isObj) : [];
  const stats = metrics.filter((m) => isObj(m.MetricStat));
  const periods = [num(p.Period), ...stats.map((m) => num((m.MetricStat as Json).Period))].filter((x): x is number => x !== undefined);
  const highRes = periods.some((s) => s < 60);
  // Anomaly detection alarms bill three metrics (the metric and the two band bounds).
  const count = p.ThresholdMetricId ? 3 * Math.max(1, stats.length) : Math.max(1, stats.length);
  const rate = highRes ? rates?.highResolution : rates?.standard;
  if (rate === undefined) { ctx.notPriced(missing('CloudWatch alarm', ctx.region)); return; }
  ctx.price({ kind: 'CloudWatch alarms', detail: `${count} metric${count > 1 ? 's' : ''} × ${usd(rate)}/month${highRes ? ' (high resolution)' : ''}`, monthlyUsd: count * rate });
};

const loadBalancer = (classic: boolean): Pricer => (p, ctx) => {
  const type = classic ? 'classic' : (literal<string>(p.Type) ?? 'application');
  const rate = ctx.prices.loadBalancerHour?.[type as 'application'];
  if (rate === undefined) { ctx.notPriced(missing(`${type} load balancer`, ctx.region)); return; }
  ctx.price({ kind: 'Load balancers', detail: `${type}: ${usd(rate)}/h × ${ctx.hours} h (LCUs are usage)`, monthlyUsd: rate * ctx.hours });
};

const ssmParameter: Pricer = (p, ctx, id) => {
  if (literal<string>(p.Tier) === 'Advanced') monthly('SSM advanced parameters', 'ssmAdvancedParameterMonth', 'SSM advanced parameter')(p, ctx, id);
  else ctx.usage(USAGE_TYPES['AWS::SSM::Parameter']);
};

const codePipeline: Pricer = (p, ctx, id) => {
  // CloudFormation's default pipeline type is V1 (a monthly fee per active pipeline).
  if (literal<string>(p.PipelineType) === 'V2') ctx.usage(USAGE_EXTRA.pipelineV2);
  else monthly('CodePipeline V1 pipelines', 'codePipelineV1Month', 'CodePipeline V1')(p, ctx, id);
};

const dynamoTable: Pricer = (p, ctx) => {
  if (literal<string>(p.BillingMode) === 'PAY_PER_REQUEST') ctx.usage(USAGE_EXTRA.dynamoOnDemand);
  else ctx.notPriced('provisioned-capacity tables have no price in the table');
};

const PRICERS: Record<string, Pricer> = {
  'AWS::EKS::Cluster': hourly('EKS clusters', 'eksClusterHour', 'EKS cluster'),
  'AWS::EKS::Nodegroup': nodegroup,
  'AWS::EC2::Instance': instance,
  'AWS::AutoScaling::AutoScalingGroup': autoScalingGroup,
  'AWS::EC2::Volume': volume,
  'AWS::EC2::NatGateway': hourly('NAT gateways', 'natGatewayHour', 'NAT gateway'),
  'AWS::EC2::EIP': hourly('Public IPv4 addresses', 'publicIpv4Hour', 'public IPv4'),
  'AWS::EC2::VPCEndpoint': vpcEndpoint,
  'AWS::SageMaker::Endpoint': sagemakerEndpoint,
  'AWS::Lambda::Alias': lambdaProvisioned,
  'AWS::Lambda::Version': lambdaProvisioned,
  'AWS::SageMaker::MlflowTrackingServer': mlflow,
  'AWS::SageMaker::FeatureGroup': featureGroup,
  'AWS::KMS::Key': monthly('KMS keys', 'kmsKeyMonth', 'KMS key'),
  'AWS::CloudWatch::Alarm': alarm,
  'AWS::CloudWatch::CompositeAlarm': monthly('CloudWatch alarms', 'compositeAlarmMonth', 'composite alarm'),
  'AWS::CloudWatch::Dashboard': monthly('CloudWatch dashboards', 'dashboardMonth', 'CloudWatch dashboard'),
  'AWS::ElasticLoadBalancingV2::LoadBalancer': loadBalancer(false),
  'AWS::ElasticLoadBalancing::LoadBalancer': loadBalancer(true),
  'AWS::SecretsManager::Secret': monthly('Secrets', 'secretMonth', 'Secrets Manager secret'),
  'AWS::Route53::HostedZone': monthly('Route 53 hosted zones', 'hostedZoneMonth', 'hosted zone'),
  'AWS::SSM::Parameter': ssmParameter,
  'AWS::CodePipeline::Pipeline': codePipeline,
  'AWS::DynamoDB::Table': dynamoTable,
};

/** Region whose prices apply to a stack, and the note that goes with the choice. */
function pricedRegion(region: string | undefined, table: PriceTable): { region: string; warning?: string; assumption?: string } {
  if (region === undefined) {
    return { region: table.defaultRegion, assumption: `environment-agnostic stacks (no region at synth) are priced at ${table.defaultRegion} prices` };
  }
  if (table.regions[region]) return { region };
  return {
    region: table.defaultRegion,
    warning: `region ${region} is not in the price table (it has ${Object.keys(table.regions).join(', ')}); priced at ${table.defaultRegion} prices instead`,
  };
}

/** Prices the idle cost of some stacks' templates. */
export function estimateIdleCost(stacks: readonly StackTemplate[], options: EstimateOptions = {}): IdleCostEstimate {
  const table = options.prices ?? DEFAULT_PRICE_TABLE;
  if (!table.regions[table.defaultRegion]) throw new Error(`price table: defaultRegion "${table.defaultRegion}" is not one of its regions (${Object.keys(table.regions).join(', ')})`);
  const items: CostItem[] = [];
  const notPriced = new Map<string, { resourceType: string; reason: string; resources: Array<{ stackName: string; logicalId: string }> }>();
  const usage = new Map<string, UsagePriced>();
  const assumptions = new Set<string>([
    `${table.hoursPerMonth} hours a month, on-demand list prices, no free tier, Savings Plans or Reserved Instances`,
  ]);
  const warnings = new Set<string>();
  const kindCounts = new Map<string, number>();
  const stackCosts: StackCost[] = [];

  for (const stack of stacks) {
    const where = pricedRegion(stack.region, table);
    if (where.warning) warnings.add(where.warning);
    if (where.assumption) assumptions.add(where.assumption);
    const prices = table.regions[where.region];
    const resources = stack.template.Resources ?? {};
    let stackTotal = 0;
    for (const [logicalId, resource] of Object.entries(resources)) {
      const path = typeof resource.Metadata?.['aws:cdk:path'] === 'string' ? resource.Metadata['aws:cdk:path'] : stack.paths?.[logicalId];
      const counted = new Set<string>();
      const ctx: Ctx = {
        stack, resources, prices, region: where.region, hours: table.hoursPerMonth,
        price(item) {
          items.push({ stackName: stack.stackName, logicalId, path, resourceType: resource.Type, templatePath: stack.templatePath, ...item, monthlyUsd: exact(item.monthlyUsd) });
          stackTotal += item.monthlyUsd;
          if (!counted.has(item.kind)) {
            counted.add(item.kind);
            kindCounts.set(item.kind, (kindCounts.get(item.kind) ?? 0) + 1);
          }
        },
        notPriced(reason) {
          const key = `${resource.Type}\u0000${reason}`;
          const entry = notPriced.get(key) ?? { resourceType: resource.Type, reason, resources: [] };
          entry.resources.push({ stackName: stack.stackName, logicalId });
          notPriced.set(key, entry);
        },
        usage(u) {
          const prev = usage.get(u.label);
          usage.set(u.label, { ...u, count: (prev?.count ?? 0) + 1 });
        },
        assume(text) { assumptions.add(text); },
      };
      const pricer = PRICERS[resource.Type];
      if (pricer) pricer(resource.Properties ?? {}, ctx, logicalId);
      else if (USAGE_TYPES[resource.Type]) ctx.usage(USAGE_TYPES[resource.Type]);
      else if (!(FREE_TYPES.has(resource.Type) || FREE_PREFIXES.some((prefix) => resource.Type.startsWith(prefix)))) {
        ctx.notPriced('no price rule for this resource type');
      }
    }
    stackCosts.push({ stackName: stack.stackName, region: stack.region, pricedAs: where.region, monthlyUsd: exact(stackTotal) });
  }

  const byKind = COST_KINDS.filter((k) => kindCounts.has(k)).map((kind) => ({
    kind,
    monthlyUsd: exact(items.filter((i) => i.kind === kind).reduce((s, i) => s + i.monthlyUsd, 0)),
    count: kindCounts.get(kind)!,
  }));
  return {
    name: options.name ?? 'app',
    monthlyUsd: exact(items.reduce((s, i) => s + i.monthlyUsd, 0)),
    stacks: stackCosts,
    byKind,
    items: [...items].sort((a, b) => b.monthlyUsd - a.monthlyUsd),
    notPriced: [...notPriced.values()].map((n) => ({ ...n, count: n.resources.length })),
    usagePriced: [...usage.values()].sort((a, b) => a.label.localeCompare(b.label)),
    assumptions: [...assumptions],
    warnings: [...warnings],
    prices: { currency: table.currency, date: table.date, source: table.source, hoursPerMonth: table.hoursPerMonth },
  };
}
