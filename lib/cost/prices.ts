/**
 * List prices the idle-cost estimate uses, per region, in USD. Edit this file (or pass your own table to
 * `estimateIdleCost`) when AWS changes a price or you need another region; `test/cost/prices.test.ts` checks
 * its shape. Nothing here is fetched at synth: the estimate must work offline and give the same answer twice.
 *
 * A price left out is never treated as $0: the resource is reported as "not priced" with its count.
 */
export interface RegionPrices {
  /** EKS control plane, standard Kubernetes version support, per cluster-hour. */
  readonly eksClusterHour?: number;
  /** On-demand Linux EC2 instances (also EKS nodes), per instance-hour. */
  readonly ec2InstanceHour?: Readonly<Record<string, number>>;
  /** EBS volumes per GB-month, by volume type (gp3 baseline IOPS/throughput included). */
  readonly ebsGbMonth?: Readonly<Record<string, number>>;
  /** NAT gateway, per gateway-hour (data processed is usage). */
  readonly natGatewayHour?: number;
  /** Public IPv4 address (Elastic IP, attached or not), per address-hour. */
  readonly publicIpv4Hour?: number;
  /** Interface VPC endpoint, per endpoint per AZ-hour (data processed is usage). */
  readonly interfaceEndpointAzHour?: number;
  /** SageMaker real-time/async hosting instances, per instance-hour. */
  readonly sagemakerHostingInstanceHour?: Readonly<Record<string, number>>;
  /** SageMaker Serverless Inference provisioned concurrency, per GB-second of configured memory. */
  readonly sagemakerServerlessProvisionedGbSecond?: number;
  /** Lambda provisioned concurrency, per GB-second, by architecture. */
  readonly lambdaProvisionedGbSecond?: Readonly<Partial<Record<'x86_64' | 'arm64', number>>>;
  /** SageMaker managed MLflow tracking server, per server-hour, by size. */
  readonly mlflowTrackingServerHour?: Readonly<Record<string, number>>;
  /** SageMaker Feature Store online store with provisioned throughput, per read/write unit-hour. */
  readonly featureStoreProvisionedUnitHour?: Readonly<Partial<Record<'read' | 'write', number>>>;
  /** KMS customer-managed key, per key-month (requests are usage). */
  readonly kmsKeyMonth?: number;
  /** CloudWatch metric alarm, per metric-month: standard (period ≥ 60 s) and high resolution. */
  readonly alarmMetricMonth?: Readonly<Partial<Record<'standard' | 'highResolution', number>>>;
  /** CloudWatch composite alarm, per alarm-month. */
  readonly compositeAlarmMonth?: number;
  /** CloudWatch dashboard, per dashboard-month (the first 3 per account are free; not deducted). */
  readonly dashboardMonth?: number;
  /** Elastic Load Balancing, per load balancer-hour (LCUs are usage). */
  readonly loadBalancerHour?: Readonly<Partial<Record<'application' | 'network' | 'gateway' | 'classic', number>>>;
  /** Secrets Manager, per secret-month. */
  readonly secretMonth?: number;
  /** Route 53 hosted zone, per zone-month (first 25 zones). */
  readonly hostedZoneMonth?: number;
  /** SSM Parameter Store advanced parameter, per parameter-month (standard parameters are free). */
  readonly ssmAdvancedParameterMonth?: number;
  /** CodePipeline V1 pipeline, per active pipeline-month (V2 pipelines bill per action minute: usage). */
  readonly codePipelineV1Month?: number;
}

export interface PriceTable {
  readonly currency: 'USD';
  /** When the prices were taken (YYYY-MM-DD). */
  readonly date: string;
  /** Where they were taken from, and how. */
  readonly source: string;
  /** Hours in a billing month (AWS pricing pages use 730). */
  readonly hoursPerMonth: number;
  /** Region whose prices stand in for a region the table does not have (with a warning). */
  readonly defaultRegion: string;
  readonly regions: Readonly<Record<string, RegionPrices>>;
}

const FLAT = {
  eksClusterHour: 0.10,
  publicIpv4Hour: 0.005,
  kmsKeyMonth: 1.00,
  compositeAlarmMonth: 0.50,
  dashboardMonth: 3.00,
  secretMonth: 0.40,
  hostedZoneMonth: 0.50,
  ssmAdvancedParameterMonth: 0.05,
  codePipelineV1Month: 1.00,
  lambdaProvisionedGbSecond: { x86_64: 0.0000041667, arm64: 0.0000033334 },
} as const;

