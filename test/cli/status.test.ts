import { type GetPipelineStateCommandOutput } from '@aws-sdk/client-codepipeline';
import {
  awsError, cli, DescribeClusterCommand, DescribeEndpointCommand, DescribeImagesCommand, DescribeNodegroupCommand, DescribeStacksCommand, GetAliasCommand,
  GetFunctionConfigurationCommand, GetPipelineStateCommand, GetProvisionedConcurrencyConfigCommand, healthyStage, INFRA_PIPELINE, ListNodegroupsCommand, ListPipelineExecutionsCommand, mocks,
  MODEL_PIPELINE, nodegroup, resetMocks, stackMocks,
} from './fixtures';

describe('status of a healthy stage', () => {
  let r: Awaited<ReturnType<typeof cli>>;
  let table: Awaited<ReturnType<typeof cli>>;
  beforeAll(async () => {
    resetMocks();
    healthyStage();
    r = await cli(['status', '--stage', 'dev', '--json']);
    table = await cli(['status', '--stage', 'dev']);
  });

  test('exits 0 and reports healthy with no problems', () => {
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ stage: 'dev', prefix: 'mlops', region: 'eu-west-1', health: 'ok', healthy: true, problems: [] });
    expect(r.json.stacks.map((s: { name: string }) => s.name)).toEqual([
      'mlops-dev-Network', 'mlops-dev-Data', 'mlops-dev-Alerts', 'mlops-dev-Training', 'mlops-dev-Inference', 'mlops-dev-SageMaker',
      'mlops-dev-Delivery', 'mlops-dev-Monitoring', 'mlops-dev-Experiments',
    ]);
    expect(r.json.stacks.find((x: { part: string }) => x.part === 'Experiments')).toMatchObject({ status: 'UPDATE_COMPLETE', health: 'ok' });
  });

  test('EKS: cluster, node groups from every page, desired/min/max and GPU node count', () => {
    expect(r.json.eks).toMatchObject({
      state: 'deployed', health: 'ok', gpuNodes: 1,
      cluster: { name: 'mlops-dev-training', status: 'ACTIVE', version: '1.35', platformVersion: 'eks.4' },
    });
    expect(r.json.eks.nodegroups).toEqual([
      expect.objectContaining({ name: 'system', status: 'ACTIVE', desired: 2, min: 2, max: 4, gpu: false }),
      expect.objectContaining({ name: 'gpu-a10g', status: 'ACTIVE', desired: 1, min: 0, max: 4, gpu: true, instanceTypes: ['g5.xlarge'] }),
    ]);
    expect(mocks.eks.commandCalls(ListNodegroupsCommand)).toHaveLength(4); // two pages, json and table runs
  });

  test('Lambda: alias routing, function state and provisioned concurrency', () => {
    expect(r.json.lambda).toMatchObject({
      state: 'deployed', health: 'ok', functionName: 'mlops-dev-inference', alias: 'live', version: '7', canary: false,
      routing: [{ version: '7', weight: 1 }],
      function: { state: 'Active', lastUpdateStatus: 'Successful', memoryMb: 2048 },
      provisionedConcurrency: { status: 'READY', requested: 2, allocated: 2 },
    });
  });

  test('SageMaker: endpoint status, variants, instance counts, last deployment and model groups', () => {
    expect(r.json.sagemaker.endpoints).toEqual([expect.objectContaining({
      name: 'mlops-dev-endpoint', status: 'InService', health: 'ok', config: 'config-new', lastModified: '2026-11-22T08:00:00.000Z',
      variants: [expect.objectContaining({ name: 'AllTraffic', currentInstances: 2, desiredInstances: 2, image: 'img@sha256:1' })],
    })]);
    expect(r.json.sagemaker.modelPackageGroups).toEqual([{ name: 'mlops-dev-models', latestVersion: 4, latestApprovalStatus: 'PendingManualApproval', approvedVersion: 3 }]);
  });

  test('ECR: the latest image across pages with findings by severity', () => {
    expect(r.json.ecr.repositories).toEqual([
      expect.objectContaining({ name: 'inference', repositoryName: 'mlops-dev-inference', health: 'ok' }),
      expect.objectContaining({ name: 'training', repositoryName: 'mlops-dev-training', health: 'ok' }),
    ]);
    expect(r.json.ecr.repositories[1].latestImage).toMatchObject({ tags: ['v2'], digest: 'sha256:new', scanStatus: 'COMPLETE', findings: { MEDIUM: 2, LOW: 5 } });
    expect(mocks.ecr.commandCalls(DescribeImagesCommand, { registryId: '123456789012', repositoryName: 'mlops-dev-training' })).toHaveLength(4);
  });

  test('pipelines: the model pipeline\'s last run, and the infrastructure pipeline\'s running and last finished run', () => {
    expect(r.json.pipelines.state).toBe('deployed');
    expect(r.json.pipelines.pipelines).toEqual([
      expect.objectContaining({
        name: MODEL_PIPELINE, kind: 'model', stack: 'mlops-dev-Delivery', health: 'ok', pendingApprovals: [], disabledTransitions: [],
        consoleLink: `https://console.aws.amazon.com/codepipeline/home?region=eu-west-1#/view/${MODEL_PIPELINE}`,
        lastExecution: {
          id: 'a1b2c3d4-0000-4000-8000-000000000001', status: 'Succeeded', started: '2026-11-20T10:00:00.000Z', updated: '2026-11-20T11:30:00.000Z',
          trigger: { type: 'CloudWatchEvent', detail: 'arn:aws:events:eu-west-1:123456789012:rule/mlops-dev-Delivery-SourceUploaded' },
          revisions: [{ action: 'Source', revision: 'v3.IYqSvF4X' }],
        },
      }),
      expect.objectContaining({
        name: INFRA_PIPELINE, kind: 'infrastructure', stack: 'mlops-Pipeline', health: 'ok',
        lastExecution: expect.objectContaining({ id: 'e5f6a7b8-0000-4000-8000-000000000002', status: 'InProgress', trigger: expect.objectContaining({ type: 'Webhook' }) }),
        lastFinished: expect.objectContaining({ id: 'c9d0e1f2-0000-4000-8000-000000000003', status: 'Succeeded' }),
      }),
    ]);
    expect(mocks.cp.commandCalls(ListPipelineExecutionsCommand, { pipelineName: MODEL_PIPELINE })[0].args[0].input).toEqual({ pipelineName: MODEL_PIPELINE, maxResults: 10 });
  });

  test('the human table (backstop snapshot)', () => {
    expect(table.code).toBe(0);
    expect(table.stdout).toMatchSnapshot();
  });
});

