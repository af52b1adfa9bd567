import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeResourceWildcards } from '../core/nag';
import { PropsValidator } from '../core/validation';

export interface DockerHubCacheProps {
  /**
   * Secrets Manager secret with Docker Hub credentials (`{"username": ..., "accessToken": ...}`); ECR requires its
   * name to start with `ecr-pullthroughcache/`. Docker Hub pull-through caching needs it.
   */
  readonly credentialArn: string;
  /** Repository prefix of the cached images. @default 'docker-hub' */
  readonly prefix?: string;
  /** Untagged or old cached images kept per repository. @default 20 */
  readonly keepImages?: number;
}

/**
 * An ECR pull-through cache for Docker Hub: GPU Ray images are several GB and would otherwise come through the NAT
 * gateway from Docker Hub (rate-limited) on every scale-from-zero. Nodes pull `<account>.dkr.ecr.<region>…/<prefix>/
 * rayproject/ray:<tag>` instead; the first pull creates the repository from a creation template (scan on push, a
 * lifecycle policy) and later pulls stay in the region. {@link grantPull} lets node roles trigger that first import.
 */
export class DockerHubCache extends Construct {
  public readonly rule: ecr.CfnPullThroughCacheRule;
  public readonly template: ecr.CfnRepositoryCreationTemplate;
  public readonly prefix: string;

  constructor(scope: Construct, id: string, props: DockerHubCacheProps) {
    super(scope, id);
    this.prefix = props.prefix ?? 'docker-hub';
    const keep = props.keepImages ?? 20;
    new PropsValidator(this, 'DockerHubCache')
      .check(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ecr-pullthroughcache\/[\w/+=.@-]+$/.test(props.credentialArn), 'credentialArn', props.credentialArn,
        'must be a Secrets Manager secret ARN whose name starts with ecr-pullthroughcache/ (ECR requires it)')
      .check(/^[a-z0-9][a-z0-9._/-]{1,29}$/.test(this.prefix), 'prefix', this.prefix, 'must be 2-30 lowercase letters, digits, ".", "_", "-" or "/"')
      .intRange('keepImages', keep, 1, 1000, 'images')
      .throwIfInvalid();
    this.rule = new ecr.CfnPullThroughCacheRule(this, 'Rule', {
      ecrRepositoryPrefix: this.prefix,
      upstreamRegistry: 'docker-hub',
      upstreamRegistryUrl: 'registry-1.docker.io',
      credentialArn: props.credentialArn,
    });
    this.template = new ecr.CfnRepositoryCreationTemplate(this, 'Template', {
      prefix: this.prefix,
      appliedFor: ['PULL_THROUGH_CACHE'],
      description: 'Docker Hub images cached for EKS nodes (Ray, CUDA)',
      // Cached upstream tags move when the upstream re-publishes them; the cache must follow.
      imageTagMutability: 'MUTABLE',
      lifecyclePolicy: JSON.stringify({
        rules: [{ rulePriority: 1, description: `Keep the ${keep} newest images`, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: keep }, action: { type: 'expire' } }],
      }),
    });
    this.rule.node.addDependency(this.template);
  }

  /** The cached form of a Docker Hub image, e.g. `rayproject/ray:2.57.0-py311` → `<registry>/docker-hub/rayproject/ray:2.57.0-py311`. */
  public imageUri(dockerHubImage: string): string {
    const stack = Stack.of(this);
    // Official images live under library/ on Docker Hub.
    const path = dockerHubImage.includes('/') ? dockerHubImage : `library/${dockerHubImage}`;
    return `${stack.account}.dkr.ecr.${stack.region}.${stack.urlSuffix}/${this.prefix}/${path}`;
  }

  /** Lets nodes pull through the cache: the first pull of an image imports it and creates its repository. */
  public grantPull(grantee: iam.IGrantable): iam.Grant {
    const repos = Stack.of(this).formatArn({ service: 'ecr', resource: 'repository', resourceName: `${this.prefix}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['ecr:BatchImportUpstreamImage', 'ecr:CreateRepository', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
      resourceArns: [repos],
    });
    acknowledgeResourceWildcards(grantee.grantPrincipal, [repos], 'Pull-through cache repositories are created per upstream image on first pull; limited to the cache\'s prefix.');
    return grant;
  }
}
