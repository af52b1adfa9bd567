import * as crypto from 'node:crypto';
import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { platformKey } from '../core/defaults';
import { acknowledgeResourceWildcards } from '../core/nag';
import { PropsValidator } from '../core/validation';

/** Feature Store value types: whole numbers, floating point, strings. */
export const FEATURE_TYPES = ['Integral', 'Fractional', 'String'] as const;
export type FeatureType = (typeof FEATURE_TYPES)[number];

/** Column names the offline store adds to every record; features may not use them. */
export const RESERVED_FEATURE_NAMES = ['is_deleted', 'write_time', 'api_invocation_time'] as const;

/** A feature name: 1-64 letters, digits, `_` and `-`, starting and ending with a letter or digit. */
export const FEATURE_NAME = /^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$/;
/** A feature group name: 1-64 letters, digits, `_` and `-`, starting and ending with a letter or digit. */
export const FEATURE_GROUP_NAME = /^[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}$/;

/** One feature of a group. */
export interface FeatureDefinition {
  /** Feature (column) name; unique in the group regardless of case (the Glue table's columns are case-insensitive). */
  readonly name: string;
  /** `Integral`, `Fractional` or `String`. */
  readonly type: FeatureType;
}

/** Longest `featureGroupName` with {@link FeatureGroupProps.versionedName}: 64 less the `-v<8 hex>` version. */
export const VERSIONED_FEATURE_GROUP_BASE_LENGTH = 54;

/**
 * `<base>-v<8 hex>`: the name of a feature group whose create-only properties have this fingerprint (a JSON-able value
 * holding every create-only property but the name). A change of any of them gives a new name, so CloudFormation creates
 * the new group beside the old one instead of failing to replace a group under the same name.
 */
export function versionedFeatureGroupName(base: string, createOnly: unknown): string {
  return `${base}-v${crypto.createHash('sha256').update(JSON.stringify(createOnly)).digest('hex').slice(0, 8)}`;
}

