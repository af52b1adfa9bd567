import { z } from 'zod';
import { accountId, intRange, region, type StageDefaults, STAGE_NAMES, type StageName } from '../common';

/**
 * The platform's retraining request event. Drift detection (the monitoring component's `RetrainOnDrift`, given
 * these two values as `requestSource`/`requestDetailType`, or any job calling `aws events put-events`) publishes it
 * on the default bus; the Delivery stack's rule starts the model pipeline on it (`pipelines.retrainOnDrift`).
 */
export const DRIFT_EVENT = { source: 'cdk-mlops.monitoring', detailType: 'Model Drift Detected' } as const;

/**
 * Name of the retraining event bus in the model pipeline's account. The one source of the name: the Delivery stack
 * creates the bus with it, every stage's Monitoring stack forwards drift events to the ARN built from it.
 */
export function retrainingBusName(prefix: string): string {
  return `${prefix}-retraining`;
}

/** ARN of the retraining bus in the pipeline's account and region (`Aws.ACCOUNT_ID`-style tokens allowed). */
export function retrainingBusArn(o: { partition: string; region: string; account: string; prefix: string }): string {
  return `arn:${o.partition}:events:${o.region}:${o.account}:event-bus/${retrainingBusName(o.prefix)}`;
}

const CONNECTION_ARN = /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[0-9a-f-]{36}$/;
const connectionArn = z.string().regex(CONNECTION_ARN, {
  error: 'must be a CodeConnections connection ARN such as arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>',
});
const ownerName = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, {
  error: 'must be a GitHub repository as "owner/name", e.g. acme/ml-models',
});
const branch = z.string().regex(/^(?!\/)(?!.*\.\.)[A-Za-z0-9._\/-]{1,200}(?<![/.])$/, { error: 'must be a git branch name such as main' });

/** EventBridge Scheduler expressions: `rate(<n> minute|minutes|hour|hours|day|days)` or a 6-field `cron(...)`. */
export function isScheduleExpression(value: string): boolean {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(value);
  if (rate) return Number(rate[1]) >= 1 && (Number(rate[1]) === 1) === !rate[2].endsWith('s');
  const cron = /^cron\(([^()]+)\)$/.exec(value);
  if (!cron) return false;
  const fields = cron[1].trim().split(/\s+/);
  if (fields.length !== 6) return false;
  // Scheduler (like EventBridge) requires "?" in exactly one of day-of-month and day-of-week.
  return (fields[2] === '?') !== (fields[4] === '?') && fields.every((f) => /^[0-9A-Za-z*?,\/#L W-]+$/.test(f));
}
const scheduleExpression = z.string().refine(isScheduleExpression, {
  error: 'must be an EventBridge Scheduler expression: rate(<n> minutes|hours|days) (singular for 1) or cron(<min> <hour> <day-of-month> <month> <day-of-week> <year>) with "?" in one of the day fields',
});

const SAGEMAKER_INSTANCE = /^ml\.[a-z0-9]+\.(?:\d*x?large|medium|small|\d+xlarge)$/;

/** Where the model pipeline's source comes from. */
export const pipelineSourceConfig = z.strictObject({
  /** CodeConnections connection ARN. Left out: a versioned, KMS-encrypted S3 source bucket (upload `source.zip`). */
  connectionArn: connectionArn.optional(),
  /** GitHub repository `owner/name` read through the connection. Required with connectionArn. */
  repository: ownerName.optional(),
  /** Branch whose pushes start the pipeline. */
  branch: branch.default('main'),
}).superRefine((s, ctx) => {
  if (s.connectionArn && !s.repository) ctx.addIssue({ code: 'custom', path: ['repository'], message: 'is required with connectionArn: give the repository as "owner/name"' });
  if (s.repository && !s.connectionArn) ctx.addIssue({ code: 'custom', path: ['connectionArn'], message: 'is required with repository: give the CodeConnections connection ARN' });
});

/** A stage the model pipeline deploys approved models to (after staging → smoke test → prod). */
export const deployTargetConfig = z.strictObject({
  /** Stage deployed to, in pipeline order. */
  stage: z.enum(STAGE_NAMES, { error: `must be one of ${STAGE_NAMES.join(', ')}` }),
  /**
   * What serves the promoted model: `endpoint` (a SageMaker endpoint of the target's `sagemaker.endpoints`, through
   * its model package group) or `lambda` (the target stage's `lambdaInference` function: its deployment handler copies
   * the model to the stage's artifacts bucket, publishes a function version serving it and shifts the alias through
   * the function's CodeDeploy canary).
   */
  kind: z.enum(['endpoint', 'lambda'], { error: 'must be "endpoint" or "lambda"' }).default('endpoint'),
  /** kind `endpoint`: group of the target stage's `sagemaker.modelPackageGroups` promoted into (its approval handler deploys it). Default: the pipeline's `modelPackageGroupName`. */
  modelPackageGroupName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, { error: 'must be 1-63 letters, digits and hyphens' }).optional(),
  /** kind `endpoint`: name (in the target's `sagemaker.endpoints`) of the endpoint the smoke test invokes. Default: the endpoint deploying the group; given, it must be that one. */
  endpointName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, { error: 'must be 1-63 letters, digits and hyphens' }).optional(),
  /** Replaced by `kind: lambda` (the target stage's own Lambda inference function); refused with a pointer to it. */
  functionName: z.string().optional(),
  /** Manual approval (notifying the alerts topic) before deploying to this stage. Must be true for prod. */
  approval: z.boolean().optional(),
}).superRefine((t, ctx) => {
  if (t.functionName !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['functionName'], message: 'is not a key of a deploy target: set kind: "lambda" to promote to the target stage\'s Lambda inference function (lambdaInference), which the pipeline finds by itself' });
  }
  if (t.kind === 'lambda') {
    for (const key of ['modelPackageGroupName', 'endpointName'] as const) {
      if (t[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'applies to kind "endpoint" only: a Lambda target is promoted through the group of the target stage\'s Lambda inference function' });
    }
  }
  if (t.stage === 'prod' && t.approval === false) ctx.addIssue({ code: 'custom', path: ['approval'], message: 'prod deployments must be approved: set true or leave out' });
});
export type DeployTargetConfig = z.infer<typeof deployTargetConfig>;

