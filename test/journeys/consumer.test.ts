import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
// Only the package's public entry, as a team's own app would import it.
import {
  AlertsTopic, DataLake, failedValidations, ImageRegistry, type ISageMakerEndpoint, type ITrainingCluster, ModelImage, ModelRegistry,
  PlatformMonitoring, PlatformNetwork, RayJob, SageMakerEndpoint, TrainingCluster,
} from '../../lib';
import { CDK_CONTEXT } from '../helpers';

// Consumer journey: a team's own app adopts a lake and a registry that another account's platform created, wires
// its endpoint and registry to them by reference, adds cdk-nag the plain way, and the gate holds.
describe('a consumer app built from the public entry', () => {
  const SHARED = '222222222222';
  let template: Template;
  let failures: string[];
  let reader: iam.Grant;
  let grants: Record<string, iam.Grant>;
  let sharedEndpoint: ISageMakerEndpoint;
  let sharedCluster: ITrainingCluster;
  let teamJob: RayJob;
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

    // Pieces another account's platform runs, adopted by name: its endpoint, its model registry, its EKS cluster.
    sharedEndpoint = SageMakerEndpoint.fromEndpointAttributes(stack, 'SharedFraud', { endpointName: 'acme-ml-prod-fraud', account: SHARED });
    const sharedRegistry = ModelRegistry.fromModelRegistryAttributes(stack, 'SharedRegistry', { modelPackageGroupName: 'acme-fraud', account: SHARED });
    sharedCluster = TrainingCluster.fromTrainingClusterAttributes(stack, 'SharedCluster', {
      cluster: eks.Cluster.fromClusterAttributes(stack, 'SharedEks', { clusterName: 'acme-ml-prod', clusterSecurityGroupId: 'sg-0123456789abcdef0' }),
      gpuCapacity: { a10g: { name: 'a10g', gpusPerNode: 1, maxNodes: 4, nodeSelector: { 'cdk-mlops/node-group': 'a10g' }, taint: { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' } } },
    });
    const app2 = new iam.Role(stack, 'Scorer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const trainer = new iam.Role(stack, 'Trainer', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    grants = {
      invoke: sharedEndpoint.grantInvoke(app2),
      register: sharedRegistry.grantRegister(trainer),
      approve: sharedRegistry.grantApprove(analyst),
    };
    sharedCluster.grantAccess('Analyst', analyst, { viewNamespaces: ['ray'] });
    // Connections: the team's endpoint may reach a database in its VPC; a host reaches the shared cluster's API.
    const db = new ec2.SecurityGroup(stack, 'Database', { vpc: network.vpc, allowAllOutbound: false, description: 'team database' });
    endpoint.connections.allowTo(db, ec2.Port.tcp(5432), 'endpoint to database');
    sharedCluster.allowApiFrom(db, 'database host to the shared cluster API');
    // The team's own cluster, created by its other stack and adopted with its kubectl provider: a RayJob wired to it
    // by reference (it needs no dependsOn: the operator is installed there), and alarms on its Container Insights.
    const teamCluster = TrainingCluster.fromTrainingClusterAttributes(stack, 'TeamCluster', {
      cluster: eks.Cluster.fromClusterAttributes(stack, 'TeamEks', {
        clusterName: 'team-training',
        kubectlProvider: eks.KubectlProvider.fromKubectlProviderAttributes(stack, 'TeamKubectl', {
          serviceToken: 'arn:aws:lambda:us-east-1:111111111111:function:team-training-kubectl-provider',
        }),
      }),
    });
    teamJob = new RayJob(stack, 'Retrain', {
      trainingCluster: teamCluster, name: 'retrain', namespace: 'ray', entrypoint: 'python train.py', clusterSelector: 'default',
    });
    const alarm = (id: string, metric: cloudwatch.Metric, threshold: number) => new cloudwatch.Alarm(stack, id, {
      metric, threshold, evaluationPeriods: 3, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new cloudwatchActions.SnsAction(alerts.topic));
    alarm('ClusterCpu', teamCluster.metricNodeCpuUtilization(), 90);
    alarm('FailedNodes', teamCluster.metricFailedNodeCount(), 1);
    new cloudwatch.Alarm(stack, 'NoRayPods', {
      metric: teamCluster.metricRunningPods({ kubernetesNamespace: 'ray', statistic: 'Minimum' }), threshold: 1, evaluationPeriods: 6,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }).addAlarmAction(new cloudwatchActions.SnsAction(alerts.topic));
    new PlatformMonitoring(stack, 'Monitoring', { dashboardName: 'team-serving', alarmTopic: alerts.topic, sagemakerEndpoints: [endpoint, sharedEndpoint] });
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

  test('imported endpoint, registry and cluster: grants and access name the other account\'s resources', () => {
    expect(Object.values(grants).every((g) => g.success)).toBe(true);
    const policy = (role: string) => JSON.stringify(Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.Roles).includes(role)).map((p: any) => p.Properties.PolicyDocument));
    expect(policy('Scorer')).toContain(`:sagemaker:us-east-1:${SHARED}:endpoint/acme-ml-prod-fraud`);
    expect(policy('Trainer')).toContain(`:sagemaker:us-east-1:${SHARED}:model-package-group/acme-fraud`);
    expect(policy('Analyst')).toContain(`:sagemaker:us-east-1:${SHARED}:model-package/acme-fraud/*`);
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: 'acme-ml-prod',
      AccessPolicies: [{ PolicyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', AccessScope: { Type: 'namespace', Namespaces: ['ray'] } }],
    });
    expect(sharedCluster.gpuCapacityOf('a10g').gpusPerNode).toBe(1);
    expect(() => sharedCluster.gpuCapacityOf('h100')).toThrow(/no group named "h100" — known groups: a10g/);
  });

  test('connections: the endpoint reaches the database, a host reaches the adopted cluster API', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, Description: 'endpoint to database' });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-0123456789abcdef0', FromPort: 443, ToPort: 443, Description: 'database host to the shared cluster API' });
  });

  test('the imported endpoint is monitored like an owned one: alarms on its own metrics', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a: any) => JSON.stringify(a.Properties));
    expect(alarms.some((a) => a.includes('acme-ml-prod-fraud') && a.includes('ModelLatency'))).toBe(true);
    expect(alarms.some((a) => a.includes('acme-ml-prod-fraud') && a.includes('Invocation5XXErrors'))).toBe(true);
  });

  test('a RayJob wired to the adopted cluster is applied through that cluster\'s kubectl provider', () => {
    template.hasResourceProperties('Custom::AWSCDK-EKS-KubernetesResource', {
      ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:team-training-kubectl-provider',
      ClusterName: 'team-training',
      Manifest: JSON.stringify([teamJob.manifest]),
    });
    expect(teamJob.node.validate()).toEqual([]);
  });

  test('alarms on the adopted cluster\'s Container Insights metrics: node CPU, failed nodes, running Ray pods', () => {
    const alarmOn = (metricName: string) => template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metricName } });
    const [cpu] = Object.values(alarmOn('node_cpu_utilization')) as any[];
    expect(cpu.Properties).toMatchObject({
      Namespace: 'ContainerInsights', Dimensions: [{ Name: 'ClusterName', Value: 'team-training' }], Statistic: 'Average', Period: 300, Threshold: 90,
    });
    expect(cpu.Properties.AlarmActions).toHaveLength(1);
    const [failed] = Object.values(alarmOn('cluster_failed_node_count')) as any[];
    expect(failed.Properties).toMatchObject({ Statistic: 'Maximum', Threshold: 1 });
    const [pods] = Object.values(alarmOn('namespace_number_of_running_pods')) as any[];
    expect(pods.Properties).toMatchObject({
      Statistic: 'Minimum', ComparisonOperator: 'LessThanThreshold',
      Dimensions: expect.arrayContaining([{ Name: 'ClusterName', Value: 'team-training' }, { Name: 'Namespace', Value: 'ray' }]),
    });
  });

  test('a plain cdk-nag plugin finds nothing unacknowledged', () => {
    expect(failures).toEqual([]);
  });
});
