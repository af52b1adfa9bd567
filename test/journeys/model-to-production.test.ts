import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import * as sagemakerSdk from '@aws-sdk/client-sagemaker';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import type { SQSEvent } from 'aws-lambda';
import * as approval from '../../lambda/model-approval';
import * as smoke from '../../lambda/smoke-test';
import { Aws } from '../../lib/cli/aws';
import { planPromotion } from '../../lib/cli/commands/promote';
import { runRollback } from '../../lib/cli/commands/rollback';
import { type Io } from '../../lib/cli/output';
import { synthesizeConfig, synthesizedPlatform, synthesizedVariant, type FoundResource, type SynthesizedPlatform } from './support/assembly';
import { ACCOUNTS, ALL_ON_CONFIG } from './support/configs';
import { decide, expectAllowed, identityPoliciesOf, resourcePolicyOf } from './support/iam';
import { endpointRoleName, imageRepositoryName } from '../../lib/naming';
import { AGNOSTIC_ACCOUNT, AGNOSTIC_REGION } from './support/resolve';
import { matchesPattern, runStateMachine, SageMakerWorld } from './model-world';

// The model journey over the synthesized platform: names the pipeline uses resolve to resources of the stage it
// targets; the acting roles may act on the exact ARNs; the synthesized event rules match SageMaker's event; the
// pipeline's own deploy state machine, the approval handler, the smoke test and the rollback CLI run in order
// against one stateful SageMaker.

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', name), 'utf8'));
const SAMPLE_EVENT = fixture('sagemaker-model-package-state-change.json');
const APPROVAL_EVENT = fixture('codepipeline-action-execution-state-change.json');
const TARGETS = ['staging', 'prod'] as const;
// The variant configs' journeys read the standalone stages only (the infrastructure pipeline's copies are the same
// constructs, checked on the shared everything-on config): synthesizing them without the pipeline halves their cost.
const STANDALONE = { pipeline: false } as const;
/**
 * Everything on, one account per stage, dev's pipeline training on Ray (EKS, the default cluster's Ray) instead of
 * SageMaker; it promotes into staging's asynchronous and prod's serverless endpoint.
 */
const RAY_ASYNC_SERVERLESS_TARGETS = {
  ...ALL_ON_CONFIG,
  stages: {
    ...(ALL_ON_CONFIG.stages as Record<string, any>),
    dev: {
      ...(ALL_ON_CONFIG.stages as Record<string, any>).dev,
      pipelines: {
        ...(ALL_ON_CONFIG.stages as Record<string, any>).dev.pipelines,
        training: { backend: 'ray' },
        deployTargets: [{ stage: 'staging', modelPackageGroupName: 'async' }, { stage: 'prod', modelPackageGroupName: 'serverless', approval: true }],
      },
    },
  },
};
/** The pipeline's actions, with their input (CodePipeline variables left as written). */
function pipelineActions(platform: SynthesizedPlatform, stage: string): { stage: string; name: string; input?: any; env?: any }[] {
  const pipeline = platform.only('AWS::CodePipeline::Pipeline', `${stage}/Delivery`);
  return pipeline.properties.Stages.flatMap((s: any) => s.Actions.map((a: any) => ({
    stage: s.Name, name: a.Name,
    input: a.Configuration?.Input ? JSON.parse(a.Configuration.Input) : undefined,
    env: a.Configuration?.EnvironmentVariables ? JSON.parse(a.Configuration.EnvironmentVariables) : undefined,
  })));
}

const action = (platform: SynthesizedPlatform, stage: string, name: string) => {
  const found = pipelineActions(platform, 'dev').find((a) => a.stage === stage && a.name === name);
  if (!found) throw new Error(`No action ${stage}/${name} in the model pipeline`);
  return found;
};

const groupNamed = (platform: SynthesizedPlatform, stage: string, name: string) =>
  platform.resources('AWS::SageMaker::ModelPackageGroup', { stack: `${stage}/`, filter: (r) => r.properties.ModelPackageGroupName === name });
const endpointNamed = (platform: SynthesizedPlatform, stage: string, name: string) =>
  platform.resources('AWS::SageMaker::Endpoint', { stack: `${stage}/`, filter: (r) => r.properties.EndpointName === name });

/** The group a deploy action names: its name, or (another account's group) its ARN. */
const groupNameOf = (nameOrArn: string) => (nameOrArn.startsWith('arn:') ? nameOrArn.split('/').pop()! : nameOrArn);

/** The state machine the SmokeTest action of Deploy-<target> runs (by logical id: generated names can share a 63-character prefix). */
function smokeStateMachine(platform: SynthesizedPlatform, target: string): FoundResource {
  const pipeline = platform.only('AWS::CodePipeline::Pipeline', 'dev/Delivery');
  const stage = pipeline.raw.Properties.Stages.find((s: any) => s.Name === `Deploy-${target}`);
  return platform.resource(pipeline.stack, stage.Actions.find((a: any) => a.Name === 'SmokeTest').Configuration.StateMachineArn.Ref);
}

/** The model archive the Register action names for another backend (Ray), for pipeline execution `run`; undefined for SageMaker training jobs. */
function registeredModelDataUrl(platform: SynthesizedPlatform, run: string): string | undefined {
  const env = (action(platform, 'Register', 'Register').env ?? []) as { name: string; value: string }[];
  return env.find((e) => e.name === 'MODEL_DATA_URL')?.value.replace('#{codepipeline.PipelineExecutionId}', run);
}

const registerProject = (platform: SynthesizedPlatform) =>
  platform.only('AWS::CodeBuild::Project', 'dev/Delivery', (r) => (r.properties.Environment.EnvironmentVariables ?? []).some((v: any) => v.Name === 'MODEL_PACKAGE_GROUP'));

