import { RemovalPolicy, Tags } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  DataLake, FeatureGroup, type FeatureGroupProps, PropsValidationError,
} from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

const CUSTOMER_FEATURES: FeatureGroupProps['features'] = [
  { name: 'customer_id', type: 'String' },
  { name: 'event_time', type: 'String' },
  { name: 'orders_30d', type: 'Integral' },
  { name: 'spend_30d', type: 'Fractional' },
];

const statementsOf = (t: Template, roleLogicalId: string) => Object.values(t.findResources('AWS::IAM::Policy'))
  .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleLogicalId))
  .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
const actions = (statements: { Action: string | string[] }[]) => statements.flatMap((s) => ([] as string[]).concat(s.Action));

describe('FeatureGroup defaults', () => {
  const stack = newStack();
  const lake = new DataLake(stack, 'Lake');
  const group = new FeatureGroup(stack, 'Customers', {
    featureGroupName: 'customer-features',
    recordIdentifierFeatureName: 'customer_id',
    eventTimeFeatureName: 'event_time',
    features: CUSTOMER_FEATURES,
    offlineStoreBucket: lake.processedBucket,
  });
  const ingester = new iam.Role(stack, 'Ingester', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const server = new iam.Role(stack, 'Server', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const trainer = new iam.Role(stack, 'Trainer', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
  group.grantIngest(ingester);
  group.grantReadOnline(server);
  group.grantReadOffline(trainer);
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('feature group: identifier, event time and typed features as given, on-demand throughput', () => {
    t.hasResourceProperties('AWS::SageMaker::FeatureGroup', {
      FeatureGroupName: 'customer-features',
      RecordIdentifierFeatureName: 'customer_id',
      EventTimeFeatureName: 'event_time',
      FeatureDefinitions: CUSTOMER_FEATURES.map((f) => ({ FeatureName: f.name, FeatureType: f.type })),
      ThroughputConfig: { ThroughputMode: 'OnDemand' },
    });
  });

  test('online store encrypted with its own rotating CMK', () => {
    const key = stack.getLogicalId(group.onlineStoreKey!.node.defaultChild as never);
    t.hasResourceProperties('AWS::SageMaker::FeatureGroup', {
      OnlineStoreConfig: { EnableOnlineStore: true, SecurityConfig: { KmsKeyId: { 'Fn::GetAtt': [key, 'Arn'] } } },
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, Description: Match.stringLikeRegexp('online store of customer-features') });
  });

  test('offline store in the data lake (its KMS key), Glue table created in a new database', () => {
    t.hasResourceProperties('AWS::SageMaker::FeatureGroup', {
      OfflineStoreConfig: {
        S3StorageConfig: {
          S3Uri: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('LakeProcessed') }, '/feature-store/']] },
          KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('LakeKey'), 'Arn'] },
        },
        DisableGlueTableCreation: false,
        DataCatalogConfig: { Catalog: 'AwsDataCatalog', Database: 'customer_features_features', TableName: 'customer_features' },
        TableFormat: 'Glue',
      },
    });
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'customer_features_features' } });
  });

  test('Feature Store role writes only the feature-store prefix and its Glue table', () => {
    const statements = statementsOf(t, stack.getLogicalId(group.role.node.defaultChild as iam.CfnRole));
    const write = statements.find((s) => actions([s]).includes('s3:PutObject'))!;
    expect(JSON.stringify(write.Resource)).toContain('/feature-store/*');
    const glue = statements.find((s) => actions([s]).includes('glue:CreateTable'))!;
    expect(JSON.stringify(glue.Resource)).toContain('table/customer_features_features/customer_features');
    expect(actions(statements)).toEqual(expect.arrayContaining(['kms:GenerateDataKey']));
    expect(actions(statements).filter((a) => a.includes('*'))).toEqual([]);
  });

  test('the group waits for its role\'s policy and its database', () => {
    const fg = Object.values(t.findResources('AWS::SageMaker::FeatureGroup'))[0];
    const deps = fg.DependsOn as string[];
    expect(deps.some((d) => d.startsWith('CustomersRoleDefaultPolicy'))).toBe(true);
    expect(deps.some((d) => d.startsWith('CustomersDatabase'))).toBe(true);
  });

  test('grants: ingest = PutRecord, online read = GetRecord/BatchGetRecord, offline read = S3 prefix + Glue table', () => {
    const arn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':feature-group/customer-features']] };
    const ingest = statementsOf(t, stack.getLogicalId(ingester.node.defaultChild as iam.CfnRole));
    expect(ingest.find((s) => actions([s]).includes('sagemaker:PutRecord'))!.Resource).toEqual(arn);
    expect(actions(ingest)).not.toContain('sagemaker:GetRecord');
    const online = statementsOf(t, stack.getLogicalId(server.node.defaultChild as iam.CfnRole));
    expect(actions(online)).toEqual(expect.arrayContaining(['sagemaker:GetRecord', 'sagemaker:BatchGetRecord', 'kms:Decrypt']));
    expect(actions(online)).not.toContain('sagemaker:PutRecord');
    const offline = statementsOf(t, stack.getLogicalId(trainer.node.defaultChild as iam.CfnRole));
    expect(actions(offline)).toEqual(expect.arrayContaining(['s3:GetObject', 's3:ListBucket', 'glue:GetTable', 'glue:GetPartitions', 'kms:Decrypt']));
    expect(actions(offline).some((a) => a.startsWith('s3:Put'))).toBe(false);
  });

  test('cdk-nag AwsSolutions finds nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('FeatureGroup options', () => {
  test('offline only, shared database, TTL not set, Iceberg', () => {
    const stack = newStack();
    const lake = new DataLake(stack, 'Lake');
    const group = new FeatureGroup(stack, 'Batch', {
      featureGroupName: 'batch_features', recordIdentifierFeatureName: 'id', eventTimeFeatureName: 'ts',
      features: [{ name: 'id', type: 'Integral' }, { name: 'ts', type: 'Fractional' }],
      onlineStore: false, offlineStoreBucket: lake.processedBucket, offlineStorePrefix: 'features/batch/',
      glueDatabaseName: 'platform_features', tableFormat: 'Iceberg',
    });
    const t = template(stack);
    expect(group.onlineStoreKey).toBeUndefined();
    t.resourceCountIs('AWS::Glue::Database', 0);
    const fg = Object.values(t.findResources('AWS::SageMaker::FeatureGroup'))[0].Properties;
    expect(fg.OnlineStoreConfig).toBeUndefined();
    expect(fg.OfflineStoreConfig.DataCatalogConfig).toEqual({ Catalog: 'AwsDataCatalog', Database: 'platform_features', TableName: 'batch_features' });
    expect(fg.OfflineStoreConfig.TableFormat).toBe('Iceberg');
  });

  test('online TTL in days', () => {
    const stack = newStack();
    const lake = new DataLake(stack, 'Lake');
    new FeatureGroup(stack, 'G', {
      featureGroupName: 'g', recordIdentifierFeatureName: 'id', eventTimeFeatureName: 'ts',
      features: [{ name: 'id', type: 'String' }, { name: 'ts', type: 'String' }],
      onlineTtlDays: 30, offlineStoreBucket: lake.processedBucket,
    });
    template(stack).hasResourceProperties('AWS::SageMaker::FeatureGroup', { OnlineStoreConfig: { TtlDuration: { Unit: 'Days', Value: 30 } } });
  });
});

