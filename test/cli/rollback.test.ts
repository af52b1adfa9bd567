import {
  awsError, cli, DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, ENDPOINT, FUNCTION, GetAliasCommand, ListEndpointConfigsCommand,
  ListVersionsByFunctionCommand, mocks, resetMocks, stackMocks, UpdateAliasCommand, UpdateEndpointCommand,
} from './fixtures';

const ROLE = 'arn:aws:iam::123456789012:role/mlops-dev-SageMaker-EndpointRole';
const OTHER_ROLE = 'arn:aws:iam::123456789012:role/other-team-endpoint';

const summary = (name: string) => ({ EndpointConfigName: name, EndpointConfigArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint-config/${name}`, CreationTime: new Date('2026-11-01T00:00:00Z') });

function lambdaVersions(): void {
  mocks.lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [{ Version: '$LATEST' }, { Version: '5', State: 'Active' }, { Version: '6', State: 'Active', LastModified: '2026-11-20T10:00:00.000+0000' }], NextMarker: 'm2' });
  mocks.lambda.on(ListVersionsByFunctionCommand, { Marker: 'm2' }).resolves({ Versions: [{ Version: '7', State: 'Active' }, { Version: '8', State: 'Active' }] });
  mocks.lambda.on(UpdateAliasCommand).resolves({});
}

/** Endpoint on config-new; older configs: one of another endpoint (other role), one whose model is gone, then ours. */
function endpointHistory(): void {
  mocks.sm.on(DescribeEndpointCommand).resolves({ EndpointName: ENDPOINT, EndpointStatus: 'InService', EndpointConfigName: 'config-new', CreationTime: new Date(), LastModifiedTime: new Date('2026-11-22T08:00:00Z') });
  const configs: Record<string, { model: string; created: string }> = {
    'config-new': { model: 'model-new', created: '2026-11-22T07:50:00Z' },
    'config-other': { model: 'model-other', created: '2026-11-21T00:00:00Z' },
    'config-gone': { model: 'model-deleted', created: '2026-11-20T00:00:00Z' },
    'config-old': { model: 'model-old', created: '2026-11-19T00:00:00Z' },
  };
  mocks.sm.on(DescribeEndpointConfigCommand).callsFake((input: { EndpointConfigName: string }) => {
    const c = configs[input.EndpointConfigName];
    if (!c) throw awsError('ValidationException', `Could not find endpoint configuration "${input.EndpointConfigName}".`);
    return { EndpointConfigName: input.EndpointConfigName, CreationTime: new Date(c.created), ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: c.model }] };
  });
  mocks.sm.on(DescribeModelCommand).callsFake((input: { ModelName: string }) => {
    if (input.ModelName === 'model-deleted') throw awsError('ValidationException', `Could not find model "${input.ModelName}".`);
    return { ModelName: input.ModelName, ExecutionRoleArn: input.ModelName === 'model-other' ? OTHER_ROLE : ROLE };
  });
  mocks.sm.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [summary('config-other')], NextToken: 'n2' });
  mocks.sm.on(ListEndpointConfigsCommand, { NextToken: 'n2' }).resolves({ EndpointConfigs: [summary('config-gone'), summary('config-old')] });
  mocks.sm.on(UpdateEndpointCommand).resolves({ EndpointArn: 'arn' });
}

beforeEach(() => resetMocks());

describe('rollback --target lambda', () => {
  test('points the alias at the previous published version (versions over two pages)', async () => {
    stackMocks();
    lambdaVersions();
    mocks.lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'lambda', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ target: 'lambda', resource: `${FUNCTION}:live`, from: 'version 7', to: 'version 6 (100%)', changed: true });
    expect(mocks.lambda.commandCalls(UpdateAliasCommand)[0].args[0].input).toEqual({ FunctionName: FUNCTION, Name: 'live', FunctionVersion: '6', RoutingConfig: { AdditionalVersionWeights: {} } });
    expect(r.stderr).toContain(`Roll back ${FUNCTION}:live: version 7 -> version 6 (100%)`);
  });

  test('mid-canary: drops the new version\'s share and keeps the stable version', async () => {
    stackMocks();
    lambdaVersions();
    mocks.lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { 8: 0.1 } } });
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'lambda', '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Alias mlops-dev-inference:live now sends all traffic to version 7 \(was version 7 \+ 10% to version 8\)\./);
    expect(r.stdout).toContain('note: CodeDeploy manages this alias');
    expect(mocks.lambda.commandCalls(UpdateAliasCommand)[0].args[0].input).toMatchObject({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: {} } });
    expect(mocks.lambda.commandCalls(ListVersionsByFunctionCommand)).toHaveLength(0);
  });

  test('--to-version picks a version; an unknown one is exit 3', async () => {
    stackMocks();
    lambdaVersions();
    mocks.lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '8' });
    const ok = await cli(['rollback', '--stage', 'dev', '--target', 'lambda', '--to-version', '5', '--yes']);
    expect(ok.code).toBe(0);
    expect(mocks.lambda.commandCalls(UpdateAliasCommand)[0].args[0].input.FunctionVersion).toBe('5');
    const missing = await cli(['rollback', '--stage', 'dev', '--target', 'lambda', '--to-version', '42', '--yes']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(`error: ${FUNCTION} has no published version 42; it has 5, 6, 7, 8.`);
  });

  test('no older version: exit 1, nothing changed', async () => {
    stackMocks();
    mocks.lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '1' });
    mocks.lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [{ Version: '$LATEST' }, { Version: '1' }] });
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'lambda', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${FUNCTION} has no published version older than 1 to roll back to.`);
    expect(mocks.lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  test('without --yes in CI: refuses with exit 2', async () => {
    stackMocks();
    lambdaVersions();
    mocks.lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'lambda']);
    expect(r.code).toBe(2);
    expect(mocks.lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  test('stage without the Lambda inference: exit 3', async () => {
    stackMocks(['Network', 'Data']);
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'lambda', '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('error: Stage "dev" deploys no Lambda inference (stack mlops-dev-Inference not found).');
  });

  test('access denied on UpdateAlias: exit 4 naming lambda:UpdateAlias', async () => {
    stackMocks();
    lambdaVersions();
    mocks.lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    mocks.lambda.on(UpdateAliasCommand).rejects(awsError('AccessDeniedException', 'not authorized', 403));
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'lambda', '--yes']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/missing permission lambda:UpdateAlias/);
  });
});

