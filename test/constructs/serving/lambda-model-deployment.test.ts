import { type Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { InferenceFrontDoor, LambdaInference, LambdaModelDeployment, ModelRegistry } from '../../../constructs/serving';
import { nagFindings, newStack, template } from '../../helpers';

const fixed = { functionName: 'churn-inference', deploymentApplicationName: 'churn-inference', deploymentGroupName: 'churn-inference-live' };

function build(stack: Stack, inferenceProps: ConstructorParameters<typeof LambdaInference>[2] = fixed) {
  const bucket = new s3.Bucket(stack, 'Artifacts', { encryption: s3.BucketEncryption.KMS, encryptionKey: new kms.Key(stack, 'BucketKey', { enableKeyRotation: true }) });
  const inference = new LambdaInference(stack, 'Inf', { frontDoor: InferenceFrontDoor.NONE, ...inferenceProps });
  const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'churn-lambda' });
  return { inference, registry, bucket, deployment: new LambdaModelDeployment(stack, 'Deploy', { inference, modelPackageGroup: registry, modelBucket: bucket, sourceAccounts: ['111111111111', '222222222222'] }) };
}

describe('LambdaModelDeployment', () => {
  const stack = newStack('Test', 'us-east-1');
  const { deployment, inference } = build(stack);
  let t: Template;
  beforeAll(() => { t = template(stack); });

  test('approved versions of the group reach the handler through an encrypted queue with a dead-letter queue', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.sagemaker'], 'detail-type': ['SageMaker Model Package State Change'], detail: { ModelPackageGroupName: ['churn-lambda'], ModelApprovalStatus: ['Approved'] } },
    });
    t.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue(), VisibilityTimeout: 600, RedrivePolicy: { maxReceiveCount: 12 } });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'], ScalingConfig: { MaximumConcurrency: 2 } });
    expect(deployment.modelPrefix).toBe('lambda-models/churn-inference/');
  });

  test('the handler names the function, alias, deployment group and copy location by literal names (no reference back to the function)', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: { Variables: Match.objectLike({
        FUNCTION_NAME: 'churn-inference', ALIAS_NAME: 'live', MODEL_PACKAGE_GROUP_NAME: 'churn-lambda', CODEDEPLOY_APPLICATION: 'churn-inference',
        CODEDEPLOY_DEPLOYMENT_GROUP: 'churn-inference-live', MODEL_PREFIX: 'lambda-models/churn-inference/',
      }) },
    });
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', { DeploymentGroupName: 'churn-inference-live' });
    t.hasResourceProperties('AWS::CodeDeploy::Application', { ApplicationName: 'churn-inference', ComputePlatform: 'Lambda' });
  });

  test('the inference function\'s model is the handler\'s Custom::ServedModel answer, asked again whenever its template changes', () => {
    const [servedId, served] = Object.entries(t.findResources('Custom::ServedModel'))[0];
    const versionId = Object.keys(t.findResources('AWS::Lambda::Version'))[0];
    expect(served.Properties).toMatchObject({ BakedModel: { Bucket: '', Key: '', ModelPackageArn: '' }, FunctionRevision: versionId, AliasSettings: { ProvisionedConcurrencyConfig: 'none' } });
    // A changed answer replaces CloudFormation's version, so the version its alias update names serves the answer.
    t.hasResourceProperties('AWS::Lambda::Version', { Description: { 'Fn::Join': ['', ['Serves model package ', { 'Fn::GetAtt': [servedId, 'ModelPackageArn'] }, ' (Custom::ServedModel)']] } });
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'churn-inference',
      Environment: { Variables: Match.objectLike({
        MODEL_S3_BUCKET: { 'Fn::GetAtt': [servedId, 'ModelS3Bucket'] }, MODEL_S3_KEY: { 'Fn::GetAtt': [servedId, 'ModelS3Key'] }, MODEL_PACKAGE_ARN: { 'Fn::GetAtt': [servedId, 'ModelPackageArn'] },
      }) },
    });
  });

  test('cdk-nag AwsSolutions: no unacknowledged findings on the deployment and the function it configures', () => {
    expect([...nagFindings(deployment), ...nagFindings(inference)]).toEqual([]);
  });

  test('a function without literal names or canary deployments is refused, naming the prop', () => {
    expect(() => build(newStack(), {})).toThrow(/inference: .* — must have a literal functionName[\s\S]*inference: .* — must have canary deployments with literal deploymentApplicationName and deploymentGroupName/);
    expect(() => build(newStack(), { ...fixed, canaryDeployments: false })).toThrow(/deploymentGroupName: "churn-inference-live" — names the CodeDeploy deployment, which needs canaryDeployments/);
  });

  test('a second owner of the function\'s model is refused', () => {
    const s = newStack();
    const { inference, registry, bucket } = build(s);
    expect(() => new LambdaModelDeployment(s, 'Again', { inference, modelPackageGroup: registry, modelBucket: bucket })).toThrow(/its model is already chosen by/);
  });
});
