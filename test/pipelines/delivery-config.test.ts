import { Match, Template } from 'aws-cdk-lib/assertions';
import { ConfigError, isScheduleExpression, loadStageConfig } from '../../lib/config';
import { resolveDeliveryTargets } from '../../lib/stacks/delivery-stack';
import { PlatformStage } from '../../lib/platform-stage';
import { nagFindings, newApp } from '../helpers';

const CONNECTION = 'arn:aws:codeconnections:us-east-1:111111111111:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const noBundling = { 'aws:cdk:bundling-stacks': [] };

/** The problems a config override produces, one line per bad key. */
function problems(stage: string, pipelines: Record<string, unknown>): string[] {
  try {
    loadStageConfig({ stage, overrides: { pipelines } });
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

describe('pipelines config: synth errors name the key, the value and what is allowed', () => {
  test('malformed connection ARN', () => {
    expect(problems('dev', { source: { connectionArn: 'arn:aws:codestar:us-east-1:111111111111:conn/1', repository: 'acme/models' } })).toEqual([
      'pipelines.source.connectionArn: "arn:aws:codestar:us-east-1:111111111111:conn/1" — must be a CodeConnections connection ARN such as arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>',
    ]);
  });

  test('repository not owner/name, and a connection without repository', () => {
    expect(problems('dev', { source: { connectionArn: CONNECTION, repository: 'models' } })).toEqual([
      'pipelines.source.repository: "models" — must be a GitHub repository as "owner/name", e.g. acme/ml-models',
    ]);
    expect(problems('dev', { source: { connectionArn: CONNECTION } })).toEqual([
      'pipelines.source.repository: (missing) — is required with connectionArn: give the repository as "owner/name"',
    ]);
    expect(problems('dev', { github: { repository: 'acme' } })[0]).toMatch(/^pipelines\.github\.repository: "acme" — must be a GitHub repository as "owner\/name"/);
  });

  test('invalid schedule expression', () => {
    const [line] = problems('dev', { schedule: 'every 7 days' });
    expect(line).toMatch(/^pipelines\.schedule: "every 7 days" — must be an EventBridge Scheduler expression: rate\(/);
    expect(problems('dev', { schedule: 'cron(0 3 * * * *)' })[0]).toContain('pipelines.schedule: "cron(0 3 * * * *)"');
    expect(problems('dev', { schedule: 'cron(0 3 ? * MON *)' })).toEqual([]);
    expect(problems('dev', { schedule: 'rate(1 day)' })).toEqual([]);
  });

  test('schedule expressions accepted and refused', () => {
    expect(['rate(5 minutes)', 'rate(1 hour)', 'cron(0 12 * * ? *)', 'cron(15 10 ? * 6L 2026-2030)'].every(isScheduleExpression)).toBe(true);
    expect(['rate(0 days)', 'rate(1 days)', 'rate(2 day)', 'cron(0 12 * * *)', 'cron(0 12 ? * ? *)', 'at(2026-01-01T00:00:00)'].some(isScheduleExpression)).toBe(false);
  });

  test('evaluation thresholds are in the metric\'s unit (an RMSE of 12.5 is fine), but must be numbers', () => {
    expect(problems('dev', { evaluation: { threshold: 12.5, direction: 'minimize', metricName: 'validation:rmse', metricRegex: 'rmse=([0-9.]+)' } })).toEqual([]);
    expect(problems('dev', { evaluation: { threshold: 'high' } })).toEqual(['pipelines.evaluation.threshold: "high" — must be a number, got string']);
  });

  test('a Lambda deploy target is kind "lambda": a function name is refused with a pointer to it, and so are the endpoint keys', () => {
    expect(problems('dev', { deployTargets: [{ stage: 'staging', functionName: 'mlops-staging-inference:live' }] })[0])
      .toMatch(/^pipelines\.deployTargets\.0\.functionName: "mlops-staging-inference:live" — is not a key of a deploy target: set kind: "lambda"/);
    expect(problems('dev', { deployTargets: [{ stage: 'staging', kind: 'lambda', endpointName: 'default', modelPackageGroupName: 'default' }] })).toEqual([
      'pipelines.deployTargets.0.modelPackageGroupName: "default" — applies to kind "endpoint" only: a Lambda target is promoted through the group of the target stage\'s Lambda inference function',
      'pipelines.deployTargets.0.endpointName: "default" — applies to kind "endpoint" only: a Lambda target is promoted through the group of the target stage\'s Lambda inference function',
    ]);
    expect(problems('dev', { deployTargets: [{ stage: 'staging', kind: 'function' }] })).toEqual(['pipelines.deployTargets.0.kind: "function" — must be "endpoint" or "lambda"']);
  });

  test('training instance type, scan severity and deploy targets', () => {
    expect(problems('dev', { training: { instanceType: 'p4d.24xlarge' } })[0]).toMatch(/^pipelines\.training\.instanceType: "p4d.24xlarge" — must be a SageMaker instance type/);
    expect(problems('dev', { scan: { failOnSeverity: 'SEVERE' } })).toEqual(['pipelines.scan.failOnSeverity: "SEVERE" — must be CRITICAL, HIGH, MEDIUM or LOW']);
    expect(problems('dev', { deployTargets: [{ stage: 'staging' }, { stage: 'staging' }] })).toEqual(['pipelines.deployTargets.1.stage: "staging" — must be unique: "staging" is already a target']);
    expect(problems('dev', { deployTargets: [{ stage: 'prod', approval: false }] })).toEqual(['pipelines.deployTargets.0.approval: false — prod deployments must be approved: set true or leave out']);
  });

  test('prod with approval disabled explicitly is refused by the config loader', () => {
    expect(problems('prod', { requireApproval: false })).toEqual(['pipelines.requireApproval: false — prod deployments must be approved (true)']);
  });

  test('the built-in defaults: dev hosts both pipelines with an S3 source; staging/prod approve', () => {
    const dev = loadStageConfig({ stage: 'dev' }).pipelines;
    expect(dev).toMatchObject({ enabled: true, requireApproval: false, infrastructure: { enabled: true }, source: { branch: 'main' } });
    expect(dev.source.connectionArn).toBeUndefined();
    expect(dev.deployTargets).toEqual([{ stage: 'staging', kind: 'endpoint' }, { stage: 'prod', kind: 'endpoint', approval: true }]);
    expect(loadStageConfig({ stage: 'prod' }).pipelines).toMatchObject({ enabled: false, requireApproval: true });
  });
});

describe('the dev stage with the default config and a GitHub role', () => {
  let stage: PlatformStage;
  let t: Template;
  beforeAll(() => {
    const config = loadStageConfig({ stage: 'dev', overrides: { pipelines: { github: { repository: 'acme/ml-platform', branch: 'main' }, schedule: 'rate(7 days)' } } });
    stage = new PlatformStage(newApp({ context: noBundling }), 'dev', { config });
    t = Template.fromStack(stage.deliveryStack!);
  });

  test('a Delivery stack named <prefix>-dev-Delivery holds the model pipeline and the deploy role', () => {
    expect(stage.deliveryStack!.stackName).toBe('mlops-dev-Delivery');
    t.resourceCountIs('AWS::CodePipeline::Pipeline', 1);
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Condition: { StringEquals: {
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub': ['repo:acme/ml-platform:environment:dev', 'repo:acme/ml-platform:ref:refs/heads/main'],
      } } })] },
    });
    t.hasOutput('GitHubDeployRoleArn', {});
    t.hasOutput('GitHubDiffRoleArn', {});
    t.hasOutput('ModelSourceBucketName', {});
  });

  test('the account\'s OIDC provider is imported by its fixed ARN, not created (one per account; createProvider opts in)', () => {
    t.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    expect(JSON.stringify(t.findResources('AWS::IAM::Role'))).toContain(':oidc-provider/token.actions.githubusercontent.com');
  });

  // test/journeys/model-to-production.test.ts proves these are the group and endpoint the target stages create.
  test('targets are the target stage\'s group and the endpoint deploying it (same group as the pipeline by default)', () => {
    const deploy = JSON.stringify(t.findResources('AWS::CodePipeline::Pipeline'));
    expect(deploy).toContain('\\"targetModelPackageGroupName\\":\\"mlops-staging-default\\"');
    expect(deploy).toContain('\\"endpointName\\":\\"mlops-prod-default\\"');
    t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(7 days)' });
  });

  test('the drift event of the platform convention starts the pipeline', () => {
    t.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['cdk-mlops.monitoring'], 'detail-type': ['Model Drift Detected'] } });
  });

  test('status may read exactly this stage\'s pipelines: the model pipeline by reference, the infrastructure pipeline (same account here) by its fixed name', () => {
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st: { Sid?: string }) => st.Sid === 'ReadStagePipelines');
    // The deploy role and the diff role (whose job runs status before the approval).
    expect(statements).toHaveLength(2);
    const pipeline = Object.keys(t.findResources('AWS::CodePipeline::Pipeline'))[0];
    for (const st of statements) {
      expect(st.Action).toEqual(['codepipeline:GetPipelineState', 'codepipeline:ListPipelineExecutions']);
      expect(st.Resource).toEqual([
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':codepipeline:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', { Ref: pipeline }]] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':codepipeline:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':mlops-Infrastructure']] },
      ]);
    }
  });

  test('cdk-nag AwsSolutions has no unacknowledged findings in the Delivery stack', () => {
    expect(nagFindings(stage.deliveryStack!)).toEqual([]);
  });
});

