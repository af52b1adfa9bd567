import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { platformKey } from '../core/defaults';
import { acknowledge } from '../core/nag';
import { PropsValidationError, PropsValidator } from '../core/validation';

export interface ImageRegistryProps {
  /** Logical names of the repositories, e.g. `training`, `inference`. @default ['training', 'inference'] */
  readonly repositories?: string[];
  /**
   * Prefix of the repository names: a repository is named `<prefix>/<name>`.
   * @default - CloudFormation generates the names
   */
  readonly repositoryNamePrefix?: string;
  /** Tagged images kept per repository; older ones expire. @default 50 */
  readonly maxTaggedImages?: number;
  /** Days after which untagged images expire. @default 7 */
  readonly untaggedExpiryDays?: number;
  /** Accounts (e.g. other stages) allowed to pull. @default - none */
  readonly pullAccounts?: string[];
  /** Key for the repositories. @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** ECR repositories by logical name: created by {@link ImageRegistry} or imported with {@link ImageRegistry.fromImageRegistryAttributes}. */
export interface IImageRegistry extends IConstruct {
  /** Repositories by logical name. */
  readonly repositories: Readonly<Record<string, ecr.IRepository>>;
  /** A repository by logical name; throws naming the known ones if it does not exist. */
  repository(name: string): ecr.IRepository;
  /** Pull from one repository, or all when no name is given. */
  grantPull(grantee: iam.IGrantable, name?: string): iam.Grant;
  /** Push to and pull from one repository, or all when no name is given. */
  grantPush(grantee: iam.IGrantable, name?: string): iam.Grant;
}

/** Existing repositories (e.g. another stack's or account's), by logical name. */
export interface ImageRegistryAttributes {
  /** Repository ARNs by logical name, e.g. `{ training: 'arn:aws:ecr:…:repository/ml/training' }`. */
  readonly repositoryArns: Readonly<Record<string, string>>;
}

/** What owned and imported registries share: lookup by name and the grants. */
abstract class ImageRegistryBase extends Construct implements IImageRegistry {
  public abstract readonly repositories: Readonly<Record<string, ecr.IRepository>>;

  public repository(name: string): ecr.IRepository {
    const repo = this.repositories[name];
    if (!repo) {
      const known = Object.keys(this.repositories);
      const problem = `repository: "${name}" — not a repository of this registry; known: ${known.join(', ')}`;
      throw new PropsValidationError(`ImageRegistry at "${this.node.path}": ${problem}`, [problem]);
    }
    return repo;
  }

  /**
   * Pull from one repository, or all when no name is given. ECR decrypts KMS-encrypted layers through its own
   * grant on the key, so pullers need no KMS permission.
   */
  public grantPull(grantee: iam.IGrantable, name?: string): iam.Grant {
    return this.grantActions(grantee, name, PULL_ACTIONS);
  }

  public grantPush(grantee: iam.IGrantable, name?: string): iam.Grant {
    return this.grantActions(grantee, name, [...PULL_ACTIONS, ...PUSH_ACTIONS]);
  }

  private grantActions(grantee: iam.IGrantable, name: string | undefined, actions: string[]): iam.Grant {
    const grants = (name ? [this.repository(name)] : Object.values(this.repositories)).map((repo) => repo.grant(grantee, ...actions));
    const token = grantAuthorizationToken(grantee);
    return grants.reduce((all, g) => all.combine(g), token);
  }
}

/**
 * ECR repositories for training and inference images: scan on push, immutable tags, KMS encryption,
 * lifecycle rules (keep the last N tagged images, expire untagged ones), optional cross-account pull.
 */
export class ImageRegistry extends ImageRegistryBase {
  /** Uses existing repositories, in this or another stack or account (no resources are created). */
  public static fromImageRegistryAttributes(scope: Construct, id: string, attrs: ImageRegistryAttributes): IImageRegistry {
    class Imported extends ImageRegistryBase {
      public readonly repositories: Readonly<Record<string, ecr.IRepository>> = Object.fromEntries(
        Object.entries(attrs.repositoryArns).map(([name, arn]) => [name, ecr.Repository.fromRepositoryArn(this, name, arn)]),
      );
    }
    return new Imported(scope, id);
  }

