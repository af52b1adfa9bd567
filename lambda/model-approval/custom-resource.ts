import type { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { errorMessage, errorName } from './deployment-queue';

/** What a `Custom::ServedModel` answer sends CloudFormation. */
export interface CustomResourceAnswer {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  Data?: Record<string, string>;
}

export const isCustomResource = (e: unknown): e is CloudFormationCustomResourceEvent =>
  !!e && typeof e === 'object' && 'RequestType' in e && 'ResponseURL' in e;

/**
 * Answers a `Custom::ServedModel` request (the endpoint's or the Lambda function's) on its pre-signed response URL
 * and never leaves CloudFormation waiting: `Data` comes from `choose` on Create and Update, a failure is reported as
 * FAILED with its reason, and Delete succeeds at once (the served models outlive the resource: a rollback may need them).
 */
export async function answerServedModel(event: CloudFormationCustomResourceEvent, newPhysicalId: string, logger: Logger, choose: () => Promise<Record<string, string>>): Promise<CustomResourceAnswer> {
  const physicalId = 'PhysicalResourceId' in event ? event.PhysicalResourceId : newPhysicalId;
  let response: CustomResourceAnswer;
  try {
    response = event.RequestType === 'Delete' ? { Status: 'SUCCESS' } : { Status: 'SUCCESS', Data: await choose() };
  } catch (e) {
    logger.error('Could not choose the served model', { error: errorName(e), reason: errorMessage(e) });
    response = { Status: 'FAILED', Reason: `${errorName(e)}: ${errorMessage(e)}`.slice(0, 1000) };
  }
  const body = JSON.stringify({
    ...response, PhysicalResourceId: physicalId, StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId,
  });
  const put = await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) } });
  if (!put.ok) throw new Error(`CloudFormation response upload failed: HTTP ${put.status}`);
  return response;
}
