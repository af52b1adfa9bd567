/**
 * Deploys approved model package versions to a SageMaker endpoint.
 *
 * EventBridge ("SageMaker Model Package State Change", ModelApprovalStatus Approved) → SQS → this handler.
 * For each event it creates a Model and an EndpointConfig named after the package version (so a duplicate event
 * finds them and does nothing twice), then updates the endpoint with the blue/green deployment config (or creates
 * the endpoint when it does not exist). An endpoint that is busy (Updating, Creating, RollingBack...) is deferred:
 * the message is reported as a batch item failure and SQS delivers it again after the visibility timeout; after the
 * queue's maximum receives it lands in the dead-letter queue, whose alarm notifies the alerts topic.
 *
 * The same handler is the endpoint's CloudFormation custom resource `Custom::ServedModel` (one owner per endpoint):
 * whenever a stack deploy creates or changes the endpoint config, it answers which model each variant runs — the
 * approved version the endpoint serves now, or for a new endpoint the newest approved version of the group, else the
 * model in the template — and the config's name, `<prefix>-v<version>-<hash>`. A `cdk deploy` therefore never
 * puts the template's model back over an approved one.
 *
 * In both paths an instance type change of an autoscaled variant first deregisters its scalable target (SageMaker
 * rejects the update otherwise) and records it; the recorded event, delivered to the same queue, registers the target
 * and its policies again once the endpoint is InService (`./scaling.ts`).
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand, DescribeEndpointConfigCommand,
  DescribeModelCommand, DescribeModelPackageCommand, ListModelPackagesCommand, type ProductionVariant, SageMakerClient, UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import type { CloudFormationCustomResourceEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  changedInstanceTypes, recordSuspended, restoreScaling, SCALING_EVENT_SOURCE, type SavedTarget, type ScalingSuspended, suspendScaling,
  variantResourceId,
} from './scaling';
import { answerServedModel, type CustomResourceAnswer, isCustomResource } from './custom-resource';
import { deployQueuedEvents, errorMessage, errorName } from './deployment-queue';

export { autoscaling, eventBridge, SCALING_EVENT_SOURCE, SCALING_SUSPENDED, type ScalingSuspended } from './scaling';

export const logger = new Logger({ serviceName: 'model-approval' });
export const metrics = new Metrics({ namespace: 'cdk-mlops', serviceName: 'model-approval' });
// Adaptive retries back off on throttling before an error reaches the handler.
export const sagemaker = new SageMakerClient({ maxAttempts: 6, retryMode: 'adaptive' });

/** What the CDK construct passes in `DEPLOYMENT_SPEC` (SageMaker API shapes). */
export interface DeploymentSpec {
  EndpointName: string;
  ExecutionRoleArn: string;
  EnableNetworkIsolation: boolean;
  VpcConfig?: { SecurityGroupIds: string[]; Subnets: string[] };
  Environment?: Record<string, string>;
  ProductionVariants: Omit<ProductionVariant, 'ModelName'>[];
  KmsKeyId?: string;
  DataCaptureConfig?: Record<string, unknown>;
  AsyncInferenceConfig?: Record<string, unknown>;
  DeploymentConfig?: Record<string, unknown>;
  /** Variants whose instance count Application Auto Scaling manages: an update keeps their current count. */
  AutoScaledVariants?: string[];
}

/** The part of the EventBridge event the handler reads. */
export interface ModelPackageStateChange {
  source?: string;
  'detail-type'?: string;
  detail?: {
    ModelPackageGroupName?: string;
    ModelPackageVersion?: number;
    ModelPackageArn?: string;
    ModelApprovalStatus?: string;
  };
}

export type Outcome = 'deployed' | 'created' | 'duplicate' | 'superseded' | 'not-approved' | 'other-group' | 'invalid-event' | 'scaling-restored';

/** The endpoint cannot take a deployment now; try again later. */
export class EndpointBusyError extends Error {
  override readonly name = 'EndpointBusyError';
}

