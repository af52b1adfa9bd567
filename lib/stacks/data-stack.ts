import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import { type Construct } from 'constructs';
import { ImageRegistry } from '../../constructs/registry';
import { DataLake } from '../../constructs/storage';
import { imageRepositoryPrefix } from '../naming';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

/** The stage's data lake, model artifact store and image registry. */
export class DataStack extends PlatformStack {
  public readonly dataLake: DataLake;
  public readonly registry: ImageRegistry;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { data, registry, prefix, stage } = props.config;
    const removalPolicy = data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.dataLake = new DataLake(this, 'DataLake', {
      versioned: data.versioned,
      noncurrentVersionExpirationDays: data.noncurrentVersionExpirationDays,
      intelligentTieringAfterDays: data.intelligentTieringAfterDays,
      accessLogRetentionDays: data.accessLogRetentionDays,
      removalPolicy,
      autoDeleteObjects: data.autoDeleteObjects,
    });
    this.registry = new ImageRegistry(this, 'Registry', {
      repositories: registry.repositories,
      // `<prefix>-<stage>/<name>` (lib/naming.ts): other accounts' endpoints name the model image's repository.
      repositoryNamePrefix: imageRepositoryPrefix(prefix, stage),
      maxTaggedImages: registry.maxTaggedImages,
      untaggedExpiryDays: registry.untaggedExpiryDays,
      pullAccounts: registry.pullAccounts,
      removalPolicy,
    });

    // Outputs are how the operations CLI and users find the stage's resources (`dvc remote add`, docker push).
    new CfnOutput(this, 'RawBucketName', { value: this.dataLake.rawBucket.bucketName });
    new CfnOutput(this, 'ProcessedBucketName', { value: this.dataLake.processedBucket.bucketName });
    new CfnOutput(this, 'ArtifactsBucketName', { value: this.dataLake.artifactsBucket.bucketName });
    for (const [name, repo] of Object.entries(this.registry.repositories)) {
      new CfnOutput(this, `${name.replace(/[^A-Za-z0-9]/g, '')}RepositoryUri`, { value: repo.repositoryUri });
    }
  }
}