export interface FeatureGroupProps {
  /** Feature group name (see {@link FEATURE_GROUP_NAME}); the base of the name with `versionedName`. */
  readonly featureGroupName: string;
  /**
   * Name the group `<featureGroupName>-v<hash>`, the hash of its create-only properties (`Description`,
   * `RecordIdentifierFeatureName`, `EventTimeFeatureName`, the online store's switch and key, `OfflineStoreConfig`,
   * `RoleArn`, `Tags`) and `revision`. CloudFormation replaces a feature group when one of them changes, and the
   * replacement of a group under a fixed name fails ("already exists"); with a versioned name the new group is created
   * beside the old one (which `removalPolicy` RETAIN keeps), and the grants, the Glue table (named after the group)
   * and `featureGroupName` follow. Changes CloudFormation applies in place (appended features, online TTL, throughput)
   * keep the name. `featureGroupName` is then at most {@link VERSIONED_FEATURE_GROUP_BASE_LENGTH} characters.
   * @default false (the name is `featureGroupName` as given; a create-only change fails at deploy)
   */
  readonly versionedName?: boolean;
  /**
   * Part of the versioned name's hash: increase it for a change CloudFormation cannot make in place and the hash does
   * not see, i.e. changing a feature's type or removing a feature (`FeatureDefinitions` can only grow). Only with
   * `versionedName`. @default 0
   */
  readonly revision?: number;
  /** What the group holds. @default - none */
  readonly description?: string;
  /** The feature identifying a record (type Integral or String). */
  readonly recordIdentifierFeatureName: string;
  /** The feature with the record's event time (type String in ISO-8601, or Fractional Unix seconds). */
  readonly eventTimeFeatureName: string;
  /** Every feature, including the record identifier and event time (1-2500). */
  readonly features: FeatureDefinition[];
  /** Keep the latest record per identifier in the online store for low-latency reads. @default true */
  readonly onlineStore?: boolean;
  /** Days records live in the online store (1-3650). @default - forever */
  readonly onlineTtlDays?: number;
  /** Key of the online store. @default - a new customer-managed key with rotation */
  readonly onlineStoreKey?: kms.IKey;
  /** Bucket of the offline store (e.g. the data lake's processed bucket). */
  readonly offlineStoreBucket: s3.IBucket;
  /** Key prefix of the offline store; must end with `/`. @default 'feature-store/' */
  readonly offlineStorePrefix?: string;
  /** Key of the offline store objects. @default - the bucket's encryption key (it must have one) */
  readonly offlineStoreKey?: kms.IKey;
  /** Glue database of the offline store's table (must exist). @default - a new database for this group */
  readonly glueDatabaseName?: string;
  /** Offline store table format. @default 'Glue' */
  readonly tableFormat?: 'Glue' | 'Iceberg';
  /**
   * What happens to the group (on stack deletion, and to a replaced version with `versionedName`) and to the online
   * store key the construct creates. @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Tags of the group, set once at creation. `Tags`, like `Description`, `OfflineStoreConfig` and `RoleArn`, is
   * create-only on `AWS::SageMaker::FeatureGroup`: a change replaces the group, and a replacement of a named group
   * fails. So the group carries exactly these tags and none inherited from `Tags.of(scope)` (a platform tag change
   * would otherwise break the stack); tag an existing group later with `aws sagemaker add-tags`, which needs no
   * replacement.
   * @default - no tags
   */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * A SageMaker Feature Store feature group: an online store (latest record per id, KMS CMK) and an offline
 * store appended to S3 under a prefix of the data lake (SSE-KMS) with a Glue catalog table for Athena/Spark.
 *
 * Feature definitions are checked at synth time: names, types, duplicates (case-insensitive), reserved
 * names, and that the record identifier and event time are defined with allowed types.
 */
export class FeatureGroup extends Construct {
  public readonly featureGroup: sagemaker.CfnFeatureGroup;
  public readonly featureGroupName: string;
  public readonly featureGroupArn: string;
  /** Role Feature Store uses to write the offline store. */
  public readonly role: iam.Role;
  public readonly onlineStoreKey?: kms.IKey;
  public readonly offlineStoreKey: kms.IKey;
  public readonly offlineStoreBucket: s3.IBucket;
  public readonly offlineStorePrefix: string;
  public readonly glueDatabaseName: string;
  /** Glue table of the offline store (lowercase group name with `-` as `_`). */
  public readonly glueTableName: string;

