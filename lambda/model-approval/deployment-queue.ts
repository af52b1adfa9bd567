import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

export const errorName = (e: unknown): string => (e as { name?: string })?.name ?? 'Error';
export const errorMessage = (e: unknown): string => (e as { message?: string })?.message ?? String(e);

/** What a deployment handler brings to {@link deployQueuedEvents}. */
export interface DeploymentQueueHandler<E> {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Whether a failure may succeed later (the message is retried either way; this decides warn or error). */
  readonly isRetryable: (e: unknown) => boolean;
  /** Deploys one event; `attempt` is SQS's receive count. Returns the outcome recorded as `Outcome_<outcome>`. */
  readonly deploy: (event: E, attempt: number) => Promise<string>;
}

/**
 * The approval queue's SQS batch, shared by the endpoint and Lambda deployment handlers: each message is one
 * EventBridge event; a body that is not JSON is dropped (retrying cannot fix it), a failed deployment is reported
 * as a batch item failure so SQS delivers it again and, after its retries, moves it to the dead-letter queue.
 */
export async function deployQueuedEvents<E>(records: SQSEvent['Records'], h: DeploymentQueueHandler<E>): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of records) {
    let parsed: E;
    try {
      parsed = JSON.parse(record.body) as E;
    } catch {
      h.logger.error('Message body is not JSON; ignored', { messageId: record.messageId });
      h.metrics.addMetric('Outcome_invalid-event', MetricUnit.Count, 1);
      continue;
    }
    const attempt = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    try {
      const outcome = await h.deploy(parsed, attempt);
      h.metrics.addMetric(`Outcome_${outcome}`, MetricUnit.Count, 1);
    } catch (e) {
      const retryable = h.isRetryable(e);
      const details = { messageId: record.messageId, attempt, error: errorName(e), reason: errorMessage(e), retryable };
      if (retryable) h.logger.warn('Deployment deferred; SQS will deliver the event again', details);
      else h.logger.error('Deployment failed; SQS will retry, then move the event to the dead-letter queue', details);
      h.metrics.addMetric(retryable ? 'Deferred' : 'Failed', MetricUnit.Count, 1);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