describe.each([
  ['the built-in defaults (one account)', 'defaults' as const],
  ['everything on, one account per stage', 'allOn' as const],
])('model journey names with %s', (_label, config) => {
  let platform: SynthesizedPlatform;
  beforeAll(() => { platform = synthesizedPlatform(config); });

  test('the pipeline registers into a group its own stage creates', () => {
    const group = registerProject(platform).properties.Environment.EnvironmentVariables.find((v: any) => v.Name === 'MODEL_PACKAGE_GROUP').Value;
    expect(groupNamed(platform, 'dev', group)).toHaveLength(1);
  });

  test.each(TARGETS)('it promotes into a group %s creates, and smoke-tests the endpoint there that this group deploys to', (target) => {
    const deploy = action(platform, `Deploy-${target}`, 'Deploy').input;
    const smokeTest = action(platform, `Deploy-${target}`, 'SmokeTest').input.request;
    const groupName = groupNameOf(deploy.targetModelPackageGroupName);
    const [group] = groupNamed(platform, target, groupName);
    const [endpoint] = endpointNamed(platform, target, smokeTest.endpointName);
    expect(group).toBeDefined();
    expect(endpoint).toBeDefined();
    // That group's approval handler deploys to that very endpoint.
    const handler = platform.only('AWS::Lambda::Function', `${target}/SageMaker`, (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === groupName);
    expect(JSON.parse(handler.properties.Environment.Variables.DEPLOYMENT_SPEC).EndpointName).toBe(endpoint.properties.EndpointName);
    if (config === 'allOn') {
      // Another account: the group is named by its ARN there, and the smoke test is that stage's own function.
      expect(group.stack.account).toBe(ACCOUNTS[target]);
      expect(deploy.targetModelPackageGroupName).toBe(group.arn);
      const machine = smokeStateMachine(platform, target);
      const invoked = JSON.parse(machine.properties.DefinitionString).States['Smoke-' + target + 'Check'].Parameters.FunctionName;
      const fn = platform.byIdentifier(invoked)!;
      expect(fn.stack.id).toBe(`${target}/SageMaker`);
      expect(fn.properties.Handler).toBe('index.handler');
    } else {
      expect(deploy.targetModelPackageGroupName).toBe(group.properties.ModelPackageGroupName);
    }
  });

  test('each target\'s approval rule matches SageMaker\'s event for its group, not another group\'s or a rejection', () => {
    for (const target of TARGETS) {
      const group = groupNameOf(action(platform, `Deploy-${target}`, 'Deploy').input.targetModelPackageGroupName);
      const rule = platform.only('AWS::Events::Rule', `${target}/SageMaker`, (r) => r.properties.EventPattern?.detail?.ModelPackageGroupName?.includes(group));
      const event = { ...SAMPLE_EVENT, detail: { ...SAMPLE_EVENT.detail, ModelPackageGroupName: group } };
      expect(matchesPattern(rule.properties.EventPattern, event)).toBe(true);
      expect(matchesPattern(rule.properties.EventPattern, SAMPLE_EVENT)).toBe(false);
      expect(matchesPattern(rule.properties.EventPattern, { ...event, detail: { ...event.detail, ModelApprovalStatus: 'Rejected' } })).toBe(false);
    }
  });
});

/** The approval handler wired to a rule: rule → SQS queue → event source mapping → function. */
function approvalHandlerOf(platform: SynthesizedPlatform, rule: FoundResource): FoundResource {
  const queueArn = rule.properties.Targets[0].Arn;
  const mapping = platform.only('AWS::Lambda::EventSourceMapping', rule.stack.id, (m) => m.properties.EventSourceArn === queueArn);
  return platform.only('AWS::Lambda::Function', rule.stack.id, (f) => f.ref === mapping.properties.FunctionName);
}

/**
 * CloudFormation and EventBridge as the journey needs them, over one synthesized platform and one SageMaker world:
 * stack deploys of a stage's SageMaker stack (with `Custom::ServedModel` answered by the approval handler) and the
 * delivery of SageMaker's events to the matching rules of their account, through SQS, to their handler.
 */
function journeyRuntime(platform: SynthesizedPlatform, world: SageMakerWorld, region: string) {
  /** What each endpoint's `Custom::ServedModel` last answered, and its properties then (CloudFormation's memory). */
  const servedMemory = new Map<string, { properties: unknown; data: Record<string, string> }>();
  /** The endpoint config name each endpoint's last deployed template gave it. */
  const deployedConfigs = new Map<string, string>();

  /** CloudFormation invoking the Lambda-backed `Custom::ServedModel`: the approval handler answers on the response URL. */
  async function invokeServedModel(p: SynthesizedPlatform, served: FoundResource, requestType: 'Create' | 'Update'): Promise<Record<string, string>> {
    const fn = p.byIdentifier(served.properties.ServiceToken)!;
    expect(fn.type).toBe('AWS::Lambda::Function');
    Object.assign(process.env, fn.properties.Environment.Variables);
    let answer: any;
    const put = jest.spyOn(globalThis, 'fetch').mockImplementation((async (_url: string, init: { body: string }) => {
      answer = JSON.parse(init.body);
      return { ok: true, status: 200 };
    }) as never);
    try {
      await approval.handler({
        RequestType: requestType, ServiceToken: served.properties.ServiceToken, ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/signed',
        StackId: `arn:aws:cloudformation:${region}:${p.resolver.account(served.stack)}:stack/${served.stack.stackName}/guid`, RequestId: `${requestType}-${served.logicalId}`,
        LogicalResourceId: served.logicalId, ResourceType: 'Custom::ServedModel', ResourceProperties: served.properties,
        ...(requestType === 'Update' ? { PhysicalResourceId: `${served.properties.EndpointName}-served-model`, OldResourceProperties: servedMemory.get(served.properties.EndpointName)?.properties } : {}),
      } as never);
    } finally {
      put.mockRestore();
    }
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    return answer.Data;
  }

  /** Replaces `Fn::GetAtt` of the custom resource by its answer, as CloudFormation does before creating the config. */
  const withAnswer = (value: any, servedId: string, data: Record<string, string>): any => {
    if (Array.isArray(value)) return value.map((v) => withAnswer(v, servedId, data));
    if (!value || typeof value !== 'object') return value;
    const att = value['Fn::GetAtt'];
    if (Array.isArray(att) && att[0] === servedId) return data[att[1]];
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withAnswer(v, servedId, data)]));
  };

  /**
   * CloudFormation deploying `stage`'s SageMaker stack of `p`: a changed `Custom::ServedModel` is asked again, a changed
   * config is created, an endpoint whose config changed is updated. Returns what changed, per endpoint.
   */
  async function deploySageMakerStack(p: SynthesizedPlatform, stage: string): Promise<string[]> {
    const changes: string[] = [];
    for (const e of p.resources('AWS::SageMaker::Endpoint', { stack: `${stage}/SageMaker` })) {
      const name = e.properties.EndpointName as string;
      const configId = e.raw.Properties.EndpointConfigName['Fn::GetAtt'][0] as string;
      const configRaw = e.stack.template.Resources![configId];
      const servedId = configRaw.Properties.EndpointConfigName['Fn::GetAtt'][0] as string;
      const served = p.resource(e.stack, servedId);
      expect(served.type).toBe('Custom::ServedModel');
      const memory = servedMemory.get(name);
      let data = memory?.data;
      if (!memory || JSON.stringify(memory.properties) !== JSON.stringify(served.properties)) {
        data = await invokeServedModel(p, served, memory ? 'Update' : 'Create');
        servedMemory.set(name, { properties: served.properties, data });
        changes.push(`${name}: Custom::ServedModel ${memory ? 'updated' : 'created'}`);
      }
      const config = p.resolver.resolve(e.stack, withAnswer(configRaw.Properties, servedId, data!));
      for (const modelName of served.properties.BakedModelNames as string[]) {
        const model = p.resources('AWS::SageMaker::Model', { stack: e.stack.id }).find((m) => p.resolver.physicalName(m.stack, m.logicalId) === modelName)!;
        world.cloudFormationModel(modelName, { Image: model.properties.PrimaryContainer.Image }, model.properties.ExecutionRoleArn);
      }
      world.cloudFormationConfig(config.EndpointConfigName, config.ProductionVariants.map((v: any) => ({
        VariantName: v.VariantName, ModelName: v.ModelName, InstanceType: v.InstanceType, InitialInstanceCount: v.InitialInstanceCount, ServerlessConfig: v.ServerlessConfig,
      })), config.AsyncInferenceConfig ? { OutputConfig: { S3OutputPath: config.AsyncInferenceConfig.OutputConfig.S3OutputPath } } : undefined);
      // CloudFormation compares templates, not the endpoint: an unchanged config name leaves the endpoint alone.
      const deployed = deployedConfigs.get(name);
      deployedConfigs.set(name, config.EndpointConfigName);
      changes.push(`${name}: endpoint ${deployed === config.EndpointConfigName ? 'unchanged' : world.cloudFormationEndpoint(name, config.EndpointConfigName)}`);
    }
    return changes;
  }

  /** SageMaker's events reach the rules of their account; matching rules deliver through SQS to their handler. */
  async function deliverEvents(): Promise<string[]> {
    const outcomes: string[] = [];
    for (const event of world.drain()) {
      const rules = platform.resources('AWS::Events::Rule', { filter: (r) => r.stack.id.match(/^(dev|staging|prod)\//) !== null && platform.resolver.account(r.stack) === event.account && !!r.properties.EventPattern && matchesPattern(r.properties.EventPattern, event) });
      for (const rule of rules) {
        const fn = approvalHandlerOf(platform, rule);
        Object.assign(process.env, fn.properties.Environment.Variables);
        const sqs = { Records: [{ messageId: event.id, receiptHandle: 'r', body: JSON.stringify(event), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: rule.properties.Targets[0].Arn, awsRegion: region }] } as unknown as SQSEvent;
        const result = await approval.handler(sqs) as { batchItemFailures: unknown[] };
        expect(result.batchItemFailures).toEqual([]);
        outcomes.push(`${rule.stack.id}:${event.detail.ModelPackageGroupName}/${event.detail.ModelPackageVersion}`);
      }
    }
    return outcomes;
  }

  return { deploySageMakerStack, deliverEvents };
}


/** The approval and smoke handlers run quietly: their logs and metrics are not what these journeys assert. */
function silenceHandlers(): void {
  for (const logger of [approval.logger, smoke.logger]) for (const level of ['info', 'warn', 'error'] as const) jest.spyOn(logger, level).mockImplementation(() => undefined);
  for (const metrics of [approval.metrics, smoke.metrics]) {
    jest.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
    jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  }
}

describe('model journey with the built-in defaults: register → approve → staging → smoke → approve → prod → v2 → rollback', () => {
  let platform: SynthesizedPlatform;
  let world: SageMakerWorld;
  let rt: ReturnType<typeof journeyRuntime>;
  const cfn = mockClient(CloudFormationClient);
  const account = AGNOSTIC_ACCOUNT;
  const region = AGNOSTIC_REGION;
  const io: Io = { out: () => undefined, err: () => undefined, interactive: false, color: false, confirm: async () => true };

  beforeAll(async () => {
    platform = synthesizedPlatform('defaults');
    world = new SageMakerWorld({ region, accountOf: () => account }, SAMPLE_EVENT);
    rt = journeyRuntime(platform, world, region);
    silenceHandlers();
    // Each stage's SageMaker stack as CloudFormation deploys it: nothing is approved yet, so the template's model serves.
    for (const stage of ['dev', ...TARGETS]) await rt.deploySageMakerStack(platform, stage);
    cfn.on(DescribeStacksCommand).callsFake(({ StackName }: { StackName: string }) => {
      const stack = platform.tryStack(StackName);
      if (!stack || !/^mlops-(dev|staging|prod)-/.test(StackName)) throw Object.assign(new Error(`Stack with id ${StackName} does not exist`), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
      const Outputs = Object.keys(stack.template.Outputs ?? {}).map((OutputKey) => ({ OutputKey, OutputValue: platform.output(stack.id, OutputKey) }));
      return { Stacks: [{ StackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs }] };
    });
  });
  afterAll(() => {
    jest.restoreAllMocks();
    world.sm.restore();
    world.runtime.restore();
    world.s3.restore();
    cfn.restore();
  });

  const deployDefinition = () => {
    const machine = platform.only('AWS::StepFunctions::StateMachine', 'dev/Delivery', (m) => String(m.properties.DefinitionString).includes('createModelPackage'));
    return JSON.parse(machine.properties.DefinitionString);
  };

  /** The register step: a new PendingManualApproval version in the pipeline's group, as the CodeBuild script creates it. */
  async function register(job: string): Promise<string> {
    const group = registerProject(platform).properties.Environment.EnvironmentVariables.find((v: any) => v.Name === 'MODEL_PACKAGE_GROUP').Value;
    const artifacts = platform.output('dev/Data', 'ArtifactsBucketName');
    const out = await new SageMakerClient({ region }).send(new sagemakerSdk.CreateModelPackageCommand({
      ModelPackageGroupName: group, ModelApprovalStatus: 'PendingManualApproval',
      InferenceSpecification: { Containers: [{ Image: `${account}.dkr.ecr.${region}.amazonaws.com/mlops-dev-training:${job}`, ModelDataUrl: `s3://${artifacts}/training-jobs/${job}/output/model.tar.gz` }], SupportedContentTypes: ['application/json'], SupportedResponseMIMETypes: ['application/json'] },
      CustomerMetadataProperties: { TrainingJobName: job },
    }));
    return out.ModelPackageArn!;
  }

  /** Deploy-<target>: the synthesized deploy state machine with the action's input, then the events, then the smoke test until it decides. */
  async function promote(target: string, packageArn: string): Promise<{ outcomes: string[]; smoke: string[] }> {
    const input = JSON.parse(JSON.stringify(action(platform, `Deploy-${target}`, 'Deploy').input).replaceAll('#{Register.MODEL_PACKAGE_ARN}', packageArn));
    await runStateMachine(deployDefinition(), input, { sagemaker: new SageMakerClient({ region }) }, sagemakerSdk as never);
    const outcomes = await rt.deliverEvents();
    const request = JSON.parse(JSON.stringify(action(platform, `Deploy-${target}`, 'SmokeTest').input.request).replaceAll('#{Register.MODEL_PACKAGE_ARN}', packageArn));
    const results: string[] = [(await smoke.handler(request)).status];
    world.settle();
    const decided = await smoke.handler(request);
    results.push(decided.status === "PASSED" ? decided.status : `${decided.status}: ${decided.message}`);
    return { outcomes, smoke: results };
  }

  const endpointOf = (target: string) => action(platform, `Deploy-${target}`, 'SmokeTest').input.request.endpointName as string;
  const sourceOf = (servedArn: string) => world.packages.get(servedArn)?.metadata?.SourceModelPackageArn;
  let v1: string;
  let v2: string;

  test('v1: registered pending, approved and copied into staging\'s group; staging\'s handler deploys exactly it; the smoke test waits, then passes', async () => {
    v1 = await register('mlops-dev-run1');
    expect(world.packages.get(v1)!.status).toBe('PendingManualApproval');
    const { outcomes, smoke: results } = await promote('staging', v1);
    // Approving in dev's group also rolls it onto dev's own endpoint (that group deploys there).
    expect(outcomes).toEqual(['dev/SageMaker:mlops-dev-default/1', 'staging/SageMaker:mlops-staging-default/1']);
    expect(results).toEqual(['PENDING', 'PASSED']);
    const served = world.served(endpointOf('staging'));
    expect(served).toHaveLength(1);
    expect(sourceOf(served[0])).toBe(v1);
  });

  test('v1 reaches prod after its approval; staging keeps serving it', async () => {
    const { outcomes, smoke: results } = await promote('prod', v1);
    expect(outcomes).toEqual(['prod/SageMaker:mlops-prod-default/1']);
    expect(results).toEqual(['PENDING', 'PASSED']);
    expect(sourceOf(world.served(endpointOf('prod'))[0])).toBe(v1);
    expect(sourceOf(world.served(endpointOf('staging'))[0])).toBe(v1);
  });

  test('v2 follows the same path; a redelivered v1 approval is then ignored (never an older version over a newer one)', async () => {
    v2 = await register('mlops-dev-run2');
    expect((await promote('staging', v2)).smoke).toEqual(['PENDING', 'PASSED']);
    expect((await promote('prod', v2)).smoke).toEqual(['PENDING', 'PASSED']);
    expect(sourceOf(world.served(endpointOf('prod'))[0])).toBe(v2);
    const prodV1 = [...world.packages.values()].find((p) => p.group === 'mlops-prod-default' && p.version === 1)!;
    Object.assign(process.env, approvalHandlerOf(platform, platform.only('AWS::Events::Rule', 'prod/SageMaker', (r) => !!r.properties.EventPattern?.detail?.ModelPackageGroupName)).properties.Environment.Variables);
    const stale = { ...SAMPLE_EVENT, account, region, detail: { ...SAMPLE_EVENT.detail, ModelPackageGroupName: prodV1.group, ModelPackageVersion: 1, ModelPackageArn: prodV1.arn } };
    expect(await approval.deploy(stale)).toBe('superseded');
  });

  test('v3 rejected by the reviewer: the rejection rule marks it Rejected, and `cdk-mlops promote` without --version will not approve it', async () => {
    const v3 = await register('mlops-dev-run3');
    const pipelineName = platform.only('AWS::CodePipeline::Pipeline', 'dev/Delivery').ref;
    const event = { ...APPROVAL_EVENT, account, region, resources: [`arn:aws:codepipeline:${region}:${account}:${pipelineName}`],
      detail: { ...APPROVAL_EVENT.detail, pipeline: pipelineName, stage: 'Approve', action: 'Approve', 'execution-id': 'exec-3' } };
    const rule = platform.only('AWS::Events::Rule', 'dev/Delivery', (r) => matchesPattern(r.properties.EventPattern, event));
    const machine = platform.byIdentifier(rule.properties.Targets[0].Arn)!;
    // CodePipeline as the state machine's SDK integration sees it (PascalCase API shapes); the client is not a dependency here.
    class ListActionExecutionsCommand { constructor(public readonly input: any) {} }
    const calls: any[] = [];
    const codepipeline = { send: async (c: ListActionExecutionsCommand) => {
      calls.push(c.input);
      return c.input.Filter?.PipelineExecutionId === 'exec-3'
        ? { ActionExecutionDetails: [{ ActionName: 'Approve', Status: 'Failed' }, { ActionName: 'Register', Output: { OutputVariables: { MODEL_PACKAGE_ARN: v3 } } }] }
        : { ActionExecutionDetails: [] };
    } };
    await runStateMachine(JSON.parse(machine.properties.DefinitionString), event, { codepipeline, sagemaker: new SageMakerClient({ region }) }, { ...sagemakerSdk, ListActionExecutionsCommand } as never);
    expect(calls).toEqual([{ PipelineName: pipelineName, Filter: { PipelineExecutionId: 'exec-3' } }]);
    expect(world.packages.get(v3)!.status).toBe('Rejected');
    const aws = new Aws({ region, sleep: async () => undefined });
    await expect(planPromotion(aws, 'mlops-dev-default')).rejects.toThrow(/No version of "mlops-dev-default" is pending approval; the newest is version 3 \(Rejected\)/);
  });

  test('a later `cdk deploy` that changes prod\'s endpoint (capture 25 %, 15 min bake) keeps serving the approved v2, not the template\'s model', async () => {
    expect(sourceOf(world.served(endpointOf('prod'))[0])).toBe(v2);
    const before = world.endpoints.get(endpointOf('prod'))!.config;
    const changes = await rt.deploySageMakerStack(synthesizedVariant('redeploy'), 'prod');
    // The change reaches the endpoint: the custom resource is asked again, a new config is made, the endpoint updated.
    expect(changes).toEqual([`${endpointOf('prod')}: Custom::ServedModel updated`, `${endpointOf('prod')}: endpoint updated`]);
    world.settle();
    const after = world.endpoints.get(endpointOf('prod'))!.config;
    expect(after).not.toBe(before);
    expect(after).toMatch(/^mlops-prod-default-v2-[0-9a-f]{8}$/);
    expect(sourceOf(world.served(endpointOf('prod'))[0])).toBe(v2);
    // Negative control: the template's own model is the model server image, which a redeploy used to put back.
    const template = platform.resources('AWS::SageMaker::Model', { stack: 'prod/SageMaker' })[0];
    expect(world.served(endpointOf('prod'))).not.toContain(template.properties.PrimaryContainer.Image);
    // A deploy that does not touch the endpoint changes nothing; staging was not touched at all.
    expect(await rt.deploySageMakerStack(synthesizedVariant('redeploy'), 'prod')).toEqual([`${endpointOf('prod')}: endpoint unchanged`]);
    expect(await rt.deploySageMakerStack(synthesizedVariant('redeploy'), 'staging')).toEqual([`${endpointOf('staging')}: endpoint unchanged`]);
    expect(sourceOf(world.served(endpointOf('staging'))[0])).toBe(v2);
  });

  test('cdk-mlops rollback (endpoint, from the stage\'s stack outputs) returns prod to the previous package', async () => {
    const result = await runRollback(new Aws({ region, sleep: async () => undefined }), io, 'mlops', 'prod', 'endpoint', { yes: true });
    expect(result.changed).toBe(true);
    world.settle();
    expect(sourceOf(world.served(endpointOf('prod'))[0])).toBe(v1);
  });
});

describe.each([
  ['real-time targets', () => synthesizedPlatform('allOn'), { staging: 'realtime', prod: 'realtime' }],
  ['trained on Ray, an asynchronous target (staging) and a serverless one (prod)', () => synthesizeConfig('rayAsyncServerlessTargets', RAY_ASYNC_SERVERLESS_TARGETS, STANDALONE), { staging: 'async', prod: 'serverless' }],
] as const)('model journey across accounts (dev 111111111111 → staging 222222222222 → prod 333333333333), %s: the copy lands in the target account, its handler deploys it, its smoke test answers the pipeline', (_label, load, groups) => {
  let platform: SynthesizedPlatform;
  let world: SageMakerWorld;
  let rt: ReturnType<typeof journeyRuntime>;
  const region = 'us-east-1';
  const stageOf = (name: string) => (['dev', 'staging', 'prod'] as const).find((s) => name.startsWith(`acme-ml-${s}-`))!;

  beforeAll(async () => {
    platform = load();
    world = new SageMakerWorld({ region, accountOf: (name) => ACCOUNTS[stageOf(name)] }, SAMPLE_EVENT);
    rt = journeyRuntime(platform, world, region);
    silenceHandlers();
    for (const stage of ['dev', ...TARGETS]) await rt.deploySageMakerStack(platform, stage);
  });
  afterAll(() => {
    jest.restoreAllMocks();
    world.sm.restore();
    world.runtime.restore();
    world.s3.restore();
  });

  test('v1 registered in dev reaches staging, then prod, each in its own account, and the pipeline\'s wait on the target\'s smoke test passes', async () => {
    const group = registerProject(platform).properties.Environment.EnvironmentVariables.find((v: any) => v.Name === 'MODEL_PACKAGE_GROUP').Value;
    // What Register names: the Ray run's archive (its MODEL_DATA_URL), or a SageMaker training job's output.
    const modelDataUrl = registeredModelDataUrl(platform, 'run1') ?? 's3://dev-artifacts/training-jobs/acme-ml-dev-run1/output/model.tar.gz';
    const v1 = (await new SageMakerClient({ region }).send(new sagemakerSdk.CreateModelPackageCommand({
      ModelPackageGroupName: group, ModelApprovalStatus: 'PendingManualApproval',
      InferenceSpecification: { Containers: [{ Image: `${ACCOUNTS.dev}.dkr.ecr.${region}.amazonaws.com/acme-ml-dev/training:run1`, ModelDataUrl: modelDataUrl }], SupportedContentTypes: ['application/json'], SupportedResponseMIMETypes: ['application/json'] },
    }))).ModelPackageArn!;
    expect(v1.split(':')[4]).toBe(ACCOUNTS.dev);
    const machine = platform.only('AWS::StepFunctions::StateMachine', 'dev/Delivery', (m) => String(m.properties.DefinitionString).includes('createModelPackage'));
    for (const target of TARGETS) {
      const input = JSON.parse(JSON.stringify(action(platform, `Deploy-${target}`, 'Deploy').input).replaceAll('#{Register.MODEL_PACKAGE_ARN}', v1));
      const out = await runStateMachine(JSON.parse(machine.properties.DefinitionString), input, { sagemaker: new SageMakerClient({ region }) }, sagemakerSdk as never);
      // The copy is a version of the target's group in the target's account; that account's rule and handler deploy it.
      expect(out.promoted.modelPackageArn).toMatch(new RegExp(`^arn:aws:sagemaker:${region}:${ACCOUNTS[target]}:model-package/acme-ml-${target}-${groups[target]}/1$`));
      const outcomes = await rt.deliverEvents();
      expect(outcomes).toContain(`${target}/SageMaker:acme-ml-${target}-${groups[target]}/1`);
      // The pipeline waits on the target's own smoke test function (the one its SmokeTest state machine invokes).
      const request = JSON.parse(JSON.stringify(action(platform, `Deploy-${target}`, 'SmokeTest').input.request).replaceAll('#{Register.MODEL_PACKAGE_ARN}', v1));
      const fnArn = JSON.parse(smokeStateMachine(platform, target).properties.DefinitionString).States[`Smoke-${target}Check`].Parameters.FunctionName;
      const fn = platform.byIdentifier(fnArn)!;
      expect(fn.stack.account).toBe(ACCOUNTS[target]);
      expect(request.endpointName).toBe(`acme-ml-${target}-${groups[target]}`);
      expect((await smoke.handler(request)).status).toBe('PENDING');
      world.settle();
      if (groups[target] === 'async') {
        // Serving now: the first check queues the request (InvokeEndpointAsync), the answer is in S3 after it is processed.
        expect(await smoke.handler(request)).toMatchObject({ status: 'PENDING', message: expect.stringContaining('queued') });
        world.settle();
      }
      expect(await smoke.handler(request)).toMatchObject({ status: 'PASSED' });
      const served = world.served(request.endpointName);
      expect(served).toEqual([out.promoted.modelPackageArn]);
      expect(world.packages.get(served[0])!.metadata?.SourceModelPackageArn).toBe(v1);
    }
  });
});

describe('model journey permissions across accounts: identity policy in the pipeline\'s account, resource policy in the target\'s', () => {
  let platform: SynthesizedPlatform;
  beforeAll(() => { platform = synthesizedPlatform('allOn'); });
  const roleOf = (r: FoundResource, prop: string) => platform.byIdentifier(r.properties[prop])!.arn;

  test.each(TARGETS)('the deploy state machine (dev) may add a version to %s\'s group only because that group\'s policy lets dev\'s account', async (target) => {
    const machine = platform.only('AWS::StepFunctions::StateMachine', 'dev/Delivery', (m) => String(m.properties.DefinitionString).includes('createModelPackage'));
    const role = roleOf(machine, 'RoleArn');
    expect(role.split(':')[4]).toBe(ACCOUNTS.dev);
    const group = platform.only('AWS::SageMaker::ModelPackageGroup', `${target}/SageMaker`, (g) => g.properties.ModelPackageGroupName === `acme-ml-${target}-realtime`);
    const version = `arn:aws:sagemaker:us-east-1:${ACCOUNTS[target]}:model-package/acme-ml-${target}-realtime/1`;
    const policy = resourcePolicyOf(platform, group, version);
    // CreateModelPackage authorizes on the new version's ARN (its only resource type), inside the shared group.
    await expectAllowed(platform, { principal: role, action: 'sagemaker:CreateModelPackage', resource: version, resourcePolicy: policy });
    // Negative controls: without the group's policy the identity policy alone is not enough; other groups are not shared.
    expect(await decide(platform, { principal: role, action: 'sagemaker:CreateModelPackage', resource: version, resourcePolicy: null })).not.toBe('Allowed');
    const async = platform.only('AWS::SageMaker::ModelPackageGroup', `${target}/SageMaker`, (g) => g.properties.ModelPackageGroupName === `acme-ml-${target}-async`);
    const asyncVersion = `arn:aws:sagemaker:us-east-1:${ACCOUNTS[target]}:model-package/acme-ml-${target}-async/1`;
    expect(await decide(platform, { principal: role, action: 'sagemaker:CreateModelPackage', resource: asyncVersion, resourcePolicy: resourcePolicyOf(platform, async, asyncVersion) ?? null })).not.toBe('Allowed');
  });

  test.each(TARGETS)('the pipeline may invoke %s\'s smoke test function (its permission names dev\'s account), which may watch and invoke its endpoint', async (target) => {
    const machine = smokeStateMachine(platform, target);
    const fnArn = JSON.parse(machine.properties.DefinitionString).States[`Smoke-${target}Check`].Parameters.FunctionName;
    const smokeRole = machine.raw.Properties.RoleArn['Fn::GetAtt'][0];
    const role = platform.resource(machine.stack, smokeRole).arn;
    await expectAllowed(platform, { principal: role, action: 'lambda:InvokeFunction', resource: fnArn });
    // Another role of dev (the register step) has no such grant: the resource policy alone does not let it in.
    expect(await decide(platform, { principal: roleOf(registerProject(platform), 'ServiceRole'), action: 'lambda:InvokeFunction', resource: fnArn })).not.toBe('Allowed');
    const fn = platform.byIdentifier(fnArn)!;
    const endpoint = `arn:aws:sagemaker:us-east-1:${ACCOUNTS[target]}:endpoint/acme-ml-${target}-realtime`;
    await expectAllowed(platform,
      { principal: roleOf(fn, 'Role'), action: 'sagemaker:DescribeEndpoint', resource: endpoint },
      { principal: roleOf(fn, 'Role'), action: 'sagemaker:InvokeEndpoint', resource: endpoint },
      { principal: roleOf(fn, 'Role'), action: 'sagemaker:DescribeModelPackage', resource: `arn:aws:sagemaker:us-east-1:${ACCOUNTS[target]}:model-package/acme-ml-${target}-realtime/1` });
  });
});

describe('model journey permissions across accounts: the target endpoint reads the model and image the pipeline\'s account holds', () => {
  let platform: SynthesizedPlatform;
  beforeAll(() => { platform = synthesizedPlatform('allOn'); });

  test.each(TARGETS)('%s\'s endpoint role reads dev\'s model archive (bucket and key policies in dev) and pulls dev\'s model image', async (target) => {
    const handler = platform.only('AWS::Lambda::Function', `${target}/SageMaker`, (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === `acme-ml-${target}-realtime`);
    const role = JSON.parse(handler.properties.Environment.Variables.DEPLOYMENT_SPEC).ExecutionRoleArn as string;
    // The name dev's policies use is the name the target's role has.
    expect(role).toBe(`arn:aws:iam::${ACCOUNTS[target]}:role/${endpointRoleName('acme-ml', target, 'realtime')}`);
    const artifacts = platform.only('AWS::S3::Bucket', 'dev/Data', (b) => b.logicalId.includes('Artifacts'));
    const key = platform.byIdentifier(artifacts.properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID as string)!;
    expect(key.arn.split(':')[4]).toBe(ACCOUNTS.dev);
    const repo = platform.only('AWS::ECR::Repository', 'dev/Data', (r) => r.properties.RepositoryName === imageRepositoryName('acme-ml', 'dev', 'training'));
    // What the pipeline registers: the training job's model.tar.gz and the image it pushed, both in dev.
    const model = `arn:aws:s3:::${artifacts.ref}/training-jobs/acme-ml-dev-e4/output/model.tar.gz`;
    // AWS puts the bucket owner in every S3 request (aws:ResourceAccount); the target's identity policy matches on it.
    const read = { principal: role, action: 's3:GetObject', resource: model, resourceAccount: ACCOUNTS.dev, context: { 'aws:ResourceAccount': ACCOUNTS.dev } };
    const decrypt = { principal: role, action: 'kms:Decrypt', resource: key.arn, context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } };
    const pulls = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'].map((action) => ({ principal: role, action, resource: repo.arn }));
    await expectAllowed(platform, read, decrypt, ...pulls);
    // Negative controls: only model archives, only through S3, only this role (the same identity policy on another role of the account).
    expect(await decide(platform, { ...read, resource: `arn:aws:s3:::${artifacts.ref}/training-jobs/acme-ml-dev-e4/output/drift-baseline.json` })).not.toBe('Allowed');
    expect(await decide(platform, { ...read, action: 's3:PutObject' })).not.toBe('Allowed');
    // The identity policy names dev's account only: a bucket of another account that lets the role in is still denied.
    const open = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: role }, Action: 's3:GetObject', Resource: '*' }] };
    expect(await decide(platform, { ...read, resourceAccount: '444455556666', context: { 'aws:ResourceAccount': '444455556666' }, resourcePolicy: open })).not.toBe('Allowed');
    expect(await decide(platform, { ...read, resourcePolicy: open })).toBe('Allowed');
    expect(await decide(platform, { ...decrypt, context: {} })).not.toBe('Allowed');
    const impostor = { principal: `arn:aws:iam::${ACCOUNTS[target]}:role/other`, identityPolicies: identityPoliciesOf(platform, platform.byIdentifier(role)!) };
    expect(await decide(platform, { ...read, ...impostor })).not.toBe('Allowed');
    expect(await decide(platform, { ...decrypt, ...impostor })).not.toBe('Allowed');
    // The repository's own statement for this account admits only the endpoint role (registry.pullAccounts aside).
    const statement = (resourcePolicyOf(platform, repo, repo.arn) as { Statement: { Sid: string }[] }).Statement.filter((x) => x.Sid === `PromotedModelPull${ACCOUNTS[target]}`);
    expect(statement).toHaveLength(1);
    for (const p of pulls) {
      await expectAllowed(platform, { ...p, resourcePolicy: { Version: '2012-10-17', Statement: statement } });
      expect(await decide(platform, { ...p, ...impostor, resourcePolicy: { Version: '2012-10-17', Statement: statement } })).not.toBe('Allowed');
    }
  });
});

