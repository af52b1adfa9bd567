import { type IConstruct, Dependable, type IDependable } from 'constructs';

/**
 * What one construct in a cluster provides to others (the KubeRay CRDs, a namespace) and what others need of it,
 * so the order of resources in a cluster follows what they need, not the order they were written in (the way
 * cdk-eks-blueprints orders add-ons by their declared dependencies). A provider registers itself with
 * {@link provide}; a consumer depends on {@link need}, a dependable that resolves, when CloudFormation dependencies
 * are rendered, to every provider of that capability in the cluster, including providers created after it.
 */
export class ClusterCapabilities {
  /** The `ray.io/v1` CRDs (RayCluster, RayJob, RayService, RayCronJob) the KubeRay operator installs. */
  public static readonly KUBERAY_CRDS = 'crds/ray.io';

  /** A Kubernetes namespace. */
  public static namespace(name: string): string {
    return `namespace/${name}`;
  }

  /** The capabilities of one cluster (the cluster construct, owned or imported). */
  public static of(cluster: IConstruct): ClusterCapabilities {
    let caps = REGISTRY.get(cluster);
    if (!caps) {
      caps = new ClusterCapabilities();
      REGISTRY.set(cluster, caps);
    }
    return caps;
  }

  private readonly providers = new Map<string, IDependable[]>();

  private constructor() {}

  /** Registers `provider` as providing `capability`: everything that needs it is ordered after it. */
  public provide(capability: string, provider: IDependable): void {
    this.providers.set(capability, [...(this.providers.get(capability) ?? []), provider]);
  }

  /** Whether something in this app provides `capability` (so far). */
  public isProvided(capability: string): boolean {
    return (this.providers.get(capability) ?? []).length > 0;
  }

  /** A dependable on every provider of `capability`, now or registered later (none: nothing to wait for). */
  public need(capability: string): IDependable {
    const providers = this.providers;
    const dependable: IDependable = {};
    Dependable.implement(dependable, {
      get dependencyRoots() {
        return (providers.get(capability) ?? []).flatMap((p) => Dependable.of(p).dependencyRoots);
      },
    });
    return dependable;
  }
}

const REGISTRY = new WeakMap<IConstruct, ClusterCapabilities>();
