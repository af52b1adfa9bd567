import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { PropsValidator } from '../../core/validation';
import { renderRayClusterSpec, type RayClusterSpecOptions, validateRayClusterSpec } from './ray-cluster-spec';
import {
  applyManifest, rayObjectMetadata, type RayObjectProps, validateRayObject, withServiceAccount,
} from './ray-manifest-base';

export interface RayClusterProps extends RayObjectProps, RayClusterSpecOptions {}

/**
 * A long-running `ray.io/v1` RayCluster: a head pod (dashboard as a ClusterIP service `<name>-head-svc`) and
 * CPU/GPU worker groups the Ray autoscaler scales between min and max replicas. GPU worker pods request
 * `nvidia.com/gpu`, tolerate the GPU taint and select their GPU node group, so pending GPU workers make the
 * Cluster Autoscaler add GPU nodes, and idle ones let it remove them again.
 *
 * Dashboard: `kubectl -n <namespace> port-forward svc/<name>-head-svc 8265:8265`, then http://localhost:8265.
 */
export class RayCluster extends Construct {
  /** The manifest as applied (validated against the KubeRay CRD in tests). */
  public readonly manifest: Record<string, unknown>;
  public readonly resource: eks.KubernetesManifest;
  /** Head service name: submit jobs to `http://<headServiceName>.<namespace>:8265`. */
  public readonly headServiceName: string;

  constructor(scope: Construct, id: string, props: RayClusterProps) {
    super(scope, id);
    const v = new PropsValidator(this, 'RayCluster');
    validateRayObject(v, props);
    validateRayClusterSpec(v, 'spec', props);
    v.throwIfInvalid();

    this.headServiceName = `${props.name}-head-svc`;
    this.manifest = {
      apiVersion: 'ray.io/v1',
      kind: 'RayCluster',
      metadata: rayObjectMetadata(props),
      spec: renderRayClusterSpec(withServiceAccount(props, props)),
    };
    this.resource = applyManifest(this, props, this.manifest);
  }
}