describe('model journey permissions of an asynchronous target: its smoke test writes the request and reads the answer, its endpoint reads the request', () => {
  let platform: SynthesizedPlatform;
  beforeAll(() => { platform = synthesizeConfig('rayAsyncServerlessTargets', RAY_ASYNC_SERVERLESS_TARGETS, STANDALONE); });

  test('staging\'s async smoke test and endpoint role, on the exact S3 keys and endpoint', async () => {
    const fn = platform.only('AWS::Lambda::Function', 'staging/SageMaker', (f) => f.properties.FunctionName === 'acme-ml-staging-async-smoke');
    const role = platform.byIdentifier(fn.properties.Role)!.arn;
    const handler = platform.only('AWS::Lambda::Function', 'staging/SageMaker', (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === 'acme-ml-staging-async');
    const spec = JSON.parse(handler.properties.Environment.Variables.DEPLOYMENT_SPEC);
    const output = spec.AsyncInferenceConfig.OutputConfig.S3OutputPath as string;
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.*)$/.exec(output)!;
    const base = key.replace(/output$/, '');
    const object = (k: string) => `arn:aws:s3:::${bucket}/${k}`;
    const endpoint = `arn:aws:sagemaker:us-east-1:${ACCOUNTS.staging}:endpoint/acme-ml-staging-async`;
    await expectAllowed(platform,
      { principal: role, action: 'sagemaker:InvokeEndpointAsync', resource: endpoint },
      { principal: role, action: 's3:PutObject', resource: object(`${base}input/smoke-test/0123abcd.json`) },
      { principal: role, action: 's3:GetObject', resource: object(`${base}output/0123abcd.out`) },
      { principal: role, action: 's3:GetObject', resource: object(`${base}failures/0123abcd-error.out`) },
      // SageMaker reads the request with the endpoint's role.
      { principal: spec.ExecutionRoleArn, action: 's3:GetObject', resource: object(`${base}input/smoke-test/0123abcd.json`) });
    expect(await decide(platform, { principal: role, action: 's3:PutObject', resource: object(`${base}output/forged.out`) })).not.toBe('Allowed');
    expect(await decide(platform, { principal: role, action: 's3:GetObject', resource: object('training-jobs/x/output/model.tar.gz') })).not.toBe('Allowed');
  });
});

