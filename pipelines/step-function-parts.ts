import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { type Construct } from 'constructs';
import { encryptedLogGroup } from '../constructs/core/defaults';
import { acknowledge, acknowledgeCheck, acknowledgeResolvedPolicy, wildcardFindingIds } from '../constructs/core/nag';
import { handlerCode } from '../constructs/core/handler-code';

/** Options shared by the pipeline's gate functions and state machines. */
export interface StepPartOptions {
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A pipeline gate handler from `lambda/<name>/index.ts`: its own role (no managed policy), an encrypted log group
 * with retention, X-Ray tracing, and the v3 SDK left to the runtime.
 */
export function gateFunction(scope: Construct, id: string, name: string, description: string, o: StepPartOptions & { readonly timeout?: Duration; readonly memorySize?: number; /** Export of index.ts to run. @default 'handler' */ readonly handlerExport?: string }): lambda.Function {
  const logGroup = encryptedLogGroup(scope, `${id}Logs`, { encryptionKey: o.encryptionKey, retention: o.logRetention, removalPolicy: o.removalPolicy });
  const role = new iam.Role(scope, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
  logGroup.grantWrite(role);
  const fn = new lambda.Function(scope, id, {
    description,
    code: handlerCode(name),
    handler: `index.${o.handlerExport ?? 'handler'}`,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: o.memorySize ?? 256,
    timeout: o.timeout ?? Duration.minutes(1),
    role,
    logGroup,
    tracing: lambda.Tracing.ACTIVE,
    environment: { POWERTOOLS_SERVICE_NAME: name, POWERTOOLS_METRICS_NAMESPACE: 'cdk-mlops', POWERTOOLS_LOG_LEVEL: 'INFO' },
  });
  acknowledge(role.node.tryFindChild('DefaultPolicy') ?? role, ['AwsSolutions-IAM5[Resource::*]'],
    'X-Ray PutTraceSegments and PutTelemetryRecords (added by tracing: ACTIVE) support only Resource "*"; the other statements name this function\'s log group and resources.');
  acknowledgeCheck(fn, 'lambdaInsideVpc',
    'Pipeline gate handler: it calls only AWS service APIs (ECR, SageMaker, SageMaker Runtime, Lambda) with IAM-signed TLS requests and reaches nothing inside a VPC; in a VPC it would need NAT or interface endpoints for the same calls.');
  acknowledgeCheck(fn, 'lambdaDlq',
    'Invoked synchronously by a Step Functions task, which receives the error and retries or fails the pipeline execution; a dead-letter queue only receives failed asynchronous invocations.');
  acknowledgeCheck(fn, 'lambdaConcurrency',
    'Runs once per pipeline execution step (CodePipeline runs one execution at a time per stage); reserved concurrency would fail the deploy in accounts at the minimum unreserved quota.');
  return fn;
}

/** A standard state machine with full logging to an encrypted log group, X-Ray tracing and a hard timeout. */
export function loggedStateMachine(scope: Construct, id: string, definition: sfn.IChainable, timeout: Duration, o: StepPartOptions & { readonly comment: string }): sfn.StateMachine {
  const logGroup = encryptedLogGroup(scope, `${id}Logs`, { encryptionKey: o.encryptionKey, retention: o.logRetention, removalPolicy: o.removalPolicy });
  const sm = new sfn.StateMachine(scope, id, {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    comment: o.comment,
    timeout,
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(o.encryptionKey),
  });
  // CloudWatch Logs delivery and X-Ray actions have no resource-level permissions; the role is CDK's own.
  acknowledge(sm.role.node.tryFindChild('DefaultPolicy') ?? sm.role, ['AwsSolutions-IAM5[Resource::*]'],
    'Step Functions log delivery (logs:CreateLogDelivery, ...) and X-Ray actions support only Resource "*"; task permissions name their resources.');
  return sm;
}

/**
 * Calls a gate handler until it stops answering PENDING: PASSED succeeds, PENDING waits `interval` and asks
 * again, anything else fails the execution with the handler's message (the pipeline action fails with it).
 */
export function pollUntilDecided(scope: Construct, id: string, fn: lambda.IFunction, payload: sfn.TaskInput, interval: Duration, errorName: string): sfn.IChainable {
  const check = new tasks.LambdaInvoke(scope, `${id}Check`, {
    lambdaFunction: fn,
    payload,
    resultSelector: { 'status.$': '$.Payload.status', 'message.$': '$.Payload.message' },
    resultPath: '$.result',
    retryOnServiceExceptions: true,
  });
  const wait = new sfn.Wait(scope, `${id}Wait`, { time: sfn.WaitTime.duration(interval) });
  const passed = new sfn.Succeed(scope, `${id}Passed`);
  const failed = new sfn.Fail(scope, `${id}Failed`, { error: errorName, causePath: '$.result.message' });
  return check.next(new sfn.Choice(scope, `${id}Decide`)
    .when(sfn.Condition.stringEquals('$.result.status', 'PASSED'), passed)
    .when(sfn.Condition.stringEquals('$.result.status', 'PENDING'), wait.next(check))
    .otherwise(failed));
}


/**
 * Acknowledges the cdk-nag IAM5 wildcard findings of default policies that aws-cdk-lib writes itself: the pipeline's
 * artifact bucket and key grants (`s3:GetObject*`, `s3:List*`, `kms:GenerateDataKey*`, `kms:ReEncrypt*` on the
 * bucket's objects), CodeBuild's log streams and report groups of one project, `states:DescribeExecution` on one
 * state machine's executions, and `lambda:InvokeFunction` on one function's versions. A bare `Resource: *` is not
 * covered.
 */
export function acknowledgeGeneratedWildcards(roles: readonly (iam.IRole | undefined)[], reason: string): void {
  for (const role of roles) {
    acknowledgeResolvedPolicy(role, (statements) => [{ ids: [...new Set(statements.flatMap(wildcardFindingIds))], reason }]);
  }
}
