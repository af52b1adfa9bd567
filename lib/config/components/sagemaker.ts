import { z } from 'zod';
import { instanceArchitecture, isHostingInstanceType } from '../../../constructs/serving/hosting-instance-types';
import { accountId, intRange, type StageDefaults } from '../common';

const name = z
  .string()
  .max(30, { error: 'must be at most 30 characters (the endpoint is named <prefix>-<stage>-<name>)' })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'must be lowercase letters, digits and hyphens, starting and ending with a letter or digit' });
const groupName = z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,29}$/, { error: 'must be 1-30 letters, digits and hyphens (the group is named <prefix>-<stage>-<name>)' });
const variantName = z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, { error: 'must be 1-63 letters, digits and hyphens' });
const instanceType = z.string().refine(isHostingInstanceType, {
  error: 'must be a SageMaker hosting instance type (the SageMaker API\'s ProductionVariantInstanceType list), such as ml.m5.large, ml.c6i.xlarge or ml.g5.xlarge',
});
/** CPU architecture an image is built for; the platform's model server and the pipeline's CodeBuild images are amd64. */
const architecture = z.enum(['amd64', 'arm64'], { error: 'must be "amd64" or "arm64"' }).optional();
const SERVERLESS_MEMORY = [1024, 2048, 3072, 4096, 5120, 6144];
const objectKey = z.string().min(1).max(1024).regex(/^[^/].*[^/]$/, { error: 'must be an S3 object key (no leading or trailing "/")' });

/** The image a model runs: a repository of the stage's registry and a tag, or a prebuilt ECR image URI. */
const image = z.union([
  z.strictObject({
    /** Logical name of a repository in `registry.repositories`. */
    repository: z.string().min(1),
    /** Image tag (tags are immutable in the platform's registry). */
    tag: z.string().regex(/^[\w][\w.-]{0,127}$/, { error: 'must be an image tag (letters, digits, "_", "." and "-")' }),
    /** CPU architecture of the image. Default amd64. */
    architecture,
  }),
  z.strictObject({
    /** Prebuilt image, e.g. an AWS Deep Learning Container: `<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`. */
    uri: z.string().regex(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9._/-]+(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/, {
      error: 'must be an ECR image URI with a tag or digest',
    }),
    /** CPU architecture of the image. Default amd64. */
    architecture,
  }),
], { error: 'must be { repository, tag } or { uri }' });