describe('FeatureGroup validation', () => {
  const make = (props: Partial<FeatureGroupProps>, bucket?: (stack: ReturnType<typeof newStack>) => s3.IBucket) => () => {
    const stack = newStack();
    const offlineStoreBucket = bucket ? bucket(stack) : new DataLake(stack, 'Lake').processedBucket;
    return new FeatureGroup(stack, 'G', {
      featureGroupName: 'customers', recordIdentifierFeatureName: 'customer_id', eventTimeFeatureName: 'event_time',
      features: CUSTOMER_FEATURES, offlineStoreBucket, ...props,
    });
  };

  test.each<[string, Partial<FeatureGroupProps>, RegExp]>([
    ['duplicate feature names (case-insensitive)', { features: [...CUSTOMER_FEATURES, { name: 'Orders_30d', type: 'Integral' }] },
      /features\[4\]\.name: "Orders_30d" — duplicates features\[2\] \("orders_30d"\)/],
    ['missing record identifier feature', { recordIdentifierFeatureName: 'user_id' }, /recordIdentifierFeatureName: "user_id" — must name one of the features/],
    ['missing event time feature', { eventTimeFeatureName: 'ts' }, /eventTimeFeatureName: "ts" — must name one of the features/],
    ['invalid type', { features: [...CUSTOMER_FEATURES, { name: 'flag', type: 'Boolean' as never }] }, /features\[4\]\.type: "Boolean" — must be one of Integral, Fractional, String/],
    ['invalid feature name', { features: [...CUSTOMER_FEATURES, { name: 'bad name!', type: 'String' }] }, /features\[4\]\.name: "bad name!" — must be 1-64 letters/],
    ['reserved feature name', { features: [...CUSTOMER_FEATURES, { name: 'write_time', type: 'String' }] }, /features\[4\]\.name: "write_time" — is reserved by the offline store/],
    ['identifier of a wrong type', { recordIdentifierFeatureName: 'spend_30d' }, /recordIdentifierFeatureName: "spend_30d" — must be a feature of type Integral or String \(it is Fractional\)/],
    ['event time of a wrong type', { eventTimeFeatureName: 'orders_30d' }, /eventTimeFeatureName: "orders_30d" — must be a feature of type String \(ISO-8601\) or Fractional/],
    ['identifier and event time are one feature', { eventTimeFeatureName: 'customer_id' }, /eventTimeFeatureName: "customer_id" — must differ from recordIdentifierFeatureName/],
    ['no features', { features: [] }, /features: 0 — must list between 1 and 2500 features/],
    ['invalid group name', { featureGroupName: 'customers.v2' }, /featureGroupName: "customers.v2" — must be 1-64 letters/],
    ['bad prefix', { offlineStorePrefix: 'features' }, /offlineStorePrefix: "features" — must be an S3 key prefix/],
    ['TTL without an online store', { onlineStore: false, onlineTtlDays: 7 }, /onlineTtlDays: 7 — only applies with onlineStore true/],
    ['TTL out of range', { onlineTtlDays: 0 }, /onlineTtlDays: 0 — must be a whole number between 1 and 3650 days/],
    ['bad database name', { glueDatabaseName: 'Features-DB' }, /glueDatabaseName: "Features-DB" — must be 1-255 lowercase letters/],
  ])('%s', (_name, props, message) => {
    expect(make(props)).toThrow(PropsValidationError);
    expect(make(props)).toThrow(message);
  });

  test('an offline store bucket without a KMS key is refused', () => {
    expect(make({}, (stack) => new s3.Bucket(stack, 'Plain'))).toThrow(/offlineStoreKey: null — the offline store must be encrypted with a customer-managed key/);
  });
});

