import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { HelmAddOn } from './helm-add-on';

/** Label every GPU node carries (set on the GPU node groups): the device plugin runs only there. */
export const ACCELERATOR_LABEL = 'k8s.amazonaws.com/accelerator';
/** Taint on GPU nodes so only pods asking for GPUs land there. */
export const GPU_TAINT_KEY = 'nvidia.com/gpu';

export interface NvidiaDevicePluginProps {
  /** Chart version of `nvidia-device-plugin`. @default '0.19.3' */
  readonly version?: string;
  /** Namespace of the DaemonSet. @default 'nvidia-device-plugin' */
  readonly namespace?: string;
}

/**
 * NVIDIA device plugin (https://nvidia.github.io/k8s-device-plugin): a DaemonSet on GPU nodes that
 * advertises `nvidia.com/gpu` to the kubelet, so pods can request GPUs and the Cluster Autoscaler sees a
 * new GPU node as ready only once its GPUs are schedulable. The AL2023 NVIDIA AMI brings the driver and
 * container toolkit, so the GPU operator is not needed.
 */
export class NvidiaDevicePlugin extends HelmAddOn {
  constructor(props: NvidiaDevicePluginProps = {}) {
    super({
      name: 'nvidia-device-plugin',
      chart: 'nvidia-device-plugin',
      repository: 'https://nvidia.github.io/k8s-device-plugin',
      version: props.version ?? '0.19.3',
      namespace: props.namespace ?? 'nvidia-device-plugin',
      // A DaemonSet with no GPU nodes has nothing to wait for; waiting would stall the deploy at GPU min 0.
      wait: false,
    });
  }

  protected values(_cluster: eks.ICluster): Record<string, unknown> {
    return {
      // The chart's default affinity needs Node Feature Discovery labels; our GPU nodes carry the accelerator label instead.
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: ACCELERATOR_LABEL, operator: 'Exists' }] }],
          },
        },
      },
      tolerations: [
        { key: GPU_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' },
        { key: 'CriticalAddonsOnly', operator: 'Exists' },
      ],
      priorityClassName: 'system-node-critical',
      gfd: { enabled: false },
      nfd: { enabled: false },
    };
  }
}
