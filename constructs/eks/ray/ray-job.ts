import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { PropsValidator } from '../../core/validation';
import { checkK8sName } from '../addons/helm-add-on';
import { renderRayClusterSpec, type RayClusterSpecOptions, validateRayClusterSpec } from './ray-cluster-spec';
import {
  applyManifest, rayObjectMetadata, type RayObjectProps, validateRayObject, withServiceAccount,
} from './ray-manifest-base';

/** What a RayJob runs and where: shared by RayJob and RayCronJob's job template. */
export interface RayJobSpecOptions {
  /** Command the job runs on the Ray cluster, e.g. `python train.py --epochs 10`. */
  readonly entrypoint: string;
  /**
   * Ray runtime environment (`working_dir`, `pip`, `env_vars`, ...), rendered to `runtimeEnvYAML`.
   * @default - none
   */
  readonly runtimeEnv?: Record<string, unknown>;
  /** A cluster of its own, created for the job and deleted after it. Give this or `clusterSelector`. @default - none */
  readonly rayClusterSpec?: RayClusterSpecOptions;
  /** Name of an existing RayCluster to submit to (`ray.io/cluster` selector). @default - none */
  readonly clusterSelector?: string;
  /** Seconds the own cluster is kept after the job finishes (for logs). @default 300 */
  readonly ttlSecondsAfterFinished?: number;
  /** Seconds the job may run before it is failed. @default - no limit */
  readonly activeDeadlineSeconds?: number;
  /** Retries of the whole job (a new cluster each time). @default 0 */
  readonly backoffLimit?: number;
}

export interface RayJobProps extends RayObjectProps, RayJobSpecOptions {
  /** Create the job suspended; resume with `kubectl patch rayjob <name> --type merge -p '{"spec":{"suspend":false}}'`. @default false */
  readonly suspend?: boolean;
}

/** Validates a RayJob spec, recording problems under `prefix` (empty for top-level props). */
export function validateRayJobSpec(v: PropsValidator, o: RayJobSpecOptions, prefix = ''): void {
  const p = (k: string) => (prefix ? `${prefix}.${k}` : k);
  v.check(o.entrypoint.trim().length > 0, p('entrypoint'), o.entrypoint, 'must be a non-empty command such as "python train.py"');
  v.check((o.rayClusterSpec === undefined) !== (o.clusterSelector === undefined), p('rayClusterSpec'), o.rayClusterSpec ? 'set' : 'unset',
    'give exactly one of rayClusterSpec (a cluster of its own) or clusterSelector (an existing RayCluster name)');
  if (o.clusterSelector !== undefined) checkK8sName(v, p('clusterSelector'), o.clusterSelector);
  if (o.rayClusterSpec) validateRayClusterSpec(v, p('rayClusterSpec'), o.rayClusterSpec);
  v.intRange(p('ttlSecondsAfterFinished'), o.ttlSecondsAfterFinished, 0, 604800, 'seconds')
    .intRange(p('activeDeadlineSeconds'), o.activeDeadlineSeconds, 1, 2592000, 'seconds')
    .intRange(p('backoffLimit'), o.backoffLimit, 0, 100);
}

/** Renders a `ray.io/v1` RayJob spec (also RayCronJob's `jobTemplate`). Call {@link validateRayJobSpec} first. */
export function renderRayJobSpec(o: RayJobSpecOptions): Record<string, unknown> {
  return {
    entrypoint: o.entrypoint,
    ...(o.runtimeEnv ? { runtimeEnvYAML: stringify(o.runtimeEnv) } : {}),
    submissionMode: 'K8sJobMode',
    backoffLimit: o.backoffLimit ?? 0,
    ...(o.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: o.activeDeadlineSeconds } : {}),
    ...(o.rayClusterSpec
      ? {
        rayClusterSpec: renderRayClusterSpec(o.rayClusterSpec),
        // The job's own cluster (and its GPU nodes) goes away once the job is done.
        shutdownAfterJobFinishes: true,
        ttlSecondsAfterFinished: o.ttlSecondsAfterFinished ?? 300,
      }
      : { clusterSelector: { 'ray.io/cluster': o.clusterSelector! } }),
  };
}

/**
 * A `ray.io/v1` RayJob for training or tuning: runs `entrypoint` with `runtimeEnv` either on a cluster of
 * its own (created for the job, shut down after it, GPU workers from zero) or on an existing RayCluster.
 */
export class RayJob extends Construct {
  public readonly manifest: Record<string, unknown>;
  public readonly resource: eks.KubernetesManifest;

  constructor(scope: Construct, id: string, props: RayJobProps) {
    super(scope, id);
    const v = new PropsValidator(this, 'RayJob');
    validateRayObject(v, props);
    validateRayJobSpec(v, props);
    v.throwIfInvalid();

    this.manifest = {
      apiVersion: 'ray.io/v1',
      kind: 'RayJob',
      metadata: rayObjectMetadata(props),
      spec: { ...renderRayJobSpec({ ...props, rayClusterSpec: props.rayClusterSpec && withServiceAccount(props.rayClusterSpec, props) }), ...(props.suspend ? { suspend: true } : {}) },
    };
    this.resource = applyManifest(this, props, this.manifest);
  }
}
