import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
// Only the package's public entry, as a team's own app would import it.
import {
  AlertsTopic, DataLake, failedValidations, ImageRegistry, ModelImage, ModelRegistry, PlatformNetwork, SageMakerEndpoint,
} from '../../lib';
import { CDK_CONTEXT } from '../helpers';

// Consumer journey: a team's own app adopts a lake and a registry that another account's platform created, wires
// its endpoint and registry to them by reference, adds cdk-nag the plain way, and the gate holds.
describe('a consumer app built from the public entry', () => {
  const SHARED = '222222222222';
  let template: Template;
  let failures: string[];
  let reader: iam.Grant;
  beforeAll(() => {
    const app = new App({ builtinCloudFormationValidation: false, context: CDK_CONTEXT });
    const stack = new Stack(app, 'TeamServing', { env: { account: '111111111111', region: 'us-east-1' } });
    const network = new PlatformNetwork(stack, 'Network', { availabilityZones: ['us-east-1a', 'us-east-1b'] });
    const lake = DataLake.fromDataLakeAttributes(stack, 'SharedLake', {
      rawBucketName: 'acme-ml-prod-raw', processedBucketName: 'acme-ml-prod-processed', artifactsBucketName: 'acme-ml-prod-artifacts',
      encryptionKeyArn: `arn:aws:kms:us-east-1:${SHARED}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    });
    const images = ImageRegistry.fromImageRegistryAttributes(stack, 'SharedImages', {
      repositoryArns: { inference: `arn:aws:ecr:us-east-1:${SHARED}:repository/acme-ml-prod/inference` },
    });
    const alerts = new AlertsTopic(stack, 'Alerts', { emails: ['team@example.com'] });
    const endpoint = new SageMakerEndpoint(stack, 'Churn', {
      image: ModelImage.fromEcrRepository(images.repository('inference'), 'v1'),
      endpointName: 'team-churn',
      vpc: network.vpc,
      alarmTopic: alerts.topic,
    });
    new ModelRegistry(stack, 'Registry', {
      modelPackageGroupName: 'team-churn',
      deployment: { endpoint, alarmTopic: alerts.topic, vpc: network.vpc, modelArtifactsBucket: lake.artifactsBucket, imageRepositories: [images.repository('inference')] },
    });
    const analyst = new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
    reader = lake.grantReadData(analyst);
    Validations.of(app).addPlugins(new AwsSolutionsChecks());
    const assembly = app.synth();
    failures = failedValidations(assembly);
    template = Template.fromJSON(assembly.getStackByName('TeamServing').template);
  });

  test('creates its own endpoint and registry, and none of the adopted buckets or repositories', () => {
    template.resourceCountIs('AWS::SageMaker::Endpoint', 1);
    template.resourceCountIs('AWS::SageMaker::ModelPackageGroup', 1);
    template.resourceCountIs('AWS::S3::Bucket', 0); // the lake is adopted, not created
    template.resourceCountIs('AWS::ECR::Repository', 0);
  });

  test('wiring by reference reaches the adopted resources: the endpoint pulls the shared image, grants name the shared lake', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).toContain(`${SHARED}.dkr.ecr.us-east-1.`);
    expect(text).toContain('arn:aws:s3:::acme-ml-prod-artifacts');
    expect(reader.success).toBe(true);
    expect(text).toContain('arn:aws:s3:::acme-ml-prod-raw/*');
  });

  test('a plain cdk-nag plugin finds nothing unacknowledged', () => {
    expect(failures).toEqual([]);
  });
});
