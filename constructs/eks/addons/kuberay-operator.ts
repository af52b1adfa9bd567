import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { ClusterCapabilities } from './cluster-capabilities';
import { HelmAddOn } from './helm-add-on';

export interface KubeRayOperatorProps {
  /** Chart version of `kuberay-operator` (installs the ray.io/v1 CRDs it matches). @default '1.7.0' */
  readonly version?: string;
  /** Namespace of the operator. @default 'kuberay-system' */
  readonly namespace?: string;
  /** Operator CPU request and limit. @default '500m' */
  readonly cpu?: string;
  /** Operator memory request and limit. @default '512Mi' */
  readonly memory?: string;
  /** Node labels the operator pod must match (e.g. the system node group). @default - none */
  readonly nodeSelector?: Record<string, string>;
  /** Turn on the alpha `RayCronJob` feature gate, so RayCronJob objects are reconciled. @default false */
  readonly rayCronJob?: boolean;
  /**
   * Batch scheduler for gang scheduling: KubeRay creates a PodGroup per Ray cluster so its head and minimum workers
   * are admitted together or not at all (install the scheduler too, e.g. `VolcanoScheduler`).
   * @default - none: pods are scheduled one by one
   */
  readonly batchScheduler?: 'volcano';
}

/**
 * KubeRay operator (https://ray-project.github.io/kuberay-helm/) in its own namespace. It installs the
 * RayCluster, RayJob and RayService CRDs and reconciles them cluster-wide.
 */
export class KubeRayOperator extends HelmAddOn {
  private readonly options: KubeRayOperatorProps;

  constructor(props: KubeRayOperatorProps = {}) {
    super({
      name: 'kuberay-operator',
      chart: 'kuberay-operator',
      repository: 'https://ray-project.github.io/kuberay-helm/',
      version: props.version ?? '1.7.0',
      namespace: props.namespace ?? 'kuberay-system',
    });
    this.options = props;
  }

  /** The ray.io/v1 CRDs: Ray objects in the cluster are ordered after the release, wherever they are written. */
  protected override get provides(): string[] {
    return [ClusterCapabilities.KUBERAY_CRDS];
  }

  protected values(_cluster: eks.ICluster): Record<string, unknown> {
    const cpu = this.options.cpu ?? '500m';
    const memory = this.options.memory ?? '512Mi';
    return {
      resources: { requests: { cpu, memory }, limits: { cpu, memory } },
      ...(this.options.nodeSelector ? { nodeSelector: this.options.nodeSelector } : {}),
      // The chart's list replaces its defaults, so the default-on gate is repeated.
      ...(this.options.rayCronJob ? {
        featureGates: [{ name: 'RayClusterStatusConditions', enabled: true }, { name: 'RayCronJob', enabled: true }],
      } : {}),
      ...(this.options.batchScheduler ? { batchScheduler: { name: this.options.batchScheduler } } : {}),
    };
  }
}
