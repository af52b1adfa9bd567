import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { type Construct, type IDependable } from 'constructs';
import { PropsValidationError, type PropsValidator } from '../../core/validation';
import { ClusterCapabilities } from '../addons/cluster-capabilities';
import { checkK8sName } from '../addons/helm-add-on';
import { type ITrainingCluster, TrainingCluster } from '../training-cluster';
import { type RayClusterSpecOptions } from './ray-cluster-spec';
import { type RayServiceAccount } from './ray-service-account';

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
  /**
   * The cluster the object is applied to: a {@link TrainingCluster} or one adopted with
   * `TrainingCluster.fromTrainingClusterAttributes`. The object is ordered after whatever provides the KubeRay CRDs
   * and its namespace in that cluster; on a TrainingCluster of this app, something must provide the CRDs
   * (`kubeRay: true`, or a `KubeRayOperator` installed on it), or synthesis fails.
   */
  readonly trainingCluster: ITrainingCluster;
  /** Object name (Kubernetes name rules, at most 63 characters). */
  readonly name: string;
  /**
   * The namespace and service account the object's pods run as (a RayServiceAccount on the same cluster): sets
   * `namespace`, the Ray pods' `serviceAccountName` (unless the spec names one) and orders the object after both.
   * @default - no service account: pods run as the namespace's default one
   */
  readonly serviceAccount?: RayServiceAccount;
  /** Namespace (must exist, e.g. created by RayServiceAccount). @default - the serviceAccount's namespace, else 'default' */
  readonly namespace?: string;
  /**
   * Anything else that must exist first (the KubeRay CRDs and the namespace are waited for without it).
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

/** What names a Ray object in its cluster. */
type RayObjectIdentity = Pick<RayObjectProps, 'name' | 'namespace' | 'serviceAccount' | 'gangScheduling'>;

/** The namespace of a Ray object: given, else its service account's, else `default`. */
export function rayNamespaceOf(props: RayObjectIdentity): string {
  return props.namespace ?? props.serviceAccount?.namespace ?? 'default';
}

/**
 * Checks what a Ray object is wired to: its name and namespace, and that its service account lives on the same
 * cluster and in the same namespace.
 */
export function validateRayObject(v: PropsValidator, props: RayObjectProps): void {
  checkK8sName(v, 'name', props.name);
  const namespace = rayNamespaceOf(props);
  checkK8sName(v, 'namespace', namespace);
  const sa = props.serviceAccount;
  if (!sa) return;
  v.check(sa.trainingCluster.cluster === props.trainingCluster.cluster, 'serviceAccount', sa.node.path,
    `must be a RayServiceAccount of the trainingCluster ("${props.trainingCluster.node.path}"), not of "${sa.trainingCluster.node.path}"`);
  v.check(namespace === sa.namespace, 'namespace', namespace, `must be the serviceAccount's namespace ("${sa.namespace}") or be left out`);
}

/** A Ray cluster spec whose pods run as the object's service account, unless the spec names one. */
export function withServiceAccount(spec: RayClusterSpecOptions, props: RayObjectIdentity): RayClusterSpecOptions {
  const name = spec.serviceAccountName ?? props.serviceAccount?.serviceAccountName;
  return name === undefined ? spec : { ...spec, serviceAccountName: name };
}

/** Metadata of a Ray object: name, namespace, our managed-by label and the gang scheduling labels. */
export function rayObjectMetadata(props: RayObjectIdentity): Record<string, unknown> {
  const gang = props.gangScheduling;
  return {
    name: props.name,
    namespace: rayNamespaceOf(props),
    labels: {
      'app.kubernetes.io/managed-by': 'cdk-mlops',
      ...(gang ? { 'ray.io/scheduler-name': gang.scheduler, ...(gang.queue ? { 'volcano.sh/queue-name': gang.queue } : {}) } : {}),
    },
  };
}

/** Applies one manifest through the cluster's kubectl provider, after its dependencies. */
export function applyManifest(scope: Construct, props: RayObjectProps, manifest: Record<string, unknown>): eks.KubernetesManifest {
  const cluster = props.trainingCluster.cluster;
  const resource = new eks.KubernetesManifest(scope, 'Resource', {
    cluster,
    manifest: [manifest],
    // Server-side checks by kubectl catch fields the CRD does not know.
    skipValidation: false,
  });
  for (const d of props.dependsOn ?? []) resource.node.addDependency(d);
  if (props.serviceAccount) resource.node.addDependency(props.serviceAccount.serviceAccount);
  // Ordered after the KubeRay operator (its CRDs) and the namespace, whichever constructs provide them, created
  // before or after this one.
  const capabilities = ClusterCapabilities.of(cluster);
  resource.node.addDependency(capabilities.need(ClusterCapabilities.KUBERAY_CRDS));
  resource.node.addDependency(capabilities.need(ClusterCapabilities.namespace(rayNamespaceOf(props))));
  // A cluster of this app with nothing installing the CRDs would fail at deploy (no kind RayJob): fail the synth
  // instead. Checked once the app is complete, so an operator installed after this object counts. An adopted
  // cluster's operator is installed elsewhere.
  const kind = String(manifest.kind);
  scope.node.addValidation({
    validate: () => {
      if (props.trainingCluster instanceof TrainingCluster && !capabilities.isProvided(ClusterCapabilities.KUBERAY_CRDS)) {
        const problem = `trainingCluster: "${props.trainingCluster.node.path}" — has no KubeRay operator to install the ray.io CRDs; `
          + 'set kubeRay: true on it, or install a KubeRayOperator on it';
        throw new PropsValidationError(`${kind} at "${scope.node.path}" has invalid props:
  - ${problem}`, [problem]);
      }
      return [];
    },
  });
  return resource;
}
