import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { PropsValidator } from '../../core/validation';
import { renderRayJobSpec, type RayJobSpecOptions, validateRayJobSpec } from './ray-job';
import {
  applyManifest, rayObjectMetadata, type RayObjectProps, validateRayObject, withServiceAccount,
} from './ray-manifest-base';

/** Five-field cron (minute hour day-of-month month day-of-week), as Kubernetes CronJobs take it. */
const CRON = /^(\S+\s+){4}\S+$/;
const CRON_FIELD = /^[0-9*/,\-A-Za-z?]+$/;

export interface RayCronJobProps extends RayObjectProps {
  /** Five-field cron schedule, e.g. `0 3 * * *` (03:00 every day). */
  readonly schedule: string;
  /** IANA time zone of the schedule, e.g. `Europe/Berlin`. @default - the operator's time zone (UTC on EKS) */
  readonly timeZone?: string;
  /** The RayJob each run creates. */
  readonly job: RayJobSpecOptions;
  /** Create it paused (no runs until unsuspended). @default false */
  readonly suspend?: boolean;
}

/**
 * A `ray.io/v1` RayCronJob (KubeRay 1.6+, alpha: the operator needs the `RayCronJob` feature gate, which
 * `KubeRayOperator({ rayCronJob: true })` turns on): creates a RayJob from `job` on every `schedule` tick, e.g.
 * a nightly retraining on a cluster of its own that scales GPU workers from zero and is deleted afterwards.
 */
export class RayCronJob extends Construct {
  public readonly manifest: Record<string, unknown>;
  public readonly resource: eks.KubernetesManifest;

  constructor(scope: Construct, id: string, props: RayCronJobProps) {
    super(scope, id);
    const v = new PropsValidator(this, 'RayCronJob');
    validateRayObject(v, props);
    const fields = props.schedule.trim().split(/\s+/);
    v.check(CRON.test(props.schedule.trim()) && fields.every((f) => CRON_FIELD.test(f)), 'schedule', props.schedule,
      'must be a five-field cron expression (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"');
    if (props.timeZone !== undefined) v.check(/^[A-Za-z]+(\/[A-Za-z0-9_+-]+)*$/.test(props.timeZone), 'timeZone', props.timeZone, 'must be an IANA time zone such as Europe/Berlin');
    validateRayJobSpec(v, props.job, 'job');
    v.throwIfInvalid();

    this.manifest = {
      apiVersion: 'ray.io/v1',
      kind: 'RayCronJob',
      metadata: rayObjectMetadata(props),
      spec: {
        schedule: props.schedule.trim(),
        ...(props.timeZone ? { timeZone: props.timeZone } : {}),
        ...(props.suspend ? { suspend: true } : {}),
        jobTemplate: renderRayJobSpec({ ...props.job, rayClusterSpec: props.job.rayClusterSpec && withServiceAccount(props.job.rayClusterSpec, props) }),
      },
    };
    this.resource = applyManifest(this, props, this.manifest);
  }
}
