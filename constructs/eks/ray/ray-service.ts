import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { PropsValidator } from '../../core/validation';
import { renderRayClusterSpec, type RayClusterSpecOptions, validateRayClusterSpec } from './ray-cluster-spec';
import {
  applyManifest, type InternalLoadBalancerOptions, rayObjectMetadata, type RayObjectProps, validateRayObject, withServiceAccount,
} from './ray-manifest-base';

/** Ray Serve replica autoscaling of one deployment. */
export interface ServeAutoscaling {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Ongoing requests per replica Serve scales on. @default - Ray Serve's default (2) */
  readonly targetOngoingRequests?: number;
}

/** One Ray Serve deployment of an application. */
export interface ServeDeployment {
  /** Deployment name as in the application code. */
  readonly name: string;
  /** Fixed replica count. Give this or `autoscaling`. @default 1 */
  readonly numReplicas?: number;
  /** Replica autoscaling between min and max. @default - fixed replicas */
  readonly autoscaling?: ServeAutoscaling;
  /** CPUs per replica. @default 1 */
  readonly numCpus?: number;
  /** GPUs per replica (fractions share a GPU). @default 0 */
  readonly numGpus?: number;
}

/** One Ray Serve application. */
export interface ServeApplication {
  readonly name: string;
  /** `module:object` of the bound deployment graph, e.g. `serve_app:app`. */
  readonly importPath: string;
  /** URL prefix, starting with `/`. @default '/' */
  readonly routePrefix?: string;
  /** Ray runtime environment of the application. @default - none */
  readonly runtimeEnv?: Record<string, unknown>;
  /** @default - as in the code */
  readonly deployments?: ServeDeployment[];
}

export interface RayServiceProps extends RayObjectProps {
  /** Serve applications, rendered to `serveConfigV2`. */
  readonly applications: ServeApplication[];
  /** The Ray cluster that serves them. */
  readonly rayClusterConfig: RayClusterSpecOptions;
  /** Seconds the old cluster is kept after traffic moved to the new one. @default 60 */
  readonly rayClusterDeletionDelaySeconds?: number;
  /**
   * Put `<name>-serve-svc` behind an internal Network Load Balancer (EKS's cloud provider, in the cluster's private
   * subnets tagged `kubernetes.io/role/internal-elb`), reachable only from these CIDRs (e.g. the VPC).
   * @default - a ClusterIP service: reached from inside the cluster or with `kubectl port-forward`
   */
  readonly internalLoadBalancer?: InternalLoadBalancerOptions;
}

/** Port of Ray Serve's HTTP proxy and of the serve service. */
export const SERVE_PORT = 8000;

/**
 * A `ray.io/v1` RayService for Ray Serve with zero-downtime upgrades: on a change of the cluster spec,
 * KubeRay (`upgradeStrategy: NewCluster`) starts a new RayCluster, waits until its Serve applications are
 * healthy, switches the `<name>-serve-svc` service to it and deletes the old cluster after
 * `rayClusterDeletionDelaySeconds`. Changes of serveConfigV2 alone are applied in place.
 */
export class RayService extends Construct {
  public readonly manifest: Record<string, unknown>;
  public readonly resource: eks.KubernetesManifest;
  /** Service that always points at the healthy cluster: `http://<serveServiceName>.<namespace>:8000`. */
  public readonly serveServiceName: string;

