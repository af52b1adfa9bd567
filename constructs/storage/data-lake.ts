import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { platformKey } from '../core/defaults';
import { acknowledge, acknowledgeResourceWildcards, compliancePackIds, acknowledgeControls } from '../core/nag';
import * as perms from './perms';
import { PropsValidator } from '../core/validation';

export interface DataLakeProps {
  /** Key for the data and artifact buckets. @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Turn on S3 versioning for data and artifacts. @default true */
  readonly versioned?: boolean;
  /** Days after which noncurrent object versions expire. @default 90 */
  readonly noncurrentVersionExpirationDays?: number;
  /** Days after which objects move to S3 Intelligent-Tiering (0 = at once). @default 30 */
  readonly intelligentTieringAfterDays?: number;
  /** Days server access logs are kept. @default 365 */
  readonly accessLogRetentionDays?: number;
  /** What happens to buckets and key on stack deletion. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Empty the buckets when the stack is deleted (adds a CDK custom resource). Needs removalPolicy DESTROY.
   * @default false
   */
  readonly autoDeleteObjects?: boolean;
}

/** The buckets of a data lake, by role. */
export type DataLakeZone = 'raw' | 'processed' | 'artifacts';

/** A data lake: created by {@link DataLake}, or imported with {@link DataLake.fromDataLakeAttributes}. */
export interface IDataLake extends IConstruct {
  /** Key of the data and artifact buckets. */
  readonly encryptionKey: kms.IKey;
  readonly rawBucket: s3.IBucket;
  readonly processedBucket: s3.IBucket;
  readonly artifactsBucket: s3.IBucket;
  /** The bucket of a zone. */
  bucket(zone: DataLakeZone): s3.IBucket;
  /** Read raw and processed data (and decrypt with the key). */
  grantReadData(grantee: iam.IGrantable): iam.Grant;
  /** Read, write and delete raw and processed data and features. */
  grantWriteData(grantee: iam.IGrantable): iam.Grant;
  /** Read model artifacts. */
  grantReadArtifacts(grantee: iam.IGrantable): iam.Grant;
  /** Read and write model artifacts (no delete: artifacts are versioned and kept). */
  grantWriteArtifacts(grantee: iam.IGrantable): iam.Grant;
}

/** An existing data lake (e.g. another stack's or account's): its buckets and key. */
export interface DataLakeAttributes {
  /** Name of the raw data bucket. */
  readonly rawBucketName: string;
  /** Name of the processed data and features bucket. */
  readonly processedBucketName: string;
  /** Name of the model artifacts bucket. */
  readonly artifactsBucketName: string;
  /** ARN of the KMS key the buckets are encrypted with. */
  readonly encryptionKeyArn: string;
}

/** What owned and imported data lakes share: zone lookup and the grants. */
abstract class DataLakeBase extends Construct implements IDataLake {
  public abstract readonly encryptionKey: kms.IKey;
  public abstract readonly rawBucket: s3.IBucket;
  public abstract readonly processedBucket: s3.IBucket;
  public abstract readonly artifactsBucket: s3.IBucket;

  public bucket(zone: DataLakeZone): s3.IBucket {
    return { raw: this.rawBucket, processed: this.processedBucket, artifacts: this.artifactsBucket }[zone];
  }

  public grantReadData(grantee: iam.IGrantable): iam.Grant {
    return this.grantObjects(grantee, [this.rawBucket, this.processedBucket], false, false);
  }

  public grantWriteData(grantee: iam.IGrantable): iam.Grant {
    return this.grantObjects(grantee, [this.rawBucket, this.processedBucket], true, true);
  }

  public grantReadArtifacts(grantee: iam.IGrantable): iam.Grant {
    return this.grantObjects(grantee, [this.artifactsBucket], false, false);
  }

  public grantWriteArtifacts(grantee: iam.IGrantable): iam.Grant {
    return this.grantObjects(grantee, [this.artifactsBucket], true, false);
  }

