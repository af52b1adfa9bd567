import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import * as sagemakerSdk from '@aws-sdk/client-sagemaker';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import type { SQSEvent } from 'aws-lambda';
import * as lambdaApproval from '../../lambda/lambda-model-approval';
import * as approval from '../../lambda/model-approval';
import * as smoke from '../../lambda/smoke-test';
import { Aws } from '../../lib/cli/aws';
import { planPromotion } from '../../lib/cli/commands/promote';
import { runRollback } from '../../lib/cli/commands/rollback';
import { type Io } from '../../lib/cli/output';
import {
  INFERENCE_ALIAS_NAME, inferenceDeploymentNames, inferenceDeployRoleName, inferenceFunctionName, inferenceModelPackageGroupName, inferenceSmokeTestFunctionName,
} from '../../lib/naming';
import { synthesizedVariant, type FoundResource, type SynthesizedPlatform } from './support/assembly';
import { ACCOUNTS, REGION } from './support/configs';
import { decide, expectAllowed, resourcePolicyOf } from './support/iam';
import { LambdaWorld, matchesPattern, runStateMachine, SageMakerWorld, tarGz } from './model-world';

// The model journey to Lambda targets: dev's model pipeline promotes to staging's Lambda inference function (dev's
// account) and to prod's (its own account). Names resolve to what those stages create; each acting role may act on the
// exact ARN; the approval rules match SageMaker's event; the deploy state machine, the deployment handler (also the
// function's Custom::ServedModel), CloudFormation's redeploys, the smoke test and the rollback CLI run in order against
// stateful SageMaker, S3, Lambda and CodeDeploy.

const SAMPLE_EVENT = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'sagemaker-model-package-state-change.json'), 'utf8'));
const TARGETS = ['staging', 'prod'] as const;
const ACCOUNT_OF = { staging: ACCOUNTS.dev, prod: ACCOUNTS.prod } as const;

let platform: SynthesizedPlatform;
beforeAll(() => { platform = synthesizedVariant('lambdaTargets'); });

const pipelineAction = (stage: string, name: string) => {
  const pipeline = platform.only('AWS::CodePipeline::Pipeline', 'dev/Delivery');
  const s = pipeline.properties.Stages.find((x: any) => x.Name === stage);
  const a = s?.Actions.find((x: any) => x.Name === name);
  if (!a) throw new Error(`No action ${stage}/${name} in the model pipeline`);
  return { input: JSON.parse(a.Configuration.Input), raw: pipeline.raw.Properties.Stages.find((x: any) => x.Name === stage).Actions.find((x: any) => x.Name === name), stack: pipeline.stack };
};
const inferenceFunction = (t: string) => platform.only('AWS::Lambda::Function', `${t}/Inference`, (f) => f.properties.FunctionName === inferenceFunctionName('acme-ml', t));
const handlerOf = (t: string) => platform.only('AWS::Lambda::Function', `${t}/Inference`, (f) => f.properties.Environment?.Variables?.FUNCTION_NAME === inferenceFunctionName('acme-ml', t));
const roleArnOf = (fn: FoundResource) => platform.byIdentifier(fn.properties.Role)!.arn;
const servedModelOf = (t: string) => platform.only('Custom::ServedModel', `${t}/Inference`);

