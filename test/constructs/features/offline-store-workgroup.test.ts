import { type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DataLake, OfflineStoreWorkgroup, PropsValidationError } from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

describe('OfflineStoreWorkgroup', () => {
  const stack = newStack();
  const lake = new DataLake(stack, 'Lake');
  const wg = new OfflineStoreWorkgroup(stack, 'Workgroup', { workGroupName: 'mlops-dev-features', resultsBucket: lake.processedBucket });
  const analyst = new iam.Role(stack, 'Analyst', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
  wg.grantQuery(analyst);
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('enforced settings: engine 3, results SSE-KMS with the bucket key under athena-results/', () => {
    const [props] = Object.values(t.findResources('AWS::Athena::WorkGroup')).map((r) => r.Properties);
    expect(props.WorkGroupConfiguration).toMatchObject({
      EnforceWorkGroupConfiguration: true, PublishCloudWatchMetricsEnabled: true,
      EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
      ResultConfiguration: {
        OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: stack.getLogicalId(lake.processedBucket.node.defaultChild as s3.CfnBucket) }, '/athena-results/']] },
        EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: JSON.parse(JSON.stringify(stack.resolve(lake.encryptionKey.keyArn))) },
      },
    });
  });

  test('grantQuery: Athena query actions on this workgroup, the results prefix and its key', () => {
    const doc = JSON.stringify(Object.values(t.findResources('AWS::IAM::Policy')).map((p) => p.Properties.PolicyDocument));
    for (const a of ['athena:StartQueryExecution', 'athena:GetQueryResults', 's3:PutObject', 'kms:GenerateDataKey']) expect(doc).toContain(a);
    expect(doc).toContain(':workgroup/mlops-dev-features');
    expect(doc).toContain('/athena-results/*');
    expect(doc).not.toMatch(/"athena:\*"|"Resource":"\*"/);
  });

  test('cdk-nag AwsSolutions finds nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  test('bad props are one synth error naming each prop', () => {
    const make = () => new OfflineStoreWorkgroup(newStack(), 'W', { workGroupName: 'bad name', resultsBucket: s3.Bucket.fromBucketName(newStack(), 'Plain', 'plain'), resultsPrefix: '/x', bytesScannedCutoffPerQuery: 5 });
    expect(make).toThrow(PropsValidationError);
    expect(make).toThrow(/workGroupName: "bad name"[\s\S]*resultsPrefix: "\/x"[\s\S]*resultsKey[\s\S]*bytesScannedCutoffPerQuery: 5/);
  });
});