describe('status of an unhealthy stage', () => {
  beforeEach(() => resetMocks());

  test('degraded node group: exit 1, the node group and its health issue named', async () => {
    healthyStage();
    mocks.eks.on(DescribeNodegroupCommand, { nodegroupName: 'gpu-a10g' }).resolves({
      nodegroup: nodegroup('gpu-a10g', { status: 'DEGRADED', amiType: 'AL2023_x86_64_NVIDIA', health: { issues: [{ code: 'AsgInstanceLaunchFailures', message: 'Could not launch On-Demand Instances. InsufficientInstanceCapacity' }] } }),
    });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.healthy).toBe(false);
    expect(r.json.eks.health).toBe('error');
    expect(r.json.problems).toEqual([{
      component: 'eks', resource: 'node group gpu-a10g', health: 'error',
      message: 'DEGRADED; AsgInstanceLaunchFailures: Could not launch On-Demand Instances. InsufficientInstanceCapacity',
    }]);
  });

  test('failed endpoint: exit 1 with the failure reason', async () => {
    healthyStage();
    mocks.sm.on(DescribeEndpointCommand).resolves({ EndpointName: 'mlops-dev-endpoint', EndpointStatus: 'Failed', FailureReason: 'The primary container for production variant AllTraffic did not pass the ping health check.', ProductionVariants: [] });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.sagemaker.endpoints[0]).toMatchObject({ status: 'Failed', health: 'error' });
    expect(r.json.problems).toEqual([expect.objectContaining({ component: 'sagemaker', resource: 'endpoint mlops-dev-endpoint', health: 'error', message: expect.stringMatching(/^Failed: The primary container .* ping health check/) })]);
  });

  test('alias mid-canary: a warning with the traffic split, exit 0', async () => {
    healthyStage();
    mocks.lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { 8: 0.1 } } });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.health).toBe('warn');
    expect(r.json.lambda).toMatchObject({ canary: true, health: 'warn', routing: [{ version: '7', weight: 0.9 }, { version: '8', weight: 0.1 }] });
    expect(r.json.problems).toEqual([{ component: 'lambda', resource: 'mlops-dev-inference:live', health: 'warn', message: 'deployment in progress: 90% to version 7, 10% to version 8' }]);
  });

  test('image with critical findings: exit 1, counts by severity', async () => {
    healthyStage();
    mocks.ecr.on(DescribeImagesCommand, { repositoryName: 'mlops-dev-inference' }).resolves({
      imageDetails: [{ imageDigest: 'sha256:bad', imageTags: ['v9'], imagePushedAt: new Date(), imageScanFindingsSummary: { findingSeverityCounts: { CRITICAL: 2, HIGH: 7 } }, imageScanStatus: { status: 'COMPLETE', description: '' } }],
    });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    const repo = r.json.ecr.repositories.find((x: { name: string }) => x.name === 'inference');
    expect(repo).toMatchObject({ health: 'error', latestImage: { tags: ['v9'], findings: { CRITICAL: 2, HIGH: 7 } } });
    expect(r.json.problems).toEqual([{ component: 'ecr', resource: 'mlops-dev-inference', health: 'error', message: '2 critical and 7 high vulnerabilities in mlops-dev-inference:v9' }]);
  });

  test('failed stack update: the stack is reported with its reason', async () => {
    healthyStage();
    stackMocks(undefined, { Alerts: { StackStatus: 'UPDATE_ROLLBACK_FAILED', StackStatusReason: 'Resource handler returned message: "Access denied"' } });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.problems).toEqual([expect.objectContaining({ component: 'stacks', resource: 'mlops-dev-Alerts', health: 'error', message: expect.stringContaining('UPDATE_ROLLBACK_FAILED') })]);
  });
});

