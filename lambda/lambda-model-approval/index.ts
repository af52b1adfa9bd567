/**
 * Deploys approved model package versions to a Lambda inference function (`constructs/serving/lambda-inference.ts`).
 *
 * EventBridge ("SageMaker Model Package State Change", Approved) → SQS → this handler, which for each version:
 * 1. copies the package's model (`ModelDataUrl`: an `.onnx` object or a training job's `model.tar.gz`, whose one ONNX
 *    file it extracts) to `<MODEL_PREFIX>v<version>-<hash>/model.onnx` in the stage's bucket, which the function's role
 *    reads (written once: a key serves one package version);
 * 2. publishes a function version whose environment names that object and the package (`MODEL_S3_BUCKET`,
 *    `MODEL_S3_KEY`, `MODEL_PACKAGE_ARN`): a version serves exactly one package, and `/metadata` reports it;
 * 3. shifts the alias to it with a CodeDeploy deployment on the function's deployment group (AppSpec CurrentVersion →
 *    TargetVersion), whose canary rolls back on the function's alarms.
 * An alias that is shifting (a deployment in progress) defers the event: SQS delivers it again after the visibility
 * timeout, and after the queue's maximum receives it lands in the dead-letter queue (alarmed).
 *
 * The same handler is the function's CloudFormation custom resource `Custom::ServedModel` (one owner of the model):
 * a stack deploy that changes the function asks it which model the function's environment names — what the alias
 * serves now when that is a package version (a deploy keeps it, and keeps a rollback), the newest approved version of
 * the group for a function that has no alias yet (a new or recreated stack), else the template's model. CloudFormation's
 * own version of the function then carries the served model, and its alias shift changes nothing but the template.
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CodeDeployClient, CreateDeploymentCommand } from '@aws-sdk/client-codedeploy';
import {
  type FunctionConfiguration, GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient, ListVersionsByFunctionCommand, PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { DescribeModelPackageCommand, ListModelPackagesCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { answerServedModel, type CustomResourceAnswer, isCustomResource } from '../model-approval/custom-resource';
import { deployQueuedEvents, errorName } from '../model-approval/deployment-queue';
import { onnxModelOf } from './model-archive';

export const logger = new Logger({ serviceName: 'lambda-model-approval' });
export const metrics = new Metrics({ namespace: 'cdk-mlops', serviceName: 'lambda-model-approval' });
export const sagemaker = new SageMakerClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const lambda = new LambdaClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const codedeploy = new CodeDeployClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const s3 = new S3Client({ maxAttempts: 3 });
/** How the handler waits for a configuration update to finish (replaced in tests). */
export const timing = { sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), pollMs: 2000, maxPolls: 20 };

/** The environment variables of a function version that say what it serves. */
export const MODEL_VARIABLES = ['MODEL_S3_BUCKET', 'MODEL_S3_KEY', 'MODEL_PACKAGE_ARN'] as const;

export type Outcome = 'deployed' | 'duplicate' | 'superseded' | 'not-approved' | 'other-group' | 'invalid-event';

/** The function cannot take a deployment now (alias shifting, configuration update running); try again later. */
export class FunctionBusyError extends Error {
  override readonly name = 'FunctionBusyError';
}

export interface Config {
  functionName: string;
  aliasName: string;
  groupName: string;
  application: string;
  deploymentGroup: string;
  modelBucket: string;
  modelPrefix: string;
}

export function config(env: Record<string, string | undefined> = process.env): Config {
  const names = ['FUNCTION_NAME', 'ALIAS_NAME', 'MODEL_PACKAGE_GROUP_NAME', 'CODEDEPLOY_APPLICATION', 'CODEDEPLOY_DEPLOYMENT_GROUP', 'MODEL_BUCKET', 'MODEL_PREFIX'];
  const missing = names.filter((n) => !env[n]);
  if (missing.length > 0) throw new Error(`${missing.join(', ')} must be set`);
  return {
    functionName: env.FUNCTION_NAME!, aliasName: env.ALIAS_NAME!, groupName: env.MODEL_PACKAGE_GROUP_NAME!, application: env.CODEDEPLOY_APPLICATION!,
    deploymentGroup: env.CODEDEPLOY_DEPLOYMENT_GROUP!, modelBucket: env.MODEL_BUCKET!, modelPrefix: env.MODEL_PREFIX!,
  };
}