describe('model journey permissions of a Ray-trained model across accounts: the target endpoints read the archive the Ray run wrote in dev', () => {
  let platform: SynthesizedPlatform;
  beforeAll(() => { platform = synthesizeConfig('rayAsyncServerlessTargets', RAY_ASYNC_SERVERLESS_TARGETS, STANDALONE); });
  // A Ray run is named <job prefix>-<pipeline execution id>.
  const execution = '8f14e45f-ceea-467f-a8f6-0c9a5bbbb3a1';
  const run = `acme-ml-dev-${execution}`;

  test('the combination synthesizes with no unacknowledged finding of AwsSolutions, NIST 800-53 R5 or HIPAA', () => {
    expect(platform.validationFailures).toEqual([]);
  });

  test.each([['staging', 'async'], ['prod', 'serverless']] as const)('%s\'s %s endpoint role may read the registered Ray archive (its policy in %s, dev\'s bucket and key policies) and nothing else there', async (target, group) => {
    const artifacts = platform.only('AWS::S3::Bucket', 'dev/Data', (b) => b.logicalId.includes('Artifacts'));
    const key = platform.byIdentifier(artifacts.properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID as string)!;
    // The exact object Register registers: the gateway's output prefix, the run, model.tar.gz, in dev's artifacts bucket.
    const url = registeredModelDataUrl(platform, execution)!;
    expect(url).toBe(`s3://${artifacts.ref}/ray-jobs/${run}/model.tar.gz`);
    const model = `arn:aws:s3:::${url.slice('s3://'.length)}`;
    const handler = platform.only('AWS::Lambda::Function', `${target}/SageMaker`, (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === `acme-ml-${target}-${group}`);
    const role = JSON.parse(handler.properties.Environment.Variables.DEPLOYMENT_SPEC).ExecutionRoleArn as string;
    expect(role).toBe(`arn:aws:iam::${ACCOUNTS[target]}:role/${endpointRoleName('acme-ml', target, group)}`);
    const read = { principal: role, action: 's3:GetObject', resource: model, resourceAccount: ACCOUNTS.dev, context: { 'aws:ResourceAccount': ACCOUNTS.dev } };
    const decrypt = { principal: role, action: 'kms:Decrypt', resource: key.arn, context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } };
    await expectAllowed(platform, read, decrypt);
    // Both sides are needed across accounts: without dev's bucket or key policy the target's identity policy is not enough.
    expect(await decide(platform, { ...read, resourcePolicy: null })).not.toBe('Allowed');
    expect(await decide(platform, { ...decrypt, resourcePolicy: null })).not.toBe('Allowed');
    // Only the archives: not the run's checkpoints or metrics, and not a SageMaker training job's output (this pipeline trains on Ray).
    for (const other of [`ray-jobs/${run}/checkpoints/epoch-3/checkpoint.pt`, `ray-jobs/${run}/metrics.json`, `training-jobs/${run}/output/model.tar.gz`]) {
      expect(await decide(platform, { ...read, resource: `arn:aws:s3:::${artifacts.ref}/${other}` })).not.toBe('Allowed');
    }
  });

  test('Evaluate reads the metric the run wrote beside the archive: the gateway role may read metrics.json and decrypt it', async () => {
    const artifacts = platform.only('AWS::S3::Bucket', 'dev/Data', (b) => b.logicalId.includes('Artifacts'));
    const key = platform.byIdentifier(artifacts.properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID as string)!;
    const pipeline = platform.only('AWS::CodePipeline::Pipeline', 'dev/Delivery');
    const evaluate = platform.byIdentifier(pipeline.properties.Stages.find((st: any) => st.Name === 'Evaluate').Actions[0].Configuration.StateMachineArn)!;
    const gatewayArn = JSON.parse(evaluate.properties.DefinitionString).States.ReadMetric.Resource as string;
    const gateway = platform.byIdentifier(gatewayArn)!;
    expect(gateway.properties.Environment.Variables.OUTPUT_PREFIX).toBe('ray-jobs/');
    const role = platform.byIdentifier(gateway.properties.Role)!.arn;
    await expectAllowed(platform,
      { principal: role, action: 's3:GetObject', resource: `arn:aws:s3:::${artifacts.ref}/ray-jobs/${run}/metrics.json` },
      { principal: role, action: 'kms:Decrypt', resource: key.arn, context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } });
  });
});