  private grantObjects(grantee: iam.IGrantable, buckets: s3.IBucket[], write: boolean, del: boolean): iam.Grant {
    const objectArns = buckets.map((b) => b.arnForObjects('*'));
    const objects = iam.Grant.addToPrincipal({
      grantee,
      actions: [...perms.S3_READ_OBJECT_ACTIONS, ...(write ? perms.S3_WRITE_OBJECT_ACTIONS : []), ...(del ? perms.S3_DELETE_OBJECT_ACTIONS : [])],
      resourceArns: objectArns,
    });
    const listing = iam.Grant.addToPrincipal({
      grantee,
      actions: [...perms.S3_LIST_ACTIONS, ...(write ? perms.S3_WRITE_BUCKET_ACTIONS : [])],
      resourceArns: buckets.map((b) => b.bucketArn),
    });
    const key = this.encryptionKey.grant(grantee, ...(write ? perms.KMS_WRITE_ACTIONS : perms.KMS_READ_ACTIONS));
    acknowledgeResourceWildcards(grantee.grantPrincipal, objectArns, perms.OBJECT_WILDCARD_REASON);
    return objects.combine(listing).combine(key);
  }
}

/**
 * Data lake and model artifact store: `raw` data, `processed` data and features, and model `artifacts`,
 * each KMS-encrypted with a customer-managed key, TLS-only, versioned, private, logged to a server access log
 * bucket, with noncurrent-version expiry and Intelligent-Tiering.
 *
 * Usable as a DVC remote: `dvc remote add -d lake s3://<RawBucketName>/dvc` (DVC reads the AWS credentials
 * of the caller; grant it with {@link grantReadData}/{@link grantWriteData}).
 */
export class DataLake extends DataLakeBase {
  /** Uses an existing data lake's buckets and key, in this or another stack or account (no resources are created). */
  public static fromDataLakeAttributes(scope: Construct, id: string, attrs: DataLakeAttributes): IDataLake {
    class Imported extends DataLakeBase {
      public readonly encryptionKey = kms.Key.fromKeyArn(this, 'Key', attrs.encryptionKeyArn);
      public readonly rawBucket = s3.Bucket.fromBucketAttributes(this, 'Raw', { bucketName: attrs.rawBucketName, encryptionKey: this.encryptionKey });
      public readonly processedBucket = s3.Bucket.fromBucketAttributes(this, 'Processed', { bucketName: attrs.processedBucketName, encryptionKey: this.encryptionKey });
      public readonly artifactsBucket = s3.Bucket.fromBucketAttributes(this, 'Artifacts', { bucketName: attrs.artifactsBucketName, encryptionKey: this.encryptionKey });
    }
    return new Imported(scope, id);
  }

  public readonly encryptionKey: kms.IKey;
  public readonly rawBucket: s3.IBucket;
  public readonly processedBucket: s3.IBucket;
  public readonly artifactsBucket: s3.IBucket;
  /** Destination of server access logs of the other buckets (SSE-S3: S3 log delivery cannot use SSE-KMS). */
  public readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataLakeProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const autoDeleteObjects = props.autoDeleteObjects ?? false;
    const noncurrentDays = props.noncurrentVersionExpirationDays ?? 90;
    const tieringDays = props.intelligentTieringAfterDays ?? 30;
    const logDays = props.accessLogRetentionDays ?? 365;
    const versioned = props.versioned ?? true;

    new PropsValidator(this, 'DataLake')
      .intRange('noncurrentVersionExpirationDays', noncurrentDays, 1, 3650, 'days')
      .intRange('intelligentTieringAfterDays', tieringDays, 0, 3650, 'days')
      .intRange('accessLogRetentionDays', logDays, 1, 3650, 'days')
      .check(!autoDeleteObjects || removalPolicy === RemovalPolicy.DESTROY, 'autoDeleteObjects', autoDeleteObjects,
        `needs removalPolicy DESTROY (got ${removalPolicy}); retained buckets are never emptied`)
      .throwIfInvalid();

    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', { description: 'ML data lake and model artifacts', removalPolicy });

