import { type Template, Template as T } from 'aws-cdk-lib/assertions';
import { ConfigError, loadStageConfig } from '../../lib/config';
import { nagFindings, platformStage } from '../helpers';

const CUSTOMERS = {
  name: 'customers', recordIdentifier: 'customer_id', eventTime: 'event_time', onlineStore: true, onlineTtlDays: 90,
  features: [{ name: 'customer_id', type: 'String' }, { name: 'event_time', type: 'String' }, { name: 'spend_30d', type: 'Fractional' }],
};

describe('ExperimentsStack in dev with MLflow and a feature group', () => {
  const stage = platformStage('dev', { monitoring: { mlflow: { enabled: true }, featureGroups: [CUSTOMERS] } });
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
      FeatureGroupName: 'mlops-dev-customers', RecordIdentifierFeatureName: 'customer_id', EventTimeFeatureName: 'event_time',
      OnlineStoreConfig: { EnableOnlineStore: true, TtlDuration: { Unit: 'Days', Value: 90 } },
      OfflineStoreConfig: { DisableGlueTableCreation: false, DataCatalogConfig: { Database: 'mlops_dev_features', TableName: 'mlops_dev_customers' } },
    });
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

  test('cdk-nag AwsSolutions finds nothing in the Experiments and Training stacks', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stage.trainingStack!)).toEqual([]);
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
});