  public readonly encryptionKey: kms.IKey;
  /** Repositories by logical name. */
  public readonly repositories: Readonly<Record<string, ecr.IRepository>>;

  constructor(scope: Construct, id: string, props: ImageRegistryProps = {}) {
    super(scope, id);
    const names = props.repositories ?? ['training', 'inference'];
    const maxTagged = props.maxTaggedImages ?? 50;
    const untaggedDays = props.untaggedExpiryDays ?? 7;
    const pullAccounts = props.pullAccounts ?? [];

    const v = new PropsValidator(this, 'ImageRegistry')
      .check(names.length > 0, 'repositories', names, 'must name at least one repository')
      .check(new Set(names).size === names.length, 'repositories', names, 'must not repeat a name')
      .intRange('maxTaggedImages', maxTagged, 1, 10000, 'images')
      .intRange('untaggedExpiryDays', untaggedDays, 1, 3650, 'days');
    for (const name of names) v.check(NAME.test(name) && name.length <= 64, 'repositories', name, 'each name must be lowercase letters and digits separated by ".", "_" or "-"');
    if (props.repositoryNamePrefix !== undefined) {
      v.check(/^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/.test(props.repositoryNamePrefix), 'repositoryNamePrefix', props.repositoryNamePrefix, 'must be lowercase letters, digits and "._-/" separators');
    }
    for (const account of pullAccounts) v.check(/^\d{12}$/.test(account), 'pullAccounts', account, 'each must be a 12-digit account id');
    v.throwIfInvalid();

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = props.encryptionKey ?? platformKey(this, 'Key', { description: 'ECR image repositories', removalPolicy });

    const repositories: Record<string, ecr.Repository> = {};
    for (const name of names) {
      const repo = new ecr.Repository(this, name, {
        repositoryName: props.repositoryNamePrefix ? `${props.repositoryNamePrefix}/${name}` : undefined,
        imageScanOnPush: true,
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        encryption: ecr.RepositoryEncryption.KMS,
        encryptionKey: this.encryptionKey,
        removalPolicy,
        lifecycleRules: [
          { rulePriority: 1, description: `Expire untagged images after ${untaggedDays} days`, tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(untaggedDays) },
          { rulePriority: 2, description: `Keep the last ${maxTagged} tagged images`, tagStatus: ecr.TagStatus.TAGGED, tagPatternList: ['*'], maxImageCount: maxTagged },
        ],
      });
      for (const account of pullAccounts) {
        repo.addToResourcePolicy(new iam.PolicyStatement({
          sid: `CrossAccountPull${account}`,
          principals: [new iam.AccountPrincipal(account)],
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        }));
      }
      repositories[name] = repo;
    }
    this.repositories = repositories;
  }
}

const PULL_ACTIONS = ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'];
const PUSH_ACTIONS = ['ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload'];

/**
 * `ecr:GetAuthorizationToken` has no resource-level permissions, so it needs `Resource: *`. It goes into a policy
 * of its own on the role, so the acknowledgement covers that one statement and nothing else the role is granted.
 */
function grantAuthorizationToken(grantee: iam.IGrantable): iam.Grant {
  const principal = grantee.grantPrincipal;
  const statement = new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] });
  if (!(principal instanceof iam.Role)) {
    return iam.Grant.addToPrincipal({ grantee, actions: ['ecr:GetAuthorizationToken'], resourceArns: ['*'] });
  }
  if (!principal.node.tryFindChild('EcrAuthorizationToken')) {
    const policy = new iam.Policy(principal, 'EcrAuthorizationToken', { roles: [principal], statements: [statement] });
    acknowledge(policy, ['AwsSolutions-IAM5[Resource::*]'], 'ecr:GetAuthorizationToken does not support resource-level permissions; image pulls themselves are granted per repository.');
  }
  return iam.Grant.drop(grantee, 'ecr:GetAuthorizationToken (in the role\'s EcrAuthorizationToken policy)');
}