  constructor(scope: Construct, id: string, props: RayServiceProps) {
    super(scope, id);
    const v = new PropsValidator(this, 'RayService');
    validateRayObject(v, props);
    v.check(props.applications.length > 0, 'applications', props.applications, 'must list at least one Serve application');
    const names = props.applications.map((a) => a.name);
    props.applications.forEach((a, i) => {
      const p = `applications[${i}]`;
      v.check(/^[A-Za-z0-9][\w.-]*$/.test(a.name) && names.indexOf(a.name) === i, `${p}.name`, a.name, 'must be a unique name of letters, digits, dots, hyphens and underscores');
      v.check(/^[\w.]+:[\w.]+$/.test(a.importPath), `${p}.importPath`, a.importPath, 'must be module:attribute, e.g. serve_app:app');
      v.check((a.routePrefix ?? '/').startsWith('/'), `${p}.routePrefix`, a.routePrefix, 'must start with "/"');
      (a.deployments ?? []).forEach((d, j) => {
        const dp = `${p}.deployments[${j}]`;
        v.intRange(`${dp}.numReplicas`, d.numReplicas, 1, 1000);
        v.check(d.numCpus === undefined || d.numCpus >= 0, `${dp}.numCpus`, d.numCpus, 'must not be negative');
        v.check(d.numGpus === undefined || d.numGpus >= 0, `${dp}.numGpus`, d.numGpus, 'must not be negative');
        v.check(!(d.numReplicas !== undefined && d.autoscaling), `${dp}.autoscaling`, d.autoscaling, 'give numReplicas or autoscaling, not both');
        if (d.autoscaling) {
          v.check(d.autoscaling.minReplicas >= 0 && d.autoscaling.minReplicas <= d.autoscaling.maxReplicas, `${dp}.autoscaling.minReplicas`,
            d.autoscaling.minReplicas, `must be between 0 and maxReplicas (${d.autoscaling.maxReplicas})`);
        }
      });
    });
    validateRayClusterSpec(v, 'rayClusterConfig', props.rayClusterConfig);
    const lb = props.internalLoadBalancer;
    if (lb) {
      v.check(lb.sourceCidrs.length > 0, 'internalLoadBalancer.sourceCidrs', lb.sourceCidrs, 'must list at least one CIDR (e.g. the VPC CIDR)');
      lb.sourceCidrs.forEach((c, i) => v.check(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(c) && !c.endsWith('/0'), `internalLoadBalancer.sourceCidrs[${i}]`, c,
        'must be an IPv4 CIDR narrower than /0, e.g. 10.10.0.0/16'));
    }
    v.intRange('rayClusterDeletionDelaySeconds', props.rayClusterDeletionDelaySeconds, 0, 86400, 'seconds').throwIfInvalid();

    this.serveServiceName = `${props.name}-serve-svc`;
    this.manifest = {
      apiVersion: 'ray.io/v1',
      kind: 'RayService',
      metadata: rayObjectMetadata(props),
      spec: {
        serveConfigV2: stringify({ applications: props.applications.map(serveApplication) }),
        upgradeStrategy: { type: 'NewCluster' },
        rayClusterDeletionDelaySeconds: props.rayClusterDeletionDelaySeconds ?? 60,
        ...(lb ? {
          serveService: {
            metadata: {
              name: this.serveServiceName,
              annotations: {
                'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
                'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
              },
            },
            spec: {
              type: 'LoadBalancer',
              ports: [{ name: 'serve', port: SERVE_PORT, targetPort: SERVE_PORT, protocol: 'TCP' }],
              // The cloud provider opens the node security group only to these ranges.
              loadBalancerSourceRanges: lb.sourceCidrs,
            },
          },
        } : {}),
        rayClusterConfig: renderRayClusterSpec(withServiceAccount(props.rayClusterConfig, props)),
      },
    };
    this.resource = applyManifest(this, props, this.manifest);
  }
}

/** Serve's own config format is snake_case. */
function serveApplication(a: ServeApplication): Record<string, unknown> {
  return {
    name: a.name,
    import_path: a.importPath,
    route_prefix: a.routePrefix ?? '/',
    ...(a.runtimeEnv ? { runtime_env: a.runtimeEnv } : {}),
    ...(a.deployments ? {
      deployments: a.deployments.map((d) => ({
        name: d.name,
        ...(d.autoscaling
          ? { autoscaling_config: { min_replicas: d.autoscaling.minReplicas, max_replicas: d.autoscaling.maxReplicas, ...(d.autoscaling.targetOngoingRequests ? { target_ongoing_requests: d.autoscaling.targetOngoingRequests } : {}) } }
          : { num_replicas: d.numReplicas ?? 1 }),
        ray_actor_options: { num_cpus: d.numCpus ?? 1, num_gpus: d.numGpus ?? 0 },
      })),
    } : {}),
  };
}
