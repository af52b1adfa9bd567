import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { type Construct } from 'constructs';
import { acknowledge, acknowledgeControls, compliancePackIds } from '../constructs/core/nag';

const REPLICATION_REASON = 'Pipeline sources, artifacts and access logs are rebuilt from the repository; cross-region replication adds no recovery value.';

/** The access-log bucket of a pipeline's buckets: SSE-S3 (the only encryption log delivery supports), logging to itself. */
export function accessLogsBucket(scope: Construct, id: string, removalPolicy: RemovalPolicy): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, enforceSSL: true, minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, versioned: true, removalPolicy,
    lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
  });
  logAccess(bucket, bucket, 'self/');
  acknowledge(bucket, compliancePackIds('S3DefaultEncryptionKMS'), 'S3 server access log delivery supports only SSE-S3 on the destination bucket; the logs hold no data payloads.');
  acknowledge(bucket, compliancePackIds('S3BucketReplicationEnabled'), REPLICATION_REASON);
  acknowledgeControls(bucket, ['CT.S3.PR.10 s3_bucket_default_encryption_kms_check'],
    'S3 server access log delivery supports only SSE-S3 (not SSE-KMS) on the destination bucket; the logs hold no data payloads.');
  acknowledgeControls(bucket, ['CT.S3.PR.4 s3_event_notifications_enabled_check', 'CT.S3.PR.9 s3_bucket_object_lock_enabled_check'],
    'Access-log bucket: nothing consumes its object events, and its logs expire by lifecycle after 365 days, which Object Lock retention would block.');
  return bucket;
}

/** A versioned, KMS-encrypted, TLS-only bucket whose access is logged to `logs`. */
export function kmsBucket(scope: Construct, id: string, key: kms.IKey, logs: s3.Bucket, removalPolicy: RemovalPolicy, extra: Partial<s3.BucketProps> = {}): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, enforceSSL: true, minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, versioned: true, removalPolicy,
    lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    ...extra,
  });
  logAccess(bucket, logs, `${id.toLowerCase()}/`);
  acknowledge(bucket, compliancePackIds('S3BucketReplicationEnabled'), REPLICATION_REASON);
  acknowledgeControls(bucket, ['CT.S3.PR.9 s3_bucket_object_lock_enabled_check'],
    'Pipeline sources and artifacts are rebuilt from the repository and their noncurrent versions expire by lifecycle, which Object Lock retention would block.');
  acknowledgeControls(bucket, ['CT.S3.PR.4 s3_event_notifications_enabled_check'],
    'The pipeline reads these buckets itself (source action, artifact store); no other consumer needs their object events.');
  return bucket;
}

/**
 * Server access logging through a bucket policy for the S3 logging service (bucket-owner-enforced buckets refuse
 * the log-delivery ACLs CDK would otherwise use).
 */
export function logAccess(source: s3.Bucket, logs: s3.Bucket, prefix: string): void {
  (source.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
    // No destination means the bucket logs to itself (a Ref to itself would be circular).
    destinationBucketName: source === logs ? undefined : logs.bucketName,
    logFilePrefix: prefix,
  };
  logs.addToResourcePolicy(new iam.PolicyStatement({
    sid: `S3ServerAccessLogs${prefix.replace(/[^A-Za-z0-9]/g, '')}`,
    principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [logs.arnForObjects(`${prefix}*`)],
    conditions: { ArnLike: { 'aws:SourceArn': source.bucketArn }, StringEquals: { 'aws:SourceAccount': Stack.of(source).account } },
  }));
}
