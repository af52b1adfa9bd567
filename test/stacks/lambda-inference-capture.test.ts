import { Template } from 'aws-cdk-lib/assertions';
import { type ConfigError, loadStageConfig } from '../../lib/config';
import { modelPartition } from '../../lambda/model-server/src/capture-format';
import { captureSettingsFromEnv } from '../../lambda/model-server/src/capture';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { LambdaInference } from '../../constructs/serving/lambda-inference';
import { newStack, platformStage } from '../helpers';

const OTHERS_OFF = { compute: { enabled: false }, eks: { enabled: false }, sagemaker: { enabled: false }, pipelines: { enabled: false }, monitoring: { enabled: false } };
const pkg = (v: number) => `arn:aws:sagemaker:us-east-1:111111111111:model-package/mlops-dev-churn/${v}`;

/**
 * The Lambda serving path's package: a deploy of `lambdaInference.modelS3Key` with `modelPackageArn` sets
 * MODEL_PACKAGE_ARN on the function, publishes a new version with it (the alias shifts to that version, so the
 * package and the model change together and a rollback returns both), and the server partitions its captures by it.
 */
describe('Lambda inference: MODEL_PACKAGE_ARN follows the deployed model', () => {
  const deploy = (version: number) => {
    const stage = platformStage('dev', { ...OTHERS_OFF, lambdaInference: { modelS3Key: `models/churn/v${version}/model.onnx`, modelPackageArn: pkg(version) } });
    const t = Template.fromStack(stage.inferenceStack!);
    const fn = Object.values(t.findResources('AWS::Lambda::Function'))[0];
    const versions = Object.keys(t.findResources('AWS::Lambda::Version'));
    const alias = Object.values(t.findResources('AWS::Lambda::Alias'))[0];
    return { env: fn.Properties.Environment.Variables as Record<string, unknown>, versions, alias };
  };
  let v3: ReturnType<typeof deploy>;
  let v4: ReturnType<typeof deploy>;
  beforeAll(() => {
    v3 = deploy(3);
    v4 = deploy(4);
  });

  test('the function serves the package\'s model and names the package; its captures land in the package\'s partition', () => {
    expect(v3.env).toMatchObject({ MODEL_S3_KEY: 'models/churn/v3/model.onnx', MODEL_PACKAGE_ARN: pkg(3), CAPTURE_SAMPLING_PERCENT: '10', CAPTURE_PREFIX: 'capture/lambda/' });
    // What the server makes of that environment at start (the bucket is a deploy-time name).
    const settings = captureSettingsFromEnv({ ...(v3.env as Record<string, string>), CAPTURE_BUCKET: 'lake', AWS_LAMBDA_FUNCTION_NAME: 'fn' })!;
    expect(settings.modelPackageArn).toBe(pkg(3));
    expect(modelPartition(settings.modelPackageArn, settings.modelName)).toBe('mlops-dev-churn-3');
  });

  test('a new package is a new version the alias moves to, with the new MODEL_PACKAGE_ARN', () => {
    expect(v4.env.MODEL_PACKAGE_ARN).toBe(pkg(4));
    expect(v3.versions).toHaveLength(1);
    expect(v4.versions).toHaveLength(1);
    expect(v4.versions[0]).not.toBe(v3.versions[0]);
    expect(JSON.stringify(v4.alias.Properties.FunctionVersion)).toContain(v4.versions[0]);
  });

  test('a package without its model, or not a package ARN, is refused at the key', () => {
    const problems = (lambdaInference: Record<string, unknown>) => {
      try {
        loadStageConfig({ stage: 'dev', overrides: { lambdaInference } });
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ modelPackageArn: pkg(3) })).toEqual([expect.stringMatching(/^lambdaInference\.modelPackageArn: .* — names the package served, but the function serves the reference model baked into its image: set modelS3Key/)]);
    expect(problems({ modelS3Key: 'm.onnx', modelPackageArn: 'mlops-dev-churn/3' })).toEqual([expect.stringMatching(/^lambdaInference\.modelPackageArn: "mlops-dev-churn\/3" — must be a versioned model package ARN/)]);
    expect(problems({ modelS3Key: 'm.onnx', modelPackageArn: pkg(3) })).toEqual([]);
  });

  test('the construct refuses a capture package that is not a versioned model package ARN', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Lake');
    const repository = new ecr.Repository(stack, 'Repo');
    expect(() => new LambdaInference(stack, 'Fn', { repository, imageTag: 'v1', capture: { bucket, samplingPercentage: 10, modelPackageArn: 'arn:aws:sagemaker:us-east-1:111111111111:model-package-group/churn' } }))
      .toThrow(/capture\.modelPackageArn: "arn:aws:sagemaker:us-east-1:111111111111:model-package-group\/churn" — must be a versioned model package ARN/);
  });
});
