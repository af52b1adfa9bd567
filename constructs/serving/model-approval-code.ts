import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { bundledHandlerCode } from '../core/handler-code';

/** The model-approval handler (`lambda/model-approval`), bundled in process (see `bundledHandlerCode`). */
export function modelApprovalCode(): lambda.Code {
  return bundledHandlerCode('model-approval');
}