describe('FeatureGroup create-only tags', () => {
  const make = (tags?: Record<string, string>) => {
    const stack = newStack();
    Tags.of(stack).add('CostCenter', 'ml-42'); // what Tags.of(stage) does to every taggable resource
    const lake = new DataLake(stack, 'Lake');
    new FeatureGroup(stack, 'Customers', {
      featureGroupName: 'customers', recordIdentifierFeatureName: 'customer_id', eventTimeFeatureName: 'event_time',
      features: CUSTOMER_FEATURES, offlineStoreBucket: lake.processedBucket, tags,
    });
    return template(stack);
  };

  test('inherited tags never reach the group (a change would replace it); its own tags do', () => {
    const inherited = make();
    expect(Object.values(inherited.findResources('AWS::SageMaker::FeatureGroup'))[0].Properties.Tags).toBeUndefined();
    // The inherited tag is applied elsewhere: the exemption is the feature group's alone.
    inherited.hasResourceProperties('AWS::KMS::Key', { Tags: Match.arrayWith([{ Key: 'CostCenter', Value: 'ml-42' }]) });
    const own = make({ Team: 'growth' });
    expect(Object.values(own.findResources('AWS::SageMaker::FeatureGroup'))[0].Properties.Tags).toEqual([{ Key: 'Team', Value: 'growth' }]);
  });
});

