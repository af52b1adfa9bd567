import { type Template, Template as T } from 'aws-cdk-lib/assertions';
import { ConfigError, loadStageConfig } from '../../lib/config';
import { nagFindings, platformStage } from '../helpers';

const CUSTOMERS = {
  name: 'customers', recordIdentifier: 'customer_id', eventTime: 'event_time', onlineStore: true, onlineTtlDays: 90,
  features: [{ name: 'customer_id', type: 'String' }, { name: 'event_time', type: 'String' }, { name: 'spend_30d', type: 'Fractional' }],
};

describe('ExperimentsStack in dev with MLflow and a feature group', () => {
  const stage = platformStage('dev', {
    monitoring: { mlflow: { enabled: true }, featureGroups: [{ ...CUSTOMERS, ingestRoles: ['customers-etl'] }] },
    compute: { enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge', amiId: 'ami-0123456789abcdef0' }] },
    tags: { CostCenter: 'ml-42' },
  });
  const stack = stage.experimentsStack!;
  let t: Template;
  beforeAll(() => {
    t = T.fromStack(stack);
  });

  test('named <prefix>-<stage>-Experiments and depends on the Data stack only', () => {
    expect(stack.stackName).toBe('mlops-dev-Experiments');
    expect(stack.dependencies).toEqual([stage.dataStack]);
  });

  test('MLflow tracking server mlops-dev, Small, artifacts under mlflow/ of the data lake artifacts bucket; URI output', () => {
    t.hasResourceProperties('AWS::SageMaker::MlflowTrackingServer', {
      TrackingServerName: 'mlops-dev', TrackingServerSize: 'Small', AutomaticModelRegistration: false, WeeklyMaintenanceWindowStart: 'Sun:03:30',
    });
    const uri = JSON.stringify(Object.values(t.findResources('AWS::SageMaker::MlflowTrackingServer'))[0].Properties.ArtifactStoreUri);
    expect(uri).toMatch(/mlops-dev-Data.*Artifacts.*\/mlflow\//);
    t.hasOutput('MlflowTrackingServerArn', { Value: { 'Fn::GetAtt': [stack.getLogicalId(stage.experimentsStack!.mlflow!.trackingServer), 'TrackingServerArn'] } });
    t.hasOutput('MlflowTrackingServerName', { Value: 'mlops-dev' });
  });

  test('feature group from config: prefixed name, online TTL, offline store in the processed bucket, shared Glue database', () => {
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'mlops_dev_features' } });
    const [fg] = Object.values(t.findResources('AWS::SageMaker::FeatureGroup')).map((r) => r.Properties);
    expect(fg).toMatchObject({
      FeatureGroupName: expect.stringMatching(/^mlops-dev-customers-v[0-9a-f]{8}$/), RecordIdentifierFeatureName: 'customer_id', EventTimeFeatureName: 'event_time',
      OnlineStoreConfig: { EnableOnlineStore: true, TtlDuration: { Unit: 'Days', Value: 90 } },
      OfflineStoreConfig: { DisableGlueTableCreation: false, DataCatalogConfig: { Database: 'mlops_dev_features', TableName: fg.FeatureGroupName.replace(/-/g, '_') } },
    });
    // Code outside CDK finds the current version and its table in the output.
    t.hasOutput('FeatureGroups', { Value: `customers=${fg.FeatureGroupName}/${fg.FeatureGroupName.replace(/-/g, '_')}` });
    expect(JSON.stringify(fg.OfflineStoreConfig.S3StorageConfig)).toMatch(/mlops-dev-Data.*Processed/);
  });

  test('Ray pods may log to MLflow: the Ray service account role gets the server-scoped grant', () => {
    const ray = stage.trainingStack?.eksTraining?.rayServiceAccount;
    expect(ray).toBeDefined();
    const training = T.fromStack(stage.trainingStack!);
    const policies = JSON.stringify(training.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('sagemaker-mlflow:LogBatch');
    expect(policies).toMatch(/mlops-dev-Experiments.*TrackingServerArn|TrackingServerArn.*mlops-dev-Experiments/);
  });

  test('MLflow version pinned (3.0) and output for clients', () => {
    t.hasResourceProperties('AWS::SageMaker::MlflowTrackingServer', { MlflowVersion: '3.0' });
    t.hasOutput('MlflowVersion', { Value: '3.0' });
  });

  test('feature group tags are fixed at creation: stable Project/Environment/ManagedBy, no other platform tag', () => {
    const [fg] = Object.values(t.findResources('AWS::SageMaker::FeatureGroup')).map((r) => r.Properties);
    expect(fg.Tags).toEqual([{ Key: 'Project', Value: 'mlops' }, { Key: 'Environment', Value: 'dev' }, { Key: 'ManagedBy', Value: 'cdk-mlops' }]);
    // Other resources do carry the config tag, so it is the feature group that is exempt.
    expect(JSON.stringify(Object.values(t.findResources('AWS::Glue::Database')).concat(Object.values(t.findResources('AWS::KMS::Key'))))).toContain('ml-42');
  });

  test('Athena workgroup: enforced settings, engine 3, SSE-KMS results under athena-results/ of the processed bucket', () => {
    const [wg] = Object.values(t.findResources('AWS::Athena::WorkGroup')).map((r) => r.Properties);
    expect(wg.Name).toBe('mlops-dev-features');
    expect(wg.WorkGroupConfiguration).toMatchObject({
      EnforceWorkGroupConfiguration: true, EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
      ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS' } },
    });
    expect(JSON.stringify(wg.WorkGroupConfiguration.ResultConfiguration.OutputLocation)).toMatch(/Processed.*athena-results\//);
    expect(JSON.stringify(wg.WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.KmsKey)).toContain('mlops-dev-Data');
  });

  test('the named ingest role may PutRecord on the group (a policy attached to the existing role)', () => {
    const [policy] = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles) === '["customers-etl"]');
    const doc = JSON.stringify(policy.Properties.PolicyDocument);
    expect(doc).toContain('sagemaker:PutRecord');
    expect(doc).toMatch(/:feature-group\/mlops-dev-customers-v[0-9a-f]{8}"/);
  });

  test('MLFLOW_TRACKING_URI reaches the training job, the Ray pods (head and workers) and the GPU box profile', () => {
    // The value right after the variable is a reference to the Experiments stack's tracking server ARN (weak or export).
    const serverRef = '\\{"Fn::(GetStackOutput|ImportValue)":(\\{"StackName":"mlops-dev-Experiments",|"mlops-dev-Experiments:).{0,80}?TrackingServerArn';
    const manifest = Object.values(T.fromStack(stage.trainingStack!).findResources('Custom::AWSCDK-EKS-KubernetesResource'))
      .map((r) => JSON.stringify(r.Properties.Manifest)).find((m) => m.includes('RayCluster'))!;
    expect(manifest.match(new RegExp(`MLFLOW_TRACKING_URI\\\\",\\\\"value\\\\":\\\\"",${serverRef}`, 'g'))).toHaveLength(3); // head, cpu and gpu workers
    const userData = JSON.stringify(Object.values(T.fromStack(stage.trainingStack!).findResources('AWS::EC2::Instance'))[0].Properties.UserData);
    expect(userData).toContain('/etc/profile.d/cdk-mlops-training.sh');
    expect(userData).toMatch(new RegExp(`export MLFLOW_TRACKING_URI='",${serverRef}`));
    const delivery = JSON.stringify(T.fromStack(stage.deliveryStack!).findResources('AWS::StepFunctions::StateMachine'));
    expect(delivery).toMatch(new RegExp(`Environment\\\\":\\{\\\\"MLFLOW_TRACKING_URI\\\\":\\\\"",${serverRef}`));
  });

  test('training principals may query the offline store: Athena on the workgroup, Glue on the table', () => {
    const delivery = JSON.stringify(T.fromStack(stage.deliveryStack!).findResources('AWS::IAM::Policy'));
    for (const a of ['athena:StartQueryExecution', 'athena:GetQueryResults', 'glue:GetTable', 'glue:GetPartitions']) expect(delivery).toContain(a);
    expect(delivery).toContain(':workgroup/mlops-dev-features');
  });

  test('cdk-nag AwsSolutions finds nothing in the Experiments and Training stacks', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stage.trainingStack!)).toEqual([]);
  });
});

