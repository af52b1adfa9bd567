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