  constructor(scope: Construct, id: string, props: FeatureGroupProps) {
    super(scope, id);
    const base = props.featureGroupName;
    const versioned = props.versionedName ?? false;
    const online = props.onlineStore ?? true;
    const prefix = props.offlineStorePrefix ?? 'feature-store/';
    const offlineKey = props.offlineStoreKey ?? props.offlineStoreBucket.encryptionKey;

    const v = new PropsValidator(this, 'FeatureGroup');
    validateFeatures(v, props);
    v.check(!versioned || Token.isUnresolved(base) || base.length <= VERSIONED_FEATURE_GROUP_BASE_LENGTH, 'featureGroupName', base,
      `must be at most ${VERSIONED_FEATURE_GROUP_BASE_LENGTH} characters with versionedName (the version adds 10)`)
      .check(!versioned || !Token.isUnresolved(base), 'featureGroupName', base, 'must be known at synth time with versionedName')
      .check(versioned || props.revision === undefined, 'revision', props.revision, 'only applies with versionedName true')
      .intRange('revision', props.revision, 0, 1_000_000, '');
    v.check(/^([A-Za-z0-9!_.*'()-]+\/)+$/.test(prefix), 'offlineStorePrefix', prefix,
      'must be an S3 key prefix such as "feature-store/" (safe characters, ending with "/", no leading "/")')
      .check(offlineKey !== undefined, 'offlineStoreKey', null,
        'the offline store must be encrypted with a customer-managed key: give offlineStoreKey or a bucket with an encryption key')
      .check(online || props.onlineTtlDays === undefined, 'onlineTtlDays', props.onlineTtlDays, 'only applies with onlineStore true')
      .intRange('onlineTtlDays', props.onlineTtlDays, 1, 3650, 'days')
      .check(props.glueDatabaseName === undefined || /^[a-z0-9_]{1,255}$/.test(props.glueDatabaseName), 'glueDatabaseName', props.glueDatabaseName,
        'must be 1-255 lowercase letters, digits and underscores')
      .check(props.description === undefined || props.description.length <= 128, 'description', props.description, 'must be at most 128 characters')
      .throwIfInvalid();

    const stack = Stack.of(this);
    this.offlineStoreBucket = props.offlineStoreBucket;
    this.offlineStorePrefix = prefix;
    this.offlineStoreKey = offlineKey!;
    // The database, key and role keep the base name: they are not replaced when the group's version changes.
    this.glueDatabaseName = props.glueDatabaseName ?? `${base.toLowerCase().replace(/-/g, '_')}_features`.slice(0, 255);
    if (!props.glueDatabaseName) {
      const db = new glue.CfnDatabase(this, 'Database', {
        catalogId: stack.account,
        databaseInput: { name: this.glueDatabaseName, description: `Offline store of feature group ${base}` },
      });
      db.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    }

    if (online) {
      this.onlineStoreKey = props.onlineStoreKey ?? platformKey(this, 'OnlineStoreKey', {
        description: `Feature Store online store of ${base}`,
        removalPolicy: props.removalPolicy,
      });
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `Feature Store offline store writer of ${base}`,
    });

    const tags = Object.entries(props.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    const name = versioned ? versionedFeatureGroupName(base, this.createOnlyFingerprint(props, online, tags)) : base;
    this.featureGroupName = name;
    // Feature group ARNs carry the name in lowercase.
    this.featureGroupArn = stack.formatArn({ service: 'sagemaker', resource: 'feature-group', resourceName: Token.isUnresolved(name) ? name : name.toLowerCase() });
    this.glueTableName = name.toLowerCase().replace(/-/g, '_');

    const objects = props.offlineStoreBucket.arnForObjects(`${prefix}*`);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteOfflineStore',
      actions: ['s3:PutObject', 's3:PutObjectAcl', 's3:GetObject'],
      resources: [objects],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'CheckOfflineStoreBucket',
      actions: ['s3:GetBucketAcl', 's3:GetBucketLocation'],
      resources: [props.offlineStoreBucket.bucketArn],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'OfflineStoreTable',
      actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'],
      resources: this.glueArns(),
    }));
    this.offlineStoreKey.grant(this.role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
    acknowledgeResourceWildcards(this.role, [objects], OFFLINE_WILDCARD_REASON);

    this.featureGroup = new sagemaker.CfnFeatureGroup(this, 'Resource', {
      featureGroupName: name,
      description: props.description,
      recordIdentifierFeatureName: props.recordIdentifierFeatureName,
      eventTimeFeatureName: props.eventTimeFeatureName,
      featureDefinitions: props.features.map((f) => ({ featureName: f.name, featureType: f.type })),
      roleArn: this.role.roleArn,
      // Both store configs are untyped JSON in the CloudFormation schema: CloudFormation's own (PascalCase) keys.
      onlineStoreConfig: online ? {
        EnableOnlineStore: true,
        SecurityConfig: { KmsKeyId: this.onlineStoreKey!.keyArn },
        ...(props.onlineTtlDays ? { TtlDuration: { Unit: 'Days', Value: props.onlineTtlDays } } : {}),
      } : undefined,
      offlineStoreConfig: {
        S3StorageConfig: { S3Uri: `s3://${props.offlineStoreBucket.bucketName}/${prefix}`, KmsKeyId: this.offlineStoreKey.keyArn },
        DisableGlueTableCreation: false,
        DataCatalogConfig: { Catalog: 'AwsDataCatalog', Database: this.glueDatabaseName, TableName: this.glueTableName },
        TableFormat: props.tableFormat ?? 'Glue',
      },
      throughputConfig: { throughputMode: 'OnDemand' },
    });
    // Create-only Tags: render exactly props.tags, so inherited tags (Tags.of(stage)) never force a replacement.
    if (tags.length > 0) this.featureGroup.addPropertyOverride('Tags', tags);
    else this.featureGroup.addPropertyDeletionOverride('Tags');
    // With a versioned name a replaced version is kept (RETAIN) or deleted (DESTROY) after the new one exists.
    this.featureGroup.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    // Feature Store writes a test object with the role when the group is created: its policy must exist first.
    this.featureGroup.node.addDependency(this.role);
    const db = this.node.tryFindChild('Database');
    if (db) this.featureGroup.node.addDependency(db);
  }