export const pipelinesConfig = z.strictObject({
  /** Switch for this stage's Delivery stack: the model delivery pipeline and continuous training. */
  enabled: z.boolean(),
  /** Require a manual approval before deploying to this stage (infrastructure pipeline). Must stay true in prod. */
  requireApproval: z.boolean(),
  source: pipelineSourceConfig.default({ branch: 'main' }),
  /** Image scan gate: fail the pipeline on findings at or above this severity. */
  scan: z.strictObject({
    /** Lowest severity that fails the gate. */
    failOnSeverity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'], { error: 'must be CRITICAL, HIGH, MEDIUM or LOW' }).default('CRITICAL'),
    /** Findings at or above failOnSeverity tolerated (0: any fails). */
    maxFindings: intRange(0, 1000, ' findings').default(0),
    /** How long to wait for the scan result before failing. */
    timeoutMinutes: intRange(1, 60, ' minutes').default(20),
  }).default({ failOnSeverity: 'CRITICAL', maxFindings: 0, timeoutMinutes: 20 }),
  /** The SageMaker training job the pipeline runs (and awaits) after the image passes the scan. */
  training: z.strictObject({
    /**
     * Where the pipeline trains: `sagemaker` (a training job) or `ray` (a RayJob on this stage's EKS cluster, its own
     * Ray cluster from the pipeline's image; needs eks.enabled and eks.ray.enabled).
     */
    backend: z.enum(['sagemaker', 'ray'], { error: 'must be "sagemaker" or "ray"' }).default('sagemaker'),
    /** Ray backend: the driver command and how far each run's cluster may grow (worker sizes from eks.ray). */
    ray: z.strictObject({
      entrypoint: z.string().min(1, { error: 'must be a command such as "python train.py"' }).default('python train.py'),
      maxCpuWorkers: intRange(0, 1000, ' workers').default(2),
      maxGpuWorkers: intRange(0, 1000, ' workers').default(1),
    }).default({ entrypoint: 'python train.py', maxCpuWorkers: 2, maxGpuWorkers: 1 }),
    /** SageMaker training instance type; GPU types (ml.g5.*, ml.p4d.*) are allowed. */
    instanceType: z.string().regex(SAGEMAKER_INSTANCE, { error: 'must be a SageMaker instance type such as ml.m5.xlarge or ml.g5.2xlarge' }).default('ml.m5.xlarge'),
    instanceCount: intRange(1, 100, ' instances').default(1),
    /** Managed spot training (checkpoints to the artifacts bucket). */
    spot: z.boolean().default(false),
    maxRuntimeHours: intRange(1, 120, ' hours').default(24),
    /** Encrypted ML storage volume per instance. */
    volumeSizeGiB: intRange(1, 16384, ' GiB').default(50),
    /** S3 prefix in the processed bucket used as the `train` channel. */
    dataPrefix: z.string().regex(/^[A-Za-z0-9!_.*'()\/-]{1,512}$/, { error: 'must be an S3 key prefix such as training/' }).default('training/'),
  }).default({
    backend: 'sagemaker', ray: { entrypoint: 'python train.py', maxCpuWorkers: 2, maxGpuWorkers: 1 },
    instanceType: 'ml.m5.xlarge', instanceCount: 1, spot: false, maxRuntimeHours: 24, volumeSizeGiB: 50, dataPrefix: 'training/',
  }),
  /** Evaluation gate on the training job's final metric. */
  evaluation: z.strictObject({
    /** Name of the metric the training job reports. */
    metricName: z.string().regex(/^[A-Za-z0-9_:.\/-]{1,255}$/, { error: 'must be a metric name such as validation:accuracy' }).default('validation:accuracy'),
    /** Regex with one group extracting the metric from the training logs. */
    metricRegex: z.string().min(1).max(500).refine((r) => { try { new RegExp(r); return true; } catch { return false; } }, { error: 'must be a valid regular expression with one capture group' }).default('validation:accuracy=([0-9.]+)'),
    /** Threshold in the metric's own unit: a ratio (accuracy, F1, AUC) or not (RMSE, log loss, MAE with direction minimize). */
    threshold: z.number().refine(Number.isFinite, { error: 'must be a finite number' }).default(0.8),
    /** maximize: pass when metric >= threshold; minimize: pass when metric <= threshold. */
    direction: z.enum(['maximize', 'minimize'], { error: 'must be "maximize" or "minimize"' }).default('maximize'),
  }).default({ metricName: 'validation:accuracy', metricRegex: 'validation:accuracy=([0-9.]+)', threshold: 0.8, direction: 'maximize' }),
  /** Group of this stage's `sagemaker.modelPackageGroups` the pipeline registers new versions in (PendingManualApproval). */
  modelPackageGroupName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,29}$/, { error: 'must be 1-30 letters, digits and hyphens (a group of sagemaker.modelPackageGroups)' }).default('default'),
  /** Stages approved models are deployed to, in order (each followed by its smoke test). */
  deployTargets: z.array(deployTargetConfig).default([]),
  /** One sample request row set for smoke tests: `{"instances": sampleInstances}` must return as many predictions. */
  smokeTestInstances: z.array(z.array(z.number()).min(1)).min(1, { error: 'must hold at least one instance' }).default([[0, 0, 0, 0]]),
  /** Continuous training: EventBridge Scheduler expression that starts the pipeline. Left out: no schedule. */
  schedule: scheduleExpression.optional(),
  /** Start the pipeline on the drift event (`DRIFT_EVENT`). */
  retrainOnDrift: z.boolean().default(true),
  /** Drift starts at most one retraining run per model within this many hours; a run in progress absorbs drift events. */
  retrainCooldownHours: intRange(1, 2160, ' hours').default(24),
  /** Accounts (staging, prod) whose drift events the retraining bus accepts, besides this stage's own account. */
  retrainFromAccounts: z.array(accountId).default([]),
  /** GitHub Actions OIDC deploy role for this stage. Left out: no role. */
  github: z.strictObject({
    /** Repository allowed to assume the role, `owner/name`. */
    repository: ownerName,
    /** GitHub environment whose jobs may assume the role. Default: the stage name. */
    environment: z.string().regex(/^[A-Za-z0-9_.-]{1,255}$/, { error: 'must be a GitHub environment name' }).optional(),
    /** Also allow pushes to this branch (no environment), e.g. main for dev. */
    branch: branch.optional(),
    /** Import the account's existing GitHub OIDC provider instead of creating it (one per account). */
    existingProviderArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/, {
      error: 'must be arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com',
    }).optional(),
    /**
     * Create the account's GitHub OIDC provider in this stage's Delivery stack. An account holds one provider per
     * URL, so at most one stage per account may set it; the others (and every stage by default) import it by its
     * ARN, `arn:<partition>:iam::<account>:oidc-provider/token.actions.githubusercontent.com`.
     */
    createProvider: z.boolean().default(false),
    /** Pushes to this branch may assume the stage's read-only diff role (`cdk diff` before an approval). */
    diffBranch: branch.default('main'),
  }).optional(),
  /** The self-mutating CDK Pipelines pipeline that deploys dev → staging → prod (read from the dev stage's config). */
  infrastructure: z.strictObject({
    enabled: z.boolean(),
    /** Account and region of the pipeline itself (the tooling account). Default: environment-agnostic. */
    account: accountId.optional(),
    region: region.optional(),
  }).default({ enabled: false }),
}).superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.deployTargets.forEach((t, i) => {
    if (seen.has(t.stage)) ctx.addIssue({ code: 'custom', path: ['deployTargets', i, 'stage'], message: `must be unique: "${t.stage}" is already a target` });
    seen.add(t.stage);
  });
});
export type PipelinesConfig = z.infer<typeof pipelinesConfig>;