export const sagemakerEndpointConfig = z.strictObject({
  /** Short name; the endpoint is `<prefix>-<stage>-<name>`. */
  name,
  /** `serverless` (scales to zero, CPU only), `real-time` (instances, billed while idle) or `async` (queued, scales to zero). */
  mode: z.enum(['real-time', 'serverless', 'async'], { error: 'must be "real-time", "serverless" or "async"' }),
  /** Model image. Default: the platform's model server, built from lambda/model-server (Dockerfile.sagemaker). */
  image: image.optional(),
  /** `model.tar.gz` in the stage's artifacts bucket that SageMaker unpacks into /opt/ml/model. Default: the model in the image. */
  modelDataKey: objectKey.optional(),
  /** Container environment variables. */
  environment: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$/, { error: 'must be an environment variable name' }), z.string().max(1024)).optional(),
  /** Real-time/async instance type. Default ml.m5.large (CPU). GPU types (ml.g5.*, ml.p4d.*...) only when you set them. */
  instanceType: instanceType.optional(),
  /** Real-time/async instances per variant. Default 2 in prod (spread over AZs), 1 elsewhere. */
  instanceCount: intRange(1, 100, ' instances').optional(),
  /** A/B production variants (real-time/async); the endpoint's image/instance settings are their defaults. */
  variants: z.array(z.strictObject({
    name: variantName,
    /** Relative share of traffic. */
    weight: z.number().min(0, { error: 'must be 0 or more' }),
    instanceType: instanceType.optional(),
    instanceCount: intRange(1, 100, ' instances').optional(),
    image: image.optional(),
    modelDataKey: objectKey.optional(),
  })).min(1).max(10).optional(),
  /** Serverless sizing (mode `serverless`). */
  serverless: z.strictObject({
    /** 1024-6144 MB in steps of 1024. */
    memoryMb: z.number().refine((m) => SERVERLESS_MEMORY.includes(m), { error: `must be one of ${SERVERLESS_MEMORY.join(', ')} MB` }),
    /** Concurrent invocations, 1-200. */
    maxConcurrency: intRange(1, 200),
    /** Warm capacity (billed while provisioned), at most maxConcurrency. */
    provisionedConcurrency: intRange(1, 200).optional(),
  }).optional(),
  /** Target-tracking autoscaling (real-time: invocations per instance; async: backlog, down to zero). */
  autoScaling: z.strictObject({
    minCapacity: intRange(0, 100, ' instances').optional(),
    maxCapacity: intRange(1, 100, ' instances'),
    targetInvocationsPerInstance: intRange(1, 100000, ' invocations per minute').optional(),
  }).optional(),
  /** Capture this percentage of requests/responses to the artifacts bucket (real-time/async); needed for dataQuality. */
  dataCaptureSamplingPercent: intRange(1, 100, ' percent').optional(),
  /** Block network calls from the model container. Default true (serverless: not supported, always false). */
  networkIsolation: z.boolean().optional(),
  /** Blue/green deployment guardrails with rollback on 5xx and latency alarms (real-time/async). */
  guardrails: z.strictObject({
    trafficShifting: z.enum(['all-at-once', 'canary', 'linear'], { error: 'must be "all-at-once", "canary" or "linear"' }),
    canaryPercent: intRange(1, 50, ' percent').optional(),
    /** SageMaker shifts 10-50% of capacity per linear step. */
    linearStepPercent: intRange(10, 50, ' percent').optional(),
    /** Minutes the new fleet is watched after each shift. */
    bakeMinutes: intRange(0, 60, ' minutes'),
    /** p99 model latency that rolls back. */
    latencyAlarmMs: intRange(1, 600000, ' ms'),
    /** 5xx responses per minute that roll back. */
    errorAlarmCount: intRange(1, 100000, ' errors'),
  }).optional(),
  /** Deploy every approved version of this model package group (one of `modelPackageGroups`) to this endpoint. */
  modelPackageGroup: groupName.optional(),
  /** Model Monitor data-quality schedule against a baseline in the artifacts bucket (needs dataCaptureSamplingPercent). */
  dataQuality: z.strictObject({
    baselineStatisticsKey: objectKey,
    baselineConstraintsKey: objectKey,
    /** Cron expression, hourly or daily. */
    schedule: z.string().regex(/^cron\(.+\)$/, { error: 'must be a cron expression such as cron(0 * ? * * *)' }),
  }).optional(),
}).superRefine((e, ctx) => {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (e.mode === 'serverless') {
    if (!e.serverless) issue(['serverless'], 'is required with mode "serverless" (memoryMb, maxConcurrency)');
    for (const key of ['instanceType', 'instanceCount', 'variants', 'autoScaling', 'dataCaptureSamplingPercent', 'guardrails', 'dataQuality'] as const) {
      if (e[key] !== undefined) issue([key], `serverless endpoints do not support ${key}; use mode "real-time" or "async"`);
    }
    if (e.networkIsolation) issue(['networkIsolation'], 'serverless endpoints do not support network isolation');
    if (e.serverless?.provisionedConcurrency !== undefined && e.serverless.provisionedConcurrency > e.serverless.maxConcurrency) {
      issue(['serverless', 'provisionedConcurrency'], `must not exceed serverless.maxConcurrency (${e.serverless.maxConcurrency})`);
    }
  } else if (e.serverless) {
    issue(['serverless'], `only applies to mode "serverless" (mode is "${e.mode}")`);
  }
  if (e.autoScaling?.minCapacity !== undefined && e.autoScaling.minCapacity > e.autoScaling.maxCapacity) {
    issue(['autoScaling', 'minCapacity'], `must not exceed autoScaling.maxCapacity (${e.autoScaling.maxCapacity})`);
  }
  if (e.autoScaling?.minCapacity === 0 && e.mode !== 'async') issue(['autoScaling', 'minCapacity'], 'only async endpoints scale to 0 instances; use at least 1');
  if (e.variants) {
    if (e.variants.every((v) => v.weight === 0)) issue(['variants'], 'at least one variant needs a weight above 0, or no traffic is served');
    const names = e.variants.map((v) => v.name);
    if (new Set(names).size !== names.length) issue(['variants'], 'variant names must be unique');
  }
  // The image must run on the instance's CPU: an amd64 image on Graviton passes synth and fails SageMaker's health check.
  const arch = (img: typeof e.image) => img?.architecture ?? 'amd64';
  const checkArch = (path: (string | number)[], type: string | undefined, img: typeof e.image) => {
    if (!type || !isHostingInstanceType(type) || instanceArchitecture(type) === arch(img)) return;
    issue(path, `${type} is an ${instanceArchitecture(type)} instance but the image is ${arch(img)}${img ? '' : ' (the platform\'s model server)'}; use an ${arch(img)} type such as ${arch(img) === 'amd64' ? 'ml.m5.large' : 'ml.m6g.large'}, or set image.architecture for an image built for ${instanceArchitecture(type)}`);
  };
  if (e.mode !== 'serverless') {
    checkArch(['instanceType'], e.instanceType ?? 'ml.m5.large', e.image);
    e.variants?.forEach((v, i) => checkArch(['variants', i, 'instanceType'], v.instanceType ?? e.instanceType ?? 'ml.m5.large', v.image ?? e.image));
  }
  if (e.dataQuality && e.dataCaptureSamplingPercent === undefined) issue(['dataQuality'], 'needs dataCaptureSamplingPercent: Model Monitor analyses captured requests');
});
export type SageMakerEndpointConfig = z.infer<typeof sagemakerEndpointConfig>;

