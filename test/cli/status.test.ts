import {
  awsError, cli, DescribeClusterCommand, DescribeEndpointCommand, DescribeImagesCommand, DescribeNodegroupCommand, DescribeStacksCommand, GetAliasCommand,
  GetProvisionedConcurrencyConfigCommand, healthyStage, ListNodegroupsCommand, mocks, nodegroup, resetMocks, stackMocks,
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
    ]);
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
