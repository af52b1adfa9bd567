import { z } from 'zod';
import { intRange, logRetentionDays, modelPackageArn, type StageDefaults } from '../common';

/** CodeDeploy's predefined Lambda traffic-shifting configurations (`CodeDeployDefault.Lambda<name>`). */
export const LAMBDA_DEPLOYMENT_CONFIGS = [
  'AllAtOnce',
  'Canary10Percent5Minutes', 'Canary10Percent10Minutes', 'Canary10Percent15Minutes', 'Canary10Percent30Minutes',
  'Linear10PercentEvery1Minute', 'Linear10PercentEvery2Minutes', 'Linear10PercentEvery3Minutes', 'Linear10PercentEvery10Minutes',
] as const;
export type LambdaDeploymentConfigName = (typeof LAMBDA_DEPLOYMENT_CONFIGS)[number];

/** API Gateway's integration time limit: an HTTP API front door cannot wait longer for the function. */
export const HTTP_API_MAX_TIMEOUT_SECONDS = 30;

export const lambdaInferenceConfig = z.strictObject({
  /** Switch for the Lambda container inference function (the stage's Inference stack) and its front door. */
  enabled: z.boolean(),
  /** Function memory; CPU scales with it (1,769 MiB = one vCPU). */
  memoryMiB: intRange(128, 10240, ' MiB'),
  /** Function timeout. At most 30 s with the HTTP API front door. */
  timeoutSeconds: intRange(1, 900, ' seconds'),
  /** CPU architecture of the image: x86_64 (builds on the x86 GitHub runners and CodeBuild hosts that publish it) or arm64 (Graviton, cheaper; needs an arm64 or QEMU build host, aws/aws-cdk#28863). */
  architecture: z.enum(['arm64', 'x86_64'], { error: 'must be "arm64" or "x86_64"' }),
  /** Size of /tmp. */
  ephemeralStorageMiB: intRange(512, 10240, ' MiB'),
  /** Concurrency reserved for (and capping) the function; 0 leaves it in the account's unreserved pool. */
  reservedConcurrency: intRange(0, 10000, ' executions'),
  /** Pre-initialized execution environments on the alias (no cold starts, billed while idle); 0 scales to zero. */
  provisionedConcurrency: intRange(0, 10000, ' executions'),
  /** Largest batch (instances per request) the model server accepts. */
  maxBatchSize: intRange(1, 100000, ' instances'),
  /** Share of successful predictions sampled to the data lake for drift detection (0: no capture). */
  captureSamplingPercent: intRange(0, 100, ' percent').default(10),
  /** Serve this object of the stage's artifacts bucket instead of the reference model baked into the image. */
  modelS3Key: z.string().min(1).max(1024).regex(/^[^/]/, { error: 'must be an S3 object key without a leading "/"' }).optional(),
  /**
   * The model package whose model `modelS3Key` holds: the function's MODEL_PACKAGE_ARN, so captures are partitioned by
   * it and the drift job compares them with its baseline. Change it with modelS3Key: the deploy publishes a version
   * with both and the alias shifts to it (a rollback returns both).
   */
  modelPackageArn: modelPackageArn.optional(),
  /** Retention of the function's and the API's log groups. */
  logRetentionDays,
  /** How new versions reach the alias. */
  canary: z.strictObject({
    /** Shift traffic through CodeDeploy with automatic rollback on the function's alarms. */
    enabled: z.boolean(),
    /** CodeDeploy traffic-shifting configuration. */
    deploymentConfig: z.enum(LAMBDA_DEPLOYMENT_CONFIGS, { error: `must be one of ${LAMBDA_DEPLOYMENT_CONFIGS.join(', ')}` }),
    /** p99 duration (ms) at which the latency alarm fires and a rollout rolls back. */
    latencyAlarmMs: intRange(1, 900_000, ' ms'),
  }),
  /** How clients reach the model. Never unauthenticated. */
  frontDoor: z.strictObject({
    /** `httpApi` (API Gateway HTTP API), `functionUrl` (Lambda function URL, AWS_IAM) or `none` (lambda:InvokeFunction only). */
    kind: z.enum(['httpApi', 'functionUrl', 'none'], { error: 'must be "httpApi", "functionUrl" or "none"' }),
    /** `iam` (SigV4-signed requests) or `jwt` (HTTP API only: tokens from `jwtIssuer` for `jwtAudience`). */
    auth: z.enum(['iam', 'jwt'], { error: 'must be "iam" or "jwt"' }),
    /** JWT issuer URL, e.g. `https://cognito-idp.<region>.amazonaws.com/<user pool id>`. Required with auth `jwt`. */
    jwtIssuer: z.string().regex(/^https:\/\/\S+$/, { error: 'must be an https:// issuer URL' }).optional(),
    /** Accepted JWT audiences (client ids). Required with auth `jwt`. */
    jwtAudience: z.array(z.string().min(1)).optional(),
    /** HTTP API steady-state requests per second. */
    throttleRateLimit: intRange(1, 100000, ' requests per second'),
    /** HTTP API burst capacity. */
    throttleBurstLimit: intRange(1, 100000, ' requests'),
  }),
}).superRefine((c, ctx) => {
  if (c.reservedConcurrency > 0 && c.provisionedConcurrency > c.reservedConcurrency) {
    ctx.addIssue({ code: 'custom', path: ['provisionedConcurrency'], message: `must not exceed reservedConcurrency (${c.reservedConcurrency})` });
  }
  if (c.frontDoor.kind === 'httpApi' && c.timeoutSeconds > HTTP_API_MAX_TIMEOUT_SECONDS) {
    ctx.addIssue({
      code: 'custom', path: ['timeoutSeconds'],
      message: `must be at most ${HTTP_API_MAX_TIMEOUT_SECONDS} seconds with frontDoor.kind "httpApi" (API Gateway's integration limit); use "functionUrl" or "none" for longer requests`,
    });
  }
  if (c.canary.latencyAlarmMs >= c.timeoutSeconds * 1000) {
    ctx.addIssue({ code: 'custom', path: ['canary', 'latencyAlarmMs'], message: `must be below the timeout (${c.timeoutSeconds * 1000} ms)` });
  }
  if (c.modelPackageArn && !c.modelS3Key) {
    ctx.addIssue({ code: 'custom', path: ['modelPackageArn'], message: 'names the package served, but the function serves the reference model baked into its image: set modelS3Key to that package\'s .onnx model too' });
  }
  if (c.frontDoor.auth === 'jwt') {
    if (c.frontDoor.kind !== 'httpApi') ctx.addIssue({ code: 'custom', path: ['frontDoor', 'auth'], message: 'jwt needs frontDoor.kind "httpApi" (function URLs support only IAM)' });
    if (!c.frontDoor.jwtIssuer) ctx.addIssue({ code: 'custom', path: ['frontDoor', 'jwtIssuer'], message: 'is required with auth "jwt"' });
    if (!c.frontDoor.jwtAudience?.length) ctx.addIssue({ code: 'custom', path: ['frontDoor', 'jwtAudience'], message: 'must list at least one audience with auth "jwt"' });
  } else if (c.frontDoor.jwtIssuer || c.frontDoor.jwtAudience) {
    ctx.addIssue({ code: 'custom', path: ['frontDoor', 'auth'], message: 'must be "jwt" when jwtIssuer or jwtAudience is set' });
  }
});
export type LambdaInferenceConfig = z.infer<typeof lambdaInferenceConfig>;

