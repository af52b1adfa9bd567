import { Arn, Stack, Token } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { type Construct } from 'constructs';
import { lambdaPath } from '../core/paths';
import { type Architecture } from './hosting-instance-types';

/** What a bound {@link ModelImage} gives the model: the image to run. */
export interface ModelImageConfig {
  /** The ECR image URI (with tag or digest). */
  readonly imageUri: string;
}

/** Why an image reference is invalid. */
export interface ModelImageProblem {
  readonly value: string;
  readonly allowed: string;
}

/** An ECR image URI: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]`. */
const ECR_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+?)(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/;

/**
 * The container image of a SageMaker model: an ECR repository and tag, a local Docker build directory
 * staged as a CDK asset, or a prebuilt image URI (e.g. an AWS Deep Learning Container). Binding grants the
 * model's execution role exactly the pull rights on that one repository.
 */
export abstract class ModelImage {
  /** An image in an ECR repository, by tag. Give the repository's KMS key if it has one, so the role can decrypt layers. */
  public static fromEcrRepository(repository: ecr.IRepository, tag: string, encryptionKey?: kms.IKey, architecture: Architecture = 'amd64'): ModelImage {
    return new EcrModelImage(repository, tag, encryptionKey, architecture);
  }

  /** An image built from a local directory at deploy time and pushed to the CDK asset repository. */
  public static fromAsset(directory: string, options: ecrAssets.DockerImageAssetOptions = {}): ModelImage {
    return new AssetModelImage(directory, options);
  }

  /**
   * The platform's reference model server (`lambda/model-server`, shipped in the package), built for SageMaker
   * hosting (`Dockerfile.sagemaker`, linux/amd64) at deploy time and pushed to the CDK asset repository.
   */
  public static fromReferenceServer(): ModelImage {
    return new AssetModelImage(lambdaPath('model-server'), { file: 'Dockerfile.sagemaker', platform: ecrAssets.Platform.LINUX_AMD64 });
  }

  /**
   * A prebuilt image by URI, e.g. `763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6-cpu-py312`.
   * SageMaker hosts only ECR images, so the URI must be an ECR URI with a tag or digest.
   */
  public static fromImageUri(imageUri: string, architecture: Architecture = 'amd64'): ModelImage {
    return new UriModelImage(imageUri, architecture);
  }

  /** A short description for validation messages. */
  public abstract readonly description: string;

  /**
   * The CPU architecture the image is built for; endpoints refuse instance types of the other one (an amd64 image
   * on Graviton fails health checks at deploy time). Assets take it from their `platform` (default amd64);
   * repository and URI images from the argument (default amd64).
   */
  public abstract readonly architecture: Architecture;

  /** Returns the image URI and grants `grantee` pull rights. Called once per model that uses the image. */
  public abstract bind(scope: Construct, grantee: iam.IGrantable): ModelImageConfig;

  /** A problem with the image reference (the bad value and what is allowed), checked by the construct that binds it. */
  public validate(): ModelImageProblem | undefined {
    return undefined;
  }
}

class EcrModelImage extends ModelImage {
  public readonly description: string;
  constructor(
    private readonly repository: ecr.IRepository,
    private readonly tag: string,
    private readonly encryptionKey: kms.IKey | undefined,
    public readonly architecture: Architecture,
  ) {
    super();
    this.description = `ECR repository image with tag ${JSON.stringify(tag)}`;
  }

  public override validate(): ModelImageProblem | undefined {
    return Token.isUnresolved(this.tag) || /^[\w][\w.-]{0,127}$/.test(this.tag)
      ? undefined
      : { value: `tag ${this.tag}`, allowed: 'an image tag is 1-128 letters, digits, "_", "." or "-", starting with a letter, digit or "_"' };
  }

  public bind(_scope: Construct, grantee: iam.IGrantable): ModelImageConfig {
    this.repository.grantPull(grantee);
    this.encryptionKey?.grantDecrypt(grantee);
    return { imageUri: this.repository.repositoryUriForTag(this.tag) };
  }
}

class AssetModelImage extends ModelImage {
  public readonly description: string;
  public readonly architecture: Architecture;
  // One asset per binding scope, even when several variants use the same image.
  private readonly assets = new WeakMap<Construct, ecrAssets.DockerImageAsset>();
  constructor(
    private readonly directory: string,
    private readonly options: ecrAssets.DockerImageAssetOptions,
  ) {
    super();
    this.description = `Docker build of ${directory}`;
    this.architecture = options.platform?.platform === ecrAssets.Platform.LINUX_ARM64.platform ? 'arm64' : 'amd64';
  }

  public bind(scope: Construct, grantee: iam.IGrantable): ModelImageConfig {
    let asset = this.assets.get(scope);
    if (!asset) {
      asset = new ecrAssets.DockerImageAsset(scope, 'ModelImage', { directory: this.directory, ...this.options });
      this.assets.set(scope, asset);
    }
    asset.repository.grantPull(grantee);
    return { imageUri: asset.imageUri };
  }
}

class UriModelImage extends ModelImage {
  public readonly description: string;
  constructor(private readonly imageUri: string, public readonly architecture: Architecture) {
    super();
    this.description = `image ${imageUri}`;
  }

  public override validate(): ModelImageProblem | undefined {
    return Token.isUnresolved(this.imageUri) || ECR_URI.test(this.imageUri)
      ? undefined
      : { value: this.imageUri, allowed: 'must be an ECR image URI with a tag or digest (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)' };
  }

  public bind(scope: Construct, grantee: iam.IGrantable): ModelImageConfig {
    const m = ECR_URI.exec(this.imageUri);
    if (m) {
      const [, account, region, repositoryName] = m;
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resourceArns: [Arn.format({ service: 'ecr', account, region, resource: 'repository', resourceName: repositoryName }, Stack.of(scope))],
      });
      // GetAuthorizationToken has no resource-level permissions: it is account-wide by design.
      iam.Grant.addToPrincipal({ grantee, actions: ['ecr:GetAuthorizationToken'], resourceArns: ['*'] });
    }
    return { imageUri: this.imageUri };
  }
}
