import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { AlertsTopic } from '../../constructs/monitoring';
import { ImageRegistry } from '../../constructs/registry';
import { ModelRegistry } from '../../constructs/serving';
import { DataLake } from '../../constructs/storage';
import { ImageScanGate } from '../../pipelines/image-scan-gate';
import { ModelDeliveryPipeline, type ModelDeliveryPipelineProps } from '../../pipelines/model-delivery-pipeline';
import { ModelPromotion } from '../../pipelines/model-promotion';
import { TrainingWorkflow } from '../../pipelines/training-workflow';
import { nagFindings, newApp } from '../helpers';

// Handlers are bundled in the app test; here the asset is a placeholder so the file stays fast.
const noBundling = { 'aws:cdk:bundling-stacks': [] };
const CONNECTION = 'arn:aws:codeconnections:us-east-1:111111111111:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';

function foundation() {
  const app = newApp({ context: noBundling });
  const shared = new Stack(app, 'Shared');
  return {
    app,
    shared,
    lake: new DataLake(shared, 'Lake'),
    registry: new ImageRegistry(shared, 'Registry', { repositories: ['training'], repositoryNamePrefix: 'mlops-dev' }),
    alerts: new AlertsTopic(shared, 'Alerts'),
    vpc: new ec2.Vpc(shared, 'Vpc', { maxAzs: 2, natGateways: 1 }),
    churn: ModelRegistry.fromModelPackageGroupName(shared, 'Churn', 'churn'),
  };
}
type Foundation = ReturnType<typeof foundation>;
const baseProps = (f: Foundation): ModelDeliveryPipelineProps => ({
  imageRepository: f.registry.repositories.training,
  trainingDataBucket: f.lake.processedBucket,
  artifactsBucket: f.lake.artifactsBucket,
  vpc: f.vpc,
  alertsTopic: f.alerts.topic,
  modelRegistry: f.churn,
});

