import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeControls, acknowledgeResourceWildcards } from '../core/nag';
import { PropsValidator } from '../core/validation';

/** Athena calls a client makes to run a query in the workgroup and read its results. */
const ATHENA_QUERY_ACTIONS = [
  'athena:GetWorkGroup',
  'athena:StartQueryExecution',
  'athena:GetQueryExecution',
  'athena:GetQueryResults',
  'athena:StopQueryExecution',
] as const;
/** What Athena does with the caller's credentials on the results location. */
const RESULTS_OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'] as const;

export interface OfflineStoreWorkgroupProps {
  /** Workgroup name (1-128 letters, digits, `.`, `_`, `-`). */
  readonly workGroupName: string;
  /** Bucket of the query results (e.g. the data lake's processed bucket). */
  readonly resultsBucket: s3.IBucket;
  /** Key prefix of the results; must end with `/`. @default 'athena-results/' */
  readonly resultsPrefix?: string;
  /** Key results are encrypted with (SSE-KMS). @default - the results bucket's key (it must have one) */
  readonly resultsKey?: kms.IKey;
  /** Largest scan a query may make, in bytes (at least 10 MB). @default - no limit */
  readonly bytesScannedCutoffPerQuery?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const NAME = /^[a-zA-Z0-9._-]{1,128}$/;
const PREFIX = /^([A-Za-z0-9!_.*'()-]+\/)+$/;

/**
 * An Athena workgroup for reading Feature Store offline stores (the Glue tables of `FeatureGroup`s): engine version
 * 3, results under a prefix of a bucket encrypted with SSE-KMS, and the workgroup's settings enforced so a client
 * cannot send results elsewhere or unencrypted. {@link grantQuery} gives the Athena and results access; pair it
 * with `FeatureGroup.grantReadOffline` for the table itself.
 */
export class OfflineStoreWorkgroup extends Construct {
  public readonly workGroup: athena.CfnWorkGroup;
  public readonly workGroupName: string;
  public readonly workGroupArn: string;
  public readonly resultsBucket: s3.IBucket;
  public readonly resultsPrefix: string;
  public readonly resultsKey: kms.IKey;
  /** `s3://<bucket>/<prefix>`: where query results land. */
  public readonly resultsLocation: string;

  constructor(scope: Construct, id: string, props: OfflineStoreWorkgroupProps) {
    super(scope, id);
    const prefix = props.resultsPrefix ?? 'athena-results/';
    const key = props.resultsKey ?? props.resultsBucket.encryptionKey;
    new PropsValidator(this, 'OfflineStoreWorkgroup')
      .check(Token.isUnresolved(props.workGroupName) || NAME.test(props.workGroupName), 'workGroupName', props.workGroupName,
        'must be 1-128 letters, digits, ".", "_" and "-"')
      .check(PREFIX.test(prefix), 'resultsPrefix', prefix, 'must be an S3 key prefix such as "athena-results/" (safe characters, ending with "/", no leading "/")')
      .check(key !== undefined, 'resultsKey', null, 'query results must be encrypted with a customer-managed key: give resultsKey or a bucket with an encryption key')
      .check(props.bytesScannedCutoffPerQuery === undefined || props.bytesScannedCutoffPerQuery >= 10_000_000, 'bytesScannedCutoffPerQuery',
        props.bytesScannedCutoffPerQuery, 'must be at least 10000000 (10 MB), Athena\'s minimum')
      .throwIfInvalid();

    this.workGroupName = props.workGroupName;
    this.resultsBucket = props.resultsBucket;
    this.resultsPrefix = prefix;
    this.resultsKey = key!;
    this.resultsLocation = `s3://${props.resultsBucket.bucketName}/${prefix}`;
    this.workGroup = new athena.CfnWorkGroup(this, 'Resource', {
      name: props.workGroupName,
      description: 'Queries on Feature Store offline stores; results SSE-KMS encrypted',
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        resultConfiguration: {
          outputLocation: this.resultsLocation,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: this.resultsKey.keyArn },
        },
      },
    });
    this.workGroup.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    if (Token.isUnresolved(this.resultsKey.keyArn) && Stack.of(this.resultsKey) !== Stack.of(this)) {
      acknowledgeControls(this.workGroup, ['CT.ATHENA.PR.2 athena_workgroup_results_encrypted_at_rest_kms_check'],
        'Results are SSE-KMS encrypted with a customer-managed key and enforced; the key lives in another stack (a cross-stack reference), which the static rule does not accept as a key reference.');
    }
    this.workGroupArn = Stack.of(this).formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workGroupName });
  }

  /**
   * Lets a principal run queries in this workgroup and read their results: the Athena query actions on this workgroup,
   * read/write of the results prefix and the results key. Reading a table also needs its Glue and S3 grants
   * (`FeatureGroup.grantReadOffline`).
   */
  public grantQuery(grantee: iam.IGrantable): iam.Grant {
    const objects = this.resultsBucket.arnForObjects(`${this.resultsPrefix}*`);
    iam.Grant.addToPrincipal({ grantee, actions: [...RESULTS_OBJECT_ACTIONS], resourceArns: [objects] });
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resources: [this.resultsBucket.bucketArn],
    }));
    this.resultsKey.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    acknowledgeResourceWildcards(grantee.grantPrincipal, [objects],
      'Athena writes one result object per query under the workgroup\'s results prefix: object ARNs need a key wildcard, limited to that prefix of one bucket, with explicit actions.');
    return iam.Grant.addToPrincipal({ grantee, actions: [...ATHENA_QUERY_ACTIONS], resourceArns: [this.workGroupArn] });
  }
}
