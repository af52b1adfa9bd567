/**
 * Deploys approved model package versions to a SageMaker endpoint.
 *
 * EventBridge ("SageMaker Model Package State Change", ModelApprovalStatus Approved) → SQS → this handler.
 * For each event it creates a Model and an EndpointConfig named after the package version (so a duplicate event
 * finds them and does nothing twice), then updates the endpoint with the blue/green deployment config (or creates
 * the endpoint when it does not exist). An endpoint that is busy (Updating, Creating, RollingBack...) is deferred:
 * the message is reported as a batch item failure and SQS delivers it again after the visibility timeout; after the
 * queue's maximum receives it lands in the dead-letter queue, whose alarm notifies the alerts topic.
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand, DescribeEndpointConfigCommand,
  DescribeModelCommand, DescribeModelPackageCommand, type ProductionVariant, SageMakerClient, UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

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

export type Outcome = 'deployed' | 'created' | 'duplicate' | 'superseded' | 'not-approved' | 'other-group' | 'invalid-event';

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

const errorName = (e: unknown): string => (e as { name?: string })?.name ?? 'Error';
const errorMessage = (e: unknown): string => (e as { message?: string })?.message ?? String(e);
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
  if (endpoint && (endpoint.EndpointConfigName === name || endpoint.PendingDeploymentSummary?.EndpointConfigName === name)) {
    logger.info('Endpoint already runs or is deploying this version; duplicate event ignored', { ...log, endpointConfigName: name });
    return 'duplicate';
  }
  // Deferred deliveries can arrive out of order (a standard queue): never replace a newer version with an older one.
  const newest = Math.max(versionOfConfig(cfg.namePrefix, endpoint?.EndpointConfigName), versionOfConfig(cfg.namePrefix, endpoint?.PendingDeploymentSummary?.EndpointConfigName));
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
  try {
    await sagemaker.send(new UpdateEndpointCommand({
      EndpointName: cfg.spec.EndpointName,
      EndpointConfigName: name,
      DeploymentConfig: cfg.spec.DeploymentConfig as never,
      // Without this an update resets an autoscaled fleet to the config's initial count; weights and capture come from the new config.
      ...(cfg.spec.AutoScaledVariants?.length ? {
        RetainAllVariantProperties: true,
        ExcludeRetainedVariantProperties: [{ VariantPropertyType: 'DesiredWeight' }, { VariantPropertyType: 'DataCaptureConfig' }],
      } : {}),
    }));
  } catch (e) {
    // Another update started between DescribeEndpoint and UpdateEndpoint.
    if (errorName(e) === 'ValidationException' && /in-progress|in progress|status/i.test(errorMessage(e))) {
      throw new EndpointBusyError(`Endpoint ${cfg.spec.EndpointName} became busy: ${errorMessage(e)}`);
    }
    throw e;
  }
  logger.info('Endpoint update started with the approved model', { ...log, endpointConfigName: name, guardrails: !!cfg.spec.DeploymentConfig });
  return 'deployed';
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

/** SQS batch handler (batch size 1 in the construct, but any size works): failed messages are retried by SQS. */
export async function handler(event: SQSEvent | ModelPackageStateChange): Promise<SQSBatchResponse | { outcome: Outcome }> {
  const cfg = config();
  try {
    if (!('Records' in event)) {
      // Invoked directly by EventBridge: a thrown error makes Lambda retry the async invocation.
      try {
        const outcome = await deploy(event, cfg);
        metrics.addMetric(`Outcome_${outcome}`, MetricUnit.Count, 1);
        return { outcome };
      } catch (e) {
        metrics.addMetric(isRetryable(e) ? 'Deferred' : 'Failed', MetricUnit.Count, 1);
        throw e;
      }
    }
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      let parsed: ModelPackageStateChange;
      try {
        parsed = JSON.parse(record.body) as ModelPackageStateChange;
      } catch {
        logger.error('Message body is not JSON; ignored', { messageId: record.messageId });
        metrics.addMetric('Outcome_invalid-event', MetricUnit.Count, 1);
        continue;
      }
      try {
        const outcome = await deploy(parsed, cfg);
        metrics.addMetric(`Outcome_${outcome}`, MetricUnit.Count, 1);
      } catch (e) {
        const retryable = isRetryable(e);
        const attempt = Number(record.attributes?.ApproximateReceiveCount ?? 1);
        const details = { messageId: record.messageId, attempt, error: errorName(e), reason: errorMessage(e), retryable };
        if (retryable) logger.warn('Deployment deferred; SQS will deliver the event again', details);
        else logger.error('Deployment failed; SQS will retry, then move the event to the dead-letter queue', details);
        metrics.addMetric(retryable ? 'Deferred' : 'Failed', MetricUnit.Count, 1);
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  } finally {
    metrics.publishStoredMetrics();
  }
}
