import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ACCOUNTS, type AccessRequest, decide, expectAllowed, type FoundResource, identityPoliciesOf, resourceOf, resourcePolicyOf, synthesizedPlatform,
  type SynthesizedPlatform,
} from './support';

// Journey "experiments": training code on a SageMaker training job, a Ray pod or a GPU box logs its run to MLflow;
// an ingest role writes a feature group; training reads the group's offline store through Athena. Each step is an
// IAM decision simulated over the synthesized dev stage (its own account) on the exact ARN the step uses.

const EXAMPLE = path.join(__dirname, '..', '..', 'lambda', 'training-example');
const ACCOUNT = ACCOUNTS.dev;

/**
 * What each MLflow 3 fluent call of the example sends to the tracking server (MLflow's REST API, as the IAM action
 * `sagemaker-mlflow:<Api>`), from mlflow/tracking/fluent.py and mlflow/models/model.py of MLflow 3.0. `log_model`
 * creates a logged model (CreateLoggedModel, which the IAM reference lists no action for), logs its params and tags,
 * uploads the artifacts to S3 with the caller's credentials, finalizes it and links it to the run (LogOutputs).
 */
const MLFLOW_3_CALLS: Record<string, { readonly api: readonly string[]; readonly uploadsArtifacts?: boolean }> = {
  'set_tracking_uri': { api: [] },
  'set_experiment': { api: ['GetExperimentByName', 'CreateExperiment'] },
  'start_run': { api: ['CreateRun', 'GetRun', 'UpdateRun'] },
  'log_params': { api: ['LogBatch'] },
  'log_param': { api: ['LogParam'] },
  'log_metric': { api: ['LogMetric'] },
  'log_metrics': { api: ['LogBatch'] },
  'set_tag': { api: ['SetTag'] },
  'sklearn.log_model': {
    api: ['LogLoggedModelParams', 'SetLoggedModelTags', 'FinalizeLoggedModel', 'GetLoggedModel', 'LogOutputs'], uploadsArtifacts: true,
  },
};