/** The endpoint is in a state a deployment cannot fix (Failed, UpdateRollbackFailed). */
export class EndpointFailedError extends Error {
  override readonly name = 'EndpointFailedError';
}

const BUSY = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

interface Config {
  spec: DeploymentSpec;
  groupName: string;
  namePrefix: string;
}

function config(): Config {
  const raw = process.env.DEPLOYMENT_SPEC;
  const groupName = process.env.MODEL_PACKAGE_GROUP_NAME;
  if (!raw || !groupName) throw new Error('DEPLOYMENT_SPEC and MODEL_PACKAGE_GROUP_NAME must be set');
  const spec = JSON.parse(raw) as DeploymentSpec;
  return { spec, groupName, namePrefix: process.env.RESOURCE_NAME_PREFIX ?? spec.EndpointName.slice(0, 40) };
}

/** The package version an endpoint config was made for (`<prefix>-v<version>-<hash>`), or 0 for any other config. */
export function versionOfConfig(prefix: string, configName: string | undefined): number {
  const p = prefix.slice(0, 40).replace(/-+$/, '');
  const m = configName?.startsWith(`${p}-v`) ? /^-v(\d+)-[0-9a-f]{8}$/.exec(configName.slice(p.length)) : null;
  return m ? Number(m[1]) : 0;
}

/** Deterministic Model/EndpointConfig name of a package version: `<prefix>-v<version>-<hash of the package ARN>`. */
export function resourceName(prefix: string, version: number, packageArn: string): string {
  const hash = createHash('sha256').update(packageArn).digest('hex').slice(0, 8);
  return `${prefix.slice(0, 40).replace(/-+$/, '')}-v${version}-${hash}`;
}

const isNotFound = (e: unknown): boolean => errorName(e) === 'ValidationException' && /could not find|does not exist|not found/i.test(errorMessage(e));
const isAlreadyExists = (e: unknown): boolean => errorName(e) === 'ValidationException' && /already exist/i.test(errorMessage(e));