/** The model a function version serves: an S3 object and the package it came from (empty: the image's own model). */
export interface ServedModel {
  bucket: string;
  key: string;
  modelPackageArn: string;
}

/** Key of a package version's model in the function's bucket: `<prefix>v<version>-<hash of the package ARN>/model.onnx`. */
export function modelKey(prefix: string, version: number, packageArn: string): string {
  return `${prefix}v${version}-${createHash('sha256').update(packageArn).digest('hex').slice(0, 8)}/model.onnx`;
}

/** The version number of a package ARN (`.../<group>/<version>`), 0 when it is none. */
const versionOf = (arn: string): number => Number(/\/(\d+)$/.exec(arn)?.[1] ?? 0);
const groupOf = (arn: string): string => /model-package\/([^/]+)\/\d+$/.exec(arn)?.[1] ?? '';


/** Whether retrying later can succeed: a busy function, conflicting updates, throttling that outlasted the SDK's retries, 5xx. */
export function isRetryable(e: unknown): boolean {
  const err = e as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    err instanceof FunctionBusyError ||
    ['ResourceConflictException', 'PreconditionFailedException', 'DeploymentLimitExceededException', 'ThrottlingException', 'TooManyRequestsException', 'ServiceException'].includes(err?.name ?? '') ||
    err?.$retryable !== undefined ||
    (err?.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

const servedBy = (c: FunctionConfiguration | undefined): ServedModel => {
  const v = c?.Environment?.Variables ?? {};
  return { bucket: v.MODEL_S3_BUCKET ?? '', key: v.MODEL_S3_KEY ?? '', modelPackageArn: v.MODEL_PACKAGE_ARN ?? '' };
};

/** The alias's version and whether CodeDeploy (or anyone) is shifting it; undefined when the alias does not exist. */
async function aliasState(cfg: Config): Promise<{ version: string; shifting: boolean } | undefined> {
  try {
    const alias = await lambda.send(new GetAliasCommand({ FunctionName: cfg.functionName, Name: cfg.aliasName }));
    const weights = Object.values(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).filter((w) => w > 0);
    return { version: alias.FunctionVersion ?? '$LATEST', shifting: weights.length > 0 };
  } catch (e) {
    if (errorName(e) === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

const versionConfig = (cfg: Config, version: string) =>
  lambda.send(new GetFunctionConfigurationCommand({ FunctionName: cfg.functionName, Qualifier: version }));

/** Where the package's model is: its first container's `ModelDataUrl` (or S3 data source). */
function modelDataOf(pkg: { InferenceSpecification?: { Containers?: { ModelDataUrl?: string; ModelDataSource?: { S3DataSource?: { S3Uri?: string } } }[] } }, arn: string): { Bucket: string; Key: string } {
  const url = pkg.InferenceSpecification?.Containers?.map((c) => c.ModelDataUrl ?? c.ModelDataSource?.S3DataSource?.S3Uri).find((u) => !!u);
  const m = url ? /^s3:\/\/([^/]+)\/(.+)$/.exec(url) : null;
  if (!m) throw new Error(`Model package ${arn} names no S3 model (InferenceSpecification.Containers[].ModelDataUrl); the Lambda function serves an ONNX model from S3`);
  return { Bucket: m[1], Key: m[2] };
}

/** Copies the package's ONNX model to the function's bucket (once), and returns where it is. */
export async function ensureModelCopy(cfg: Config, packageArn: string, version: number, source: { Bucket: string; Key: string }): Promise<ServedModel> {
  const key = modelKey(cfg.modelPrefix, version, packageArn);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: cfg.modelBucket, Key: key }));
    return { bucket: cfg.modelBucket, key, modelPackageArn: packageArn };
  } catch (e) {
    if (errorName(e) !== 'NotFound' && (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw e;
  }
  const object = await s3.send(new GetObjectCommand(source));
  if (!object.Body) throw new Error(`s3://${source.Bucket}/${source.Key} has no body`);
  const onnx = onnxModelOf(`s3://${source.Bucket}/${source.Key}`, await object.Body.transformToByteArray());
  // The bucket's default encryption (its KMS key) applies; the metadata says where the model came from.
  await s3.send(new PutObjectCommand({
    Bucket: cfg.modelBucket, Key: key, Body: onnx, ContentType: 'application/octet-stream',
    Metadata: { 'model-package-arn': packageArn, source: `s3://${source.Bucket}/${source.Key}` },
  }));
  logger.info('Model copied for the function', { modelPackageArn: packageArn, from: `s3://${source.Bucket}/${source.Key}`, to: `s3://${cfg.modelBucket}/${key}`, bytes: onnx.byteLength });
  return { bucket: cfg.modelBucket, key, modelPackageArn: packageArn };
}

/** The published version serving exactly `model` (newest first), if there is one. */
async function publishedVersionServing(cfg: Config, model: ServedModel): Promise<string | undefined> {
  const found: string[] = [];
  let Marker: string | undefined;
  do {
    const page = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: cfg.functionName, Marker, MaxItems: 50 }));
    for (const v of page.Versions ?? []) {
      const s = servedBy(v);
      if (v.Version && /^\d+$/.test(v.Version) && s.modelPackageArn === model.modelPackageArn && s.key === model.key && s.bucket === model.bucket) found.push(v.Version);
    }
    Marker = page.NextMarker;
  } while (Marker);
  return found.sort((a, b) => Number(b) - Number(a))[0];
}