describe('experiments journey in dev (everything on, one account per stage)', () => {
  let platform: SynthesizedPlatform;
  let serverArn: string;
  let artifactBucket: string;
  let principals: Record<string, FoundResource>;
  const identities = new Map<string, { name: string; policy: unknown }[]>();
  const resourcePolicies = new Map<string, unknown>();
  /**
   * A request with the principal's identity policies and the target's resource policy looked up once (the lookups
   * scan the whole assembly; the simulation itself is quick). `bucketOrKey` names the resource carrying the policy.
   */
  const request = (role: FoundResource, action: string, resource: string, context?: Record<string, string>, policyOf?: string): AccessRequest => {
    if (!identities.has(role.arn)) identities.set(role.arn, identityPoliciesOf(platform, role));
    const holder = policyOf ?? resource;
    if (!resourcePolicies.has(holder)) {
      const target = policyOf ? resourceOf(platform, policyOf) : undefined;
      resourcePolicies.set(holder, target ? resourcePolicyOf(platform, target, resource) ?? null : null);
    }
    return { principal: role.arn, action, resource, context, identityPolicies: identities.get(role.arn), resourcePolicy: resourcePolicies.get(holder), resourceAccount: ACCOUNT };
  };
  beforeAll(() => {
    platform = synthesizedPlatform('allOn');
    serverArn = platform.output('dev/Experiments', 'MlflowTrackingServerArn');
    artifactBucket = /^s3:\/\/([^/]+)\/mlflow\/$/.exec(platform.output('dev/Experiments', 'MlflowArtifactStore'))![1];
    const role = (stack: string, prefix: string) => platform.only('AWS::IAM::Role', stack, (r) => r.logicalId.startsWith(prefix));
    principals = {
      'SageMaker training job': role('dev/Delivery', 'ModelPipelineTrainingTrainingRole'),
      'Ray pod': role('dev/Training', 'EksRayServiceAccountRole'),
      'GPU box research': role('dev/Training', 'GpuresearchRole'),
      'GPU box spot-box': role('dev/Training', 'GpuspotboxRole'),
    };
  });

  test('the server runs a pinned MLflow, and the example installs the same major and minor', () => {
    expect(serverArn).toBe(`arn:aws:sagemaker:us-east-1:${ACCOUNT}:mlflow-tracking-server/acme-ml-dev`);
    const version = platform.output('dev/Experiments', 'MlflowVersion');
    expect(version).toBe('3.0');
    const pin = /^mlflow~=(\d+\.\d+)\.\d+$/m.exec(fs.readFileSync(path.join(EXAMPLE, 'requirements.txt'), 'utf8'));
    expect(pin?.[1]).toBe(version);
  });

  test('every MLflow call the example makes is one whose server calls are known', () => {
    const calls = [...fs.readFileSync(path.join(EXAMPLE, 'train.py'), 'utf8').matchAll(/\bmlflow\.([a-z_.]+)\(/g)].map((m) => m[1]);
    expect(calls).toEqual(expect.arrayContaining(['log_params', 'log_metric', 'sklearn.log_model']));
    expect(calls.filter((c) => !(c in MLFLOW_3_CALLS))).toEqual([]);
  });

  test('each training principal may make the example\'s MLflow calls on this server and upload the model', async () => {
    const calls = [...fs.readFileSync(path.join(EXAMPLE, 'train.py'), 'utf8').matchAll(/\bmlflow\.([a-z_.]+)\(/g)].map((m) => MLFLOW_3_CALLS[m[1]]);
    const actions = [...new Set(['sagemaker:DescribeMlflowTrackingServer', ...calls.flatMap((c) => c.api.map((a) => `sagemaker-mlflow:${a}`))])];
    const artifact = `arn:aws:s3:::${artifactBucket}/mlflow/1/models/m-0123456789abcdef/artifacts/model.pkl`;
    const bucketKey = platform.byIdentifier(platform.only('AWS::S3::Bucket', 'dev/Data', (b) => b.ref === artifactBucket)
      .properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID)!;
    for (const [name, role] of Object.entries(principals)) {
      expect([name, role.stack.account]).toEqual([name, ACCOUNT]);
      // The tracking server has no resource policy: identity policies decide.
      await expectAllowed(platform, ...actions.map((action) => request(role, action, serverArn)));
      if (calls.some((c) => c.uploadsArtifacts)) {
        await expectAllowed(platform,
          request(role, 's3:PutObject', artifact, undefined, `arn:aws:s3:::${artifactBucket}`),
          request(role, 'kms:GenerateDataKey', bucketKey.arn, undefined, bucketKey.arn));
      }
      // Negative controls: no deletes, and no other tracking server.
      expect(await decide(platform, request(role, 'sagemaker-mlflow:DeleteExperiment', serverArn))).toBe('ImplicitlyDenied');
      expect(await decide(platform, request(role, 'sagemaker-mlflow:LogMetric', serverArn.replace(/acme-ml-dev$/, 'other')))).toBe('ImplicitlyDenied');
    }
  });

  test('an ingest role writes the feature group; a training principal cannot', async () => {
    const group = platform.only('AWS::SageMaker::FeatureGroup', 'dev/Experiments');
    // A versioned name (create-only properties hashed in), which the grants and the stack output follow.
    expect(group.ref).toMatch(/^acme-ml-dev-customers-v[0-9a-f]{8}$/);
    expect(group.arn).toBe(`arn:aws:sagemaker:us-east-1:${ACCOUNT}:feature-group/${group.ref}`);
    expect(platform.output('dev/Experiments', 'FeatureGroups')).toBe(`customers=${group.ref}/${group.ref.replace(/-/g, '_')}`);
    // The ETL role exists outside the platform: the platform attaches a policy to it by name.
    const policies = platform.resources('AWS::IAM::Policy', { stack: 'dev/Experiments', filter: (p) => JSON.stringify(p.properties.Roles) === '["customers-etl"]' })
      .map((p) => ({ name: p.logicalId, policy: p.properties.PolicyDocument }));
    expect(policies).toHaveLength(1);
    const onlineKey = platform.byIdentifier(group.properties.OnlineStoreConfig.SecurityConfig.KmsKeyId)!;
    const etl = `arn:aws:iam::${ACCOUNT}:role/customers-etl`;
    await expectAllowed(platform,
      { principal: etl, action: 'sagemaker:PutRecord', resource: group.arn, identityPolicies: policies },
      { principal: etl, action: 'kms:GenerateDataKey', resource: onlineKey.arn, identityPolicies: policies });
    expect(await decide(platform, { principal: principals['Ray pod'].arn, action: 'sagemaker:PutRecord', resource: group.arn })).toBe('ImplicitlyDenied');
  });

  test('create-only properties: no platform tag on any group, and prod keeps a replaced version (a new name beside the old)', () => {
    for (const stage of ['dev', 'staging', 'prod']) {
      const group = platform.only('AWS::SageMaker::FeatureGroup', `${stage}/Experiments`);
      expect(group.ref).toMatch(new RegExp(`^acme-ml-${stage}-customers-v[0-9a-f]{8}$`));
      // config.tags (CostCenter) reach every other resource, never the group's create-only Tags.
      expect(group.properties.Tags).toEqual([{ Key: 'Project', Value: 'acme-ml' }, { Key: 'Environment', Value: stage }, { Key: 'ManagedBy', Value: 'cdk-mlops' }]);
    }
    expect(platform.only('AWS::SageMaker::FeatureGroup', 'prod/Experiments').raw).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('each training principal reads the offline table through the Athena workgroup, results encrypted', async () => {
    const group = platform.only('AWS::SageMaker::FeatureGroup', 'dev/Experiments');
    const { Database, TableName } = group.properties.OfflineStoreConfig.DataCatalogConfig;
    const offlineUri = /^s3:\/\/([^/]+)\/(.+)$/.exec(group.properties.OfflineStoreConfig.S3StorageConfig.S3Uri)!;
    const offlineKey = group.properties.OfflineStoreConfig.S3StorageConfig.KmsKeyId;
    const workgroup = platform.only('AWS::Athena::WorkGroup', 'dev/Experiments');
    const results = /^s3:\/\/([^/]+)\/(.+)$/.exec(workgroup.properties.WorkGroupConfiguration.ResultConfiguration.OutputLocation)!;
    const resultsKey = workgroup.properties.WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.KmsKey;
    expect(workgroup.properties.WorkGroupConfiguration.EnforceWorkGroupConfiguration).toBe(true);
    const glue = (resource: string) => `arn:aws:glue:us-east-1:${ACCOUNT}:${resource}`;
    // Where Feature Store writes: <prefix><account>/sagemaker/<region>/offline-store/<group>-<creation time>/data/...
    const dataObject = `arn:aws:s3:::${offlineUri[1]}/${offlineUri[2]}${ACCOUNT}/sagemaker/us-east-1/offline-store/${group.ref}-1764547200/data/year=2026/month=12/day=01/hour=09/part.parquet`;
    for (const [name, role] of Object.entries(principals)) {
      const as = (action: string, resource: string, context?: Record<string, string>) => {
        const s3 = /^arn:aws:s3:::([^/]+)/.exec(resource);
        return request(role, action, resource, context, s3 ? `arn:aws:s3:::${s3[1]}` : resource.startsWith('arn:aws:kms:') ? resource : undefined);
      };
      await expectAllowed(platform,
        as('athena:StartQueryExecution', workgroup.arn), as('athena:GetQueryExecution', workgroup.arn), as('athena:GetQueryResults', workgroup.arn),
        as('glue:GetDatabase', glue(`database/${Database}`)), as('glue:GetTable', glue(`table/${Database}/${TableName}`)),
        as('glue:GetPartitions', glue(`table/${Database}/${TableName}`)), as('glue:GetTable', glue('catalog')),
        as('s3:ListBucket', `arn:aws:s3:::${offlineUri[1]}`, { 's3:prefix': offlineUri[2] }),
        as('s3:GetObject', dataObject), as('kms:Decrypt', offlineKey),
        as('s3:PutObject', `arn:aws:s3:::${results[1]}/${results[2]}0f6b2b6e-query.csv`), as('kms:GenerateDataKey', resultsKey));
      // Negative control: another workgroup (whose results could go anywhere, unencrypted).
      expect([name, await decide(platform, as('athena:StartQueryExecution', `arn:aws:athena:us-east-1:${ACCOUNT}:workgroup/primary`))]).toEqual([name, 'ImplicitlyDenied']);
    }
  });

  test('the tracking URI each runtime is given is this server', () => {
    const training = platform.stack('dev/Training').template;
    const delivery = platform.stack('dev/Delivery').template;
    const resolved = (stack: string, value: unknown) => JSON.stringify(platform.resolver.resolve(platform.stack(stack), value));
    // The resolver leaves Fn::Base64's argument as text: the user data script itself.
    const gpu = platform.resources('AWS::EC2::Instance', { stack: 'dev/Training' }).map((i) => String(i.properties.UserData));
    expect(gpu.length).toBe(2);
    for (const userData of gpu) expect(userData).toContain(`export MLFLOW_TRACKING_URI='${serverArn}'`);
    const ray = Object.values(training.Resources ?? {}).map((r) => resolved('dev/Training', (r as { Properties?: unknown }).Properties)).find((p) => p.includes('RayCluster'))!;
    expect(ray.split(`MLFLOW_TRACKING_URI\\",\\"value\\":\\"${serverArn}`).length - 1).toBe(3);
    const job = Object.values(delivery.Resources ?? {}).map((r) => resolved('dev/Delivery', (r as { Properties?: unknown }).Properties)).find((p) => p.includes('createTrainingJob'))!;
    expect(job).toContain(`\\"Environment\\":{\\"MLFLOW_TRACKING_URI\\":\\"${serverArn}\\"}`);
  });
});