describe('status: deployment shape and AWS errors', () => {
  beforeEach(() => resetMocks());

  test('missing stage: exit 3, names the missing stacks', async () => {
    stackMocks([]);
    const r = await cli(['status', '--stage', 'dev']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('error: Stage "dev" is not deployed in eu-west-1: stacks mlops-dev-Network, mlops-dev-Data not found. Deploy it with `npx cdk deploy --all -c stage=dev`, or check --stage, --prefix and --region.');
    expect(r.stdout).toBe('');
  });

  test('missing stage in JSON mode: an error document on stdout', async () => {
    stackMocks([]);
    const r = await cli(['status', '--stage', 'dev', '--output', 'json']);
    expect(r.code).toBe(3);
    expect(r.json).toEqual({ error: { kind: 'not-deployed', message: expect.stringContaining('is not deployed') } });
  });

  test('optional components off: reported as disabled, not as errors', async () => {
    healthyStage();
    stackMocks(['Network', 'Data', 'Alerts']);
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ eks: { state: 'disabled' }, lambda: { state: 'disabled' }, sagemaker: { state: 'disabled' }, healthy: true });
    expect(mocks.eks.calls()).toHaveLength(0);
    const table = await cli(['status', '--stage', 'dev']);
    expect(table.stdout).toContain('EKS: not deployed (disabled in this stage)');
  });

  test('outputs of a stage without endpoints or front door ("none") are not taken for names', async () => {
    healthyStage();
    stackMocks(undefined, {
      SageMaker: { Outputs: [{ OutputKey: 'EndpointNames', OutputValue: 'none' }, { OutputKey: 'ModelPackageGroupNames', OutputValue: 'none' }] },
      Inference: { Outputs: [{ OutputKey: 'InferenceFunctionName', OutputValue: 'mlops-dev-inference' }, { OutputKey: 'InferenceAliasName', OutputValue: 'live' }, { OutputKey: 'InferenceUrl', OutputValue: 'none (frontDoor.kind is "none": invoke the alias with lambda:InvokeFunction)' }] },
    });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.sagemaker).toEqual({ state: 'deployed', health: 'ok', endpoints: [], modelPackageGroups: [] });
    expect(r.json.lambda.url).toBeUndefined();
    expect(mocks.sm.calls()).toHaveLength(0);
  });

  test('access denied on discovery: exit 4 naming the action AWS reported', async () => {
    mocks.cfn.on(DescribeStacksCommand).rejects(awsError('AccessDenied', 'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:eu-west-1:123456789012:stack/mlops-dev-Network/*', 403));
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(4);
    expect(r.json.error).toMatchObject({ kind: 'access-denied', action: 'cloudformation:DescribeStacks' });
    expect(r.stderr).toMatch(/^error: Access denied: the caller is missing permission cloudformation:DescribeStacks/);
  });

  test('access denied on one component: that component is unreadable, the rest is reported, exit 1', async () => {
    healthyStage();
    mocks.eks.on(DescribeClusterCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform this operation', 403));
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.eks).toEqual({ state: 'unreadable', health: 'error', message: expect.stringContaining('missing permission eks:DescribeCluster') });
    expect(r.json.lambda.health).toBe('ok');
  });

  test('resources in the outputs but gone: endpoint, repository and cluster are named', async () => {
    healthyStage();
    mocks.sm.on(DescribeEndpointCommand).rejects(awsError('ValidationException', 'Could not find endpoint "mlops-dev-endpoint".'));
    mocks.ecr.on(DescribeImagesCommand, { repositoryName: 'mlops-dev-training' }).rejects(awsError('RepositoryNotFoundException', "The repository with name 'mlops-dev-training' does not exist"));
    mocks.eks.on(DescribeClusterCommand).rejects(awsError('ResourceNotFoundException', 'No cluster found for name: mlops-dev-training.', 404));
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.problems).toEqual([
      { component: 'eks', resource: 'cluster mlops-dev-training', health: 'error', message: 'cluster mlops-dev-training is in the Training stack outputs but does not exist' },
      { component: 'sagemaker', resource: 'endpoint mlops-dev-endpoint', health: 'error', message: 'listed in the SageMaker stack outputs but does not exist' },
      { component: 'ecr', resource: 'mlops-dev-training', health: 'error', message: 'listed in the Data stack outputs but the repository does not exist' },
    ]);
  });

  test('no provisioned concurrency on the alias is not a problem', async () => {
    healthyStage();
    mocks.lambda.on(GetProvisionedConcurrencyConfigCommand).rejects(awsError('ProvisionedConcurrencyConfigNotFoundException', 'No Provisioned Concurrency Config found for this function', 404));
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.lambda.provisionedConcurrency).toBeNull();
  });

  test('throttled then ok: retried, and the report is complete', async () => {
    healthyStage();
    mocks.eks.on(DescribeClusterCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded', 429))
      .resolves({ cluster: { name: 'mlops-dev-training', status: 'ACTIVE', version: '1.35' } });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.eks.cluster.status).toBe('ACTIVE');
    expect(mocks.eks.commandCalls(DescribeClusterCommand)).toHaveLength(2);
  });

  test('throttled for good: exit 4 with a clear message after the retries', async () => {
    mocks.cfn.on(DescribeStacksCommand).rejects(awsError('Throttling', 'Rate exceeded', 400));
    const r = await cli(['status', '--stage', 'dev']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('AWS is throttling cloudformation:DescribeStacks (Throttling) and it still failed after 3 retries with backoff');
    // 9 stacks (Network … SageMaker, Delivery, Monitoring, Experiments), each tried once plus 3 retries.
    expect(mocks.cfn.commandCalls(DescribeStacksCommand)).toHaveLength(36);
  });

  test('no credentials: exit 4 saying how to provide them', async () => {
    mocks.cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const r = await cli(['status', '--stage', 'dev']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: No AWS credentials found\. Pass --profile/);
  });

  test('expired credentials: exit 4', async () => {
    mocks.cfn.on(DescribeStacksCommand).rejects(awsError('ExpiredToken', 'The security token included in the request is expired', 403));
    const r = await cli(['status', '--stage', 'dev']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('AWS rejected the credentials (ExpiredToken)');
  });
});