const base: LambdaInferenceConfig = {
  enabled: false,
  memoryMiB: 2048,
  timeoutSeconds: 30,
  architecture: 'x86_64',
  ephemeralStorageMiB: 512,
  reservedConcurrency: 0,
  provisionedConcurrency: 0,
  maxBatchSize: 256,
  logRetentionDays: 90,
  captureSamplingPercent: 10,
  canary: { enabled: true, deploymentConfig: 'Canary10Percent5Minutes', latencyAlarmMs: 2000 },
  frontDoor: { kind: 'httpApi', auth: 'iam', throttleRateLimit: 100, throttleBurstLimit: 200 },
};

/**
 * dev serves the reference model through Lambda by default: cheap, scales to zero, deploys all at once
 * (alarms still roll a bad version back). staging and prod are off until switched on; when on, they shift
 * traffic by canary, and prod keeps warm capacity within a reserved ceiling.
 */
export const lambdaInferenceDefaults: StageDefaults<LambdaInferenceConfig> = {
  dev: { ...base, enabled: true, logRetentionDays: 30, canary: { ...base.canary, deploymentConfig: 'AllAtOnce' } },
  staging: base,
  prod: {
    ...base,
    reservedConcurrency: 100,
    provisionedConcurrency: 2,
    logRetentionDays: 365,
    canary: { ...base.canary, deploymentConfig: 'Canary10Percent10Minutes' },
    frontDoor: { ...base.frontDoor, throttleRateLimit: 500, throttleBurstLimit: 1000 },
  },
};