describe('FeatureGroup versioned name (create-only properties)', () => {
  // The group a config describes, in a fresh stack each time, as a later deploy of the same app would build it.
  const make = (props: Partial<FeatureGroupProps> = {}, options: { stackTag?: string; otherBucket?: boolean } = {}) => {
    const stack = newStack();
    if (options.stackTag) Tags.of(stack).add('CostCenter', options.stackTag);
    const lake = new DataLake(stack, 'Lake');
    const bucket = options.otherBucket ? new DataLake(stack, 'OtherLake').processedBucket : lake.processedBucket;
    const group = new FeatureGroup(stack, 'Customers', {
      featureGroupName: 'acme-ml-dev-customers', recordIdentifierFeatureName: 'customer_id', eventTimeFeatureName: 'event_time',
      features: CUSTOMER_FEATURES, offlineStoreBucket: bucket, description: 'Customer features', versionedName: true,
      tags: { Project: 'acme-ml' }, ...props,
    });
    return { stack, group };
  };
  const base = make().group.featureGroupName;

  test('the name is <base>-v<8 hex>, stable across synths; the Glue table follows it, the database keeps the base name', () => {
    expect(base).toMatch(/^acme-ml-dev-customers-v[0-9a-f]{8}$/);
    const { stack, group } = make();
    expect(group.featureGroupName).toBe(base);
    const t = template(stack);
    t.hasResourceProperties('AWS::SageMaker::FeatureGroup', {
      FeatureGroupName: base,
      OfflineStoreConfig: Match.objectLike({ DataCatalogConfig: { Catalog: 'AwsDataCatalog', Database: 'acme_ml_dev_customers_features', TableName: base.replace(/-/g, '_') } }),
    });
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'acme_ml_dev_customers_features' } });
  });

  test.each<[string, Partial<FeatureGroupProps>, { stackTag?: string; otherBucket?: boolean }]>([
    ['a changed description', { description: 'Customer features v2' }, {}],
    ['a removed description', { description: undefined }, {}],
    ['another record identifier', { recordIdentifierFeatureName: 'orders_30d' }, {}],
    ['another event time feature', { features: [...CUSTOMER_FEATURES, { name: 'updated_at', type: 'String' }], eventTimeFeatureName: 'updated_at' }, {}],
    ['the online store switched off', { onlineStore: false }, {}],
    ['another offline prefix', { offlineStorePrefix: 'features/' }, {}],
    ['another offline bucket', {}, { otherBucket: true }],
    ['another table format', { tableFormat: 'Iceberg' }, {}],
    ['another Glue database', { glueDatabaseName: 'shared_features' }, {}],
    ['changed own tags', { tags: { Project: 'acme-ml', Team: 'growth' } }, {}],
    ['a revision (to change or remove a feature)', { revision: 1 }, {}],
  ])('%s: a new name, so CloudFormation creates the new group beside the old one', (_name, props, options) => {
    expect(make(props, options).group.featureGroupName).not.toBe(base);
  });

  test.each<[string, Partial<FeatureGroupProps>, { stackTag?: string }]>([
    ['an appended feature', { features: [...CUSTOMER_FEATURES, { name: 'visits_7d', type: 'Integral' }] }, {}],
    ['another online TTL', { onlineTtlDays: 30 }, {}],
    ['a platform tag (Tags.of(stack))', {}, { stackTag: 'ml-43' }],
  ])('%s: updated in place, the name stays', (_name, props, options) => {
    expect(make(props, options).group.featureGroupName).toBe(base);
  });

  test('grants follow the versioned name; a replaced version is retained by default, deleted with DESTROY', () => {
    const { stack, group } = make();
    const etl = new iam.Role(stack, 'Etl', { assumedBy: new iam.ServicePrincipal('glue.amazonaws.com') });
    group.grantIngest(etl);
    const t = template(stack);
    expect(JSON.stringify(statementsOf(t, stack.getLogicalId(etl.node.defaultChild as never)))).toContain(`:feature-group/${base}`);
    const [resource] = Object.values(t.findResources('AWS::SageMaker::FeatureGroup'));
    expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const dev = make({ removalPolicy: RemovalPolicy.DESTROY });
    expect(Object.values(template(dev.stack).findResources('AWS::SageMaker::FeatureGroup'))[0]).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  test('without versionedName the name is as given; a revision there, or a base too long for the version, is refused', () => {
    expect(make({ versionedName: false }).group.featureGroupName).toBe('acme-ml-dev-customers');
    expect(() => make({ versionedName: false, revision: 2 })).toThrow(/revision: 2 — only applies with versionedName true/);
    expect(() => make({ featureGroupName: 'a'.repeat(55) })).toThrow(/featureGroupName: "a{55}" — must be at most 54 characters with versionedName/);
  });
});