describe('Lambda targets: names resolve to what the target stages create', () => {
  test.each(TARGETS)('%s: the deploy action promotes into the group of its Inference stack; the smoke test names its function and alias', (t) => {
    const deploy = pipelineAction(`Deploy-${t}`, 'Deploy').input;
    const request = pipelineAction(`Deploy-${t}`, 'SmokeTest').input.request;
    const group = platform.only('AWS::SageMaker::ModelPackageGroup', `${t}/Inference`);
    expect(group.properties.ModelPackageGroupName).toBe(inferenceModelPackageGroupName('acme-ml', t));
    const fn = inferenceFunction(t);
    expect(request.functionName).toBe(`${fn.properties.FunctionName}:${INFERENCE_ALIAS_NAME}`);
    const alias = platform.only('AWS::Lambda::Alias', `${t}/Inference`);
    expect(alias.properties).toMatchObject({ Name: INFERENCE_ALIAS_NAME, FunctionName: fn.ref });
    // Its deployment handler deploys that group to that function, through the alias's own CodeDeploy group.
    const handler = handlerOf(t).properties.Environment.Variables;
    const dg = platform.only('AWS::CodeDeploy::DeploymentGroup', `${t}/Inference`);
    const app = platform.only('AWS::CodeDeploy::Application', `${t}/Inference`);
    expect(handler).toMatchObject({ MODEL_PACKAGE_GROUP_NAME: group.properties.ModelPackageGroupName, ALIAS_NAME: alias.properties.Name,
      CODEDEPLOY_APPLICATION: app.properties.ApplicationName, CODEDEPLOY_DEPLOYMENT_GROUP: dg.properties.DeploymentGroupName });
    expect(dg.properties.ApplicationName).toBe(app.ref);
    expect(alias.raw.UpdatePolicy.CodeDeployLambdaAliasUpdate).toMatchObject({ ApplicationName: { Ref: app.logicalId }, DeploymentGroupName: { Ref: dg.logicalId } });
    expect(handler.MODEL_BUCKET).toBe(platform.output(`${t}/Data`, 'ArtifactsBucketName'));
    // The function's model comes from the handler's Custom::ServedModel answer (one owner).
    expect(fn.raw.Properties.Environment.Variables.MODEL_S3_KEY).toEqual({ 'Fn::GetAtt': [servedModelOf(t).logicalId, 'ModelS3Key'] });
    expect(servedModelOf(t).raw.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [handlerOf(t).logicalId, 'Arn'] });
    expect(servedModelOf(t).properties.FunctionRevision).toBe(platform.resources('AWS::Lambda::Version', { stack: `${t}/Inference` })[0].logicalId);
    if (t === 'prod') {
      // Another account: the group by its ARN, and the smoke test is prod's own function.
      expect(group.stack.account).toBe(ACCOUNTS.prod);
      expect(deploy.targetModelPackageGroupName).toBe(group.arn);
      const machine = platform.resource(pipelineAction('Deploy-prod', 'SmokeTest').stack, pipelineAction('Deploy-prod', 'SmokeTest').raw.Configuration.StateMachineArn.Ref);
      const invoked = JSON.parse(machine.properties.DefinitionString).States['Smoke-prodCheck'].Parameters.FunctionName;
      const smokeFn = platform.byIdentifier(invoked)!;
      expect(smokeFn.stack.id).toBe('prod/Inference');
      expect(smokeFn.properties.FunctionName).toBe(inferenceSmokeTestFunctionName('acme-ml', 'prod'));
      expect(handlerOf(t).raw.Properties.Role).toBeDefined();
      expect(platform.byIdentifier(handlerOf(t).properties.Role)!.properties.RoleName).toBe(inferenceDeployRoleName('acme-ml', 'prod'));
    } else {
      expect(group.stack.account).toBe(ACCOUNTS.dev);
      expect(deploy.targetModelPackageGroupName).toBe(group.properties.ModelPackageGroupName);
    }
  });

  test('each target\'s approval rule matches SageMaker\'s event for its group, not another group\'s or a rejection', () => {
    for (const t of TARGETS) {
      const group = inferenceModelPackageGroupName('acme-ml', t);
      const rule = platform.only('AWS::Events::Rule', `${t}/Inference`, (r) => !!r.properties.EventPattern);
      const event = { ...SAMPLE_EVENT, detail: { ...SAMPLE_EVENT.detail, ModelPackageGroupName: group } };
      expect(matchesPattern(rule.properties.EventPattern, event)).toBe(true);
      expect(matchesPattern(rule.properties.EventPattern, SAMPLE_EVENT)).toBe(false);
      expect(matchesPattern(rule.properties.EventPattern, { ...event, detail: { ...event.detail, ModelApprovalStatus: 'Rejected' } })).toBe(false);
    }
  });

  test('cdk-nag: no unacknowledged finding on any stack of this config', () => {
    expect(platform.validationFailures).toEqual([]);
  });
});