export const sagemakerConfig = z.strictObject({
  /** Switch for the stage's SageMaker stack: endpoints, the model registry and drift monitoring. */
  enabled: z.boolean(),
  /** Endpoints to run. */
  endpoints: z.array(sagemakerEndpointConfig).max(20),
  /** Model package groups to create in the model registry (one per model). */
  modelPackageGroups: z.array(groupName),
  /** Other accounts (e.g. the staging and prod accounts) allowed to read and deploy this stage's model packages. */
  crossAccountIds: z.array(accountId),
}).superRefine((c, ctx) => {
  const names = c.endpoints.map((e) => e.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'name'], message: `"${n}" is used by another endpoint; names must be unique` });
  });
  const groups = new Set(c.modelPackageGroups);
  if (groups.size !== c.modelPackageGroups.length) ctx.addIssue({ code: 'custom', path: ['modelPackageGroups'], message: 'must not repeat a group' });
  const deployed = new Map<string, number>();
  c.endpoints.forEach((e, i) => {
    if (!e.modelPackageGroup) return;
    if (!groups.has(e.modelPackageGroup)) {
      ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'modelPackageGroup'], message: `must be one of modelPackageGroups (${[...groups].join(', ') || 'none defined'})` });
    } else if (deployed.has(e.modelPackageGroup)) {
      ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'modelPackageGroup'], message: `group already deploys to endpoint "${c.endpoints[deployed.get(e.modelPackageGroup)!].name}"; one endpoint per group` });
    } else {
      deployed.set(e.modelPackageGroup, i);
    }
  });
});
export type SageMakerConfig = z.infer<typeof sagemakerConfig>;

/**
 * dev runs one serverless endpoint (no cost while idle) serving the platform's model server, fed by the `default`
 * model package group. staging and prod are off until switched on: their real-time CPU endpoints bill by the hour.
 * Switched on, staging runs one instance, prod two (across AZs) with autoscaling, data capture and canary
 * guardrails. GPU instances are never a default.
 */
export const sagemakerDefaults: StageDefaults<SageMakerConfig> = {
  dev: {
    enabled: true,
    endpoints: [{ name: 'default', mode: 'serverless', serverless: { memoryMb: 2048, maxConcurrency: 5 }, modelPackageGroup: 'default' }],
    modelPackageGroups: ['default'],
    crossAccountIds: [],
  },
  staging: {
    enabled: false,
    endpoints: [{
      name: 'default', mode: 'real-time', instanceType: 'ml.m5.large', instanceCount: 1, dataCaptureSamplingPercent: 20, modelPackageGroup: 'default',
      guardrails: { trafficShifting: 'all-at-once', bakeMinutes: 5, latencyAlarmMs: 1000, errorAlarmCount: 5 },
    }],
    modelPackageGroups: ['default'],
    crossAccountIds: [],
  },
  prod: {
    enabled: false,
    endpoints: [{
      name: 'default', mode: 'real-time', instanceType: 'ml.m5.large', instanceCount: 2, dataCaptureSamplingPercent: 20, modelPackageGroup: 'default',
      autoScaling: { minCapacity: 2, maxCapacity: 6, targetInvocationsPerInstance: 100 },
      guardrails: { trafficShifting: 'canary', canaryPercent: 10, bakeMinutes: 10, latencyAlarmMs: 1000, errorAlarmCount: 5 },
    }],
    modelPackageGroups: ['default'],
    crossAccountIds: [],
  },
};
