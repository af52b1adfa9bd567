import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { stringify } from 'yaml';
import { buildPlatform } from '../../lib/app';
import { STACK_PARTS } from '../../lib/cli/discovery';
import { loadStageConfig, STAGE_NAMES } from '../../lib/config';
import { githubProviderProblems } from '../../lib/config/components/pipelines';
import { ACCOUNTS, type AccessRequest, decide, type FoundResource, identityPoliciesOf, REGION, resourceOf, resourcePolicyOf, synthesizedPlatform, type SynthesizedPlatform } from './support';

// The GitOps journey: push → one synth of platform.yaml → dev via OIDC → post-deploy checks → diff → staging/prod
// behind protected environments. The workflow's own shape is proven in test/pipelines/deploy-workflow.test.ts;
// here every AWS call a job makes is simulated with the role that job assumes, on the exact ARN, over the
// everything-on platform with one account per stage.
const ROOT = path.join(__dirname, '..', '..');
type Stage = (typeof STAGE_NAMES)[number];

describe('GitOps journey over the everything-on platform (one account per stage)', () => {
  let platform: SynthesizedPlatform;
  const role = (stage: Stage, kind: 'Role' | 'DiffRole'): FoundResource => platform.only('AWS::IAM::Role', `${stage}/Delivery`, (r) => r.logicalId.startsWith(`GitHubDeploy${kind}`));
  beforeAll(() => { platform = synthesizedPlatform('allOn'); });

  // Finding a role's policies and a target's resource policy scans the whole assembly; do it once per role and
  // target. Stacks, SageMaker endpoints, bootstrap roles and names no stage creates have no resource policy.
  const identities = new Map<string, ReturnType<typeof identityPoliciesOf>>();
  const resourcePolicies = new Map<string, unknown>();
  const ask = (stage: Stage, kind: 'Role' | 'DiffRole', action: string, resource: string, target?: 'lookup'): Promise<string> => {
    const r = role(stage, kind);
    if (!identities.has(r.arn)) identities.set(r.arn, identityPoliciesOf(platform, r));
    let resourcePolicy: unknown = null;
    if (target === 'lookup') {
      const base = resource.replace(/^(arn:aws:lambda:[^:]+:\d+:function:[^:]+):.*$/, '$1');
      if (!resourcePolicies.has(base)) {
        const found = resourceOf(platform, base);
        resourcePolicies.set(base, found ? resourcePolicyOf(platform, found, resource) ?? null : null);
      }
      resourcePolicy = resourcePolicies.get(base);
    }
    const request: AccessRequest = { principal: r.arn, action, resource, identityPolicies: identities.get(r.arn), resourcePolicy };
    return decide(platform, request);
  };

  test.each(STAGE_NAMES)('%s: the deploy role trusts only that GitHub environment, through its own account\'s OIDC provider (imported, not created)', (stage) => {
    const trust = role(stage, 'Role').properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toEqual([expect.objectContaining({
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: `arn:aws:iam::${ACCOUNTS[stage]}:oidc-provider/token.actions.githubusercontent.com` },
      Condition: { StringEquals: expect.objectContaining({ 'token.actions.githubusercontent.com:sub': expect.arrayContaining([`repo:acme/ml-platform:environment:${stage}`]) }) },
    })]);
    expect(role(stage, 'Role').properties.MaxSessionDuration).toBeGreaterThanOrEqual(7200);
  });

  test('at most one OIDC provider per account across every stage (the standalone stages)', () => {
    const perAccount = new Map<string, number>();
    for (const p of platform.resources('AWS::IAM::OIDCProvider').filter((r) => !r.stack.id.startsWith('Pipeline/'))) {
      perAccount.set(p.stack.account, (perAccount.get(p.stack.account) ?? 0) + 1);
    }
    expect([...perAccount.values()].every((n) => n <= 1)).toBe(true);
  });

  // dev (which also hosts the model pipeline) and prod; staging's role is the same construct, simulated below.
  test.each(['dev', 'prod'] as const)('%s: every call of `cdk-mlops status` and `smoke` the workflow makes is allowed to the deploy role', async (stage) => {
    const account = ACCOUNTS[stage];
    const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${account}:${resource}`;
    const requests: { action: string; resource: string; target?: 'lookup' }[] = [];
    // Discovery reads every part's stack, deployed or not.
    for (const part of STACK_PARTS) requests.push({ action: 'cloudformation:DescribeStacks', resource: arn('cloudformation', `stack/acme-ml-${stage}-${part}/6b1c1d40-0000-11f0-9d8a-0a1b2c3d4e5f`) });
    for (const repo of platform.resources('AWS::ECR::Repository', { stack: `${stage}/Data` })) requests.push({ action: 'ecr:DescribeImages', resource: repo.arn, target: 'lookup' });
    const fn = platform.output(`${stage}/Inference`, 'InferenceFunctionName');
    const alias = platform.output(`${stage}/Inference`, 'InferenceAliasName');
    requests.push(
      { action: 'lambda:GetAlias', resource: arn('lambda', `function:${fn}:${alias}`), target: 'lookup' },
      { action: 'lambda:GetFunctionConfiguration', resource: arn('lambda', `function:${fn}:3`), target: 'lookup' },
      { action: 'lambda:InvokeFunction', resource: arn('lambda', `function:${fn}:${alias}`), target: 'lookup' },
    );
    const endpoints = platform.output(`${stage}/SageMaker`, 'EndpointNames').split(',');
    expect(endpoints.length).toBe(3);
    for (const e of endpoints) {
      requests.push({ action: 'sagemaker:DescribeEndpoint', resource: arn('sagemaker', `endpoint/${e}`) }, { action: 'sagemaker:InvokeEndpoint', resource: arn('sagemaker', `endpoint/${e}`) });
    }
    expect(platform.output(`${stage}/SageMaker`, 'ModelPackageGroupNames').split(',')).toHaveLength(3);
    requests.push({ action: 'sagemaker:ListModelPackages', resource: '*' });
    // lambda:GetProvisionedConcurrencyConfig takes a qualified ARN, which the simulator cannot assign to the alias or
    // the version resource type; it is granted in the same statement, on the same ARNs, as lambda:GetAlias.
    const functionStatement = JSON.stringify(identityPoliciesOf(platform, role(stage, 'Role'))).match(/"Action":\[[^\]]*"lambda:GetAlias"[^\]]*\]/)?.[0];
    expect(functionStatement).toContain('lambda:GetProvisionedConcurrencyConfig');
    // status looks for the infrastructure pipeline's stack in the stage's account, and reads the stage's pipelines:
    // dev's Delivery stack holds the model pipeline (its output is the name the CLI reads); prod has none, and the
    // infrastructure pipeline runs in the tooling account here (see the next test).
    requests.push({ action: 'cloudformation:DescribeStacks', resource: arn('cloudformation', 'stack/acme-ml-Pipeline/6b1c1d40-0000-11f0-9d8a-0a1b2c3d4e5f') });
    const pipelines = platform.resources('AWS::CodePipeline::Pipeline', { stack: `${stage}/Delivery` });
    expect(pipelines.map((p) => p.ref)).toEqual(stage === 'dev' ? [platform.output('dev/Delivery', 'ModelPipelineName')] : []);
    for (const p of pipelines) {
      expect(p.arn).toBe(arn('codepipeline', p.ref));
      // The calls lib/cli/pipelines.ts makes.
      for (const action of ['codepipeline:GetPipelineState', 'codepipeline:ListPipelineExecutions']) requests.push({ action, resource: p.arn });
    }
    const decisions = await Promise.all(requests.map(async (r) => [r, await ask(stage, 'Role', r.action, r.resource, r.target)] as const));
    expect(decisions.filter(([, d]) => d !== 'Allowed').map(([r, d]) => `${r.action} on ${r.resource}: ${d}`)).toEqual([]);
  });

  test.each(['dev', 'prod'] as const)('%s: `cdk-mlops smoke` of the asynchronous endpoint: config read, request written, queued, answer read, on the exact ARNs', async (stage) => {
    const account = ACCOUNTS[stage];
    const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${account}:${resource}`;
    // Where the endpoint answers (what DescribeEndpointConfig returns): the approval handler's spec of the async group.
    const handler = platform.only('AWS::Lambda::Function', `${stage}/SageMaker`, (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === `acme-ml-${stage}-async`);
    const env = handler.properties.Environment.Variables;
    const spec = JSON.parse(env.DEPLOYMENT_SPEC);
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.*)$/.exec(spec.AsyncInferenceConfig.OutputConfig.S3OutputPath as string)!;
    const base = key.replace(/\/?[^/]+\/?$/, '/');
    const object = (k: string) => `arn:aws:s3:::${bucket}/${base}${k}`;
    const kmsKey = platform.byIdentifier(platform.only('AWS::S3::Bucket', `${stage}/Data`, (b) => b.logicalId.includes('Artifacts')).properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID)!;
    const endpoint = arn('sagemaker', `endpoint/${spec.EndpointName}`);
    const id = 'cli-0b7e4c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b';
    const allowed = [
      { action: 'sagemaker:DescribeEndpoint', resource: endpoint },
      // The config the registry's handler created for version 3 (lambda/model-approval resourceName).
      { action: 'sagemaker:DescribeEndpointConfig', resource: arn('sagemaker', `endpoint-config/${env.RESOURCE_NAME_PREFIX}-v3-0123abcd`) },
      { action: 's3:PutObject', resource: object(`input/smoke-test/${id}.json`), target: 'lookup' as const },
      { action: 'sagemaker:InvokeEndpointAsync', resource: endpoint },
      { action: 's3:GetObject', resource: object(`output/${id}.out`), target: 'lookup' as const },
      { action: 's3:GetObject', resource: object(`failures/${id}-error.out`), target: 'lookup' as const },
      { action: 'kms:GenerateDataKey', resource: kmsKey.arn, target: 'lookup' as const },
      { action: 'kms:Decrypt', resource: kmsKey.arn, target: 'lookup' as const },
    ];
    const decisions = await Promise.all(allowed.map(async (r) => [r, await ask(stage, 'Role', r.action, r.resource, r.target)] as const));
    expect(decisions.filter(([, d]) => d !== 'Allowed').map(([r, d]) => `${r.action} on ${r.resource}: ${d}`)).toEqual([]);
    // ListBucket only under the endpoint's prefix (so a missing answer is a 404).
    const list = (prefix: string) => decide(platform, {
      principal: role(stage, 'Role').arn, action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, resourceAccount: account,
      identityPolicies: identityPoliciesOf(platform, role(stage, 'Role')), resourcePolicy: null, context: { 's3:prefix': prefix },
    });
    expect(await list(`${base}output/${id}.out`)).toBe('Allowed');
    expect(await list('training-jobs/')).toBe('ImplicitlyDenied');
    // Nothing else of the bucket: not the answers' folder for writing, not the model archives, not other async endpoints.
    expect(await ask(stage, 'Role', 's3:PutObject', object(`output/${id}.out`), 'lookup')).toBe('ImplicitlyDenied');
    expect(await ask(stage, 'Role', 's3:GetObject', `arn:aws:s3:::${bucket}/training-jobs/acme-ml-dev-e4/output/model.tar.gz`, 'lookup')).toBe('ImplicitlyDenied');
    expect(await ask(stage, 'Role', 'sagemaker:InvokeEndpointAsync', arn('sagemaker', `endpoint/acme-ml-${stage}-realtime`))).toBe('ImplicitlyDenied');
  });

  test('pipeline reads stay on exact ARNs: no stage role reads the infrastructure pipeline of the tooling account, another pipeline, or writes to its own', async () => {
    const infra = platform.only('AWS::CodePipeline::Pipeline', 'Pipeline', (r) => r.stack.id === 'Pipeline');
    expect(infra.arn).toBe(`arn:aws:codepipeline:${REGION}:${ACCOUNTS.tooling}:acme-ml-Infrastructure`);
    expect(platform.output('Pipeline', 'PipelineName')).toBe('acme-ml-Infrastructure');
    const model = platform.only('AWS::CodePipeline::Pipeline', 'dev/Delivery');
    for (const stage of STAGE_NAMES) expect(await ask(stage, 'Role', 'codepipeline:GetPipelineState', infra.arn)).toBe('ImplicitlyDenied');
    expect(await ask('dev', 'Role', 'codepipeline:ListPipelineExecutions', `arn:aws:codepipeline:${REGION}:${ACCOUNTS.dev}:acme-ml-dev-other-pipeline`)).toBe('ImplicitlyDenied');
    for (const action of ['codepipeline:StartPipelineExecution', 'codepipeline:UpdatePipeline', 'codepipeline:DeletePipeline']) {
      expect(await ask('dev', 'Role', action, model.arn)).toBe('ImplicitlyDenied');
    }
    // Approving is a person's call in the console (the link status prints), never the workflow's.
    expect(await ask('dev', 'Role', 'codepipeline:PutApprovalResult', `${model.arn}/Approve/Approve`)).toBe('ImplicitlyDenied');
    expect(await ask('staging', 'Role', 'codepipeline:GetPipelineState', model.arn)).toBe('ImplicitlyDenied');
  });

  test('the checks stay in their stage: another stage\'s stack, function and endpoint, and writes, are denied', async () => {
    const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNTS.staging}:${resource}`;
    const deny = (action: string, resource: string) => ask('staging', 'Role', action, resource);
    expect(await deny('cloudformation:DescribeStacks', arn('cloudformation', 'stack/acme-ml-prod-Data/6b1c1d40-0000-11f0-9d8a-0a1b2c3d4e5f'))).toBe('ImplicitlyDenied');
    expect(await deny('lambda:InvokeFunction', arn('lambda', 'function:acme-ml-dev-Inference-Fn:live'))).toBe('ImplicitlyDenied');
    expect(await deny('sagemaker:InvokeEndpoint', `arn:aws:sagemaker:${REGION}:${ACCOUNTS.prod}:endpoint/acme-ml-prod-realtime`)).toBe('ImplicitlyDenied');
    expect(await deny('lambda:UpdateAlias', arn('lambda', 'function:acme-ml-staging-Inference-Fn:live'))).toBe('ImplicitlyDenied');
    expect(await deny('cloudformation:DeleteStack', arn('cloudformation', 'stack/acme-ml-staging-Data/6b1c1d40-0000-11f0-9d8a-0a1b2c3d4e5f'))).toBe('ImplicitlyDenied');
  });

  test.each(['staging', 'prod'] as const)('%s: the diff role (before approval) may assume the read-only lookup role and read status, not deploy or invoke', async (stage) => {
    const account = ACCOUNTS[stage];
    const diff = (action: string, resource: string, target?: 'lookup') => ask(stage, 'DiffRole', action, resource, target);
    const trust = role(stage, 'DiffRole').properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals['token.actions.githubusercontent.com:sub'];
    expect(trust).toEqual(['repo:acme/ml-platform:ref:refs/heads/main']);
    const bootstrap = (kind: string) => `arn:aws:iam::${account}:role/cdk-hnb659fds-${kind}-role-${account}-${REGION}`;
    expect(await diff('sts:AssumeRole', bootstrap('lookup'))).toBe('Allowed');
    expect(await diff('cloudformation:DescribeStacks', `arn:aws:cloudformation:${REGION}:${account}:stack/acme-ml-${stage}-Data/6b1c1d40-0000-11f0-9d8a-0a1b2c3d4e5f`)).toBe('Allowed');
    for (const kind of ['deploy', 'file-publishing', 'image-publishing']) expect(await diff('sts:AssumeRole', bootstrap(kind))).toBe('ImplicitlyDenied');
    const fn = platform.output(`${stage}/Inference`, 'InferenceFunctionName');
    expect(await diff('lambda:InvokeFunction', `arn:aws:lambda:${REGION}:${account}:function:${fn}:live`, 'lookup')).toBe('ImplicitlyDenied');
  });

  test('the deploy role assumes its own account\'s bootstrap roles only', async () => {
    expect(await ask('prod', 'Role', 'sts:AssumeRole', `arn:aws:iam::${ACCOUNTS.prod}:role/cdk-hnb659fds-deploy-role-${ACCOUNTS.prod}-${REGION}`)).toBe('Allowed');
    expect(await ask('prod', 'Role', 'sts:AssumeRole', `arn:aws:iam::${ACCOUNTS.dev}:role/cdk-hnb659fds-deploy-role-${ACCOUNTS.dev}-${REGION}`)).toBe('ImplicitlyDenied');
  });

  test('the Lambda inference image is x86_64, built for linux/amd64 like the x86 runners and CodeBuild hosts that publish it (aws/aws-cdk#28863)', () => {
    for (const stage of STAGE_NAMES) {
      const fns = platform.resources('AWS::Lambda::Function', { stack: `${stage}/Inference`, filter: (r) => r.properties.PackageType === 'Image' });
      expect(fns.map((f) => f.properties.Architectures)).toEqual([['x86_64']]);
    }
    const platforms = new Set<string>();
    const walk = (dir: string): void => {
      for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
        if (f.isDirectory() && f.name.startsWith('assembly-')) walk(path.join(dir, f.name));
        else if (f.name.endsWith('.assets.json')) {
          for (const img of Object.values<any>(JSON.parse(fs.readFileSync(path.join(dir, f.name), 'utf8')).dockerImages ?? {})) platforms.add(img.source.platform);
        }
      }
    };
    walk(platform.directory);
    expect([...platforms]).toEqual(['linux/amd64']);
  });

  test('the infrastructure pipeline builds on Node 22 with the install-time settings, and synthesizes the user\'s config file', () => {
    const projects = platform.resources('AWS::CodeBuild::Project', { stack: 'Pipeline', filter: (r) => r.stack.id === 'Pipeline' });
    expect(projects.length).toBeGreaterThan(2);
    for (const p of projects) {
      expect(JSON.parse(p.properties.Source.BuildSpec).phases.install['runtime-versions']).toEqual({ nodejs: '22' });
      expect(p.properties.Environment.EnvironmentVariables).toEqual(expect.arrayContaining([{ Name: 'ONNXRUNTIME_NODE_INSTALL', Type: 'PLAINTEXT', Value: 'skip' }]));
    }
    const synth = projects.map((p) => JSON.parse(p.properties.Source.BuildSpec)).find((b) => JSON.stringify(b).includes('cdk synth'));
    expect(synth.phases.build.commands.at(-1)).toMatch(/^npx cdk synth --quiet -c pipeline=true -c config=\S*platform\.yaml$/);
  });

  test('no unacknowledged cdk-nag finding in the delivery stacks and the infrastructure pipeline', () => {
    expect(platform.validationFailures.filter((f) => /\/Delivery\/|^\S+ at Pipeline\/Infrastructure\//.test(f))).toEqual([]);
  });
});

describe('the committed platform.yaml and the guards', () => {
  const configFile = path.join(ROOT, 'platform.yaml');

  test('configures a GitHub deploy role in every stage, and the one OIDC provider of their shared account once', () => {
    const configs = STAGE_NAMES.map((stage) => loadStageConfig({ stage, file: configFile }));
    expect(configs.map((c) => c.pipelines.github?.repository)).toEqual(['acme/ml-platform', 'acme/ml-platform', 'acme/ml-platform']);
    expect(configs.filter((c) => c.pipelines.github?.createProvider).map((c) => c.stage)).toEqual(['dev']);
    expect(githubProviderProblems(configs)).toEqual([]);
  });

  const tmpConfig = (content: Record<string, unknown>) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gitops-')), 'platform.yaml');
    fs.writeFileSync(file, stringify(content));
    return file;
  };

  test('two stages creating the OIDC provider in one account: a synth-time error naming the key, the stages and the account', () => {
    const github = { repository: 'acme/ml-platform', createProvider: true };
    const file = tmpConfig({ stages: { staging: { env: { account: '222222222222' }, pipelines: { github } }, prod: { env: { account: '222222222222' }, pipelines: { github } } } });
    expect(() => buildPlatform(new App(), { stage: 'dev', configFile: file })).toThrow(
      /stages\.prod\.pipelines\.github\.createProvider: true — stages staging and prod both create the GitHub OIDC provider in account 222222222222/);
    // Separate accounts: fine.
    const ok = tmpConfig({ stages: { staging: { env: { account: '222222222222' }, pipelines: { github } }, prod: { env: { account: '333333333333' }, pipelines: { github } } } });
    expect(githubProviderProblems(STAGE_NAMES.map((stage) => loadStageConfig({ stage, file: ok })))).toEqual([]);
  });

  test('a workflow synth without the GitHub role (no config file) fails before anything deploys, naming the missing key', () => {
    expect(() => buildPlatform(new App(), { stage: 'staging', requireGitHubRole: true })).toThrow(
      /stages\.staging\.pipelines\.github: \(missing\) — required with -c require-github-role=true[\s\S]*a deploy without it deletes the role it runs as/);
  });
});
