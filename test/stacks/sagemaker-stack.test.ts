import * as fs from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import { NIST80053R5Checks } from 'cdk-nag';
import { ConfigError, loadStageConfig } from '../../lib/config';
import { nagFindings, platformStage } from '../helpers';

// Other components off keep these stages small; the SageMaker stack depends only on Network, Data and Alerts.
const OTHERS_OFF = { compute: { enabled: false }, eks: { enabled: false }, lambdaInference: { enabled: false }, pipelines: { enabled: false }, monitoring: { enabled: false } };

describe('SageMakerStack in dev (on by default: one serverless endpoint, no idle cost)', () => {
  const stage = platformStage('dev', OTHERS_OFF);
  const stack = stage.sageMakerStack!;
  let t: Template;
  beforeAll(() => {
    t = Template.fromStack(stack);
  });

  test('named <prefix>-<stage>-SageMaker and tracked by the stage', () => {
    expect(stack.stackName).toBe('mlops-dev-SageMaker');
    expect(stage.stacks).toContain(stack);
  });

  test('a serverless endpoint serving the platform model server image built for x86_64', () => {
    t.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'mlops-dev-default' });
    t.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } })],
      KmsKeyId: Match.anyValue(),
    });
    t.hasResourceProperties('AWS::SageMaker::Model', { PrimaryContainer: { Image: { 'Fn::Sub': Match.stringLikeRegexp('container-assets') } } });
    const assets = stack.node.findAll().filter((c): c is ecrAssets.DockerImageAsset => c instanceof ecrAssets.DockerImageAsset);
    expect(assets).toHaveLength(1);
    // The stack's asset manifest records how the image is built.
    const assembly = stage.synth();
    const file = fs.readdirSync(assembly.directory).find((f) => f.includes('SageMaker') && f.endsWith('.assets.json'))!;
    const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, file), 'utf8')) as { dockerImages: Record<string, { source: Record<string, string> }> };
    expect(Object.values(manifest.dockerImages).map((i) => i.source)).toEqual([
      expect.objectContaining({ dockerFile: 'Dockerfile.sagemaker', platform: 'linux/amd64' }),
    ]);
  });

  test('the default model package group deploys approved versions to that endpoint', () => {
    t.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', { ModelPackageGroupName: 'mlops-dev-default' });
    t.hasResourceProperties('AWS::Events::Rule', { EventPattern: Match.objectLike({ detail: { ModelPackageGroupName: ['mlops-dev-default'], ModelApprovalStatus: ['Approved'] } }) });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ RESOURCE_NAME_PREFIX: 'mlops-dev-default', MODEL_PACKAGE_GROUP_NAME: 'mlops-dev-default' }) } });
  });

  test('outputs for the operations CLI', () => {
    t.hasOutput('EndpointNames', { Value: 'mlops-dev-default' });
    t.hasOutput('ModelPackageGroupNames', { Value: 'mlops-dev-default' });
  });

  test('cdk-nag AwsSolutions finds nothing in the stage', () => {
    expect(nagFindings(stage)).toEqual([]);
  });
});

describe('SageMakerStack in prod when switched on (real-time, A/B, async, drift)', () => {
  const stage = platformStage('prod', {
    ...OTHERS_OFF,
    nag: { packs: ['NIST80053R5'], verbose: false },
    sagemaker: {
      enabled: true,
      crossAccountIds: ['222222222222'],
      modelPackageGroups: ['default', 'fraud'],
      endpoints: [
        {
          name: 'default', mode: 'real-time', dataCaptureSamplingPercent: 20, modelPackageGroup: 'default',
          autoScaling: { minCapacity: 2, maxCapacity: 6 },
          guardrails: { trafficShifting: 'canary', canaryPercent: 10, bakeMinutes: 10, latencyAlarmMs: 800, errorAlarmCount: 3 },
          dataQuality: { baselineStatisticsKey: 'baselines/default/statistics.json', baselineConstraintsKey: 'baselines/default/constraints.json', schedule: 'cron(0 * ? * * *)' },
        },
        {
          name: 'fraud', mode: 'real-time', instanceType: 'ml.c6i.large', modelPackageGroup: 'fraud',
          image: { repository: 'inference', tag: 'fraud-1.4.0' },
          variants: [{ name: 'champion', weight: 90 }, { name: 'challenger', weight: 10, image: { repository: 'inference', tag: 'fraud-1.5.0' } }],
        },
        { name: 'batch', mode: 'async', autoScaling: { maxCapacity: 4 } },
      ],
    },
  });
  const stack = stage.sageMakerStack!;
  let t: Template;
  beforeAll(() => {
    t = Template.fromStack(stack);
  });

  test('prod default: 2 instances per variant with canary guardrails on the endpoint\'s alarms', () => {
    t.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', InitialInstanceCount: 2 })],
      DataCaptureConfig: Match.objectLike({ InitialSamplingPercentage: 20 }),
    });
    t.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'mlops-prod-default',
      DeploymentConfig: Match.objectLike({ BlueGreenUpdatePolicy: Match.objectLike({ TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 } }) }),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ModelLatency', Threshold: 800000, Dimensions: Match.arrayWith([{ Name: 'EndpointName', Value: 'mlops-prod-default' }]) });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { ResourceId: 'endpoint/mlops-prod-default/variant/AllTraffic', MinCapacity: 2, MaxCapacity: 6 });
  });

  test('A/B variants from the registry\'s repository, weighted 90/10', () => {
    t.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [
        Match.objectLike({ VariantName: 'champion', InitialVariantWeight: 90, InstanceType: 'ml.c6i.large', InitialInstanceCount: 2 }),
        Match.objectLike({ VariantName: 'challenger', InitialVariantWeight: 10 }),
      ],
    });
    expect(JSON.stringify(t.findResources('AWS::SageMaker::Model'))).toContain(':fraud-1.5.0');
  });

  test('async endpoint writes to the artifacts bucket and scales from zero', () => {
    t.hasResourceProperties('AWS::SageMaker::EndpointConfig', { AsyncInferenceConfig: Match.objectLike({ OutputConfig: Match.objectLike({ NotificationConfig: Match.anyValue() }) }) });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { ResourceId: 'endpoint/mlops-prod-batch/variant/AllTraffic', MinCapacity: 0, MaxCapacity: 4 });
  });

  test('drift monitoring of the default endpoint, registries for both groups shared with the other account', () => {
    t.resourceCountIs('AWS::SageMaker::MonitoringSchedule', 1);
    t.resourceCountIs('AWS::SageMaker::ModelPackageGroup', 2);
    expect(JSON.stringify(t.findResources('AWS::SageMaker::ModelPackageGroup'))).toContain(':iam::222222222222:root');
    t.hasOutput('EndpointNames', { Value: 'mlops-prod-default,mlops-prod-fraud,mlops-prod-batch' });
    t.hasOutput('ModelPackageGroupNames', { Value: 'mlops-prod-default,mlops-prod-fraud' });
  });

  test('termination protection in prod', () => {
    expect(stack.terminationProtection).toBe(true);
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing in the SageMaker stack', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
  });
});

