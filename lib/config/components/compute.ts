import { z } from 'zod';
import { intRange, resourceName, type StageDefaults } from '../common';

/** Instance families with NVIDIA GPUs that the GPU instance construct accepts. */
export const GPU_INSTANCE_FAMILIES = ['g4dn', 'g5', 'g6', 'g6e', 'gr6', 'p3', 'p4d', 'p4de', 'p5', 'p5e', 'p5en'] as const;

const gpuInstanceType = z.string().refine((v) => (GPU_INSTANCE_FAMILIES as readonly string[]).includes(v.split('.')[0]) && /^[a-z0-9]+\.[a-z0-9]+$/.test(v), {
  error: `must be an EC2 instance type in a GPU family (${GPU_INSTANCE_FAMILIES.join(', ')}), e.g. g5.xlarge`,
});

export const gpuInstanceConfig = z.strictObject({
  /** Name of the instance, unique in the stage. */
  name: resourceName,
  instanceType: gpuInstanceType,
  /** Root EBS gp3 volume size. */
  rootVolumeGiB: intRange(50, 16384, ' GiB'),
  /** Request spot capacity (interrupted instances stop, not terminate). */
  spot: z.boolean(),
  /** Stop the instance after GPU and CPU have been idle this long. 0 disables idle auto-stop. */
  idleStopMinutes: intRange(0, 1440, ' minutes'),
});

export const computeConfig = z.strictObject({
  /** Switch for stand-alone EC2 GPU instances. */
  enabled: z.boolean(),
  instances: z.array(gpuInstanceConfig),
});
export type ComputeConfig = z.infer<typeof computeConfig>;

export const computeDefaults: StageDefaults<ComputeConfig> = {
  dev: { enabled: false, instances: [] },
  staging: { enabled: false, instances: [] },
  prod: { enabled: false, instances: [] },
};