describe('status: pipelines', () => {
  beforeEach(() => resetMocks());
  const HOUR = 3600 * 1000;
  const approvalState = (waitingSince: Date): GetPipelineStateCommandOutput => ({ $metadata: {}, pipelineName: INFRA_PIPELINE, stageStates: [
    { stageName: 'Staging', inboundTransitionState: { enabled: true }, latestExecution: { pipelineExecutionId: 'e5f6a7b8-0000-4000-8000-000000000002', status: 'InProgress' }, actionStates: [
      { actionName: 'Approve-Staging', latestExecution: { status: 'InProgress', lastStatusChange: waitingSince, token: '1a2b3c4d-573f-4ea7-a67e-00000000abcd' } },
      { actionName: 'Deploy' },
    ] },
  ] });

  test('a pending approval: stage/action, since when, when it expires and the approval link; exit 0, no problem', async () => {
    healthyStage();
    const since = new Date(Date.now() - 2 * HOUR);
    mocks.cp.on(GetPipelineStateCommand, { name: INFRA_PIPELINE }).resolves(approvalState(since));
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.problems).toEqual([]);
    const infra = r.json.pipelines.pipelines.find((p: { kind: string }) => p.kind === 'infrastructure');
    expect(infra.pendingApprovals).toEqual([{
      stage: 'Staging', action: 'Approve-Staging', since: since.toISOString(), expires: new Date(since.getTime() + 7 * 24 * HOUR).toISOString(),
      executionId: 'e5f6a7b8-0000-4000-8000-000000000002',
      link: 'https://console.aws.amazon.com/codepipeline/home?region=eu-west-1#/view/mlops-Infrastructure/Staging/Approve-Staging/approve/1a2b3c4d-573f-4ea7-a67e-00000000abcd',
    }]);
    const table = await cli(['status', '--stage', 'dev']);
    expect(table.stdout).toContain('Pending approvals\n  mlops-Infrastructure Staging/Approve-Staging: waiting since ');
    expect(table.stdout).toContain('    https://console.aws.amazon.com/codepipeline/home?region=eu-west-1#/view/mlops-Infrastructure/Staging/Approve-Staging/approve/1a2b3c4d-573f-4ea7-a67e-00000000abcd');
  });

  test('an approval within a day of its 7-day timeout: a warning, exit 0', async () => {
    healthyStage();
    mocks.cp.on(GetPipelineStateCommand, { name: INFRA_PIPELINE }).resolves(approvalState(new Date(Date.now() - 6.5 * 24 * HOUR)));
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.health).toBe('warn');
    expect(r.json.problems).toEqual([expect.objectContaining({ component: 'pipelines', resource: 'infrastructure pipeline mlops-Infrastructure', health: 'warn', message: expect.stringMatching(/^approval Staging\/Approve-Staging expires 20\d\d-/) })]);
  });

  test('a failed last run: where it stopped and why, as a warning (a delivery result, not a broken stage), exit 0', async () => {
    healthyStage();
    mocks.cp.on(ListPipelineExecutionsCommand, { pipelineName: MODEL_PIPELINE }).resolves({ pipelineExecutionSummaries: [
      { pipelineExecutionId: 'f0000000-0000-4000-8000-000000000009', status: 'Failed', startTime: new Date('2026-11-23T09:30:00Z'), trigger: { triggerType: 'StartPipelineExecution', triggerDetail: 'arn:aws:sts::123456789012:assumed-role/ops/alice' } },
    ] });
    mocks.cp.on(GetPipelineStateCommand, { name: MODEL_PIPELINE }).resolves({ stageStates: [
      { stageName: 'Train', latestExecution: { pipelineExecutionId: 'f0000000-0000-4000-8000-000000000009', status: 'Succeeded' }, actionStates: [{ actionName: 'Train', latestExecution: { status: 'Succeeded' } }] },
      { stageName: 'Evaluate', latestExecution: { pipelineExecutionId: 'f0000000-0000-4000-8000-000000000009', status: 'Failed' }, actionStates: [
        { actionName: 'Evaluate', latestExecution: { status: 'Failed', errorDetails: { code: 'JobFailed', message: 'validation:accuracy 0.71 is below the threshold 0.8' } } },
      ] },
    ] });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    const model = r.json.pipelines.pipelines[0];
    expect(model).toMatchObject({ health: 'warn', lastExecution: { status: 'Failed', failure: { stage: 'Evaluate', action: 'Evaluate', message: 'validation:accuracy 0.71 is below the threshold 0.8' }, trigger: { type: 'StartPipelineExecution' } } });
    expect(r.json.problems).toEqual([{
      component: 'pipelines', resource: `model pipeline ${MODEL_PIPELINE}`, health: 'warn',
      message: 'last execution f0000000-0000-4000-8000-000000000009 failed at Evaluate/Evaluate: validation:accuracy 0.71 is below the threshold 0.8',
    }]);
    const table = await cli(['status', '--stage', 'dev']);
    expect(table.stdout).toMatch(new RegExp(`${MODEL_PIPELINE}\\s+model delivery\\s+Failed at Evaluate/Evaluate\\s+f0000000\\s+2026-11-23 09:30Z\\s+WARN\\s+StartPipelineExecution arn:aws:sts::123456789012:assumed-role/ops/alice`));
  });

  test('a disabled transition: a warning naming the stage and the reason', async () => {
    healthyStage();
    mocks.cp.on(GetPipelineStateCommand, { name: INFRA_PIPELINE }).resolves({ stageStates: [
      { stageName: 'Prod', inboundTransitionState: { enabled: false, disabledReason: 'change freeze', lastChangedBy: 'arn:aws:sts::123456789012:assumed-role/ops/bob', lastChangedAt: new Date('2026-11-22T12:00:00Z') } },
    ] });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.pipelines.pipelines[1].disabledTransitions).toEqual([{ stage: 'Prod', reason: 'change freeze', since: '2026-11-22T12:00:00.000Z' }]);
    expect(r.json.problems).toEqual([expect.objectContaining({ component: 'pipelines', health: 'warn', message: 'transition into stage Prod is disabled: change freeze (by arn:aws:sts::123456789012:assumed-role/ops/bob)' })]);
  });

  test('a pipeline that never ran, and one named in the outputs but gone (exit 1)', async () => {
    healthyStage();
    mocks.cp.on(ListPipelineExecutionsCommand, { pipelineName: MODEL_PIPELINE }).resolves({ pipelineExecutionSummaries: [] });
    mocks.cp.on(GetPipelineStateCommand, { name: INFRA_PIPELINE }).rejects(awsError('PipelineNotFoundException', `Account '123456789012' does not have a pipeline with name '${INFRA_PIPELINE}'`));
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.pipelines.pipelines[0]).toMatchObject({ health: 'ok', lastExecution: null });
    expect(r.json.problems).toEqual([{ component: 'pipelines', resource: `infrastructure pipeline ${INFRA_PIPELINE}`, health: 'error', message: 'named in the mlops-Pipeline stack outputs but does not exist' }]);
    const table = await cli(['status', '--stage', 'dev']);
    expect(table.stdout).toMatch(/model delivery\s+never ran/);
  });

  test('access denied on a pipeline: the pipelines are unreadable naming the action, the rest is reported, exit 1', async () => {
    healthyStage();
    mocks.cp.on(GetPipelineStateCommand).rejects(awsError('AccessDeniedException', `User: arn:aws:sts::123456789012:assumed-role/deploy/gh is not authorized to perform: codepipeline:GetPipelineState on resource: arn:aws:codepipeline:eu-west-1:123456789012:${MODEL_PIPELINE}`, 400));
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.pipelines).toEqual({ state: 'unreadable', health: 'error', message: expect.stringContaining('missing permission codepipeline:GetPipelineState') });
    expect(r.json.eks.health).toBe('ok');
  });

  test('the infrastructure pipeline\'s stack cannot be read: unreadable, not a failed discovery', async () => {
    healthyStage();
    mocks.cfn.on(DescribeStacksCommand, { StackName: 'mlops-Pipeline' }).rejects(awsError('AccessDenied', 'User is not authorized to perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:eu-west-1:123456789012:stack/mlops-Pipeline/*', 403));
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.pipelines).toMatchObject({ state: 'unreadable', message: expect.stringContaining('cloudformation:DescribeStacks') });
    expect(r.json.stacks).toHaveLength(9);
  });

  test('no pipelines (no model pipeline, no infrastructure pipeline here): reported as none, no CodePipeline call', async () => {
    healthyStage();
    stackMocks(['Network', 'Data', 'Alerts', 'Delivery'], { Delivery: { Outputs: [{ OutputKey: 'GitHubDeployRoleArn', OutputValue: 'arn:aws:iam::123456789012:role/gh' }] } });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.pipelines).toEqual({ state: 'disabled' });
    expect(mocks.cp.calls()).toHaveLength(0);
    const table = await cli(['status', '--stage', 'dev']);
    expect(table.stdout).toContain('Pipelines: none in this stage');
  });
});

describe('status: a Lambda function model pipelines promote to', () => {
  test('names the model package the alias\'s version serves (its MODEL_PACKAGE_ARN)', async () => {
    resetMocks();
    healthyStage();
    const arn = 'arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-dev-lambda-inference/4';
    mocks.lambda.on(GetFunctionConfigurationCommand).resolves({ Version: '7', State: 'Active', LastUpdateStatus: 'Successful', MemorySize: 2048, PackageType: 'Image', Environment: { Variables: { MODEL_PACKAGE_ARN: arn, MODEL_S3_KEY: 'lambda-models/x/v4-0a1b2c3d/model.onnx' } } });
    const r = await cli(['status', '--stage', 'dev', '--json']);
    expect(r.json.lambda).toMatchObject({ version: '7', modelPackageArn: arn });
    expect((await cli(['status', '--stage', 'dev'])).stdout).toContain(`version 7 serves model package ${arn}`);
  });
});
