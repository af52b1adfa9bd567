import { Template } from 'aws-cdk-lib/assertions';
import { loadStageConfig } from '../../lib/config';
import { type PlatformStage } from '../../lib/platform-stage';
import { nagFindings, platformStage } from '../helpers';
import { expectValid, validators } from '../kuberay-crds';

/** The dev stage training on Ray: EKS and the pipeline on, everything the pipeline does not use off. */
const RAY_BACKEND = {
  pipelines: { training: { backend: 'ray', ray: { entrypoint: 'python train.py --epochs 3', maxGpuWorkers: 2 } } },
  sagemaker: { enabled: false }, lambdaInference: { enabled: false }, monitoring: { enabled: false }, compute: { enabled: false },
};

describe('model pipeline trains on Ray (pipelines.training.backend: ray)', () => {
  let stage: PlatformStage;
  let t: Template;
  let definitions: Record<string, any>;
  beforeAll(() => {
    stage = platformStage('dev', RAY_BACKEND);
    t = Template.fromStack(stage.deliveryStack!);
    definitions = Object.fromEntries(Object.entries(t.findResources('AWS::StepFunctions::StateMachine'))
      .map(([id, r]) => [id, JSON.parse(JSON.stringify(stage.deliveryStack!.resolve(r.Properties.DefinitionString)))]));
  });

  test('the RayJob every run starts from is valid against the KubeRay 1.7 CRD: own cluster, GPU workers from zero, shut down afterwards', () => {
    const job = stage.deliveryStack!.rayTraining!.jobTemplate as any;
    expectValid(job);
    expect(validators.RayJob({ ...job, spec: { ...job.spec, entrypoint: 7 } })).toBe(false);
    expect(job.spec).toMatchObject({ entrypoint: 'python train.py --epochs 3', shutdownAfterJobFinishes: true, submissionMode: 'K8sJobMode', activeDeadlineSeconds: 86400 });
    const gpu = job.spec.rayClusterSpec.workerGroupSpecs.find((g: any) => g.groupName === 'gpu');
    expect(gpu).toMatchObject({ minReplicas: 0, replicas: 0, maxReplicas: 2 });
    expect(gpu.template.spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    const env = job.spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].env.map((e: any) => e.name);
    expect(env).toEqual(expect.arrayContaining(['TRAIN_DATA_URI', 'AWS_REGION', 'METRIC_NAME']));
    expect(job.metadata.namespace).toBe('ray');
  });

  test('Train and Evaluate stages run the Ray state machines; Register takes the model from the run\'s output', () => {
    const pipeline = Object.values(t.findResources('AWS::CodePipeline::Pipeline'))[0].Properties;
    const stages = Object.fromEntries(pipeline.Stages.map((s: any) => [s.Name, s.Actions]));
    const rayTrain = stage.deliveryStack!.resolve(stage.deliveryStack!.rayTraining!.trainStateMachine.stateMachineArn);
    expect(stages.Train[0].Configuration.StateMachineArn).toEqual(rayTrain);
    expect(JSON.stringify(stages.Train[0].Configuration.Input)).toContain('{\\"jobName\\":\\"mlops-dev-#{codepipeline.PipelineExecutionId}\\",\\"imageUri\\":\\"#{Image.IMAGE_URI}\\"}');
    expect(JSON.stringify(stages.Register[0].Configuration.EnvironmentVariables)).toMatch(/MODEL_DATA_URL.*ray-jobs\/mlops-dev-#\{codepipeline.PipelineExecutionId\}\/model.tar.gz/);
  });

  test('the train state machine submits through the gateway, polls, and fails with KubeRay\'s message; evaluation gates on the threshold', () => {
    const all = Object.values(definitions).map((d) => JSON.stringify(d)).join('\n');
    const train = Object.values(definitions).map((d) => JSON.parse(d['Fn::Join'] ? d['Fn::Join'][1].map((x: unknown) => (typeof x === 'string' ? x : '__token__')).join('') : d))
      .find((d) => d.States?.Submit)!;
    expect(train.StartAt).toBe('Submit');
    expect(train.States.Submit.Parameters).toMatchObject({ 'action': 'submit', 'jobName.$': '$.jobName', 'imageUri.$': '$.imageUri', 'template': { kind: 'RayJob' } });
    expect(train.States['Finished?'].Choices).toEqual([
      { Variable: '$.job.done', BooleanEquals: false, Next: 'WaitForJob' },
      { Variable: '$.job.succeeded', BooleanEquals: true, Next: 'Trained' },
    ]);
    expect(train.States.RayJobFailed.Error).toBe('RayJobFailed');
    expect(all).toContain('NumericGreaterThanEquals');
    expect(all).toContain('ModelEvaluationFailed');
  });

  test('cdk-nag finds nothing unacknowledged in the Delivery stack', () => {
    expect(nagFindings(stage.deliveryStack!)).toEqual([]);
  });
});

test('the Ray backend without Ray on EKS is a config error naming both keys', () => {
  expect(() => loadStageConfig({ stage: 'dev', overrides: { ...RAY_BACKEND, eks: { ray: { enabled: false } } } }))
    .toThrow(/pipelines\.training\.backend: "ray" — needs eks\.enabled and eks\.ray\.enabled/);
});