    const common: s3.BucketProps = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      removalPolicy,
      autoDeleteObjects,
    };

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      ...common,
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(logDays), noncurrentVersionExpiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });

    const zoneBucket = (name: string): s3.Bucket =>
      new s3.Bucket(this, name, {
        ...common,
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.encryptionKey,
        bucketKeyEnabled: true,
        versioned,
        lifecycleRules: [
          {
            id: 'tiering-and-noncurrent-expiry',
            transitions: [{ storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(tieringDays) }],
            ...(versioned ? { noncurrentVersionExpiration: Duration.days(noncurrentDays) } : {}),
            abortIncompleteMultipartUploadAfter: Duration.days(7),
          },
        ],
      });

    const raw = zoneBucket('Raw');
    const processed = zoneBucket('Processed');
    const artifacts = zoneBucket('Artifacts');
    this.rawBucket = raw;
    this.processedBucket = processed;
    this.artifactsBucket = artifacts;

    // The log bucket records its own access under a separate prefix, so every bucket has an audit trail.
    this.logAccess(this.accessLogsBucket, 'self/');
    this.logAccess(raw, 'raw/');
    this.logAccess(processed, 'processed/');
    this.logAccess(artifacts, 'artifacts/');

    acknowledgeControls(this.accessLogsBucket, ['CT.S3.PR.10 s3_bucket_default_encryption_kms_check'],
      'S3 server access log delivery supports only SSE-S3 (not SSE-KMS) on the destination bucket; the logs hold no data payloads.');
    acknowledgeControls(this.accessLogsBucket, ['CT.S3.PR.4 s3_event_notifications_enabled_check', 'CT.S3.PR.9 s3_bucket_object_lock_enabled_check'],
      'Access-log bucket: nothing consumes its object events, and its logs expire by lifecycle after the configured days, which Object Lock retention would block.');
    for (const bucket of [this.rawBucket, this.processedBucket, this.artifactsBucket]) {
      acknowledgeControls(bucket, ['CT.S3.PR.9 s3_bucket_object_lock_enabled_check'],
        'Object Lock (WORM) is a per-dataset retention decision the data owner makes: it cannot be switched off and would block the noncurrent-version expiry applied here; versioning and RETAIN in prod protect the data.');
      acknowledgeControls(bucket, ['CT.S3.PR.4 s3_event_notifications_enabled_check'],
        'No platform component consumes object events from the lake (pipelines start from their own sources); a consumer adds notifications for its prefix.');
    }
    acknowledge(this.accessLogsBucket, compliancePackIds('S3DefaultEncryptionKMS'),
      'S3 server access log delivery supports only SSE-S3 on the destination bucket; the logs hold no data payloads.');
    for (const bucket of [this.accessLogsBucket, this.rawBucket, this.processedBucket, this.artifactsBucket]) {
      acknowledge(bucket, compliancePackIds('S3BucketReplicationEnabled'),
        'Cross-region replication is a disaster-recovery decision that needs a bucket in a second region; versioning, RETAIN in prod and KMS protect the data here.');
    }
  }

  /**
   * Server access logging through a bucket policy for the S3 logging service, whatever the app's feature flags
   * (CDK's `serverAccessLogsBucket` falls back to ACLs without `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`,
   * which bucket-owner-enforced buckets refuse).
   */
  private logAccess(source: s3.Bucket, prefix: string): void {
    const self = source === this.accessLogsBucket;
    (source.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
      // No destination means the bucket logs to itself (a Ref to itself would be circular).
      destinationBucketName: self ? undefined : this.accessLogsBucket.bucketName,
      logFilePrefix: prefix,
    };
    this.accessLogsBucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: `S3ServerAccessLogs${prefix.replace(/[^A-Za-z0-9]/g, '')}`,
      principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
      actions: ['s3:PutObject'],
      resources: [this.accessLogsBucket.arnForObjects(`${prefix}*`)],
      conditions: { ArnLike: { 'aws:SourceArn': source.bucketArn }, StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
    }));
  }
}
