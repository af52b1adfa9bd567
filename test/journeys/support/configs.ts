/**
 * Configs the journey tests synthesize: the built-in defaults, and everything switched on with one account per
 * stage (what the README recommends for production). Each is a user config file's content (top-level keys for
 * every stage, `stages.<name>` per stage), written to a temporary YAML file and read through `-c config=` as a
 * user would.
 */

/** One account per stage, plus a separate tooling account for the infrastructure pipeline. */
export const ACCOUNTS = {
  dev: '111111111111',
  staging: '222222222222',
  prod: '333333333333',
  tooling: '444444444444',
} as const;

export const REGION = 'us-east-1';
export const ZONES = ['us-east-1a', 'us-east-1b'];

const stageEnv = (account: string) => ({
  env: { account, region: REGION },
  network: { availabilityZones: ZONES },
});

const endpoints = (stage: 'dev' | 'staging' | 'prod') => [
  {
    name: 'realtime', mode: 'real-time', instanceType: 'ml.m5.large', instanceCount: stage === 'prod' ? 2 : 1,
    dataCaptureSamplingPercent: 20, modelPackageGroup: 'realtime',
    autoScaling: { minCapacity: stage === 'prod' ? 2 : 1, maxCapacity: 4, targetInvocationsPerInstance: 100 },
    guardrails: { trafficShifting: 'canary', canaryPercent: 10, bakeMinutes: 5, latencyAlarmMs: 1000, errorAlarmCount: 5 },
  },
  { name: 'serverless', mode: 'serverless', serverless: { memoryMb: 2048, maxConcurrency: 5 }, modelPackageGroup: 'serverless' },
  {
    name: 'async', mode: 'async', instanceType: 'ml.m5.large', instanceCount: 1, dataCaptureSamplingPercent: 20,
    modelPackageGroup: 'async', autoScaling: { minCapacity: 0, maxCapacity: 2 },
  },
];

const featureGroup = {
  name: 'customers',
  description: 'Customer features for churn models',
  recordIdentifier: 'customer_id',
  eventTime: 'event_time',
  features: [
    { name: 'customer_id', type: 'String' },
    { name: 'event_time', type: 'String' },
    { name: 'tenure_months', type: 'Integral' },
    { name: 'monthly_spend', type: 'Fractional' },
  ],
  onlineStore: true,
  // An existing ETL role of each stage's account that writes the group (the experiments journey).
  ingestRoles: ['customers-etl'],
};

/**
 * Every component on, dev/staging/prod in separate accounts (us-east-1, explicit zones so synth makes no
 * lookups), the model pipeline and the infrastructure pipeline in dev, GitHub deploy roles per stage, and the
 * NIST 800-53 R5 and HIPAA Security packs on top of AwsSolutions (what a regulated team switches on).
 */
export const ALL_ON_CONFIG: Record<string, unknown> = {
  prefix: 'acme-ml',
  nag: { packs: ['NIST80053R5', 'HIPAA'], verbose: false },
  tags: { CostCenter: 'research-42' },
  alerts: { emails: ['ml-oncall@example.com'] },
  registry: { pullAccounts: [ACCOUNTS.staging, ACCOUNTS.prod] },
  compute: {
    enabled: true,
    instances: [
      { name: 'research', instanceType: 'g5.xlarge', amiId: 'ami-0123456789abcdef0' },
      { name: 'spot-box', instanceType: 'g5.xlarge', spot: true, amiId: 'ami-0123456789abcdef0' },
    ],
  },
  lambdaInference: { enabled: true },
  monitoring: {
    enabled: true,
    mlflow: { enabled: true, automaticModelRegistration: true },
    featureGroups: [featureGroup],
  },
  stages: {
    dev: {
      ...stageEnv(ACCOUNTS.dev),
      sagemaker: {
        enabled: true,
        endpoints: endpoints('dev'),
        modelPackageGroups: ['realtime', 'serverless', 'async'],
        crossAccountIds: [ACCOUNTS.staging, ACCOUNTS.prod],
      },
      pipelines: {
        enabled: true,
        // Registered in dev's realtime group, promoted into staging's and prod's realtime groups and endpoints.
        modelPackageGroupName: 'realtime',
        github: { repository: 'acme/ml-platform', branch: 'main' },
        infrastructure: { enabled: true, account: ACCOUNTS.tooling, region: REGION },
      },
    },
    staging: {
      ...stageEnv(ACCOUNTS.staging),
      sagemaker: { enabled: true, endpoints: endpoints('staging'), modelPackageGroups: ['realtime', 'serverless', 'async'], crossAccountIds: [] },
      pipelines: { github: { repository: 'acme/ml-platform' } },
    },
    prod: {
      ...stageEnv(ACCOUNTS.prod),
      sagemaker: { enabled: true, endpoints: endpoints('prod'), modelPackageGroups: ['realtime', 'serverless', 'async'], crossAccountIds: [] },
      pipelines: { github: { repository: 'acme/ml-platform' } },
    },
  },
};

