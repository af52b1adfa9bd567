/**
 * The IAM permissions the CLI's post-deploy checks need on one stage, as plain data (no CDK imports, so the CLI
 * stays light). The GitHub deploy role of each stage (`pipelines/github-deploy-role.ts`, wired in the Delivery
 * stack) is granted exactly these, and `test/journeys/gitops.test.ts` simulates every call the CLI makes against
 * them, so the names here and the names the CLI reads meet in one place.
 */
import { infrastructurePipelineStackName } from '../naming';

/** The stage the statements are scoped to. */
export interface CheckScope {
  readonly partition: string;
  readonly account: string;
  readonly region: string;
  readonly prefix: string;
  readonly stage: string;
}

export interface CheckStatement {
  readonly sid: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  /** IAM conditions, e.g. the `s3:prefix` a ListBucket is limited to. @default - none */
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** Where `smoke` asks an asynchronous endpoint of the stage: its request and answer location (`AsyncInferenceLocation`). */
export interface AsyncSmokeTarget {
  readonly endpointName: string;
  /** ARN of the bucket of requests and answers. */
  readonly bucketArn: string;
  /** Key prefix: requests under `<prefix>input/`, answers under `<prefix>output/` and `<prefix>failures/`. */
  readonly prefix: string;
  /** ARN of the key the bucket and the answers are encrypted with. */
  readonly keyArn: string;
}

/** Name of a platform stack, `<prefix>-<stage>-<Part>`: what the stacks are called and what the CLI looks up. */
export const platformStackName = (prefix: string, stage: string, part: string): string => `${prefix}-${stage}-${part}`;

/**
 * Read-only statements `cdk-mlops status` (and the stack discovery of every command) needs. Every platform
 * resource of a stage is named `<prefix>-<stage>-…` (Lambda functions without an explicit name get
 * `<stackName>-<logicalId>-<suffix>` from CloudFormation, which starts the same way), so the resources are
 * limited to the stage. `sagemaker:ListModelPackages` has no resource-level permissions: it is a list action on `*`.
 */
export function statusStatements(s: CheckScope): CheckStatement[] {
  const arn = (service: string, resource: string) => `arn:${s.partition}:${service}:${s.region}:${s.account}:${resource}`;
  const base = `${s.prefix}-${s.stage}`;
  return [
    {
      sid: 'ReadStageStacks',
      actions: ['cloudformation:DescribeStacks'],
      // The stage's stacks, and the infrastructure pipeline's stack (status looks for it in the stage's account).
      resources: [arn('cloudformation', `stack/${base}-*/*`), arn('cloudformation', `stack/${infrastructurePipelineStackName(s.prefix)}/*`)],
    },
    {
      sid: 'ReadStageCluster',
      actions: ['eks:DescribeCluster', 'eks:ListNodegroups', 'eks:DescribeNodegroup'],
      resources: [arn('eks', `cluster/${base}-*`), arn('eks', `nodegroup/${base}-*/*/*`)],
    },
    {
      sid: 'ReadStageFunctions',
      actions: ['lambda:GetAlias', 'lambda:GetFunctionConfiguration', 'lambda:GetProvisionedConcurrencyConfig'],
      resources: [arn('lambda', `function:${base}-*`)],
    },
    { sid: 'ReadStageEndpoints', actions: ['sagemaker:DescribeEndpoint'], resources: [arn('sagemaker', `endpoint/${base.toLowerCase()}-*`)] },
    { sid: 'ListModelPackages', actions: ['sagemaker:ListModelPackages'], resources: ['*'] },
    { sid: 'ReadStageImages', actions: ['ecr:DescribeImages'], resources: [arn('ecr', `repository/${base}/*`)] },
  ];
}

/**
 * What `cdk-mlops smoke` adds: one invocation of each deployed model of the stage. An asynchronous endpoint is asked
 * through S3: its config is read (`DescribeEndpointConfig`, configs are named after the endpoint), the request
 * written as `<prefix>input/smoke-test/cli-<uuid>.json`, queued with `InvokeEndpointAsync`, and the answer read
 * from `<prefix>output/` or `<prefix>failures/` (ListBucket on the prefix, so a missing answer is a 404), with the key.
 */
export function smokeStatements(s: CheckScope, asyncEndpoints: readonly AsyncSmokeTarget[] = []): CheckStatement[] {
  const arn = (service: string, resource: string) => `arn:${s.partition}:${service}:${s.region}:${s.account}:${resource}`;
  const base = `${s.prefix}-${s.stage}`;
  const object = (a: AsyncSmokeTarget, key: string) => `${a.bucketArn}/${a.prefix}${key}`;
  const async: CheckStatement[] = asyncEndpoints.length === 0 ? [] : [
    { sid: 'InvokeStageAsyncEndpoints', actions: ['sagemaker:InvokeEndpointAsync'], resources: asyncEndpoints.map((a) => arn('sagemaker', `endpoint/${a.endpointName.toLowerCase()}`)) },
    // Configs are named `<first 40 characters of the endpoint name>-v<version>-<hash>` (the registry's handler).
    { sid: 'ReadStageAsyncEndpointConfigs', actions: ['sagemaker:DescribeEndpointConfig'], resources: asyncEndpoints.map((a) => arn('sagemaker', `endpoint-config/${a.endpointName.slice(0, 40).replace(/-+$/, '').toLowerCase()}*`)) },
    { sid: 'WriteAsyncSmokeRequests', actions: ['s3:PutObject'], resources: asyncEndpoints.map((a) => object(a, 'input/smoke-test/cli-*')) },
    { sid: 'ReadAsyncSmokeAnswers', actions: ['s3:GetObject'], resources: asyncEndpoints.flatMap((a) => [object(a, 'output/*'), object(a, 'failures/*')]) },
    ...asyncEndpoints.map((a, i) => ({
      sid: `ListAsyncSmokeAnswers${i}`, actions: ['s3:ListBucket'], resources: [a.bucketArn], conditions: { StringLike: { 's3:prefix': [`${a.prefix}*`] } },
    })),
    { sid: 'UseAsyncSmokeKeys', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [...new Set(asyncEndpoints.map((a) => a.keyArn))] },
  ];
  return [
    { sid: 'InvokeStageFunctions', actions: ['lambda:InvokeFunction'], resources: [arn('lambda', `function:${base}-*:*`)] },
    { sid: 'InvokeStageEndpoints', actions: ['sagemaker:InvokeEndpoint'], resources: [arn('sagemaker', `endpoint/${base.toLowerCase()}-*`)] },
    ...async,
  ];
}

/** What `cdk-mlops status` calls on each pipeline it reports (last executions, pending approvals). */
export const PIPELINE_READ_ACTIONS = ['codepipeline:GetPipelineState', 'codepipeline:ListPipelineExecutions'] as const;

/** The ARN of a CodePipeline pipeline of the stage's account and region. */
export function pipelineArn(s: Omit<CheckScope, 'prefix' | 'stage'>, name: string): string {
  return `arn:${s.partition}:codepipeline:${s.region}:${s.account}:${name}`;
}

/**
 * What `cdk-mlops status` adds for the stage's pipelines: the model delivery pipeline of its Delivery stack and the
 * infrastructure pipeline where it runs in the stage's account and region, each on its exact ARN. None without pipelines.
 */
export function pipelineStatements(pipelineArns: readonly string[]): CheckStatement[] {
  return pipelineArns.length > 0 ? [{ sid: 'ReadStagePipelines', actions: [...PIPELINE_READ_ACTIONS], resources: [...pipelineArns] }] : [];
}