/** Whether retrying later can succeed: busy endpoints, throttling that outlasted the SDK's retries, 5xx. */
export function isRetryable(e: unknown): boolean {
  const err = e as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    err instanceof EndpointBusyError ||
    ['ThrottlingException', 'TooManyRequestsException', 'ServiceUnavailable', 'InternalFailure', 'ResourceLimitExceeded'].includes(err?.name ?? '') ||
    err?.$retryable !== undefined ||
    (err?.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/** Deploys one model package state change event. Throws when the deployment should be tried again. */
export async function deploy(event: ModelPackageStateChange, cfg: Config = config()): Promise<Outcome> {
  const d = event.detail;
  if (!d || typeof d.ModelPackageArn !== 'string' || typeof d.ModelPackageVersion !== 'number' || typeof d.ModelPackageGroupName !== 'string') {
    logger.error('Not a model package state change event; ignored', { detailType: event['detail-type'], detail: d });
    return 'invalid-event';
  }
  const log = { modelPackageArn: d.ModelPackageArn, version: d.ModelPackageVersion, endpointName: cfg.spec.EndpointName };
  if (d.ModelPackageGroupName !== cfg.groupName) {
    logger.warn('Event of another model package group; ignored', { ...log, group: d.ModelPackageGroupName, expected: cfg.groupName });
    return 'other-group';
  }
  if (d.ModelApprovalStatus !== 'Approved') {
    logger.info('Model package not approved; nothing to deploy', { ...log, status: d.ModelApprovalStatus });
    return 'not-approved';
  }
  // The event may be stale (approved, then rejected before delivery): the registry has the last word.
  const pkg = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: d.ModelPackageArn }));
  if (pkg.ModelApprovalStatus !== 'Approved') {
    logger.info('Model package is no longer approved; nothing to deploy', { ...log, status: pkg.ModelApprovalStatus });
    return 'not-approved';
  }

  const name = resourceName(cfg.namePrefix, d.ModelPackageVersion, d.ModelPackageArn);
  const endpoint = await describeEndpoint(cfg.spec.EndpointName);
  // Configs of this endpoint are named after the version they run, whether this handler or a stack deploy made them.
  const newest = Math.max(versionOfConfig(cfg.namePrefix, endpoint?.EndpointConfigName), versionOfConfig(cfg.namePrefix, endpoint?.PendingDeploymentSummary?.EndpointConfigName));
  if (endpoint && newest === d.ModelPackageVersion) {
    logger.info('Endpoint already runs or is deploying this version; duplicate event ignored', { ...log, endpointConfigName: name });
    return 'duplicate';
  }
  // Deferred deliveries can arrive out of order (a standard queue): never replace a newer version with an older one.
  if (newest > d.ModelPackageVersion) {
    logger.info('Endpoint already runs or is deploying a newer version; older approval ignored', { ...log, deployedVersion: newest });
    return 'superseded';
  }
  if (endpoint && BUSY.has(endpoint.EndpointStatus ?? '')) {
    throw new EndpointBusyError(`Endpoint ${cfg.spec.EndpointName} is ${endpoint.EndpointStatus}; deployment of ${name} deferred`);
  }
  if (endpoint && endpoint.EndpointStatus !== 'InService') {
    throw new EndpointFailedError(
      `Endpoint ${cfg.spec.EndpointName} is ${endpoint.EndpointStatus}${endpoint.FailureReason ? ` (${endpoint.FailureReason})` : ''}; delete it (the next approval recreates it) or fix it by hand`,
    );
  }

  await ensureModel(cfg.spec, name, d.ModelPackageArn);
  await ensureEndpointConfig(cfg.spec, name, d.ModelPackageArn);

  const tags = [{ Key: 'ModelPackageArn', Value: d.ModelPackageArn }];
  if (!endpoint) {
    try {
      await sagemaker.send(new CreateEndpointCommand({ EndpointName: cfg.spec.EndpointName, EndpointConfigName: name, Tags: tags }));
    } catch (e) {
      // A concurrent delivery created it: the next delivery sees it and recognises the duplicate.
      if (isAlreadyExists(e)) throw new EndpointBusyError(`Endpoint ${cfg.spec.EndpointName} is being created by another delivery`);
      throw e;
    }
    logger.info('Endpoint created with the approved model', { ...log, endpointConfigName: name });
    return 'created';
  }
  // SageMaker rejects an instance-type change of a variant with a registered scalable target: save and deregister it.
  const saved = await suspendForTypeChange(cfg.spec.EndpointName, endpoint.EndpointConfigName, cfg.spec.ProductionVariants, cfg.spec.AutoScaledVariants ?? [], name);
  try {
    await sagemaker.send(new UpdateEndpointCommand({
      EndpointName: cfg.spec.EndpointName,
      EndpointConfigName: name,
      DeploymentConfig: cfg.spec.DeploymentConfig as never,
      // Without this an update resets an autoscaled fleet to the config's initial count; weights and capture come from the new config.
      // A new instance type starts at the config's count (the old type's count says nothing about the new one).
      ...(cfg.spec.AutoScaledVariants?.length ? {
        RetainAllVariantProperties: true,
        ExcludeRetainedVariantProperties: [
          { VariantPropertyType: 'DesiredWeight' }, { VariantPropertyType: 'DataCaptureConfig' },
          ...(saved.length > 0 ? [{ VariantPropertyType: 'DesiredInstanceCount' as const }] : []),
        ],
      } : {}),
    }));
  } catch (e) {
    // The update did not start: the fleet keeps its old type, so it gets its scaling back now.
    if (saved.length > 0) {
      await restoreScaling(saved);
      logger.warn('Endpoint update failed to start; scalable targets registered again', { ...log, variants: saved.map((t) => t.VariantName) });
    }
    // Another update started between DescribeEndpoint and UpdateEndpoint.
    if (errorName(e) === 'ValidationException' && /in-progress|in progress|status/i.test(errorMessage(e))) {
      throw new EndpointBusyError(`Endpoint ${cfg.spec.EndpointName} became busy: ${errorMessage(e)}`);
    }
    throw e;
  }
  logger.info('Endpoint update started with the approved model', { ...log, endpointConfigName: name, guardrails: !!cfg.spec.DeploymentConfig });
  return 'deployed';
}