describe('ExperimentsStack in a VPC without NAT', () => {
  test('the MLflow API interface endpoint is added; with NAT it is not', () => {
    const off = { compute: { enabled: false }, eks: { enabled: false }, sagemaker: { enabled: false }, lambdaInference: { enabled: false }, pipelines: { enabled: false }, monitoring: { mlflow: { enabled: true } } };
    const isolated = platformStage('dev', { ...off, network: { natGateways: 0, interfaceEndpoints: true } });
    T.fromStack(isolated.experimentsStack!).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: { 'Fn::Join': ['', ['aws.sagemaker.', { Ref: 'AWS::Region' }, '.experiments']] }, PrivateDnsEnabled: true,
    });
    expect(isolated.experimentsStack!.mlflow!.interfaceEndpoint).toBeDefined();
    expect(platformStage('dev', off).experimentsStack!.mlflow!.interfaceEndpoint).toBeUndefined();
  });
});

describe('ExperimentsStack switches', () => {
  test('no MLflow and no feature groups: no stack (staging default)', () => {
    expect(platformStage('staging').experimentsStack).toBeUndefined();
  });

  test('feature group errors in config name the key', () => {
    expect(() => loadStageConfig({ stage: 'dev', overrides: { monitoring: { featureGroups: [{ ...CUSTOMERS, eventTime: 'updated_at' }] } } }))
      .toThrow(ConfigError);
    expect(() => loadStageConfig({ stage: 'dev', overrides: { monitoring: { featureGroups: [{ ...CUSTOMERS, eventTime: 'updated_at' }] } } }))
      .toThrow(/monitoring\.featureGroups\.0\.eventTime: "updated_at" — must name one of the features/);
  });

  test('an ingest role given as an ARN, and an MLflow major version without grants, are config errors naming the key', () => {
    const load = (monitoring: Record<string, unknown>) => () => loadStageConfig({ stage: 'dev', overrides: { monitoring } });
    expect(load({ featureGroups: [{ ...CUSTOMERS, ingestRoles: ['arn:aws:iam::111111111111:role/etl'] }] }))
      .toThrow(/monitoring\.featureGroups\.0\.ingestRoles\.0: "arn:aws:iam::111111111111:role\/etl" — must be an IAM role name/);
    expect(load({ mlflow: { version: '4.0' } })).toThrow(/monitoring\.mlflow\.version: "4\.0" — must be an MLflow version with major 2 or 3/);
  });
});
