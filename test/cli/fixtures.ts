import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient, GetPipelineStateCommand, ListPipelineExecutionsCommand } from '@aws-sdk/client-codepipeline';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeClusterCommand, DescribeNodegroupCommand, EKSClient, ListNodegroupsCommand, type Nodegroup } from '@aws-sdk/client-eks';
import { GetAliasCommand, GetFunctionConfigurationCommand, GetProvisionedConcurrencyConfigCommand, InvokeCommand, LambdaClient, ListVersionsByFunctionCommand, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import {
  DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, DescribeModelPackageCommand, ListEndpointConfigsCommand, ListModelPackagesCommand, SageMakerClient,
  UpdateEndpointCommand, UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { Aws } from '../../lib/cli/aws';
import { run } from '../../lib/cli/main';
import { type Io } from '../../lib/cli/output';

export const mocks = {
  cfn: mockClient(CloudFormationClient),
  cp: mockClient(CodePipelineClient),
  eks: mockClient(EKSClient),
  ecr: mockClient(ECRClient),
  lambda: mockClient(LambdaClient),
  sm: mockClient(SageMakerClient),
  smr: mockClient(SageMakerRuntimeClient),
};

export function resetMocks(): void {
  for (const m of Object.values(mocks)) m.reset();
}

/** An SDK-style service error (what the clients reject with). */
export function awsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const ENDPOINT = 'mlops-dev-endpoint';
export const FUNCTION = 'mlops-dev-inference';
export const GROUP = 'mlops-dev-models';
const T0 = new Date('2026-11-20T10:00:00Z');

type Part = 'Network' | 'Data' | 'Alerts' | 'Training' | 'Inference' | 'SageMaker' | 'Delivery' | 'Monitoring' | 'Experiments';
/** The dev Delivery stack's model pipeline (output ModelPipelineName) and the infrastructure pipeline (mlops-Pipeline's PipelineName). */
export const MODEL_PIPELINE = 'mlops-dev-Delivery-ModelPipelineC0FFEE12-1AB2C3D4E5F6';
export const INFRA_PIPELINE = 'mlops-Infrastructure';
const OUTPUTS: Record<Part, Record<string, string>> = {
  Network: { VpcId: 'vpc-0abc' },
  Data: {
    RawBucketName: 'mlops-dev-raw', ProcessedBucketName: 'mlops-dev-processed', ArtifactsBucketName: 'mlops-dev-artifacts',
    trainingRepositoryUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/mlops-dev-training`,
    inferenceRepositoryUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/mlops-dev-inference`,
  },
  Alerts: { AlertsTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:mlops-dev-alerts` },
  Training: { ClusterName: 'mlops-dev-training' },
  Inference: { InferenceFunctionName: FUNCTION, InferenceAliasName: 'live', InferenceUrl: 'https://abc.lambda-url.eu-west-1.on.aws/' },
  SageMaker: { EndpointNames: ENDPOINT, ModelPackageGroupNames: GROUP },
  Delivery: { ModelPipelineName: MODEL_PIPELINE, ModelSourceBucketName: 'mlops-dev-delivery-source' },
  Monitoring: {},
  Experiments: { FeatureStoreWorkgroup: 'mlops-dev-features' },
};

/** DescribeStacks of the infrastructure pipeline's stack `mlops-Pipeline` (call after stackMocks, which answers "does not exist" for it). */
export function infrastructureStackMock(): void {
  mocks.cfn.on(DescribeStacksCommand, { StackName: 'mlops-Pipeline' }).resolves({
    Stacks: [{ StackName: 'mlops-Pipeline', StackStatus: 'UPDATE_COMPLETE', CreationTime: T0, Outputs: [{ OutputKey: 'PipelineName', OutputValue: INFRA_PIPELINE }] }],
  });
}

/** Makes DescribeStacks answer for the given parts (with their outputs) and "does not exist" for the rest. */
export function stackMocks(parts: Part[] = ['Network', 'Data', 'Alerts', 'Training', 'Inference', 'SageMaker', 'Delivery', 'Monitoring', 'Experiments'], overrides: Partial<Record<Part, Partial<Stack>>> = {}): void {
  mocks.cfn.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
    const part = input.StackName.split('-').pop() as Part;
    if (!input.StackName.startsWith('mlops-dev-') || !parts.includes(part)) {
      throw awsError('ValidationError', `Stack with id ${input.StackName} does not exist`);
    }
    return {
      Stacks: [{
        StackName: input.StackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: T0, LastUpdatedTime: T0,
        Outputs: Object.entries(OUTPUTS[part]).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        ...overrides[part],
      }],
    };
  });
}

export function nodegroup(name: string, extra: Partial<Nodegroup> = {}): Nodegroup {
  return {
    nodegroupName: name, status: 'ACTIVE', instanceTypes: ['m6i.large'], amiType: 'AL2023_x86_64_STANDARD', capacityType: 'ON_DEMAND',
    scalingConfig: { minSize: 2, maxSize: 4, desiredSize: 2 }, health: { issues: [] }, ...extra,
  };
}

/** A healthy dev stage: every component deployed and fine; list calls return two pages. */
export function healthyStage(): void {
  stackMocks();
  infrastructureStackMock();
  // The model pipeline's last run succeeded; the infrastructure pipeline is deploying a push, its previous run succeeded.
  mocks.cp.on(GetPipelineStateCommand).resolves({ pipelineName: MODEL_PIPELINE, pipelineVersion: 3, stageStates: [
    { stageName: 'Source', inboundTransitionState: { enabled: true }, latestExecution: { pipelineExecutionId: 'a1b2c3d4-0000-4000-8000-000000000001', status: 'Succeeded' }, actionStates: [{ actionName: 'Source', latestExecution: { status: 'Succeeded' } }] },
    { stageName: 'Approve', inboundTransitionState: { enabled: true }, latestExecution: { pipelineExecutionId: 'a1b2c3d4-0000-4000-8000-000000000001', status: 'Succeeded' }, actionStates: [{ actionName: 'Approve', latestExecution: { status: 'Succeeded', lastStatusChange: T0 } }] },
  ] });
  mocks.cp.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [{
    pipelineExecutionId: 'a1b2c3d4-0000-4000-8000-000000000001', status: 'Succeeded', startTime: T0, lastUpdateTime: new Date('2026-11-20T11:30:00Z'),
    trigger: { triggerType: 'CloudWatchEvent', triggerDetail: 'arn:aws:events:eu-west-1:123456789012:rule/mlops-dev-Delivery-SourceUploaded' },
    sourceRevisions: [{ actionName: 'Source', revisionId: 'v3.IYqSvF4X' }],
  }] });
  mocks.cp.on(GetPipelineStateCommand, { name: INFRA_PIPELINE }).resolves({ pipelineName: INFRA_PIPELINE, stageStates: [
    { stageName: 'Build', inboundTransitionState: { enabled: true }, latestExecution: { pipelineExecutionId: 'e5f6a7b8-0000-4000-8000-000000000002', status: 'InProgress' }, actionStates: [{ actionName: 'Synth', latestExecution: { status: 'InProgress' } }] },
  ] });
  mocks.cp.on(ListPipelineExecutionsCommand, { pipelineName: INFRA_PIPELINE }).resolves({ pipelineExecutionSummaries: [
    { pipelineExecutionId: 'e5f6a7b8-0000-4000-8000-000000000002', status: 'InProgress', startTime: new Date('2026-11-22T09:00:00Z'), trigger: { triggerType: 'Webhook', triggerDetail: 'arn:aws:codeconnections:eu-west-1:123456789012:connection/0f5c6b8e-1111-2222-3333-444455556666' } },
    { pipelineExecutionId: 'c9d0e1f2-0000-4000-8000-000000000003', status: 'Succeeded', startTime: new Date('2026-11-21T09:00:00Z'), trigger: { triggerType: 'Webhook' } },
  ] });
  mocks.eks.on(DescribeClusterCommand).resolves({ cluster: { name: 'mlops-dev-training', status: 'ACTIVE', version: '1.35', platformVersion: 'eks.4', health: { issues: [] } } });
  mocks.eks.on(ListNodegroupsCommand).resolves({ nodegroups: ['system'], nextToken: 'page2' });
  mocks.eks.on(ListNodegroupsCommand, { clusterName: 'mlops-dev-training', nextToken: 'page2' }).resolves({ nodegroups: ['gpu-a10g'] });
  mocks.eks.on(DescribeNodegroupCommand, { nodegroupName: 'system' }).resolves({ nodegroup: nodegroup('system') });
  mocks.eks.on(DescribeNodegroupCommand, { nodegroupName: 'gpu-a10g' }).resolves({
    nodegroup: nodegroup('gpu-a10g', { instanceTypes: ['g5.xlarge'], amiType: 'AL2023_x86_64_NVIDIA', scalingConfig: { minSize: 0, maxSize: 4, desiredSize: 1 } }),
  });

  mocks.lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: {} } });
  mocks.lambda.on(GetFunctionConfigurationCommand).resolves({ FunctionName: FUNCTION, Version: '7', State: 'Active', LastUpdateStatus: 'Successful', MemorySize: 2048, PackageType: 'Image' });
  mocks.lambda.on(GetProvisionedConcurrencyConfigCommand).resolves({ Status: 'READY', RequestedProvisionedConcurrentExecutions: 2, AvailableProvisionedConcurrentExecutions: 2, AllocatedProvisionedConcurrentExecutions: 2 });

  mocks.sm.on(DescribeEndpointCommand).resolves({
    EndpointName: ENDPOINT, EndpointStatus: 'InService', EndpointConfigName: 'config-new', CreationTime: T0, LastModifiedTime: new Date('2026-11-22T08:00:00Z'),
    ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 2, DesiredInstanceCount: 2, CurrentWeight: 1, DesiredWeight: 1, DeployedImages: [{ SpecifiedImage: 'img:1', ResolvedImage: 'img@sha256:1' }] }],
  });
  mocks.sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [{ ModelPackageGroupName: GROUP, ModelPackageVersion: 4, ModelApprovalStatus: 'PendingManualApproval', ModelPackageArn: 'arn:4', CreationTime: T0, ModelPackageStatus: 'Completed' }] });
  mocks.sm.on(ListModelPackagesCommand, { ModelApprovalStatus: 'Approved' }).resolves({ ModelPackageSummaryList: [{ ModelPackageGroupName: GROUP, ModelPackageVersion: 3, ModelApprovalStatus: 'Approved', ModelPackageArn: 'arn:3', CreationTime: T0, ModelPackageStatus: 'Completed' }] });

  // Page 1 holds an older image; the newest is on page 2.
  mocks.ecr.on(DescribeImagesCommand).resolves({
    imageDetails: [{ imageDigest: 'sha256:old', imageTags: ['v1'], imagePushedAt: new Date('2026-11-01T00:00:00Z'), imageScanFindingsSummary: { findingSeverityCounts: { CRITICAL: 3 } }, imageScanStatus: { status: 'COMPLETE', description: '' } }],
    nextToken: 'more',
  });
  mocks.ecr.on(DescribeImagesCommand, { nextToken: 'more' }).resolves({
    imageDetails: [{ imageDigest: 'sha256:new', imageTags: ['v2'], imagePushedAt: new Date('2026-11-21T00:00:00Z'), imageSizeInBytes: 1234, imageScanFindingsSummary: { findingSeverityCounts: { MEDIUM: 2, LOW: 5 } }, imageScanStatus: { status: 'COMPLETE', description: '' } }],
  });
}

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (for --json runs). */
   
  readonly json: any;
  /** Questions asked through `confirm`. */
  readonly asked: string[];
}

/** Runs the CLI in-process with the region set, no retry sleeps, and optional answers to confirmation prompts. */
export async function cli(argv: string[], opts: { interactive?: boolean; answer?: boolean } = {}): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const asked: string[] = [];
  const io: Io = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    interactive: opts.interactive ?? false,
    color: false,
    confirm: async (q) => {
      asked.push(q);
      return opts.answer ?? false;
    },
  };
  const code = await run(argv.includes('--region') ? argv : [...argv, '--region', REGION], { io, createAws: (o) => new Aws({ ...o, sleep: async () => undefined }) });
  const stdout = out.join('\n');
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr: err.join('\n'), json, asked };
}

export {
  GetPipelineStateCommand, ListPipelineExecutionsCommand,
  DescribeClusterCommand, DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeImagesCommand, DescribeModelCommand, DescribeModelPackageCommand, DescribeNodegroupCommand,
  DescribeStacksCommand, GetAliasCommand, GetFunctionConfigurationCommand, GetProvisionedConcurrencyConfigCommand, InvokeCommand, InvokeEndpointCommand, ListEndpointConfigsCommand,
  ListModelPackagesCommand, ListNodegroupsCommand, ListVersionsByFunctionCommand, UpdateAliasCommand, UpdateEndpointCommand, UpdateModelPackageCommand,
};