describe('Lambda targets: each acting role on the exact ARN', () => {
  const fnArn = (t: string, q?: string) => `arn:aws:lambda:${REGION}:${ACCOUNT_OF[t as 'staging']}:function:${inferenceFunctionName('acme-ml', t)}${q ? `:${q}` : ''}`;
  const pkg = (t: string, v: number) => `arn:aws:sagemaker:${REGION}:${ACCOUNT_OF[t as 'staging']}:model-package/${inferenceModelPackageGroupName('acme-ml', t)}/${v}`;
  const devArchive = () => `arn:aws:s3:::${platform.output('dev/Data', 'ArtifactsBucketName')}/training-jobs/acme-ml-dev-run1/output/model.tar.gz`;
  const devKey = () => {
    const bucket = platform.only('AWS::S3::Bucket', 'dev/Data', (b) => b.logicalId.includes('Artifacts'));
    return platform.byIdentifier(bucket.properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID as string)!.arn;
  };

  test('the deploy state machine may copy the version into both groups (prod\'s group policy admits dev\'s account)', async () => {
    const machine = platform.only('AWS::StepFunctions::StateMachine', 'dev/Delivery', (m) => String(m.properties.DefinitionString).includes('createModelPackage'));
    const role = platform.byIdentifier(machine.properties.RoleArn)!.arn;
    await expectAllowed(platform, ...TARGETS.map((t) => ({ principal: role, action: 'sagemaker:CreateModelPackage', resource: pkg(t, 1) })));
  });

  test.each(TARGETS)('%s: the deployment handler reads the package and the pipeline\'s archive, writes the copy, publishes a version and shifts the alias', async (t) => {
    const handler = handlerOf(t);
    const role = roleArnOf(handler);
    const vars = handler.properties.Environment.Variables;
    const copy = `arn:aws:s3:::${vars.MODEL_BUCKET}/${lambdaApproval.modelKey(vars.MODEL_PREFIX, 1, pkg(t, 1))}`;
    const dg = `arn:aws:codedeploy:${REGION}:${ACCOUNT_OF[t]}:deploymentgroup:${vars.CODEDEPLOY_APPLICATION}/${vars.CODEDEPLOY_DEPLOYMENT_GROUP}`;
    const read = { principal: role, action: 's3:GetObject', resource: devArchive(), resourceAccount: ACCOUNTS.dev, context: { 'aws:ResourceAccount': ACCOUNTS.dev } };
    const decrypt = { principal: role, action: 'kms:Decrypt', resource: devKey(), context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } };
    await expectAllowed(platform,
      { principal: role, action: 'sagemaker:DescribeModelPackage', resource: pkg(t, 1) },
      { principal: role, action: 'sagemaker:ListModelPackages', resource: '*' },
      { principal: role, action: 'lambda:GetAlias', resource: fnArn(t, 'live') },
      { principal: role, action: 'lambda:GetFunctionConfiguration', resource: fnArn(t, '7') },
      { principal: role, action: 'lambda:UpdateFunctionConfiguration', resource: fnArn(t) },
      { principal: role, action: 'lambda:PublishVersion', resource: fnArn(t) },
      { principal: role, action: 'lambda:ListVersionsByFunction', resource: fnArn(t) },
      { principal: role, action: 'codedeploy:CreateDeployment', resource: dg },
      { principal: role, action: 'codedeploy:GetDeploymentConfig', resource: `arn:aws:codedeploy:${REGION}:${ACCOUNT_OF[t]}:deploymentconfig:CodeDeployDefault.LambdaCanary10Percent5Minutes` },
      { principal: role, action: 's3:PutObject', resource: copy },
      { principal: role, action: 's3:GetObject', resource: copy },
      read, decrypt);
    // Negative controls: not another function, not the alias itself (CodeDeploy moves it), not other objects of dev.
    expect(await decide(platform, { principal: role, action: 'lambda:UpdateFunctionConfiguration', resource: fnArn(t).replace('-inference', '-other') })).not.toBe('Allowed');
    expect(await decide(platform, { principal: role, action: 'lambda:UpdateAlias', resource: fnArn(t, 'live') })).not.toBe('Allowed');
    expect(await decide(platform, { ...read, resource: devArchive().replace('model.tar.gz', 'drift-baseline.json') })).not.toBe('Allowed');
    // The function serves the copy, and nothing else of the bucket.
    const fnRole = roleArnOf(inferenceFunction(t));
    await expectAllowed(platform, { principal: fnRole, action: 's3:GetObject', resource: copy });
    expect(await decide(platform, { principal: fnRole, action: 's3:GetObject', resource: `arn:aws:s3:::${vars.MODEL_BUCKET}/training-jobs/x/output/model.tar.gz` })).not.toBe('Allowed');
    if (t === 'prod') {
      // dev's bucket and key policies admit exactly prod's handler role, read-only; dev's image repository does not (it only copies the model).
      const impostor = `arn:aws:iam::${ACCOUNTS.prod}:role/other`;
      expect(await decide(platform, { ...read, principal: impostor, identityPolicies: [{ name: 'open', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] } }] })).not.toBe('Allowed');
      const repo = platform.only('AWS::ECR::Repository', 'dev/Data', (r) => r.properties.RepositoryName === 'acme-ml-dev/training');
      const statements = ((resourcePolicyOf(platform, repo, repo.arn) as { Statement?: { Sid?: string }[] })?.Statement ?? []).filter((s) => s.Sid === `PromotedModelPull${ACCOUNTS.prod}`);
      expect(statements).toEqual([]);
    }
  });

  test('smoke tests: dev\'s (staging, same account) and prod\'s own read the alias, the version\'s package, and invoke the alias', async () => {
    const devSmoke = platform.resources('AWS::Lambda::Function', { stack: 'dev/Delivery', filter: (f) => /[Ss]moke/.test(f.logicalId) })[0];
    const prodSmoke = platform.only('AWS::Lambda::Function', 'prod/Inference', (f) => f.properties.FunctionName === inferenceSmokeTestFunctionName('acme-ml', 'prod'));
    for (const [fn, t] of [[devSmoke, 'staging'], [prodSmoke, 'prod']] as const) {
      const role = roleArnOf(fn);
      await expectAllowed(platform,
        { principal: role, action: 'lambda:GetAlias', resource: fnArn(t, 'live') },
        { principal: role, action: 'lambda:GetFunctionConfiguration', resource: fnArn(t, '3') },
        { principal: role, action: 'lambda:InvokeFunction', resource: fnArn(t, 'live') },
        { principal: role, action: 'sagemaker:DescribeModelPackage', resource: pkg(t, 2) },
        // Whether the shift to the promoted package was rolled back.
        { principal: role, action: 'lambda:ListVersionsByFunction', resource: fnArn(t) },
        ...['codedeploy:ListDeployments', 'codedeploy:GetDeployment'].map((action) => ({
          principal: role, action, resource: `arn:aws:codedeploy:${REGION}:${ACCOUNT_OF[t]}:deploymentgroup:${inferenceDeploymentNames('acme-ml', t).application}/${inferenceDeploymentNames('acme-ml', t).deploymentGroup}`,
        })));
    }
    // dev's pipeline invokes prod's smoke test across accounts (its Lambda permission names dev's account).
    const machine = platform.resource(pipelineAction('Deploy-prod', 'SmokeTest').stack, pipelineAction('Deploy-prod', 'SmokeTest').raw.Configuration.StateMachineArn.Ref);
    await expectAllowed(platform, { principal: platform.byIdentifier(machine.properties.RoleArn)!.arn, action: 'lambda:InvokeFunction', resource: prodSmoke.arn });
  });
});