describe('ModelDeliveryPipeline with the S3 source, two targets, schedule and drift', () => {
  let f: Foundation;
  let stack: Stack;
  let t: Template;
  let construct: ModelDeliveryPipeline;
  let stages: { Name: string; Actions: { Name: string; RunOrder?: number; ActionTypeId: { Category: string; Provider: string }; Configuration?: Record<string, unknown> }[] }[];
  beforeAll(() => {
    f = foundation();
    stack = new Stack(f.app, 'Delivery');
    construct = new ModelDeliveryPipeline(stack, 'Model', {
      ...baseProps(f),
      training: { instanceType: 'ml.g5.2xlarge', instanceCount: 2, spot: true, threshold: 0.9 },
      targets: [
        { name: 'staging', modelPackageGroupName: 'churn-staging', endpointName: 'mlops-staging-churn' },
        { name: 'prod', modelPackageGroupName: 'churn-prod', endpointName: 'mlops-prod-churn', approval: true },
      ],
      schedule: scheduler.ScheduleExpression.expression('rate(7 days)'),
      retrainEventPattern: { source: ['cdk-mlops.monitoring'], detailType: ['Model Drift Detected'] },
      trainingJobPrefix: 'mlops-dev',
    });
    f.app.synth();
    t = Template.fromStack(stack);
    const pipeline = Object.values(t.findResources('AWS::CodePipeline::Pipeline'))[0] as { Properties: { Stages: typeof stages } };
    stages = pipeline.Properties.Stages;
  });

  test('stages run in the delivery order, approvals before the first deployment and before prod', () => {
    expect(stages.map((s) => s.Name)).toEqual([
      'Source', 'BuildAndTest', 'Image', 'Train', 'Evaluate', 'Register', 'Approve', 'Deploy-staging', 'Approve-prod', 'Deploy-prod',
    ]);
  });

  test('each stage uses the intended action types', () => {
    const actions = Object.fromEntries(stages.map((s) => [s.Name, s.Actions.map((a) => `${a.Name}:${a.ActionTypeId.Provider}:${a.RunOrder ?? 1}`)]));
    expect(actions).toEqual({
      Source: ['Source:S3:1'],
      BuildAndTest: ['Test:CodeBuild:1'],
      Image: ['BuildAndPush:CodeBuild:1', 'ScanGate:StepFunctions:2'],
      Train: ['Train:StepFunctions:1'],
      Evaluate: ['Evaluate:StepFunctions:1', 'DriftBaseline:StepFunctions:2'],
      Register: ['Register:CodeBuild:1'],
      Approve: ['Approve:Manual:1'],
      'Deploy-staging': ['Deploy:StepFunctions:1', 'SmokeTest:StepFunctions:2'],
      'Approve-prod': ['Approve:Manual:1'],
      'Deploy-prod': ['Deploy:StepFunctions:1', 'SmokeTest:StepFunctions:2'],
    });
  });

  test('the manual approvals notify the alerts topic', () => {
    for (const name of ['Approve', 'Approve-prod']) {
      const config = stages.find((s) => s.Name === name)!.Actions[0].Configuration!;
      expect(JSON.stringify(config.NotificationArn)).toContain('AlertsTopic');
    }
  });

  test('pipeline variables carry the image tag, the training job and the registered version between stages', () => {
    const input = (stage: string, i = 0) => JSON.parse(stages.find((s) => s.Name === stage)!.Actions[i].Configuration!.Input as string);
    expect(input('Image', 1)).toEqual({ imageTag: '#{Image.IMAGE_TAG}' });
    expect(input('Train')).toEqual({ trainingJobName: 'mlops-dev-#{codepipeline.PipelineExecutionId}', imageUri: '#{Image.IMAGE_URI}' });
    expect(input('Evaluate')).toEqual({ trainingJobName: 'mlops-dev-#{codepipeline.PipelineExecutionId}' });
    expect(input('Deploy-prod')).toMatchObject({ sourceModelPackageArn: '#{Register.MODEL_PACKAGE_ARN}', targetModelPackageGroupName: 'churn-prod' });
    expect(input('Deploy-staging', 1)).toEqual({ request: { endpointName: 'mlops-staging-churn', sourceModelPackageArn: '#{Register.MODEL_PACKAGE_ARN}', instances: [[0, 0, 0, 0]] } });
  });

  test('V2 pipeline whose artifacts are encrypted with the customer-managed key', () => {
    t.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      PipelineType: 'V2',
      ArtifactStore: { Type: 'S3', EncryptionKey: { Type: 'KMS', Id: Match.anyValue() } },
    });
    const kmsBuckets = Object.values(t.findResources('AWS::S3::Bucket', {
      Properties: { BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] } },
    }));
    expect(kmsBuckets).toHaveLength(2); // artifacts and source
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('the S3 source bucket is versioned and starts the pipeline through EventBridge', () => {
    t.hasResourceProperties('Custom::S3BucketNotifications', { NotificationConfiguration: { EventBridgeConfiguration: {} } });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { object: { key: ['source.zip'] } } },
      Targets: [Match.objectLike({ Arn: Match.anyValue() })],
    });
  });

  test('CodeBuild projects use the key and an encrypted log group with retention; only the image build is privileged', () => {
    const projects = Object.values(t.findResources('AWS::CodeBuild::Project')) as { Properties: { EncryptionKey: unknown; Environment: { PrivilegedMode: boolean }; LogsConfig: unknown } }[];
    expect(projects).toHaveLength(3);
    for (const p of projects) {
      expect(p.Properties.EncryptionKey).toBeDefined();
      expect(JSON.stringify(p.Properties.LogsConfig)).toContain('"Status":"ENABLED"');
    }
    expect(projects.filter((p) => p.Properties.Environment.PrivilegedMode)).toHaveLength(1);
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup')) as { Properties: { RetentionInDays: number; KmsKeyId: unknown } }[];
    expect(groups.length).toBeGreaterThanOrEqual(10);
    for (const g of groups) {
      expect(g.Properties.RetentionInDays).toBe(365);
      expect(g.Properties.KmsKeyId).toBeDefined();
    }
  });

  test('Register attaches the drift baseline and the evaluation report written beside the model and records why the run started (pipeline variable)', () => {
    const pipeline = Object.values(t.findResources('AWS::CodePipeline::Pipeline'))[0].Properties;
    expect(pipeline.Variables).toEqual([expect.objectContaining({ Name: 'RetrainReason' })]);
    const register = stages.find((s) => s.Name === 'Register')!.Actions[0].Configuration!;
    expect(JSON.parse(register.EnvironmentVariables as string)).toContainEqual({ name: 'RETRAIN_REASON', type: 'PLAINTEXT', value: '#{variables.RetrainReason}' });
    const project = Object.values(t.findResources('AWS::CodeBuild::Project')).map((p) => p.Properties.Source.BuildSpec as string).find((b) => b.includes('create-model-package'))!;
    const commands = (JSON.parse(project).phases.build.commands as string[]);
    // Run the step's shell with a stand-in `aws` that prints what create-model-package receives.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'register-'));
    fs.writeFileSync(path.join(dir, 'aws'), [
      '#!/bin/bash',
      'if [ "$2" = describe-training-job ]; then echo "s3://lake/training-jobs/mlops-dev-e1/output/model.tar.gz"; exit 0; fi',
      'printf "%s\\n" "$@" > "$ARGS_FILE"; echo arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn/1',
    ].join('\n'), { mode: 0o755 });
    const argsFile = path.join(dir, 'args');
    execFileSync('bash', ['--norc', '--noprofile', '-ec', commands.join('\n')], {
      env: { PATH: `${dir}:${process.env.PATH}`, ARGS_FILE: argsFile, MODEL_PACKAGE_GROUP: 'churn', TRAINING_JOB_NAME: 'mlops-dev-e1', IMAGE_URI: 'repo:tag', SOURCE_VERSION: 'v1', RETRAIN_REASON: 'Drift on default: f2 (PSI 0.6, KS 0.4)' },
      encoding: 'utf8',
    });
    const args = fs.readFileSync(argsFile, 'utf8').split('\n');
    const arg = (name: string) => args[args.indexOf(name) + 1];
    expect(JSON.parse(arg('--drift-check-baselines'))).toEqual({ ModelDataQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://lake/training-jobs/mlops-dev-e1/output/drift-baseline.json' } } });
    // The evaluation gate's report, beside the model, is the package's ModelMetrics.
    expect(JSON.parse(arg('--model-metrics'))).toEqual({ ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://lake/training-jobs/mlops-dev-e1/output/evaluation.json' } } });
    expect(arg('--model-package-description')).toBe('Trained by mlops-dev-e1 from v1. Why: Drift on default: f2 (PSI 0.6, KS 0.4)');
    expect(arg('--customer-metadata-properties')).toContain('DriftBaseline=s3://lake/training-jobs/mlops-dev-e1/output/drift-baseline.json');
    fs.rmSync(dir, { recursive: true });
  });

  test('the image build exports the tag it pushes, derived from the source version', () => {
    t.hasResourceProperties('AWS::CodeBuild::Project', {
      Source: { BuildSpec: Match.stringLikeRegexp('"exported-variables": \\[\\s*"IMAGE_TAG",\\s*"IMAGE_URI"') },
      Environment: { PrivilegedMode: true },
    });
    const image = stages.find((s) => s.Name === 'Image')!.Actions[0].Configuration!;
    expect(JSON.parse(image.EnvironmentVariables as string)).toEqual([{ name: 'SOURCE_VERSION', type: 'PLAINTEXT', value: '#{Source.VersionId}' }]);
  });

  test('training is started and awaited (.sync) in the VPC with KMS volumes and output, GPU spot as configured', () => {
    const machines = Object.values(t.findResources('AWS::StepFunctions::StateMachine')) as { Properties: { DefinitionString: unknown } }[];
    const train = machines.map((m) => JSON.stringify(m.Properties.DefinitionString)).find((d) => d.includes('createTrainingJob.sync'));
    expect(train).toBeDefined();
    for (const s of ['\\"InstanceType\\":\\"ml.g5.2xlarge\\"', '\\"InstanceCount\\":2', '\\"EnableManagedSpotTraining\\":true', 'MaxWaitTimeInSeconds',
      'CheckpointConfig', 'VolumeKmsKeyId', 'VpcConfig', '\\"EnableInterContainerTrafficEncryption\\":true', '\\"Name\\":\\"validation:accuracy\\"']) {
      expect(train).toContain(s);
    }
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('training jobs'),
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })]),
    });
  });

  test('the training role passes only to SageMaker and reads only the training prefix', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Action: 'iam:PassRole', Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      })]) },
    });
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('/training/*');
    expect(policies).not.toMatch(/"Action":"s3:\*"|"Action":"sagemaker:\*"/);
  });

  test('scan, train, evaluate, drift baseline, deploy, smoke test and reject state machines log everything to encrypted groups, trace with X-Ray and are KMS-encrypted', () => {
    const machines = Object.values(t.findResources('AWS::StepFunctions::StateMachine')) as { Properties: Record<string, { Level?: string; Enabled?: boolean; Type?: string }> }[];
    expect(machines).toHaveLength(7);
    for (const m of machines) {
      expect(m.Properties.LoggingConfiguration.Level).toBe('ALL');
      expect(m.Properties.TracingConfiguration.Enabled).toBe(true);
      expect(m.Properties.EncryptionConfiguration.Type).toBe('CUSTOMER_MANAGED_KMS_KEY');
    }
  });

  test('every failed stage goes to the alerts topic', () => {
    const rules = t.findResources('AWS::Events::Rule', {
      Properties: { EventPattern: { source: ['aws.codepipeline'], 'detail-type': ['CodePipeline Stage Execution State Change'], detail: Match.objectLike({ state: ['FAILED'] }) } },
    });
    expect(Object.keys(rules)).toHaveLength(1);
    const target = (Object.values(rules)[0] as { Properties: { Targets: { Arn: unknown; InputTransformer: unknown }[] } }).Properties.Targets[0];
    expect(JSON.stringify(target.Arn)).toContain('AlertsTopic');
    expect(JSON.stringify(target.InputTransformer)).toContain('FAILED');
  });

  test('continuous training: the schedule and the drift event both start the pipeline', () => {
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(7 days)',
      Target: { Arn: Match.anyValue(), RoleArn: Match.anyValue() },
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['cdk-mlops.monitoring'], 'detail-type': ['Model Drift Detected'] },
      Targets: [Match.objectLike({ RoleArn: Match.anyValue() })],
    });
  });

  test('promotion copies the version as Approved into the target group only', () => {
    const deploy = Object.values(t.findResources('AWS::StepFunctions::StateMachine'))
      .map((m) => JSON.stringify(m)).find((d) => d.includes('createModelPackage'))!;
    expect(deploy).toContain('\\"ModelApprovalStatus\\":\\"Approved\\"');
    expect(deploy).toContain('SourceModelPackageArn');
    expect(construct.promotion).toBeDefined();
  });

  test('cdk-nag AwsSolutions has no unacknowledged findings', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('ModelDeliveryPipeline with a CodeConnections source', () => {
  let t: Template;
  beforeAll(() => {
    const f = foundation();
    const stack = new Stack(f.app, 'Delivery');
    new ModelDeliveryPipeline(stack, 'Model', { ...baseProps(f), source: { connectionArn: CONNECTION, repository: 'acme/churn-model', branch: 'release' } });
    t = Template.fromStack(stack);
  });

  test('the source is the connection, the image is tagged with the commit id, and no source bucket exists', () => {
    const pipeline = Object.values(t.findResources('AWS::CodePipeline::Pipeline'))[0] as { Properties: { Stages: { Name: string; Actions: { ActionTypeId: { Provider: string }; Configuration: Record<string, unknown> }[] }[] } };
    const source = pipeline.Properties.Stages[0].Actions[0];
    expect(source.ActionTypeId.Provider).toBe('CodeStarSourceConnection');
    expect(source.Configuration).toMatchObject({ ConnectionArn: CONNECTION, FullRepositoryId: 'acme/churn-model', BranchName: 'release' });
    expect(JSON.stringify(pipeline.Properties.Stages[2])).toContain('#{Source.CommitId}');
    t.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  test('without targets the pipeline ends with the approval', () => {
    const pipeline = Object.values(t.findResources('AWS::CodePipeline::Pipeline'))[0] as { Properties: { Stages: { Name: string }[] } };
    expect(pipeline.Properties.Stages.at(-1)!.Name).toBe('Approve');
  });
});

describe('bad props name the prop, the value and what is allowed', () => {
  const build = (fn: (f: Foundation, stack: Stack) => void) => () => {
    const f = foundation();
    fn(f, new Stack(f.app, 'Delivery'));
  };

  test('malformed connection ARN and repository', () => {
    expect(build((f, s) => new ModelDeliveryPipeline(s, 'M', { ...baseProps(f), source: { connectionArn: 'arn:aws:codestar:us-east-1:1:conn/x', repository: 'just-a-name' } })))
      .toThrow(/source\.connectionArn: "arn:aws:codestar:us-east-1:1:conn\/x" — must be a CodeConnections connection ARN[\s\S]*source\.repository: "just-a-name" — must be "owner\/name"/);
  });

  test('training job prefix too long for SageMaker names', () => {
    expect(build((f, s) => new ModelDeliveryPipeline(s, 'M', { ...baseProps(f), trainingJobPrefix: 'a'.repeat(30) }))).toThrow(/trainingJobPrefix: "a{30}" — must be 1-26/);
  });

  test('evaluation threshold not finite, bad instance type and metric regex', () => {
    expect(build((f, s) => new TrainingWorkflow(s, 'T', {
      imageRepository: f.registry.repositories.training, inputBucket: f.lake.processedBucket, outputBucket: f.lake.artifactsBucket, vpc: f.vpc,
      threshold: Number.NaN, instanceType: 'g5.xlarge', metricRegex: '([0-9', maxRuntime: Duration.hours(200),
    }))).toThrow(/instanceType: "g5.xlarge"[\s\S]*maxRuntime: 200 — [\s\S]*metricRegex: "\(\[0-9"[\s\S]*threshold: .* — must be a finite number/);
  });

  test('promotion targets need exactly one smoke test target and their own group; a Lambda target names the alias its deployment shifts', () => {
    expect(build((_f, s) => new ModelPromotion(s, 'P', {
      sourceModelPackageGroupName: 'churn',
      targets: [{ name: 'staging', modelPackageGroupName: 'churn' }, { name: 'prod', modelPackageGroupName: 'churn-prod', endpointName: 'e', functionName: 'f' }],
    }))).toThrow(/targets\[0\]\.modelPackageGroupName: "churn" — must differ[\s\S]*targets\[0\]: \{\} — give exactly one[\s\S]*targets\[1\]: \{"endpointName":"e","functionName":"f"\}[\s\S]*targets\[1\]\.functionName: "f" — must be "<function>:<alias>"/);
  });

  test('a target in another account needs its own smoke test function and a 12-digit account', () => {
    expect(build((_f, s) => new ModelPromotion(s, 'P', {
      sourceModelPackageGroupName: 'churn',
      targets: [{ name: 'staging', modelPackageGroupName: 'churn-staging', endpointName: 'e', account: '2222' }],
    }))).toThrow(/targets\[0\]\.account: "2222" — must be a 12-digit account id[\s\S]*targets\[0\]\.smokeTestFunctionName: .* — a target in another account runs its own smoke test/);
  });

  test('scan gate severity and timeout', () => {
    expect(build((f, s) => new ImageScanGate(s, 'G', { repository: f.registry.repositories.training, failOnSeverity: 'SEVERE' as never, timeout: Duration.hours(2) })))
      .toThrow(/failOnSeverity: "SEVERE" — must be one of CRITICAL, HIGH, MEDIUM, LOW[\s\S]*timeout: 120 — must be a whole number between 1 and 60 minutes/);
  });
});
