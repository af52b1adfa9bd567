import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { DataLake } from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

const KMS_BUCKET = {
  BucketEncryption: {
    ServerSideEncryptionConfiguration: [
      { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() } },
    ],
  },
};

describe('DataLake defaults', () => {
  const stack = newStack();
  const lake = new DataLake(stack, 'Lake');
  const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  const trainer = new iam.Role(stack, 'Trainer', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
  lake.grantReadData(reader);
  lake.grantWriteArtifacts(trainer);
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('four buckets: raw, processed, artifacts with KMS; access logs with SSE-S3', () => {
    t.resourceCountIs('AWS::S3::Bucket', 4);
    expect(Object.keys(t.findResources('AWS::S3::Bucket', { Properties: KMS_BUCKET }))).toHaveLength(3);
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LoggingConfiguration: { LogFilePrefix: 'self/' },
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('every bucket is private, versioned, owner-enforced, logged and retained', () => {
    const buckets = t.findResources('AWS::S3::Bucket');
    for (const b of Object.values(buckets)) {
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      });
      expect(b.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(b.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(b.Properties.LoggingConfiguration).toBeDefined();
      expect(b.DeletionPolicy).toBe('Retain');
    }
  });

  test('lifecycle: Intelligent-Tiering after 30 days and noncurrent versions expire after 90', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [Match.objectLike({
          Status: 'Enabled',
          Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 }],
          NoncurrentVersionExpiration: { NoncurrentDays: 90 },
        })],
      },
    });
  });

  test('bucket policies deny requests without TLS and below TLS 1.2', () => {
    const policies = Object.values(t.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(4);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toEqual(expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      ]));
    }
  });

  test('grants: readers read data buckets only; artifact writers can put but not delete', () => {
    const readerPolicy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties.Roles).includes('Reader'))!;
    const readerDoc = JSON.stringify(readerPolicy.Properties.PolicyDocument);
    expect(readerDoc).toContain('"s3:GetObject"');
    expect(readerDoc).not.toMatch(/"(s3|kms):[A-Za-z]*\*"/); // no action wildcards
    expect(readerDoc).not.toContain('s3:PutObject');
    expect(readerDoc).toContain(stack.getLogicalId(lake.rawBucket.node.defaultChild as never));
    expect(readerDoc).not.toContain(stack.getLogicalId(lake.artifactsBucket.node.defaultChild as never));
    const trainerPolicy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties.Roles).includes('Trainer'))!;
    const trainerDoc = JSON.stringify(trainerPolicy.Properties.PolicyDocument);
    expect(trainerDoc).toContain('s3:PutObject');
    expect(trainerDoc).not.toContain('s3:DeleteObject');
    expect(trainerDoc).toContain('"kms:GenerateDataKey"');
    expect(trainerDoc).not.toMatch(/"(s3|kms):[A-Za-z]*\*"/);
  });

  test('bucket(zone) returns the zone bucket', () => {
    expect(lake.bucket('artifacts')).toBe(lake.artifactsBucket);
    expect(lake.bucket('raw')).toBe(lake.rawBucket);
  });

  test('cdk-nag AwsSolutions, NIST 800-53 R5 and HIPAA find nothing unacknowledged', () => {
    expect(nagFindings(stack)).toEqual([]);
    // The compliance packs judge the construct's own resources (the test roles are the caller's business).
    expect(nagFindings(lake, new NIST80053R5Checks())).toEqual([]);
    expect(nagFindings(lake, new HIPAASecurityChecks())).toEqual([]);
  });
});

describe('DataLake in an app without the project feature flags', () => {
  test('access logging uses a bucket policy for the S3 logging service, never ACLs', () => {
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Plain');
    new DataLake(stack, 'Lake');
    const t = template(stack);
    for (const b of Object.values(t.findResources('AWS::S3::Bucket'))) expect(b.Properties.AccessControl).toBeUndefined();
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Sid: 'S3ServerAccessLogsraw', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject',
        Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': Match.anyValue() } }),
      })]) },
    });
    t.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: { LogFilePrefix: 'raw/', DestinationBucketName: Match.anyValue() } });
  });
});

describe('DataLake options', () => {
  test('dev: DESTROY with autoDeleteObjects adds the CDK auto-delete custom resource', () => {
    const stack = newStack();
    new DataLake(stack, 'Lake', { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true, noncurrentVersionExpirationDays: 7, intelligentTieringAfterDays: 0 });
    const t = template(stack);
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 4);
    t.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 0 }], NoncurrentVersionExpiration: { NoncurrentDays: 7 } })] },
    });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('unversioned buckets get no noncurrent-version rule', () => {
    const stack = newStack();
    new DataLake(stack, 'Lake', { versioned: false });
    const rules = Object.values(template(stack).findResources('AWS::S3::Bucket', { Properties: KMS_BUCKET }))
      .map((b) => b.Properties.LifecycleConfiguration.Rules[0]);
    for (const r of rules) expect(r.NoncurrentVersionExpiration).toBeUndefined();
  });
});

describe('DataLake validation', () => {
  const build = (props: ConstructorParameters<typeof DataLake>[2]) => () => new DataLake(newStack(), 'Lake', props);
  test('autoDeleteObjects with RETAIN', () => expect(build({ autoDeleteObjects: true })).toThrow(/autoDeleteObjects: true — needs removalPolicy DESTROY \(got retain\)/));
  test('noncurrent expiry out of range', () => expect(build({ noncurrentVersionExpirationDays: 0 })).toThrow(/noncurrentVersionExpirationDays: 0 — must be a whole number between 1 and 3650 days/));
  test('negative tiering days', () => expect(build({ intelligentTieringAfterDays: -1 })).toThrow(/intelligentTieringAfterDays: -1/));
  test('fractional access log retention', () => expect(build({ accessLogRetentionDays: 1.5 })).toThrow(/accessLogRetentionDays: 1.5 — must be a whole number/));
});

describe('DataLake.fromDataLakeAttributes', () => {
  const stack = newStack('Consumer', 'us-east-1');
  const keyArn = 'arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const lake = DataLake.fromDataLakeAttributes(stack, 'Shared', {
    rawBucketName: 'acme-raw', processedBucketName: 'acme-processed', artifactsBucketName: 'acme-artifacts', encryptionKeyArn: keyArn,
  });
  const trainer = new iam.Role(stack, 'Trainer', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
  const read = lake.grantReadData(trainer);
  const write = lake.grantWriteArtifacts(trainer);
  let t: Template;
  beforeAll(() => { t = template(stack); });

  test('creates no bucket or key', () => {
    t.resourceCountIs('AWS::S3::Bucket', 0);
    t.resourceCountIs('AWS::KMS::Key', 0);
    expect(lake.bucket('artifacts').bucketName).toBe('acme-artifacts');
  });

  test('grants name the existing buckets and key and return iam.Grant', () => {
    expect(read).toBeInstanceOf(iam.Grant);
    expect(read.success && write.success).toBe(true);
    const statements = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(statements).toContain('arn:aws:s3:::acme-raw/*');
    expect(statements).toContain('arn:aws:s3:::acme-processed');
    expect(statements).toContain('arn:aws:s3:::acme-artifacts/*');
    expect(statements).toContain(keyArn);
    expect(statements).not.toContain('s3:DeleteObject'); // read data and write artifacts never delete
  });

  test('cdk-nag finds nothing', () => expect(nagFindings(stack)).toEqual([]));
});