describe('rollback --target endpoint', () => {
  test('finds the previous config of the same endpoint (same role, models exist) and updates to it', async () => {
    stackMocks();
    endpointHistory();
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ target: 'endpoint', resource: ENDPOINT, from: 'config-new', to: 'config-old', changed: true });
    expect(mocks.sm.commandCalls(UpdateEndpointCommand)[0].args[0].input).toEqual({ EndpointName: ENDPOINT, EndpointConfigName: 'config-old', RetainDeploymentConfig: false });
    const list = mocks.sm.commandCalls(ListEndpointConfigsCommand)[0].args[0].input;
    expect(list).toMatchObject({ SortBy: 'CreationTime', SortOrder: 'Descending', CreationTimeBefore: new Date('2026-11-22T07:50:00Z') });
  });

  test('--to-config: used as given after checking it exists', async () => {
    stackMocks();
    endpointHistory();
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--to-config', 'config-other', '--yes']);
    expect(r.code).toBe(0);
    expect(mocks.sm.commandCalls(UpdateEndpointCommand)[0].args[0].input.EndpointConfigName).toBe('config-other');
    const missing = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--to-config', 'nope', '--yes']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('error: Endpoint config nope does not exist.');
  });

  test('no earlier config of this endpoint: exit 1 asking for --to-config', async () => {
    stackMocks();
    endpointHistory();
    mocks.sm.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [summary('config-other')] });
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Found no earlier endpoint config of mlops-dev-endpoint .* pass --to-config <name>\./);
    expect(mocks.sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  test('endpoint failed or updating: exit 1, SageMaker cannot update it', async () => {
    stackMocks();
    endpointHistory();
    mocks.sm.on(DescribeEndpointCommand).resolves({ EndpointName: ENDPOINT, EndpointStatus: 'Updating', EndpointConfigName: 'config-new' });
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: Endpoint mlops-dev-endpoint is Updating; SageMaker only updates an InService endpoint. A deployment is running (its guardrails roll back on alarms); wait for it to finish.');
    mocks.sm.on(DescribeEndpointCommand).resolves({ EndpointName: ENDPOINT, EndpointStatus: 'Failed', FailureReason: 'ping health check failed' });
    const failed = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--yes']);
    expect(failed.stderr).toContain('is Failed; SageMaker only updates an InService endpoint. ping health check failed');
  });

  test('several endpoints need --endpoint; an unknown one is a usage error', async () => {
    stackMocks(undefined, { SageMaker: { Outputs: [{ OutputKey: 'EndpointNames', OutputValue: 'a-endpoint,b-endpoint' }] } });
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: Stage "dev" has several endpoints; choose one with --endpoint: a-endpoint, b-endpoint.');
    const unknown = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--endpoint', 'c', '--yes']);
    expect(unknown.stderr).toBe('error: --endpoint c is not an endpoint of stage "dev"; it has a-endpoint, b-endpoint.');
  });

  test('missing stage: exit 3', async () => {
    stackMocks([]);
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--yes']);
    expect(r.code).toBe(3);
  });

  test('throttled then ok while searching the history', async () => {
    stackMocks();
    endpointHistory();
    mocks.sm.on(DescribeModelCommand, { ModelName: 'model-new' }).rejectsOnce(awsError('ThrottlingException', 'Rate exceeded')).resolves({ ExecutionRoleArn: ROLE });
    const r = await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--yes']);
    expect(r.code).toBe(0);
    expect(mocks.sm.commandCalls(UpdateEndpointCommand)[0].args[0].input.EndpointConfigName).toBe('config-old');
  });
});

describe('rollback arguments', () => {
  test('--target is required and checked, options must fit the target', async () => {
    expect((await cli(['rollback', '--stage', 'dev'])).stderr).toBe('error: --target is required: use lambda or endpoint.');
    expect((await cli(['rollback', '--stage', 'dev', '--target', 'ecs'])).stderr).toBe('error: --target "ecs" is not allowed: use lambda or endpoint.');
    expect((await cli(['rollback', '--stage', 'dev', '--target', 'lambda', '--to-config', 'x'])).stderr).toBe('error: --to-config is only allowed with --target endpoint.');
    expect((await cli(['rollback', '--stage', 'dev', '--target', 'endpoint', '--to-version', '3'])).code).toBe(2);
    expect(mocks.cfn.calls()).toHaveLength(0);
  });
});
