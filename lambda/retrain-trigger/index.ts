/**
 * Retraining trigger in the pipeline's account: a drift event (from any stage's drift job or Model Monitor,
 * forwarded to the retraining bus) starts the model delivery pipeline with the reason as a pipeline variable — at most
 * once per model per cooldown window, and not at all while a run is in progress (that run absorbs the event).
 *
 * The cooldown is a conditional write in DynamoDB, so two events racing for the same model start one run; the
 * function runs with a reserved concurrency of 1 as well, so the in-progress check and the start are not interleaved.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CodePipelineClient, ListPipelineExecutionsCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

export const logger = new Logger({ serviceName: 'retrain-trigger' });
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'cdk-mlops/Drift', serviceName: 'retrain-trigger' });
export const codepipeline = new CodePipelineClient({ maxAttempts: 6, retryMode: 'adaptive' });
export const dynamodb = new DynamoDBClient({ maxAttempts: 6, retryMode: 'adaptive' });

/** The EventBridge event as the rule delivers it (only the fields used). */
export interface DriftEvent {
  readonly id?: string;
  readonly account?: string;
  readonly time?: string;
  readonly detail?: { readonly model?: unknown; readonly source?: unknown; readonly reason?: unknown; readonly modelPackageArn?: unknown };
}

export interface TriggerResult {
  readonly outcome: 'started' | 'absorbed-in-progress' | 'absorbed-cooldown' | 'rejected';
  readonly model?: string;
  readonly message: string;
  readonly pipelineExecutionId?: string;
}

/** CodePipeline variable values: at most 1000 characters. */
const MAX_VARIABLE = 1000;

export async function handler(event: DriftEvent | null | undefined): Promise<TriggerResult> {
  const pipelineName = process.env.PIPELINE_NAME!;
  const table = process.env.TABLE_NAME!;
  const variable = process.env.REASON_VARIABLE || 'RetrainReason';
  const cooldownSeconds = Number(process.env.COOLDOWN_SECONDS || 86400);
  const d = event && typeof event === 'object' && event.detail && typeof event.detail === 'object' ? event.detail : {};
  const rawModel = typeof d.model === 'string' ? d.model : typeof d.source === 'string' ? d.source : undefined;
  if (!rawModel) {
    logger.warn('Drift event without detail.model or detail.source: ignored', { event });
    return { outcome: 'rejected', message: 'event names no model (detail.model or detail.source)' };
  }
  // Same model in another account (staging and prod serve the same model) is the same retraining.
  const model = rawModel.slice(0, 256);
  const reason = `${typeof d.reason === 'string' ? d.reason : `Drift detected on ${model}`}${event?.account ? ` [account ${event.account}]` : ''}`.slice(0, MAX_VARIABLE);
  const now = event?.time && !Number.isNaN(Date.parse(event.time)) ? new Date(event.time) : new Date();

  const running = await codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName, maxResults: 10 }));
  const inProgress = (running.pipelineExecutionSummaries ?? []).find((e) => e.status === 'InProgress' || e.status === 'Stopping');
  if (inProgress) {
    const message = `run ${inProgress.pipelineExecutionId} of ${pipelineName} is in progress and absorbs this drift event`;
    logger.info(message, { model, reason });
    metrics.addMetric('RetrainAbsorbed', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    return { outcome: 'absorbed-in-progress', model, message };
  }

  const until = Math.floor(now.getTime() / 1000) + cooldownSeconds;
  try {
    await dynamodb.send(new PutItemCommand({
      TableName: table,
      Item: { model: { S: model }, cooldownUntil: { N: String(until) }, reason: { S: reason }, eventId: { S: event?.id ?? '' } },
      ConditionExpression: 'attribute_not_exists(model) OR cooldownUntil < :now',
      ExpressionAttributeValues: { ':now': { N: String(Math.floor(now.getTime() / 1000)) } },
    }));
  } catch (e) {
    if (e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException') {
      const message = `${model} was retrained less than ${cooldownSeconds} s ago: this drift event falls in the cooldown`;
      logger.info(message, { reason });
      metrics.addMetric('RetrainAbsorbed', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return { outcome: 'absorbed-cooldown', model, message };
    }
    throw e;
  }

  try {
    const started = await codepipeline.send(new StartPipelineExecutionCommand({
      name: pipelineName,
      variables: [{ name: variable, value: reason }],
      clientRequestToken: (event?.id ?? `${model}-${until}`).replace(/[^A-Za-z0-9-]/g, '-').slice(0, 128),
    }));
    metrics.addMetric('RetrainStarted', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    const message = `started ${pipelineName} run ${started.pipelineExecutionId}: ${reason}`;
    logger.info(message, { model });
    return { outcome: 'started', model, message, pipelineExecutionId: started.pipelineExecutionId };
  } catch (e) {
    // The start failed: release the cooldown so EventBridge's retry (or the next drift event) can start the run.
    await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { model: { S: model } } }));
    throw e;
  }
}
