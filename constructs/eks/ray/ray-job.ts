import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { PropsValidator } from '../../core/validation';
import { checkK8sName } from '../addons/helm-add-on';
import { renderRayClusterSpec, type RayClusterSpecOptions, validateRayClusterSpec } from './ray-cluster-spec';
import { applyManifest, type RayObjectProps } from './ray-manifest-base';

export interface RayJobProps extends RayObjectProps {
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
  /** Create the job suspended; resume with `kubectl patch rayjob <name> --type merge -p '{"spec":{"suspend":false}}'`. @default false */
  readonly suspend?: boolean;
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
    checkK8sName(v, 'name', props.name);
    checkK8sName(v, 'namespace', props.namespace ?? 'default');
    v.check(props.entrypoint.trim().length > 0, 'entrypoint', props.entrypoint, 'must be a non-empty command such as "python train.py"');
    v.check((props.rayClusterSpec === undefined) !== (props.clusterSelector === undefined), 'rayClusterSpec', props.rayClusterSpec ? 'set' : 'unset',
      'give exactly one of rayClusterSpec (a cluster of its own) or clusterSelector (an existing RayCluster name)');
    if (props.clusterSelector !== undefined) checkK8sName(v, 'clusterSelector', props.clusterSelector);
    if (props.rayClusterSpec) validateRayClusterSpec(v, 'rayClusterSpec', props.rayClusterSpec);
    v.intRange('ttlSecondsAfterFinished', props.ttlSecondsAfterFinished, 0, 604800, 'seconds')
      .intRange('activeDeadlineSeconds', props.activeDeadlineSeconds, 1, 2592000, 'seconds')
      .intRange('backoffLimit', props.backoffLimit, 0, 100)
      .throwIfInvalid();

    const ownCluster = props.rayClusterSpec !== undefined;
    this.manifest = {
      apiVersion: 'ray.io/v1',
      kind: 'RayJob',
      metadata: { name: props.name, namespace: props.namespace ?? 'default', labels: { 'app.kubernetes.io/managed-by': 'cdk-mlops' } },
      spec: {
        entrypoint: props.entrypoint,
        ...(props.runtimeEnv ? { runtimeEnvYAML: stringify(props.runtimeEnv) } : {}),
        submissionMode: 'K8sJobMode',
        backoffLimit: props.backoffLimit ?? 0,
        ...(props.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: props.activeDeadlineSeconds } : {}),
        ...(props.suspend ? { suspend: true } : {}),
        ...(ownCluster
          ? {
            rayClusterSpec: renderRayClusterSpec(props.rayClusterSpec!),
            // The job's own cluster (and its GPU nodes) goes away once the job is done.
            shutdownAfterJobFinishes: true,
            ttlSecondsAfterFinished: props.ttlSecondsAfterFinished ?? 300,
          }
          : { clusterSelector: { 'ray.io/cluster': props.clusterSelector! } }),
      },
    };
    this.resource = applyManifest(this, props, this.manifest);
  }
}
