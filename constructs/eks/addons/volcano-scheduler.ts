import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { HelmAddOn } from './helm-add-on';

export interface VolcanoSchedulerProps {
  /** Chart version of `volcano` (https://volcano-sh.github.io/helm-charts). @default '1.15.2' */
  readonly version?: string;
}

/**
 * Volcano batch scheduler, for gang scheduling of multi-worker Ray jobs: with `KubeRayOperator({ batchScheduler:
 * 'volcano' })` KubeRay creates a PodGroup per Ray cluster (head + minimum workers), and Volcano binds all of its
 * pods at once or none, so two half-started jobs never hold GPUs waiting for each other.
 */
export class VolcanoScheduler extends HelmAddOn {
  constructor(props: VolcanoSchedulerProps = {}) {
    super({
      name: 'volcano',
      chart: 'volcano',
      repository: 'https://volcano-sh.github.io/helm-charts',
      version: props.version ?? '1.15.2',
      namespace: 'volcano-system',
    });
  }

  /** The chart's defaults: scheduler, controller and admission webhook with the gang plugin on. */
  protected values(_cluster: eks.ICluster): Record<string, unknown> {
    return {};
  }
}