/**
 * Publishes a version of the function serving `model`: $LATEST's environment gets the model's variables (everything
 * else stays), then the version is published from exactly that revision. A version already serving it is reused.
 */
export async function publishVersionServing(cfg: Config, model: ServedModel, description: string): Promise<string> {
  const existing = await publishedVersionServing(cfg, model);
  if (existing) return existing;
  const latest = await versionConfig(cfg, '$LATEST');
  if (latest.LastUpdateStatus === 'InProgress') throw new FunctionBusyError(`${cfg.functionName} is being updated (a stack deploy?); deployment deferred`);
  const variables = { ...(latest.Environment?.Variables ?? {}), MODEL_S3_BUCKET: model.bucket, MODEL_S3_KEY: model.key, MODEL_PACKAGE_ARN: model.modelPackageArn };
  let revision = latest.RevisionId;
  const current = servedBy(latest);
  if (current.bucket !== model.bucket || current.key !== model.key || current.modelPackageArn !== model.modelPackageArn) {
    const updated = await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: cfg.functionName, Environment: { Variables: variables }, RevisionId: latest.RevisionId }));
    revision = updated.RevisionId;
    let status = updated.LastUpdateStatus;
    for (let i = 0; status === 'InProgress' && i < timing.maxPolls; i++) {
      await timing.sleep(timing.pollMs);
      const now = await versionConfig(cfg, '$LATEST');
      status = now.LastUpdateStatus;
      revision = now.RevisionId;
      if (status === 'Failed') throw new Error(`${cfg.functionName}: the configuration update failed: ${now.LastUpdateStatusReason ?? 'no reason given'}`);
    }
    if (status === 'InProgress') throw new FunctionBusyError(`${cfg.functionName}: the configuration update is still running; publishing deferred`);
  }
  // RevisionId: publish exactly the revision that names this model (a concurrent change fails and is retried).
  const published = await lambda.send(new PublishVersionCommand({ FunctionName: cfg.functionName, RevisionId: revision, Description: description.slice(0, 256) }));
  if (!published.Version) throw new Error(`${cfg.functionName}: PublishVersion returned no version`);
  const check = servedBy(published);
  if (check.modelPackageArn !== model.modelPackageArn || check.key !== model.key) {
    throw new Error(`${cfg.functionName}: version ${published.Version} does not serve ${model.modelPackageArn} (its MODEL_PACKAGE_ARN is "${check.modelPackageArn}")`);
  }
  return published.Version;
}