describe('the pipeline is wired to the registry it registers into and the targets it promotes to', () => {
  // Building stops at the Delivery stack, so only the stacks before it are synthesized.
  const wiringProblems = (dev: Record<string, unknown>, others: Record<string, Record<string, unknown>> = {}): string[] => {
    const config = loadStageConfig({ stage: 'dev', overrides: dev });
    try {
      new PlatformStage(newApp({ context: noBundling }), 'dev', { config, stageConfig: (stage) => loadStageConfig({ stage, overrides: others[stage] }) });
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return [...e.problems];
      throw e;
    }
  };

  test('a stage the pipeline promotes to switches its SageMaker stack on, unless the user says otherwise', () => {
    expect(loadStageConfig({ stage: 'staging' }).sagemaker.enabled).toBe(true);
    expect(loadStageConfig({ stage: 'prod' }).sagemaker.enabled).toBe(true);
    expect(loadStageConfig({ stage: 'staging', overrides: { sagemaker: { enabled: false } } }).sagemaker.enabled).toBe(false);
  });

  test('synth fails naming the key when a target stage does not deploy what the pipeline promotes to', () => {
    expect(wiringProblems({}, { staging: { sagemaker: { enabled: false } } })).toEqual([
      'pipelines.deployTargets.0.stage: "staging" — stage staging deploys no SageMaker stack (its sagemaker.enabled is false); switch it on there or remove the target',
    ]);
    expect(wiringProblems({ pipelines: { deployTargets: [{ stage: 'staging', modelPackageGroupName: 'churn' }] } })).toEqual([
      'pipelines.deployTargets.0.modelPackageGroupName: "churn" — stage staging has no such model package group; allowed: default',
    ]);
    expect(wiringProblems({}, { prod: { sagemaker: { endpoints: [{ name: 'default', mode: 'serverless', serverless: { memoryMb: 2048, maxConcurrency: 5 } }] } } })).toEqual([
      'pipelines.deployTargets.1.modelPackageGroupName: "default" — no endpoint of stage prod deploys this group (set sagemaker.endpoints[].modelPackageGroup there); endpoints: default',
    ]);
    expect(wiringProblems({ pipelines: { deployTargets: [{ stage: 'staging', endpointName: 'other' }] } })).toEqual([
      'pipelines.deployTargets.0.endpointName: "other" — group default of stage staging deploys to endpoint "default"; leave endpointName out or give that one',
    ]);
  });

  test('an asynchronous target is tested by its own stage (InvokeEndpointAsync through its bucket), by the shared name', () => {
    const others: Record<string, Record<string, unknown>> = { staging: { sagemaker: { endpoints: [{ name: 'default', mode: 'async', modelPackageGroup: 'default' }] } } };
    expect(wiringProblems({}, others)).toEqual([]);
    const { targets } = resolveDeliveryTargets(loadStageConfig({ stage: 'dev' }), (stage) => loadStageConfig({ stage, overrides: others[stage] }));
    expect(targets.map((t) => [t.name, t.smokeTestFunctionName, t.account])).toEqual([['staging', 'mlops-staging-default-smoke', undefined], ['prod', undefined, undefined]]);
  });

  test('a Lambda target resolves to the target stage\'s function, alias and group by the shared names', () => {
    const lambdaTargets = { deployTargets: [{ stage: 'staging', kind: 'lambda' }, { stage: 'prod', approval: true }] };
    const { targets, problems: found } = resolveDeliveryTargets(loadStageConfig({ stage: 'dev', overrides: { pipelines: lambdaTargets } }), (stage) => loadStageConfig({ stage, overrides: stage === 'staging' ? { lambdaInference: { enabled: true } } : {} }));
    expect(found).toEqual([]);
    expect(targets[0]).toEqual({
      name: 'staging', modelPackageGroupName: 'mlops-staging-lambda-inference', functionName: 'mlops-staging-inference:live', approval: false,
      deployment: { application: 'mlops-staging-inference', deploymentGroup: 'mlops-staging-inference-live' },
    });
    expect(targets[1]).toMatchObject({ name: 'prod', endpointName: 'mlops-prod-default' });
  });

  test('synth fails naming the key when a Lambda target\'s stage has no function, or no canary to shift its alias', () => {
    const lambdaTargets = { pipelines: { deployTargets: [{ stage: 'staging', kind: 'lambda' }, { stage: 'prod', kind: 'lambda', approval: true }] } };
    expect(wiringProblems(lambdaTargets, { staging: { lambdaInference: { enabled: false } }, prod: { lambdaInference: { enabled: true, canary: { enabled: false } } } })).toEqual([
      'pipelines.deployTargets.0.kind: "lambda" — stage staging deploys no Lambda inference function (its lambdaInference.enabled is false); switch it on there or promote to an endpoint (kind "endpoint")',
      'pipelines.deployTargets.1.kind: "lambda" — stage prod\'s lambdaInference.canary.enabled is false; a promotion shifts the function\'s alias through its CodeDeploy deployment group: switch it on there',
    ]);
  });

  test('synth fails naming the key when the pipeline\'s own stage has no such registry', () => {
    expect(wiringProblems({ pipelines: { modelPackageGroupName: 'churn' } })).toEqual([
      'pipelines.modelPackageGroupName: "churn" — the pipeline registers into this stage\'s model registry: allowed: default',
      // Every problem at once: the targets default to the same group.
      'pipelines.deployTargets.0.modelPackageGroupName: "churn" — stage staging has no such model package group; allowed: default',
      'pipelines.deployTargets.1.modelPackageGroupName: "churn" — stage prod has no such model package group; allowed: default',
    ]);
  });
});