/**
 * Deregisters the scalable targets of the autoscaled variants whose instance type `wanted` changes (after saving them)
 * and records what to restore; returns the saved targets (none when no type changes or no target is registered).
 */
async function suspendForTypeChange(
  endpointName: string, deployedConfigName: string | undefined, wanted: { VariantName?: string; InstanceType?: string }[], autoScaled: string[], toConfigName: string,
): Promise<SavedTarget[]> {
  if (autoScaled.length === 0 || !deployedConfigName) return [];
  let deployed;
  try {
    deployed = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: deployedConfigName }));
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
  const changed = changedInstanceTypes(deployed.ProductionVariants, wanted, autoScaled);
  if (changed.length === 0) return [];
  const saved = await suspendScaling(endpointName, changed);
  if (saved.length === 0) return [];
  const detail: ScalingSuspended = { EndpointName: endpointName, FromEndpointConfigName: deployedConfigName, EndpointConfigName: toConfigName, Targets: saved };
  try {
    await recordSuspended(detail);
  } catch (e) {
    await restoreScaling(saved);
    throw e;
  }
  logger.info('Instance type changes: scalable targets deregistered for the update, restored when the endpoint is InService', {
    endpointName, variants: saved.map((t) => t.VariantName), fromEndpointConfigName: deployedConfigName, endpointConfigName: toConfigName,
  });
  return saved;
}

/**
 * Registers the targets an instance-type change deregistered once the endpoint is InService again. Until the endpoint
 * left the old config (or a retry interval passed: the update failed to start or was rolled back), the event is retried.
 */
export async function restoreAfterUpdate(event: { source?: string; 'detail-type'?: string; detail?: Partial<ScalingSuspended> }, attempt: number, cfg: Config = config()): Promise<Outcome> {
  const d = event.detail;
  const own = new Set(cfg.spec.AutoScaledVariants ?? []);
  // Only this endpoint's autoscaled variants: anyone allowed to put events on the default bus can send this event.
  if (!d || d.EndpointName !== cfg.spec.EndpointName || !Array.isArray(d.Targets)
    || !d.Targets.every((t) => own.has(t.VariantName) && t.ResourceId === variantResourceId(cfg.spec.EndpointName, t.VariantName))) {
    logger.error('Not a scaling event of this endpoint; ignored', { detail: d, endpointName: cfg.spec.EndpointName });
    return 'invalid-event';
  }
  const endpoint = await describeEndpoint(cfg.spec.EndpointName);
  if (endpoint && BUSY.has(endpoint.EndpointStatus ?? '')) {
    throw new EndpointBusyError(`Endpoint ${cfg.spec.EndpointName} is ${endpoint.EndpointStatus}; scaling of ${d.Targets.map((t) => t.VariantName).join(', ')} is restored when it is InService`);
  }
  if (endpoint && endpoint.EndpointConfigName === d.FromEndpointConfigName && attempt <= 1) {
    throw new EndpointBusyError(`Endpoint ${cfg.spec.EndpointName} has not started the update to ${d.EndpointConfigName} yet; scaling is restored after it`);
  }
  const { restored, alreadyRegistered } = await restoreScaling(d.Targets);
  logger.info('Scalable targets and their policies registered again after the instance type change', {
    endpointName: cfg.spec.EndpointName, endpointConfigName: endpoint?.EndpointConfigName, status: endpoint?.EndpointStatus, restored, alreadyRegistered,
  });
  return 'scaling-restored';
}