describe('model journey permissions with the built-in defaults (one account): each acting role on the exact ARN', () => {
  let platform: SynthesizedPlatform;
  beforeAll(() => { platform = synthesizedPlatform('defaults'); });
  const arn = (resource: string) => `arn:aws:sagemaker:${AGNOSTIC_REGION}:${AGNOSTIC_ACCOUNT}:${resource}`;
  const roleOf = (r: FoundResource, prop = 'ServiceRole') => platform.byIdentifier(r.properties[prop])!.arn;

  test('the register step may create versions in the pipeline\'s group, and nowhere else', async () => {
    const role = roleOf(registerProject(platform));
    await expectAllowed(platform, { principal: role, action: 'sagemaker:CreateModelPackage', resource: arn('model-package/mlops-dev-default/1') });
    expect(await decide(platform, { principal: role, action: 'sagemaker:CreateModelPackage', resource: arn('model-package/mlops-prod-default/1') })).toBe('ImplicitlyDenied');
  });

  test('the deploy state machine may approve the registered version and copy it into each target group', async () => {
    const machine = platform.only('AWS::StepFunctions::StateMachine', 'dev/Delivery', (m) => String(m.properties.DefinitionString).includes('createModelPackage'));
    const role = roleOf(machine, 'RoleArn');
    await expectAllowed(platform,
      { principal: role, action: 'sagemaker:DescribeModelPackage', resource: arn('model-package/mlops-dev-default/1') },
      { principal: role, action: 'sagemaker:UpdateModelPackage', resource: arn('model-package/mlops-dev-default/1') },
      ...TARGETS.map((t) => ({ principal: role, action: 'sagemaker:CreateModelPackage', resource: arn(`model-package/mlops-${t}-default/1`) })));
  });

  test('the evaluation gate may read the champion (the newest approved version of the pipeline\'s group) and write its report', async () => {
    const fn = platform.only('AWS::Lambda::Function', 'dev/Delivery', (f) => f.logicalId.includes('EvaluationHandler'));
    const role = roleOf(fn, 'Role');
    const artifacts = platform.output('dev/Data', 'ArtifactsBucketName');
    await expectAllowed(platform,
      { principal: role, action: 'sagemaker:ListModelPackages', resource: '*' },
      { principal: role, action: 'sagemaker:DescribeModelPackage', resource: arn('model-package/mlops-dev-default/4') },
      // Its report beside the training job's model, which Register attaches as ModelMetrics.
      { principal: role, action: 's3:PutObject', resource: `arn:aws:s3:::${artifacts}/training-jobs/mlops-dev-run1/output/evaluation.json` });
    expect(await decide(platform, { principal: role, action: 's3:PutObject', resource: `arn:aws:s3:::${artifacts}/training-jobs/mlops-dev-run1/output/model.tar.gz` })).toBe('ImplicitlyDenied');
  });

  test('the rejection state machine may read the pipeline\'s action executions and reject the registered version', async () => {
    const machine = platform.only('AWS::StepFunctions::StateMachine', 'dev/Delivery', (m) => String(m.properties.DefinitionString).includes('listActionExecutions'));
    const pipeline = platform.only('AWS::CodePipeline::Pipeline', 'dev/Delivery');
    const role = roleOf(machine, 'RoleArn');
    await expectAllowed(platform,
      { principal: role, action: 'codepipeline:ListActionExecutions', resource: `arn:aws:codepipeline:${AGNOSTIC_REGION}:${AGNOSTIC_ACCOUNT}:${pipeline.ref}` },
      { principal: role, action: 'sagemaker:UpdateModelPackage', resource: arn('model-package/mlops-dev-default/3') });
    expect(await decide(platform, { principal: role, action: 'sagemaker:UpdateModelPackage', resource: arn('model-package/mlops-prod-default/3') })).toBe('ImplicitlyDenied');
  });

  test.each(TARGETS)('%s: the approval handler may deploy its group\'s versions to its endpoint; the smoke test may watch and invoke it', async (target) => {
    const fn = platform.only('AWS::Lambda::Function', `${target}/SageMaker`, (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === `mlops-${target}-default`);
    const spec = JSON.parse(fn.properties.Environment.Variables.DEPLOYMENT_SPEC);
    const role = roleOf(fn, 'Role');
    const name = approval.resourceName(fn.properties.Environment.Variables.RESOURCE_NAME_PREFIX, 1, arn(`model-package/mlops-${target}-default/1`));
    await expectAllowed(platform,
      { principal: role, action: 'sagemaker:DescribeModelPackage', resource: arn(`model-package/mlops-${target}-default/1`) },
      { principal: role, action: 'sagemaker:CreateModel', resource: arn(`model/${name}`) },
      { principal: role, action: 'sagemaker:CreateEndpointConfig', resource: arn(`endpoint-config/${name}`) },
      { principal: role, action: 'sagemaker:UpdateEndpoint', resource: arn(`endpoint/${spec.EndpointName}`) },
      { principal: role, action: 'iam:PassRole', resource: spec.ExecutionRoleArn, context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      // Custom::ServedModel: what the endpoint serves (a stack deploy's own config included), the newest approved version.
      { principal: role, action: 'sagemaker:DescribeEndpoint', resource: arn(`endpoint/${spec.EndpointName}`) },
      { principal: role, action: 'sagemaker:DescribeEndpointConfig', resource: arn(`endpoint-config/${fn.properties.Environment.Variables.RESOURCE_NAME_PREFIX}-v2-0a1b2c3d`) },
      { principal: role, action: 'sagemaker:DescribeModel', resource: arn(`model/${name}`) },
      { principal: role, action: 'sagemaker:ListModelPackages', resource: '*' });
    const smokeFn = platform.resources('AWS::Lambda::Function', { stack: 'dev/Delivery', filter: (f) => /[Ss]moke/.test(f.logicalId) })[0];
    const smokeRole = roleOf(smokeFn, 'Role');
    await expectAllowed(platform,
      { principal: smokeRole, action: 'sagemaker:DescribeEndpoint', resource: arn(`endpoint/${spec.EndpointName}`) },
      { principal: smokeRole, action: 'sagemaker:InvokeEndpoint', resource: arn(`endpoint/${spec.EndpointName}`) },
      { principal: smokeRole, action: 'sagemaker:DescribeEndpointConfig', resource: arn(`endpoint-config/${name}`) },
      { principal: smokeRole, action: 'sagemaker:DescribeModel', resource: arn(`model/${name}`) });
  });

  test('dev\'s endpoint, which serves the approved source version, may read the training job\'s output; staging\'s handler may read its rollback alarms', async () => {
    const fn = platform.only('AWS::Lambda::Function', 'dev/SageMaker', (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === 'mlops-dev-default');
    const devRole = JSON.parse(fn.properties.Environment.Variables.DEPLOYMENT_SPEC).ExecutionRoleArn;
    const artifacts = platform.output('dev/Data', 'ArtifactsBucketName');
    await expectAllowed(platform, { principal: devRole, action: 's3:GetObject', resource: `arn:aws:s3:::${artifacts}/training-jobs/mlops-dev-run1/output/model.tar.gz` });
    expect(await decide(platform, { principal: devRole, action: 's3:GetObject', resource: `arn:aws:s3:::${artifacts}/data-capture/x.jsonl` })).toBe('ImplicitlyDenied');

    const staging = platform.only('AWS::Lambda::Function', 'staging/SageMaker', (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === 'mlops-staging-default');
    const alarms = JSON.parse(staging.properties.Environment.Variables.DEPLOYMENT_SPEC).DeploymentConfig.AutoRollbackConfiguration.Alarms.map((a: { AlarmName: string }) => a.AlarmName);
    expect(alarms.length).toBeGreaterThan(0);
    await expectAllowed(platform, ...alarms.map((name: string) => ({
      principal: roleOf(staging, 'Role'), action: 'cloudwatch:DescribeAlarms', resource: `arn:aws:cloudwatch:${AGNOSTIC_REGION}:${AGNOSTIC_ACCOUNT}:alarm:${name}`,
    })));
  });

  test.each(TARGETS)('%s\'s endpoint, which runs the promoted copy, may read the model archive and pull the image in dev\'s bucket, key and repository (one account, one bucket per stage)', async (target) => {
    const fn = platform.only('AWS::Lambda::Function', `${target}/SageMaker`, (f) => f.properties.Environment?.Variables?.MODEL_PACKAGE_GROUP_NAME === `mlops-${target}-default`);
    const role = JSON.parse(fn.properties.Environment.Variables.DEPLOYMENT_SPEC).ExecutionRoleArn as string;
    const bucket = platform.only('AWS::S3::Bucket', 'dev/Data', (b) => b.logicalId.includes('Artifacts'));
    const key = platform.byIdentifier(bucket.properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID as string)!;
    const repo = platform.only('AWS::ECR::Repository', 'dev/Data', (r) => r.properties.RepositoryName === imageRepositoryName('mlops', 'dev', 'training'));
    // AWS puts the bucket owner in every S3 request (aws:ResourceAccount); the role's policy matches on it.
    const read = { principal: role, action: 's3:GetObject', resource: `arn:aws:s3:::${bucket.ref}/training-jobs/mlops-dev-run1/output/model.tar.gz`, context: { 'aws:ResourceAccount': AGNOSTIC_ACCOUNT } };
    const decrypt = { principal: role, action: 'kms:Decrypt', resource: key.arn, context: { 'kms:ViaService': `s3.${AGNOSTIC_REGION}.amazonaws.com` } };
    const pull = { principal: role, action: 'ecr:BatchGetImage', resource: repo.arn };
    await expectAllowed(platform, read, decrypt, pull);
    // In one account its own identity policy is enough (no statement of dev's bucket or repository names it; dev's key
    // policy only delegates to IAM), and it is narrow: only model archives, only decryption through S3.
    for (const r of [read, pull]) await expectAllowed(platform, { ...r, resourcePolicy: null });
    expect(await decide(platform, { ...read, resource: `arn:aws:s3:::${bucket.ref}/training-jobs/mlops-dev-run1/output/drift-baseline.json` })).toBe('ImplicitlyDenied');
    expect(await decide(platform, { ...decrypt, context: {} })).toBe('ImplicitlyDenied');
  });
});