const US_EC2: Record<string, number> = {
  't3.medium': 0.0416, 't3.large': 0.0832, 't3.xlarge': 0.1664,
  'm5.large': 0.096, 'm5.xlarge': 0.192, 'm5.2xlarge': 0.384,
  'm6i.large': 0.096, 'm6i.xlarge': 0.192, 'm6i.2xlarge': 0.384, 'm6i.4xlarge': 0.768,
  'm6a.large': 0.0864, 'm6a.xlarge': 0.1728, 'm6a.2xlarge': 0.3456,
  'm7i.large': 0.1008, 'm7i.xlarge': 0.2016,
  'c6i.large': 0.085, 'c6i.xlarge': 0.17,
  'r6i.large': 0.126, 'r6i.xlarge': 0.252,
  'g4dn.xlarge': 0.526, 'g4dn.2xlarge': 0.752,
  'g5.xlarge': 1.006, 'g5.2xlarge': 1.212, 'g5.4xlarge': 1.624, 'g5.8xlarge': 2.448, 'g5.12xlarge': 5.672,
  'g6.xlarge': 0.8048, 'g6.2xlarge': 0.9776,
  'p3.2xlarge': 3.06,
};

const US_SAGEMAKER: Record<string, number> = {
  'ml.t2.medium': 0.056, 'ml.m5.large': 0.115, 'ml.m5.xlarge': 0.23, 'ml.m5.2xlarge': 0.461,
  'ml.c5.large': 0.102, 'ml.c5.xlarge': 0.204, 'ml.g4dn.xlarge': 0.736, 'ml.g5.xlarge': 1.408, 'ml.g5.2xlarge': 1.515,
};

const US: RegionPrices = {
  ...FLAT,
  ec2InstanceHour: US_EC2,
  ebsGbMonth: { gp3: 0.08, gp2: 0.10, io1: 0.125, io2: 0.125, st1: 0.045, sc1: 0.015, standard: 0.05 },
  natGatewayHour: 0.045,
  interfaceEndpointAzHour: 0.01,
  sagemakerHostingInstanceHour: US_SAGEMAKER,
  sagemakerServerlessProvisionedGbSecond: 0.0000048,
  mlflowTrackingServerHour: { Small: 0.60, Medium: 1.40, Large: 2.70 },
  alarmMetricMonth: { standard: 0.10, highResolution: 0.30 },
  loadBalancerHour: { application: 0.0225, network: 0.0225, gateway: 0.0125, classic: 0.025 },
};

/**
 * The built-in table: us-east-1 in full, us-west-2 (priced like us-east-1 for everything listed), and
 * eu-west-1 / eu-central-1 for the resources the platform's default stages use. Instance types and services a
 * region leaves out are reported as not priced there.
 */
export const DEFAULT_PRICE_TABLE: PriceTable = {
  currency: 'USD',
  date: '2026-12-01',
  source: 'AWS public on-demand list prices as published on the AWS pricing pages and the AWS Price List API '
    + '(aws.amazon.com/<service>/pricing, pricing.us-east-1.amazonaws.com). Entered by hand from the figures known on '
    + 'that date, not fetched live; check them against the Price List API before relying on them for a budget.',
  hoursPerMonth: 730,
  defaultRegion: 'us-east-1',
  regions: {
    'us-east-1': US,
    'us-west-2': US,
    'eu-west-1': {
      ...FLAT,
      ec2InstanceHour: {
        'm5.large': 0.107, 'm5.xlarge': 0.214, 'm6i.large': 0.107, 'm6i.xlarge': 0.214, 'm6i.2xlarge': 0.428,
        'm6a.xlarge': 0.1926, 'g4dn.xlarge': 0.587, 'g5.xlarge': 1.123, 'g5.2xlarge': 1.353, 'g5.4xlarge': 1.813,
      },
      ebsGbMonth: { gp3: 0.088, gp2: 0.11 },
      natGatewayHour: 0.048,
      interfaceEndpointAzHour: 0.011,
      sagemakerHostingInstanceHour: { 'ml.m5.large': 0.128, 'ml.m5.xlarge': 0.256 },
      alarmMetricMonth: { standard: 0.10, highResolution: 0.30 },
      loadBalancerHour: { application: 0.0252, network: 0.0252 },
    },
    'eu-central-1': {
      ...FLAT,
      ec2InstanceHour: {
        'm5.large': 0.115, 'm5.xlarge': 0.23, 'm6i.large': 0.115, 'm6i.xlarge': 0.23, 'm6i.2xlarge': 0.46,
        'm6a.xlarge': 0.207, 'g4dn.xlarge': 0.658, 'g5.xlarge': 1.258, 'g5.2xlarge': 1.516, 'g5.4xlarge': 2.031,
      },
      ebsGbMonth: { gp3: 0.0952, gp2: 0.119 },
      natGatewayHour: 0.052,
      interfaceEndpointAzHour: 0.012,
      sagemakerHostingInstanceHour: { 'ml.m5.large': 0.138, 'ml.m5.xlarge': 0.276 },
      alarmMetricMonth: { standard: 0.10, highResolution: 0.30 },
      loadBalancerHour: { application: 0.027, network: 0.027 },
    },
  },
};