/** The built-in defaults: no config file at all. */
export const DEFAULT_CONFIG: Record<string, unknown> = {};

/** The Ray journey's data scientist. */
export const SCIENTIST = `arn:aws:iam::${ACCOUNTS.dev}:role/data-scientist`;
/**
 * Dev in its own account with EKS, Ray, a named job, the pipeline on Ray; staging runs Ray on Karpenter node pools
 * instead of the Cluster Autoscaler; prod kept small.
 */
export const RAY_CONFIG: Record<string, unknown> = {
  prefix: 'acme-ml',
  sagemaker: { enabled: false },
  lambdaInference: { enabled: false },
  monitoring: { enabled: true },
  stages: {
    dev: {
      env: { account: ACCOUNTS.dev, region: REGION },
      network: { availabilityZones: ZONES },
      // An SSM-managed box in the VPC to port-forward the private API endpoint through.
      compute: { enabled: true, instances: [{ name: 'jump', instanceType: 'g5.xlarge', amiId: 'ami-0123456789abcdef0' }] },
      eks: {
        rayUserRoleArns: [SCIENTIST],
        viewerRoleArns: [`arn:aws:iam::${ACCOUNTS.dev}:role/on-call`],
        dockerHubCacheCredentialArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNTS.dev}:secret:ecr-pullthroughcache/docker-hub-AbCdEf`,
        ray: {
          gangScheduling: true,
          jobs: [
            { name: 'features', entrypoint: 'python features.py', maxGpuWorkers: 2 },
            { name: 'nightly-train', entrypoint: 'python train.py', schedule: '0 3 * * *', maxGpuWorkers: 2, workingDir: 's3://code-bucket/train.zip' },
          ],
        },
      },
      // The pipeline registers into dev's registry; promotion is the model journey's subject, not this one's.
      sagemaker: { enabled: true },
      pipelines: { enabled: true, training: { backend: 'ray' }, deployTargets: [] },
    },
    staging: {
      env: { account: ACCOUNTS.staging, region: REGION },
      network: { availabilityZones: ZONES },
      eks: {
        nodeProvisioner: 'karpenter',
        gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.xlarge', 'g5.2xlarge'], minSize: 0, maxSize: 4, spot: true, diskSizeGiB: 200 }],
      },
      compute: { enabled: false },
      monitoring: { enabled: false },
    },
    prod: { env: { account: ACCOUNTS.prod, region: REGION }, network: { availabilityZones: ZONES }, eks: { enabled: false }, compute: { enabled: false }, monitoring: { enabled: false } },
  },
};

/** staging shares dev's account (single account), prod has its own (cross-account); both switch Lambda inference on because they are targets. */
export const LAMBDA_TARGETS: Record<string, unknown> = {
  prefix: 'acme-ml',
  stages: {
    dev: { ...stageEnv(ACCOUNTS.dev), pipelines: { deployTargets: [{ stage: 'staging', kind: 'lambda' }, { stage: 'prod', kind: 'lambda', approval: true }] } },
    staging: stageEnv(ACCOUNTS.dev),
    prod: stageEnv(ACCOUNTS.prod),
  },
};

/** The built-in defaults with prod's endpoint changed: 25 % capture and a 15-minute bake (the `cdk deploy` after a promotion). */
export const REDEPLOY_CONFIG: Record<string, unknown> = {
  stages: {
    prod: {
      sagemaker: {
        endpoints: [{
          name: 'default', mode: 'real-time', instanceType: 'ml.m5.large', instanceCount: 2, dataCaptureSamplingPercent: 25, modelPackageGroup: 'default',
          autoScaling: { minCapacity: 2, maxCapacity: 6, targetInvocationsPerInstance: 100 },
          guardrails: { trafficShifting: 'canary', canaryPercent: 10, bakeMinutes: 15, latencyAlarmMs: 1000, errorAlarmCount: 5 },
        }],
      },
    },
  },
};

/**
 * Configs one journey file reads, synthesized without the infrastructure pipeline (its copies of the stages are the
 * same constructs, checked on the everything-on config): the global setup warms them (support/global-setup.ts).
 */
export const VARIANTS = {
  ray: RAY_CONFIG,
  lambdaTargets: LAMBDA_TARGETS,
  redeploy: REDEPLOY_CONFIG,
} as const;
export type VariantName = keyof typeof VARIANTS;
