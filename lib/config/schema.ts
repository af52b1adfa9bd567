import { z } from 'zod';
import {
  accountId, days, email, intRange, logRetentionDays, region, resourceName, type STAGE_NAMES,
} from './common';
import { computeConfig } from './components/compute';
import { eksConfig } from './components/eks';
import { lambdaInferenceConfig } from './components/lambda-inference';
import { monitoringConfig } from './components/monitoring';
import { pipelinesConfig } from './components/pipelines';
import { sagemakerConfig } from './components/sagemaker';

/** Parses an IPv4 CIDR into its numeric network address and prefix length, or undefined. */
export function parseCidr(value: string): { address: number; prefix: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const address = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  return { address, prefix };
}

const vpcCidr = z.string().superRefine((value, ctx) => {
  const parsed = parseCidr(value);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'must be an IPv4 CIDR such as 10.0.0.0/16' });
  } else if (parsed.prefix < 16 || parsed.prefix > 22) {
    ctx.addIssue({ code: 'custom', message: 'must have a prefix length between /16 and /22 (room for public, private and isolated subnets per AZ)' });
  } else if ((parsed.address & (2 ** (32 - parsed.prefix) - 1)) !== 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a network address: the host bits after the prefix must be zero' });
  }
});

const tagKey = z.string().min(1).max(128).refine((k) => !k.toLowerCase().startsWith('aws:'), { error: 'tag keys may not start with "aws:"' });

export const networkConfig = z.strictObject({
  /** IPv4 CIDR of the VPC the platform creates. */
  cidr: vpcCidr,
  /** Number of availability zones the VPC spans. */
  maxAzs: intRange(1, 6, ' AZs'),
  /** Explicit AZ names. Needed for more than 2 AZs with an explicit region, so synth needs no lookups. */
  availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, { error: 'must be an availability zone name such as us-east-1a' })).optional(),
  /** NAT gateways for egress from private subnets (0 = isolated subnets only, reached through VPC endpoints). */
  natGateways: intRange(0, 6, ' NAT gateways'),
  /** Create interface endpoints for ECR, SageMaker, STS, CloudWatch Logs, SSM and KMS. */
  interfaceEndpoints: z.boolean(),
  /** Retention of the VPC flow log group. */
  flowLogRetentionDays: logRetentionDays,
  /** Use an existing VPC instead of creating one (no lookups: give its ids). */
  existingVpc: z
    .strictObject({
      vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { error: 'must be a VPC id such as vpc-0123456789abcdef0' }),
      availabilityZones: z.array(z.string()).min(1),
      privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: 'must be a subnet id' })).min(1),
      /** Route tables of the private subnets, in the same order. */
      privateSubnetRouteTableIds: z.array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, { error: 'must be a route table id' })).min(1),
    })
    .optional(),
});
export type NetworkConfig = z.infer<typeof networkConfig>;

export const dataConfig = z.strictObject({
  /** Keep buckets, keys and repositories when the stack is deleted. Required in prod. */
  retainOnDelete: z.boolean(),
  /** Empty buckets on stack deletion (dev only, and only with retainOnDelete false). */
  autoDeleteObjects: z.boolean(),
  /** S3 versioning on data and artifact buckets. Required in prod. */
  versioned: z.boolean(),
  /** Days after which noncurrent object versions expire. */
  noncurrentVersionExpirationDays: days(),
  /** Days after which objects move to S3 Intelligent-Tiering. */
  intelligentTieringAfterDays: intRange(0, 3650, ' days'),
  /** Days server access logs are kept. */
  accessLogRetentionDays: days(),
});
export type DataConfig = z.infer<typeof dataConfig>;

export const registryConfig = z.strictObject({
  /** ECR repositories to create, e.g. training and inference images. */
  repositories: z.array(resourceName).min(1),
  /** Tagged images kept per repository. */
  maxTaggedImages: intRange(1, 10000, ' images'),
  /** Days after which untagged images expire. */
  untaggedExpiryDays: days(),
  /** Other accounts (e.g. other stages) allowed to pull images. */
  pullAccounts: z.array(accountId),
});
export type RegistryConfig = z.infer<typeof registryConfig>;

export const budgetConfig = z.strictObject({
  /**
   * Synth fails, naming the biggest items, when the stage's idle-cost estimate (what `cdk-mlops cost` prints: its
   * hourly and monthly resources at list prices, usage not included) is above this many US dollars a month.
   */
  monthlyIdleUsd: z.number().gt(0, { error: 'must be a number of US dollars a month above 0' }).optional(),
});
export type BudgetConfig = z.infer<typeof budgetConfig>;

export const platformConfig = z.strictObject({
  /** Naming prefix: stacks are named `<prefix>-<stage>-<Part>`. */
  prefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,18}[a-z0-9]$/, { error: 'must be 3-20 lowercase letters, digits and hyphens, starting with a letter' }),
  /** Target account and region. Leave out for environment-agnostic stacks (synth without credentials). */
  env: z.strictObject({ account: accountId.optional(), region: region.optional() }),
  /** Tags on every resource; use them for cost allocation (e.g. CostCenter). */
  tags: z.record(tagKey, z.string().max(256, { error: 'tag values must be at most 256 characters' })),
  /** Extra cdk-nag rule packs on top of AwsSolutions, which always runs. */
  nag: z.strictObject({
    packs: z.array(z.enum(['NIST80053R5', 'HIPAA'], { error: 'must be "NIST80053R5" or "HIPAA"' })),
    verbose: z.boolean(),
  }),
  network: networkConfig,
  data: dataConfig,
  registry: registryConfig,
  alerts: z.strictObject({ emails: z.array(email) }),
  compute: computeConfig,
  eks: eksConfig,
  sagemaker: sagemakerConfig,
  lambdaInference: lambdaInferenceConfig,
  pipelines: pipelinesConfig,
  monitoring: monitoringConfig,
  /** Cost guard on the stage's idle-cost estimate. Leave out for none. */
  budget: budgetConfig.optional(),
});

/** The validated configuration of one stage. */
export type PlatformConfig = z.infer<typeof platformConfig>;

/** A stage's validated configuration together with its name. */
export interface StageConfig extends PlatformConfig {
  readonly stage: (typeof STAGE_NAMES)[number];
}