/** The CodeDeploy AppSpec that shifts `alias` from `current` to `target`. */
export function appSpec(cfg: Config, current: string, target: string): string {
  return JSON.stringify({
    version: 0.0,
    Resources: [{ [cfg.functionName.replace(/[^A-Za-z0-9]/g, '')]: { Type: 'AWS::Lambda::Function', Properties: { Name: cfg.functionName, Alias: cfg.aliasName, CurrentVersion: current, TargetVersion: target } } }],
  });
}

/** Starts the alias shift through the function's deployment group (its canary and alarm rollback); returns its id. */
export async function shiftAlias(cfg: Config, current: string, target: string, description: string): Promise<string> {
  const content = appSpec(cfg, current, target);
  const out = await codedeploy.send(new CreateDeploymentCommand({
    applicationName: cfg.application,
    deploymentGroupName: cfg.deploymentGroup,
    description: description.slice(0, 1000),
    revision: { revisionType: 'AppSpecContent', appSpecContent: { content, sha256: createHash('sha256').update(content).digest('hex') } },
  }));
  if (!out.deploymentId) throw new Error(`CodeDeploy returned no deployment id for ${cfg.application}/${cfg.deploymentGroup}`);
  return out.deploymentId;
}

/** The part of the EventBridge event the handler reads. */
export interface ModelPackageStateChange {
  source?: string;
  'detail-type'?: string;
  detail?: { ModelPackageGroupName?: string; ModelPackageVersion?: number; ModelPackageArn?: string; ModelApprovalStatus?: string };
}

/** Deploys one model package state change event. Throws when the deployment should be tried again. */
export async function deploy(event: ModelPackageStateChange, cfg: Config = config()): Promise<Outcome> {
  const d = event.detail;
  if (!d || typeof d.ModelPackageArn !== 'string' || typeof d.ModelPackageVersion !== 'number' || typeof d.ModelPackageGroupName !== 'string') {
    logger.error('Not a model package state change event; ignored', { detailType: event['detail-type'], detail: d });
    return 'invalid-event';
  }
  const log = { modelPackageArn: d.ModelPackageArn, version: d.ModelPackageVersion, functionName: cfg.functionName };
  if (d.ModelPackageGroupName !== cfg.groupName) {
    logger.warn('Event of another model package group; ignored', { ...log, group: d.ModelPackageGroupName, expected: cfg.groupName });
    return 'other-group';
  }
  if (d.ModelApprovalStatus !== 'Approved') return 'not-approved';
  // The event may be stale (approved, then rejected before delivery): the registry has the last word.
  const pkg = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: d.ModelPackageArn }));
  if (pkg.ModelApprovalStatus !== 'Approved') {
    logger.info('Model package is no longer approved; nothing to deploy', { ...log, status: pkg.ModelApprovalStatus });
    return 'not-approved';
  }
  const alias = await aliasState(cfg);
  if (!alias) throw new FunctionBusyError(`${cfg.functionName} has no alias ${cfg.aliasName} yet (its stack is being created); deployment deferred`);
  if (alias.shifting) throw new FunctionBusyError(`${cfg.functionName}:${cfg.aliasName} is shifting traffic (a deployment is running); deployment of version ${d.ModelPackageVersion} deferred`);
  const served = servedBy(await versionConfig(cfg, alias.version));
  if (served.modelPackageArn === d.ModelPackageArn) {
    logger.info('The alias already serves this version; duplicate event ignored', log);
    return 'duplicate';
  }
  // Deferred deliveries can arrive out of order (a standard queue): never replace a newer version with an older one.
  if (groupOf(served.modelPackageArn) === groupOf(d.ModelPackageArn) && versionOf(served.modelPackageArn) > d.ModelPackageVersion) {
    logger.info('The alias serves a newer version; older approval ignored', { ...log, served: served.modelPackageArn });
    return 'superseded';
  }
  const model = await ensureModelCopy(cfg, d.ModelPackageArn, d.ModelPackageVersion, modelDataOf(pkg, d.ModelPackageArn));
  const target = await publishVersionServing(cfg, model, `Model package ${d.ModelPackageArn}`);
  if (target === alias.version) return 'duplicate';
  const deploymentId = await shiftAlias(cfg, alias.version, target, `Approved model package ${d.ModelPackageArn}: ${cfg.aliasName} ${alias.version} → ${target}`);
  logger.info('Alias shift started with the approved model', { ...log, fromVersion: alias.version, toVersion: target, deploymentId, modelKey: model.key });
  return 'deployed';
}

