import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { type Construct, type IDependable } from 'constructs';

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
  return resource;
}