/**
 * Cross-stage rules of the GitHub route: two stages that create the OIDC provider in one account would collide
 * at deploy time (one provider per URL per account). Stages without an explicit account deploy wherever the
 * credentials point, so they count as one account.
 */
export function githubProviderProblems(configs: readonly { stage: string; env: { account?: string }; pipelines: PipelinesConfig }[]): string[] {
  const byAccount = new Map<string, string[]>();
  for (const c of configs) {
    if (!c.pipelines.github?.createProvider) continue;
    const account = c.env.account ?? '(the deploying account)';
    byAccount.set(account, [...(byAccount.get(account) ?? []), c.stage]);
  }
  return [...byAccount].filter(([, stages]) => stages.length > 1).map(([account, stages]) =>
    `stages.${stages[1]}.pipelines.github.createProvider: true — stages ${stages.join(' and ')} both create the GitHub OIDC provider in account ${account}; an account holds one per URL: set it in one stage and leave it false (import) in the others`);
}

/**
 * Rules that need the stage name; `loadStageConfig` and the Delivery wiring report them as config errors.
 * prod must keep its approval: an explicit `requireApproval: false` there is refused.
 */
export function pipelinesStageProblems(stage: StageName, c: PipelinesConfig): string[] {
  const problems: string[] = [];
  if (stage === 'prod' && !c.requireApproval) problems.push('pipelines.requireApproval: false — prod deployments must be approved (true)');
  return problems;
}

const model = (stage: StageName, enabled: boolean, infrastructure: boolean): PipelinesConfig =>
  pipelinesConfig.parse({
    enabled,
    requireApproval: stage !== 'dev',
    // The dev stage hosts the model pipeline, which promotes approved models to staging and then prod.
    deployTargets: enabled ? [{ stage: 'staging' }, { stage: 'prod', approval: true }] : [],
    infrastructure: { enabled: infrastructure },
  });

/** dev hosts the model pipeline and the infrastructure pipeline (both synthesize offline with S3 sources). */
export const pipelinesDefaults: StageDefaults<PipelinesConfig> = {
  dev: model('dev', true, true),
  staging: model('staging', false, false),
  prod: model('prod', false, false),
};