describe('SageMaker config errors name the key', () => {
  const load = (sagemaker: Record<string, unknown>) => () => loadStageConfig({ stage: 'dev', overrides: { sagemaker } });
  const one = (endpoint: Record<string, unknown>) => load({ endpoints: [{ name: 'x', ...endpoint }], modelPackageGroups: [] });

  test.each([
    ['unknown instance type', { mode: 'real-time', instanceType: 'ml.q9.large' }, /sagemaker\.endpoints\.0\.instanceType: "ml\.q9\.large" — must be a SageMaker hosting instance type/],
    ['serverless memory not allowed', { mode: 'serverless', serverless: { memoryMb: 1000, maxConcurrency: 5 } }, /sagemaker\.endpoints\.0\.serverless\.memoryMb: 1000 — must be one of 1024, 2048/],
    ['min above max capacity', { mode: 'real-time', autoScaling: { minCapacity: 5, maxCapacity: 2 } }, /sagemaker\.endpoints\.0\.autoScaling\.minCapacity: 5 — must not exceed autoScaling\.maxCapacity \(2\)/],
    ['variant weights all zero', { mode: 'real-time', variants: [{ name: 'a', weight: 0 }] }, /sagemaker\.endpoints\.0\.variants: .* — at least one variant needs a weight above 0/],
    ['serverless without sizing', { mode: 'serverless' }, /sagemaker\.endpoints\.0\.serverless: \(missing\) — is required with mode "serverless"/],
    ['serverless with data capture', { mode: 'serverless', serverless: { memoryMb: 2048, maxConcurrency: 5 }, dataCaptureSamplingPercent: 10 }, /dataCaptureSamplingPercent: 10 — serverless endpoints do not support/],
    ['drift monitoring without capture', { mode: 'real-time', dataQuality: { baselineStatisticsKey: 'a/s.json', baselineConstraintsKey: 'a/c.json', schedule: 'cron(0 * ? * * *)' } }, /sagemaker\.endpoints\.0\.dataQuality: .* — needs dataCaptureSamplingPercent/],
  ])('%s', (_name, endpoint, expected) => {
    expect(one(endpoint)).toThrow(ConfigError);
    expect(one(endpoint)).toThrow(expected);
  });

  test('an endpoint deploying an undeclared model package group', () => {
    expect(load({ endpoints: [{ name: 'x', mode: 'serverless', serverless: { memoryMb: 2048, maxConcurrency: 5 }, modelPackageGroup: 'nope' }], modelPackageGroups: ['default'] }))
      .toThrow(/sagemaker\.endpoints\.0\.modelPackageGroup: "nope" — must be one of modelPackageGroups \(default\)/);
  });

  test('construct-level rules surface at synth naming the prop (guardrail alarms are the construct\'s own)', () => {
    expect(() => platformStage('dev', { ...OTHERS_OFF, sagemaker: { endpoints: [{ name: 'x', mode: 'real-time', instanceType: 'ml.m5.large', autoScaling: { maxCapacity: 0 } }] } }))
      .toThrow(/autoScaling\.maxCapacity: 0/);
  });
});