  /** Lets a principal ingest records (PutRecord) and read the group's definition; with an online store, use its key. */
  public grantIngest(grantee: iam.IGrantable): iam.Grant {
    this.onlineStoreKey?.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    return iam.Grant.addToPrincipal({
      grantee, actions: ['sagemaker:PutRecord', 'sagemaker:DescribeFeatureGroup'], resourceArns: [this.featureGroupArn],
    });
  }

  /** Lets a principal read the latest records from the online store (inference). */
  public grantReadOnline(grantee: iam.IGrantable): iam.Grant {
    this.onlineStoreKey?.grant(grantee, 'kms:Decrypt');
    return iam.Grant.addToPrincipal({
      grantee, actions: ['sagemaker:GetRecord', 'sagemaker:BatchGetRecord', 'sagemaker:DescribeFeatureGroup'], resourceArns: [this.featureGroupArn],
    });
  }

  /** Lets a principal read the offline store (training sets): its S3 objects, the Glue table and the key. */
  public grantReadOffline(grantee: iam.IGrantable): iam.Grant {
    const objects = this.offlineStoreBucket.arnForObjects(`${this.offlineStorePrefix}*`);
    iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject', 's3:GetObjectVersion'], resourceArns: [objects] });
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [this.offlineStoreBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [this.offlineStorePrefix, `${this.offlineStorePrefix}*`] } },
    }));
    this.offlineStoreKey.grant(grantee, 'kms:Decrypt');
    acknowledgeResourceWildcards(grantee.grantPrincipal, [objects], OFFLINE_WILDCARD_REASON);
    return iam.Grant.addToPrincipal({
      grantee, actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions', 'sagemaker:DescribeFeatureGroup'],
      resourceArns: [...this.glueArns(), this.featureGroupArn],
    });
  }

  /**
   * Every create-only property of `AWS::SageMaker::FeatureGroup` but the name, as rendered (references as their
   * intrinsics: stable across synths, different when they point at another resource), and `revision`. Updatable ones
   * (FeatureDefinitions, which only grow; the online TTL; throughput) are left out, so they keep the name.
   */
  private createOnlyFingerprint(props: FeatureGroupProps, online: boolean, tags: Array<{ Key: string; Value: string }>): unknown {
    const stack = Stack.of(this);
    const ref = (value: string | undefined) => (value !== undefined && Token.isUnresolved(value) ? stack.resolve(value) : value);
    return {
      description: props.description ?? null,
      recordIdentifier: props.recordIdentifierFeatureName,
      eventTime: props.eventTimeFeatureName,
      online: online ? { key: ref(this.onlineStoreKey!.keyArn) } : false,
      offline: {
        bucket: ref(this.offlineStoreBucket.bucketName), prefix: this.offlineStorePrefix, key: ref(this.offlineStoreKey.keyArn),
        database: this.glueDatabaseName, tableFormat: props.tableFormat ?? 'Glue',
      },
      role: ref(this.role.roleArn),
      tags: [...tags].sort((a, b) => a.Key.localeCompare(b.Key)),
      revision: props.revision ?? 0,
    };
  }

  private glueArns(): string[] {
    const stack = Stack.of(this);
    return [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.glueDatabaseName }),
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${this.glueDatabaseName}/${this.glueTableName}` }),
    ];
  }
}

const OFFLINE_WILDCARD_REASON =
  'Feature Store writes offline-store objects under <prefix>/<account>/sagemaker/<region>/offline-store/<group>-<time>/: '
  + 'object ARNs need a key wildcard, limited to the feature store prefix of one bucket, with explicit actions.';

/**
 * Checks feature definitions: names and types, duplicates (case-insensitive), reserved names, and the
 * record identifier and event time features. Shared with the config schema so both report the same rules.
 */
export function featureDefinitionProblems(props: {
  featureGroupName: string; recordIdentifierFeatureName: string; eventTimeFeatureName: string; features: readonly FeatureDefinition[];
}): { prop: string; value: unknown; allowed: string }[] {
  const problems: { prop: string; value: unknown; allowed: string }[] = [];
  const add = (prop: string, value: unknown, allowed: string) => problems.push({ prop, value, allowed });
  if (!Token.isUnresolved(props.featureGroupName) && !FEATURE_GROUP_NAME.test(props.featureGroupName)) {
    add('featureGroupName', props.featureGroupName, 'must be 1-64 letters, digits, "_" and "-", starting and ending with a letter or digit');
  }
  if (props.features.length < 1 || props.features.length > 2500) add('features', props.features.length, 'must list between 1 and 2500 features');
  const seen = new Map<string, number>();
  props.features.forEach((f, i) => {
    if (!FEATURE_NAME.test(f.name)) {
      add(`features[${i}].name`, f.name, 'must be 1-64 letters, digits, "_" and "-", starting and ending with a letter or digit');
    } else if ((RESERVED_FEATURE_NAMES as readonly string[]).includes(f.name.toLowerCase())) {
      add(`features[${i}].name`, f.name, `is reserved by the offline store (${RESERVED_FEATURE_NAMES.join(', ')})`);
    }
    if (!(FEATURE_TYPES as readonly string[]).includes(f.type)) add(`features[${i}].type`, f.type, `must be one of ${FEATURE_TYPES.join(', ')}`);
    const key = f.name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) add(`features[${i}].name`, f.name, `duplicates features[${first}] ("${props.features[first].name}"); names must be unique regardless of case`);
    else seen.set(key, i);
  });
  const byName = (n: string) => props.features.find((f) => f.name === n);
  const id = byName(props.recordIdentifierFeatureName);
  if (!id) {
    add('recordIdentifierFeatureName', props.recordIdentifierFeatureName, 'must name one of the features');
  } else if (id.type !== 'Integral' && id.type !== 'String') {
    add('recordIdentifierFeatureName', props.recordIdentifierFeatureName, `must be a feature of type Integral or String (it is ${id.type})`);
  }
  const time = byName(props.eventTimeFeatureName);
  if (!time) {
    add('eventTimeFeatureName', props.eventTimeFeatureName, 'must name one of the features');
  } else if (time.type !== 'String' && time.type !== 'Fractional') {
    add('eventTimeFeatureName', props.eventTimeFeatureName, `must be a feature of type String (ISO-8601) or Fractional (Unix seconds) (it is ${time.type})`);
  }
  if (id && time && id.name === time.name) add('eventTimeFeatureName', props.eventTimeFeatureName, 'must differ from recordIdentifierFeatureName');
  return problems;
}

function validateFeatures(v: PropsValidator, props: FeatureGroupProps): void {
  for (const p of featureDefinitionProblems(props)) v.check(false, p.prop, p.value, p.allowed);
}