/** The handlers quiet: their logs and metrics are not what this journey asserts. */
function silenceHandlers(): void {
  for (const logger of [lambdaApproval.logger, approval.logger, smoke.logger]) for (const level of ['info', 'warn', 'error'] as const) jest.spyOn(logger, level).mockImplementation(() => undefined);
  for (const metrics of [lambdaApproval.metrics, approval.metrics, smoke.metrics]) {
    jest.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
    jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  }
}

describe('Lambda target journey: register → approve → staging (new version + CodeDeploy) → redeploy keeps it → prod → v2 → rollback', () => {
  let sm: SageMakerWorld;
  let lw: LambdaWorld;
  const cfn = mockClient(CloudFormationClient);
  const io: Io = { out: () => undefined, err: () => undefined, interactive: false, color: false, confirm: async () => true };
  /** CloudFormation's memory per stage: the Custom::ServedModel properties and answer it last used. */
  const served = new Map<string, { properties: string; data: Record<string, string> }>();

  beforeAll(async () => {
    silenceHandlers();
    lambdaApproval.timing.sleep = async () => undefined;
    sm = new SageMakerWorld({ region: REGION, accountOf: (g) => (g.includes('-prod-') ? ACCOUNTS.prod : ACCOUNTS.dev) }, SAMPLE_EVENT);
    lw = new LambdaWorld();
    cfn.on(DescribeStacksCommand).callsFake(({ StackName }: { StackName: string }) => {
      const stack = platform.tryStack(StackName);
      if (!stack) throw Object.assign(new Error(`Stack with id ${StackName} does not exist`), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
      const Outputs = Object.keys(stack.template.Outputs ?? {}).map((OutputKey) => ({ OutputKey, OutputValue: platform.output(stack.id, OutputKey) }));
      return { Stacks: [{ StackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs }] };
    });
    for (const t of TARGETS) expect(await deployInference(t)).toEqual(['Custom::ServedModel created: template', 'function created']);
  });
  afterAll(() => {
    jest.restoreAllMocks();
    sm.sm.restore();
    sm.runtime.restore();
    sm.s3.restore();
    lw.restore();
    cfn.restore();
  });

  /**
   * CloudFormation deploying `t`'s Inference stack: Custom::ServedModel is asked when its properties changed (a changed
   * function template changes FunctionRevision; `templateChange` stands for one, e.g. more memory), the function gets
   * the template's environment with the answer in it, and a changed function publishes a version the alias shifts to
   * through CodeDeploy (CloudFormation waits for it: settled here).
   */
  async function deployInference(t: string, change: { function?: string; alias?: string } = {}): Promise<string[]> {
    const changes: string[] = [];
    const cr = servedModelOf(t);
    const templateChange = change.function;
    const properties: Record<string, unknown> = {
      ...cr.properties,
      ...(templateChange ? { FunctionRevision: `${cr.properties.FunctionRevision}-${templateChange}` } : {}),
      ...(change.alias ? { AliasSettings: { ProvisionedConcurrencyConfig: { provisionedConcurrentExecutions: change.alias } } } : {}),
    };
    const memory = served.get(t);
    let data = memory?.data;
    if (!memory || memory.properties !== JSON.stringify(properties)) {
      const handler = handlerOf(t);
      Object.assign(process.env, handler.properties.Environment.Variables);
      let answer: any;
      const put = jest.spyOn(globalThis, 'fetch').mockImplementation((async (_u: string, init: { body: string }) => { answer = JSON.parse(init.body); return { ok: true, status: 200 }; }) as never);
      try {
        await lambdaApproval.handler({
          RequestType: memory ? 'Update' : 'Create', ServiceToken: properties.ServiceToken, ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/signed',
          StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT_OF[t as 'staging']}:stack/${cr.stack.stackName}/guid`, RequestId: `r-${t}`, LogicalResourceId: cr.logicalId,
          ResourceType: 'Custom::ServedModel', ResourceProperties: properties, ...(memory ? { PhysicalResourceId: `${t}-served-model`, OldResourceProperties: JSON.parse(memory.properties) } : {}),
        } as never);
      } finally {
        put.mockRestore();
      }
      expect(answer).toMatchObject({ Status: 'SUCCESS' });
      data = answer.Data;
      served.set(t, { properties: JSON.stringify(properties), data: data! });
      changes.push(`Custom::ServedModel ${memory ? 'updated' : 'created'}: ${data!.Source}`);
    }
    const fn = inferenceFunction(t);
    const rawEnv = fn.raw.Properties.Environment.Variables as Record<string, any>;
    const envVars = Object.fromEntries(Object.entries(rawEnv).map(([k, v]) => {
      const att = v?.['Fn::GetAtt'];
      return [k, Array.isArray(att) && att[0] === cr.logicalId ? data![att[1]] : String(fn.properties.Environment.Variables[k])];
    }));
    const names = { functionName: fn.properties.FunctionName, alias: INFERENCE_ALIAS_NAME, application: inferenceDeploymentNames('acme-ml', t).application, deploymentGroup: inferenceDeploymentNames('acme-ml', t).deploymentGroup, env: envVars };
    if (!lw.functions.has(names.functionName)) {
      lw.cloudFormationCreate(names);
      changes.push('function created');
    } else if (templateChange || (changes.length > 0 && data!.ModelPackageArn !== memory?.data.ModelPackageArn)) {
      // A changed template or answer: the function gets the environment, the Version (whose Description names the
      // answer) is replaced, and the alias update shifts to it.
      const { version, deploymentId } = lw.cloudFormationUpdate(names);
      lw.settle();
      changes.push(`function updated: version ${version}${deploymentId ? ' (alias shifted by CodeDeploy)' : ''}`);
    } else {
      changes.push(change.alias ? 'alias updated, version unchanged' : 'function unchanged');
    }
    return changes;
  }

  /** SageMaker's events reach the matching rules of their account, through SQS, to the handler of each rule. */
  async function deliverEvents(): Promise<string[]> {
    const outcomes: string[] = [];
    for (const event of sm.drain()) {
      const rules = platform.resources('AWS::Events::Rule', { filter: (r) => platform.resolver.account(r.stack) === event.account && !!r.properties.EventPattern && matchesPattern(r.properties.EventPattern, event) });
      for (const rule of rules) {
        const mapping = platform.only('AWS::Lambda::EventSourceMapping', rule.stack.id, (m) => m.properties.EventSourceArn === rule.properties.Targets[0].Arn);
        const fn = platform.only('AWS::Lambda::Function', rule.stack.id, (f) => f.ref === mapping.properties.FunctionName);
        Object.assign(process.env, fn.properties.Environment.Variables);
        const sqs = { Records: [{ messageId: event.id, receiptHandle: 'r', body: JSON.stringify(event), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: rule.properties.Targets[0].Arn, awsRegion: REGION }] } as unknown as SQSEvent;
        const run = fn.properties.Environment.Variables.FUNCTION_NAME ? lambdaApproval.handler : approval.handler;
        const result = await run(sqs as never) as { batchItemFailures: unknown[] };
        expect(result.batchItemFailures).toEqual([]);
        outcomes.push(`${rule.stack.id}:${event.detail.ModelPackageGroupName}/${event.detail.ModelPackageVersion}`);
      }
    }
    return outcomes;
  }

  /** The register step: a PendingManualApproval version in dev's group whose model is the training job's archive (one ONNX file). */
  async function register(job: string): Promise<string> {
    const registerProject = platform.only('AWS::CodeBuild::Project', 'dev/Delivery', (r) => (r.properties.Environment.EnvironmentVariables ?? []).some((v: any) => v.Name === 'MODEL_PACKAGE_GROUP'));
    const group = registerProject.properties.Environment.EnvironmentVariables.find((v: any) => v.Name === 'MODEL_PACKAGE_GROUP').Value;
    const model = `s3://${platform.output('dev/Data', 'ArtifactsBucketName')}/training-jobs/${job}/output/model.tar.gz`;
    sm.objects.set(model, tarGz({ 'model.onnx': `onnx of ${job}`, 'code/train.py': 'print(1)' }));
    const out = await new SageMakerClient({ region: REGION }).send(new sagemakerSdk.CreateModelPackageCommand({
      ModelPackageGroupName: group, ModelApprovalStatus: 'PendingManualApproval',
      InferenceSpecification: { Containers: [{ Image: `${ACCOUNTS.dev}.dkr.ecr.${REGION}.amazonaws.com/acme-ml-dev/training:${job}`, ModelDataUrl: model }], SupportedContentTypes: ['application/json'], SupportedResponseMIMETypes: ['application/json'] },
    }));
    return out.ModelPackageArn!;
  }

  /** Deploy-<t>: the deploy state machine with the action's input, the events, then the smoke test until CodeDeploy finishes. */
  async function promote(t: string, packageArn: string): Promise<{ outcomes: string[]; smoke: string[] }> {
    const input = JSON.parse(JSON.stringify(pipelineAction(`Deploy-${t}`, 'Deploy').input).replaceAll('#{Register.MODEL_PACKAGE_ARN}', packageArn));
    const machine = platform.only('AWS::StepFunctions::StateMachine', 'dev/Delivery', (m) => String(m.properties.DefinitionString).includes('createModelPackage'));
    await runStateMachine(JSON.parse(machine.properties.DefinitionString), input, { sagemaker: new SageMakerClient({ region: REGION }) }, sagemakerSdk as never);
    const outcomes = await deliverEvents();
    const request = JSON.parse(JSON.stringify(pipelineAction(`Deploy-${t}`, 'SmokeTest').input.request).replaceAll('#{Register.MODEL_PACKAGE_ARN}', packageArn));
    const results: string[] = [(await smoke.handler(request)).status];
    // The canary and dev's endpoint update (its group deploys there too) finish.
    lw.settle();
    sm.settle();
    const decided = await smoke.handler(request);
    results.push(decided.status === 'PASSED' ? decided.status : `${decided.status}: ${decided.message}`);
    return { outcomes, smoke: results };
  }

  /** The source package of what `t`'s alias serves, and the object its version reads. */
  const servedSource = (t: string) => {
    const s = lw.served(inferenceFunctionName('acme-ml', t), INFERENCE_ALIAS_NAME);
    return { version: s.version, source: s.modelPackageArn ? sm.packages.get(s.modelPackageArn)?.metadata?.SourceModelPackageArn : undefined, key: s.key };
  };
  let v1: string;
  let v2: string;

  test('v1: approved and copied into staging\'s group; staging\'s handler copies the ONNX model, publishes a version and shifts the alias; the smoke test waits, then passes', async () => {
    v1 = await register('acme-ml-dev-run1');
    const { outcomes, smoke: results } = await promote('staging', v1);
    // Approving in dev's group also rolls it onto dev's own SageMaker endpoint (that group deploys there).
    expect(outcomes).toEqual(['dev/SageMaker:acme-ml-dev-default/1', 'staging/Inference:acme-ml-staging-lambda-inference/1']);
    expect(results).toEqual(['PENDING', 'PASSED']);
    const now = servedSource('staging');
    expect(now.source).toBe(v1);
    expect(now.version).toBe('2');
    expect(new TextDecoder().decode(sm.objects.get(`s3://${platform.output('staging/Data', 'ArtifactsBucketName')}/${now.key}`) as Uint8Array)).toBe('onnx of acme-ml-dev-run1');
    expect(lw.deployments.map((d) => `${d.group}: ${d.current} → ${d.target} ${d.status}`)).toEqual(['acme-ml-staging-inference/acme-ml-staging-inference-live: 1 → 2 Succeeded']);
  });

  test('a later cdk deploy keeps the approved package: unchanged, nothing is asked; changed, CloudFormation\'s own version carries it', async () => {
    expect(await deployInference('staging')).toEqual(['function unchanged']);
    expect(servedSource('staging')).toMatchObject({ version: '2', source: v1 });
    expect(await deployInference('staging', { function: 'memory-4096' })).toEqual(['Custom::ServedModel updated: alias', 'function updated: version 3 (alias shifted by CodeDeploy)']);
    expect(servedSource('staging')).toMatchObject({ version: '3', source: v1 });
  });

  test('v1 reaches prod (another account) after its approval; prod runs its own smoke test; the promote CLI finds the Lambda group', async () => {
    const { outcomes, smoke: results } = await promote('prod', v1);
    expect(outcomes).toEqual(['prod/Inference:acme-ml-prod-lambda-inference/1']);
    expect(results).toEqual(['PENDING', 'PASSED']);
    expect(servedSource('prod').source).toBe(v1);
    const aws = new Aws({ region: REGION, sleep: async () => undefined });
    expect(await planPromotion(aws, inferenceModelPackageGroupName('acme-ml', 'prod'))).toMatchObject({ version: 1, currentStatus: 'Approved' });
    // A change of the alias alone (more provisioned concurrency) asks too: CloudFormation's alias update would otherwise
    // name its own version, which serves the template's model; the changed answer replaces that version.
    const cfnVersion = platform.only('AWS::Lambda::Version', 'prod/Inference');
    expect(cfnVersion.raw.Properties.Description['Fn::Join'][1]).toContainEqual({ 'Fn::GetAtt': [servedModelOf('prod').logicalId, 'ModelPackageArn'] });
    expect(await deployInference('prod', { alias: '4' })).toEqual(['Custom::ServedModel updated: alias', 'function updated: version 3 (alias shifted by CodeDeploy)']);
    expect(servedSource('prod')).toMatchObject({ version: '3', source: v1 });
    expect(await deployInference('prod', { alias: '5' })).toEqual(['Custom::ServedModel updated: alias', 'alias updated, version unchanged']);
  });

  test('v2 follows: staging and prod serve it; a redelivered v1 approval is superseded', async () => {
    v2 = await register('acme-ml-dev-run2');
    expect((await promote('staging', v2)).smoke).toEqual(['PENDING', 'PASSED']);
    expect((await promote('prod', v2)).smoke).toEqual(['PENDING', 'PASSED']);
    expect(servedSource('staging').source).toBe(v2);
    expect(servedSource('prod').source).toBe(v2);
    const stale = sm.packages.get([...sm.packages.keys()].find((a) => a.endsWith('acme-ml-staging-lambda-inference/1'))!)!;
    Object.assign(process.env, handlerOf('staging').properties.Environment.Variables);
    expect(await lambdaApproval.deploy({ source: 'aws.sagemaker', detail: { ModelPackageGroupName: stale.group, ModelPackageVersion: 1, ModelPackageArn: stale.arn, ModelApprovalStatus: 'Approved' } })).toBe('superseded');
  });

  test('rollback: the CLI shifts staging back to the previous approved package through CodeDeploy; a later deploy keeps that', async () => {
    const aws = new Aws({ region: REGION, sleep: async () => undefined });
    const before = lw.deployments.length;
    const result = await runRollback(aws, io, 'acme-ml', 'staging', 'lambda', { yes: true });
    expect(result).toMatchObject({ changed: true, resource: 'acme-ml-staging-inference:live' });
    expect(result.message).toMatch(/^CodeDeploy deployment d-\d+ shifts acme-ml-staging-inference:live to version 3 serving arn:aws:sagemaker:us-east-1:111111111111:model-package\/acme-ml-staging-lambda-inference\/1/);
    expect(lw.deployments.slice(before).map((d) => `${d.current} → ${d.target} ${d.status}`)).toEqual(['4 → 3 InProgress']);
    // Mid-canary a second rollback refuses: it says how to stop the running deployment instead.
    await expect(runRollback(aws, io, 'acme-ml', 'staging', 'lambda', { yes: true })).rejects.toThrow(/a CodeDeploy deployment is running\. Stop it with rollback: aws deploy stop-deployment/);
    lw.settle();
    expect(servedSource('staging').source).toBe(v1);
    expect(await deployInference('staging', { function: 'timeout-20s' })).toEqual(['Custom::ServedModel updated: alias', 'function updated: version 5 (alias shifted by CodeDeploy)']);
    expect(servedSource('staging').source).toBe(v1);
    expect(servedSource('prod').source).toBe(v2);
  });

  test('a canary that rolls back (alarms) leaves the old package serving, and the smoke test fails on the stopped shift', async () => {
    const v3 = await register('acme-ml-dev-run3');
    const input = JSON.parse(JSON.stringify(pipelineAction('Deploy-prod', 'Deploy').input).replaceAll('#{Register.MODEL_PACKAGE_ARN}', v3));
    const machine = platform.only('AWS::StepFunctions::StateMachine', 'dev/Delivery', (m) => String(m.properties.DefinitionString).includes('createModelPackage'));
    await runStateMachine(JSON.parse(machine.properties.DefinitionString), input, { sagemaker: new SageMakerClient({ region: REGION }) }, sagemakerSdk as never);
    await deliverEvents();
    lw.failDeployments();
    sm.settle();
    const request = JSON.parse(JSON.stringify(pipelineAction('Deploy-prod', 'SmokeTest').input.request).replaceAll('#{Register.MODEL_PACKAGE_ARN}', v3));
    expect(request.deployment).toEqual(inferenceDeploymentNames('acme-ml', 'prod'));
    expect(await smoke.handler(request)).toMatchObject({
      status: 'FAILED',
      message: expect.stringMatching(/serves arn:aws:sagemaker:us-east-1:333333333333:model-package\/acme-ml-prod-lambda-inference\/2: the CodeDeploy shift d-\d+ to version \d+ \(serving .*acme-ml-prod-lambda-inference\/3\) is Stopped: One or more alarms have been activated/),
    });
    expect(servedSource('prod').source).toBe(v2);
  });
});
