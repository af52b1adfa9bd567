import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { type Construct, type IDependable } from 'constructs';
import { ClusterCapabilities } from '../addons/cluster-capabilities';

/** Gang scheduling of a Ray object's pods through a batch scheduler queue. */
export interface GangSchedulingOptions {
  /** The batch scheduler the KubeRay operator runs with. */
  readonly scheduler: 'volcano';
  /** Queue the pods are admitted through. @default - the scheduler's default queue */
  readonly queue?: string;
}

/** An internal Network Load Balancer in front of a Ray Serve service. */
export interface InternalLoadBalancerOptions {
  /** CIDRs allowed to reach it (e.g. the VPC). */
  readonly sourceCidrs: string[];
}

/** Props every Ray object construct shares. */
export interface RayObjectProps {
  /** Cluster the object is applied to (KubeRay must run there). */
  readonly cluster: eks.ICluster;
  /** Object name (Kubernetes name rules, at most 63 characters). */
  readonly name: string;
  /** Namespace (must exist, e.g. created by RayServiceAccount). @default 'default' */
  readonly namespace?: string;
  /**
   * What must exist first: the KubeRay operator release (it installs the CRDs) and the namespace.
   * @default - none
   */
  readonly dependsOn?: IDependable[];
  /**
   * Gang scheduling: the batch scheduler queue the object's pods are admitted through as one group (KubeRay labels
   * `ray.io/scheduler-name` and `volcano.sh/queue-name`); the operator must run with that scheduler
   * (`KubeRayOperator({ batchScheduler: 'volcano' })`).
   * @default - the default Kubernetes scheduler, pod by pod
   */
  readonly gangScheduling?: GangSchedulingOptions;
}

/** Metadata of a Ray object: name, namespace, our managed-by label and the gang scheduling labels. */
export function rayObjectMetadata(props: RayObjectProps): Record<string, unknown> {
  const gang = props.gangScheduling;
  return {
    name: props.name,
    namespace: props.namespace ?? 'default',
    labels: {
      'app.kubernetes.io/managed-by': 'cdk-mlops',
      ...(gang ? { 'ray.io/scheduler-name': gang.scheduler, ...(gang.queue ? { 'volcano.sh/queue-name': gang.queue } : {}) } : {}),
    },
  };
}

/** Applies one manifest through the cluster's kubectl provider, after its dependencies. */
export function applyManifest(scope: Construct, props: RayObjectProps, manifest: Record<string, unknown>): eks.KubernetesManifest {
  const resource = new eks.KubernetesManifest(scope, 'Resource', {
    cluster: props.cluster,
    manifest: [manifest],
    // Server-side checks by kubectl catch fields the CRD does not know.
    skipValidation: false,
  });
  for (const d of props.dependsOn ?? []) resource.node.addDependency(d);
  // Ordered after the KubeRay operator (its CRDs) and the namespace, whichever constructs provide them, created
  // before or after this one.
  const capabilities = ClusterCapabilities.of(props.cluster);
  resource.node.addDependency(capabilities.need(ClusterCapabilities.KUBERAY_CRDS));
  resource.node.addDependency(capabilities.need(ClusterCapabilities.namespace(props.namespace ?? 'default')));
  return resource;
}