async function describeEndpoint(endpointName: string) {
  try {
    return await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function ensureModel(spec: DeploymentSpec, name: string, packageArn: string): Promise<void> {
  try {
    await sagemaker.send(new DescribeModelCommand({ ModelName: name }));
    return;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  try {
    await sagemaker.send(new CreateModelCommand({
      ModelName: name,
      ExecutionRoleArn: spec.ExecutionRoleArn,
      Containers: [{ ModelPackageName: packageArn, Environment: spec.Environment && Object.keys(spec.Environment).length > 0 ? spec.Environment : undefined }],
      EnableNetworkIsolation: spec.EnableNetworkIsolation,
      VpcConfig: spec.VpcConfig,
      Tags: [{ Key: 'ModelPackageArn', Value: packageArn }],
    }));
  } catch (e) {
    if (!isAlreadyExists(e)) throw e; // a concurrent delivery created it
  }
}

async function ensureEndpointConfig(spec: DeploymentSpec, name: string, packageArn: string): Promise<void> {
  try {
    await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name }));
    return;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  try {
    await sagemaker.send(new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: spec.ProductionVariants.map((v) => ({ ...v, ModelName: name })) as ProductionVariant[],
      KmsKeyId: spec.KmsKeyId,
      DataCaptureConfig: spec.DataCaptureConfig as never,
      AsyncInferenceConfig: spec.AsyncInferenceConfig as never,
      Tags: [{ Key: 'ModelPackageArn', Value: packageArn }],
    }));
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

// ---- Custom::ServedModel: CloudFormation asks which model the endpoint config runs ----------------------------

/** What the endpoint construct passes to `Custom::ServedModel`. */
export interface ServedModelProperties {
  /** The models of the template, one per variant in `ProductionVariants` order (served while nothing is approved). */
  BakedModelNames?: string[];
  /** The endpoint's deployment spec as JSON; part of the config name, so a changed config gets a new name. */
  Spec?: string;
}

/** The models each variant of the endpoint config runs, and the version they come from (0: the template's). */
export interface ServedModels {
  version: number;
  modelPackageArn?: string;
  /** By variant, in `ProductionVariants` order. */
  modelNames: string[];
  endpointConfigName: string;
}

/**
 * The models a config made by a stack deploy must run: what the endpoint serves now when that is an approved
 * version (a deploy keeps it, and keeps a rollback), the newest approved version for an endpoint that does not exist
 * yet (a new or recreated stack), else the template's own models.
 */
export async function servedModels(props: ServedModelProperties, cfg: Config = config()): Promise<ServedModels> {
  const baked = props.BakedModelNames ?? [];
  const variants = cfg.spec.ProductionVariants.map((v) => v.VariantName);
  if (baked.length !== variants.length) throw new Error(`BakedModelNames has ${baked.length} names for ${variants.length} variants (${variants.join(', ')})`);
  let chosen: Omit<ServedModels, 'endpointConfigName'> = { version: 0, modelNames: baked };
  const endpoint = await describeEndpoint(cfg.spec.EndpointName);
  if (endpoint) {
    if (BUSY.has(endpoint.EndpointStatus ?? '')) {
      throw new EndpointBusyError(`Endpoint ${cfg.spec.EndpointName} is ${endpoint.EndpointStatus} (a model deployment or rollback is running); deploy the stack again when it is InService`);
    }
    const version = versionOfConfig(cfg.namePrefix, endpoint.EndpointConfigName);
    if (version > 0) {
      const current = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
      const byVariant = new Map((current.ProductionVariants ?? []).map((v) => [v.VariantName, v.ModelName]));
      const first = current.ProductionVariants?.[0]?.ModelName;
      if (!first) throw new Error(`Endpoint config ${endpoint.EndpointConfigName} of ${cfg.spec.EndpointName} names no model`);
      const model = await sagemaker.send(new DescribeModelCommand({ ModelName: first }));
      const modelPackageArn = [model.PrimaryContainer, ...(model.Containers ?? [])].map((c) => c?.ModelPackageName).find((n): n is string => !!n);
      // Variants added since that config run the same approved model (the handler puts one version on every variant).
      chosen = { version, modelPackageArn, modelNames: variants.map((v) => byVariant.get(v) ?? first) };
    }
  } else {
    const list = await sagemaker.send(new ListModelPackagesCommand({
      ModelPackageGroupName: cfg.groupName, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 1,
    }));
    const arn = list.ModelPackageSummaryList?.[0]?.ModelPackageArn;
    if (arn) {
      const pkg = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
      const version = pkg.ModelPackageVersion ?? Number(arn.split('/').pop());
      const name = resourceName(cfg.namePrefix, version, arn);
      await ensureModel(cfg.spec, name, arn);
      chosen = { version, modelPackageArn: arn, modelNames: variants.map(() => name) };
    }
  }
  const hash = createHash('sha256').update(props.Spec ?? '').update('\n').update(chosen.modelNames.join(',')).digest('hex').slice(0, 8);
  return { ...chosen, endpointConfigName: `${cfg.namePrefix.slice(0, 40).replace(/-+$/, '')}-v${chosen.version}-${hash}` };
}

/**
 * The stack deploy that asks is about to update the endpoint to a config whose instance types are in `Spec` (the
 * deploy's own spec, also on a rollback): deregister the targets of autoscaled variants whose type it changes, so
 * CloudFormation's UpdateEndpoint is accepted; the recorded event registers them again after the update.
 */
async function suspendForStackUpdate(props: ServedModelProperties, toConfigName: string, cfg: Config = config()): Promise<void> {
  let spec: { productionVariants?: { VariantName?: string; InstanceType?: string }[]; autoScaledVariants?: string[] };
  try {
    spec = JSON.parse(props.Spec ?? '{}');
  } catch {
    return;
  }
  if (!spec.autoScaledVariants?.length || !spec.productionVariants) return;
  const endpoint = await describeEndpoint(cfg.spec.EndpointName);
  if (!endpoint) return;
  await suspendForTypeChange(cfg.spec.EndpointName, endpoint.EndpointConfigName, spec.productionVariants, spec.autoScaledVariants, toConfigName);
}

/** Answers the endpoint's `Custom::ServedModel` with the endpoint config that runs the served model. */
export function servedModelResource(event: CloudFormationCustomResourceEvent): Promise<CustomResourceAnswer> {
  return answerServedModel(event, `${String(event.ResourceProperties.EndpointName ?? 'endpoint')}-served-model`, logger, async () => {
    const props = event.ResourceProperties as ServedModelProperties;
    const served = await servedModels(props);
    await suspendForStackUpdate(props, served.endpointConfigName);
    const data: Record<string, string> = { EndpointConfigName: served.endpointConfigName, Version: String(served.version), ModelPackageArn: served.modelPackageArn ?? 'none' };
    served.modelNames.forEach((m, i) => { data[`ModelName${i}`] = m; });
    logger.info('Endpoint config of the stack deploy runs the served model', { requestType: event.RequestType, ...data });
    return data;
  });
}


/** SQS batch handler (batch size 1 in the construct, but any size works): failed messages are retried by SQS. */
export async function handler(event: SQSEvent | ModelPackageStateChange | CloudFormationCustomResourceEvent): Promise<SQSBatchResponse | { outcome: Outcome } | { Status: string }> {
  if (isCustomResource(event)) return servedModelResource(event);
  const cfg = config();
  try {
    if (!('Records' in event)) {
      // Invoked directly by EventBridge: a thrown error makes Lambda retry the async invocation.
      try {
        const outcome = event.source === SCALING_EVENT_SOURCE ? await restoreAfterUpdate(event as never, 2, cfg) : await deploy(event, cfg);
        metrics.addMetric(`Outcome_${outcome}`, MetricUnit.Count, 1);
        return { outcome };
      } catch (e) {
        metrics.addMetric(isRetryable(e) ? 'Deferred' : 'Failed', MetricUnit.Count, 1);
        throw e;
      }
    }
    return await deployQueuedEvents<ModelPackageStateChange>(event.Records, {
      logger, metrics, isRetryable,
      deploy: (parsed, attempt) => (parsed.source === SCALING_EVENT_SOURCE ? restoreAfterUpdate(parsed as never, attempt, cfg) : deploy(parsed, cfg)),
    });
  } finally {
    metrics.publishStoredMetrics();
  }
}