// ---- Custom::ServedModel: CloudFormation asks which model the function's environment names ---------------------

/** What the Lambda inference construct passes to `Custom::ServedModel`. */
export interface ServedModelProperties {
  /** The template's model (empty: the image's own). */
  BakedModel?: { Bucket?: string; Key?: string; ModelPackageArn?: string };
  /** Changes whenever the function's template does (the logical id of its current version), so every such deploy asks. */
  FunctionRevision?: string;
}

/**
 * The model the function's template must name: what the alias serves now when it is a package version, the newest
 * approved version for a function without an alias, else the template's own model.
 */
export async function servedModel(props: ServedModelProperties, cfg: Config = config()): Promise<ServedModel & { source: 'alias' | 'newest-approved' | 'template' }> {
  const baked = { bucket: props.BakedModel?.Bucket ?? '', key: props.BakedModel?.Key ?? '', modelPackageArn: props.BakedModel?.ModelPackageArn ?? '' };
  const alias = await aliasState(cfg);
  if (alias) {
    if (alias.shifting) throw new FunctionBusyError(`${cfg.functionName}:${cfg.aliasName} is shifting traffic (a model deployment or rollback is running); deploy the stack again when it has finished`);
    if (/^\d+$/.test(alias.version)) {
      const served = servedBy(await versionConfig(cfg, alias.version));
      if (served.modelPackageArn && served.key) return { ...served, source: 'alias' };
    }
    return { ...baked, source: 'template' };
  }
  const list = await sagemaker.send(new ListModelPackagesCommand({
    ModelPackageGroupName: cfg.groupName, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 1,
  }));
  const arn = list.ModelPackageSummaryList?.[0]?.ModelPackageArn;
  if (!arn) return { ...baked, source: 'template' };
  const pkg = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  const copy = await ensureModelCopy(cfg, arn, pkg.ModelPackageVersion ?? versionOf(arn), modelDataOf(pkg, arn));
  return { ...copy, source: 'newest-approved' };
}

/** Answers the function's `Custom::ServedModel` with the model its template must name. */
export function servedModelResource(event: CloudFormationCustomResourceEvent): Promise<CustomResourceAnswer> {
  return answerServedModel(event, `${process.env.FUNCTION_NAME ?? 'function'}-served-model`, logger, async () => {
    const served = await servedModel(event.ResourceProperties as ServedModelProperties);
    const data = { ModelS3Bucket: served.bucket, ModelS3Key: served.key, ModelPackageArn: served.modelPackageArn, Source: served.source };
    logger.info('The function\'s template names the served model', { requestType: event.RequestType, ...data });
    return data;
  });
}

/** SQS batch handler (batch size 1 in the construct): failed messages are retried by SQS; also the custom resource. */
export async function handler(event: SQSEvent | CloudFormationCustomResourceEvent): Promise<SQSBatchResponse | { Status: string }> {
  if (isCustomResource(event)) return servedModelResource(event);
  const cfg = config();
  try {
    return await deployQueuedEvents<ModelPackageStateChange>(event.Records, { logger, metrics, isRetryable, deploy: (change) => deploy(change, cfg) });
  } finally {
    metrics.publishStoredMetrics();
  }
}
