import { z } from 'zod';
import { DEFAULT_DLAMI_PARAMETER, GPU_INSTANCE_FAMILIES, gpuInstanceFamily } from '../../../constructs/compute/gpu-instance';
import { resourceName, type StageDefaults } from '../common';

export { GPU_INSTANCE_FAMILIES };

const gpuInstanceType = z.string().refine((v) => gpuInstanceFamily(v) !== undefined, {
  error: `must be an EC2 instance type in a GPU family (${GPU_INSTANCE_FAMILIES.join(', ')}), e.g. g5.xlarge`,
});

const wholeIn = (min: number, max: number, what: string) =>
  z.number().int({ error: `must be a whole number of ${what}` })
    .min(min, { error: `must be between ${min} and ${max} ${what}` })
    .max(max, { error: `must be between ${min} and ${max} ${what}` });

/** The command that prints the current Deep Learning AMI id, to pin in `amiId` (and to update it deliberately). */
export const PIN_AMI_COMMAND = `aws ssm get-parameter --name ${DEFAULT_DLAMI_PARAMETER} --query Parameter.Value --output text --region <stage region>`;

/**
 * One stand-alone GPU instance. `name`, `instanceType` and the image (`amiId`, or `amiParameterName` to follow a
 * parameter on purpose) are required: an image that changes by itself replaces the instance on some later deploy.
 */
export const gpuInstanceConfig = z.strictObject({
  /** Name of the instance, unique in the stage; the Name tag is `<prefix>-<stage>-<name>`. */
  name: resourceName,
  /** EC2 instance type in a GPU family, e.g. g5.xlarge. */
  instanceType: gpuInstanceType,
  /** Root gp3 volume size (encrypted with a customer-managed key). */
  rootVolumeGiB: wholeIn(100, 16384, 'GiB').default(200),
  /** Data volume mounted at /data; it outlives the instance (retained with data.retainOnDelete, else snapshotted on delete). */
  dataVolumeGiB: wholeIn(1, 16384, 'GiB').default(100),
  /** Spot capacity: a one-time request, terminated on interruption (the data volume keeps the work). */
  spot: z.boolean().default(false),
  /** Stop the instance after it has been idle this long. 0 disables idle auto-stop. */
  idleStopMinutes: z.number().int({ error: 'must be a whole number of minutes' })
    .refine((m) => m === 0 || (m >= 5 && m <= 1440), { error: 'must be 0 (never stop) or between 5 and 1440 minutes' })
    .default(60),
  /** Utilization in percent below which a minute counts as idle. */
  idleThresholdPercent: wholeIn(1, 99, 'percent').default(5),
  /** What idle means: `gpu` (highest GPU utilization, CloudWatch agent) or `cpu` (EC2 CPUUtilization). */
  idleMetric: z.enum(['gpu', 'cpu'], { error: 'must be "gpu" or "cpu"' }).default('gpu'),
  /** Follow a public SSM parameter with the AMI id, resolved at each deploy: a new image there replaces the instance (the data volume stays). */
  amiParameterName: z.string().regex(/^\/[A-Za-z0-9_.\-/]+$/, { error: 'must be an SSM parameter name starting with "/"' }).optional(),
  /** The pinned image; only a change here replaces the instance with a newer image. Get the current DLAMI with PIN_AMI_COMMAND. */
  amiId: z.string().regex(/^ami-[0-9a-f]{8,17}$/, { error: 'must be an AMI id such as ami-0123456789abcdef0' }).optional(),
  /** API termination protection. Default: on in prod, off elsewhere; never with spot. */
  terminationProtection: z.boolean().optional(),
  /** Allow all outbound traffic instead of HTTPS only. */
  allowAllOutbound: z.boolean().default(false),
}).superRefine((c, ctx) => {
  if (c.amiId && c.amiParameterName) {
    ctx.addIssue({ code: 'custom', path: ['amiId'], message: 'cannot be combined with amiParameterName; give one of them' });
  }
  if (!c.amiId && !c.amiParameterName) {
    ctx.addIssue({
      code: 'custom', path: ['amiId'],
      message: `is required (or amiParameterName to follow a parameter on purpose): pin the image, e.g. the id printed by ${PIN_AMI_COMMAND}`,
    });
  }
  if (c.spot && c.terminationProtection) {
    ctx.addIssue({ code: 'custom', path: ['terminationProtection'], message: 'must be false or left out with spot: EC2 offers no termination protection for spot instances' });
  }
});
export type GpuInstanceConfig = z.infer<typeof gpuInstanceConfig>;

export const computeConfig = z.strictObject({
  /** Switch for stand-alone EC2 GPU instances (they live in the stage's Training stack). */
  enabled: z.boolean(),
  /** Zero or more GPU instances. */
  instances: z.array(gpuInstanceConfig),
}).superRefine((c, ctx) => {
  // Stack outputs are named after the instance without hyphens, so names must differ in more than hyphens.
  const seen = new Map<string, string>();
  c.instances.forEach((instance, i) => {
    const key = instance.name.replace(/-/g, '');
    const other = seen.get(key);
    if (other !== undefined) {
      ctx.addIssue({
        code: 'custom', path: ['instances', i, 'name'],
        message: other === instance.name ? `must be unique: "${instance.name}" is used by another instance` : `must differ from "${other}" in more than hyphens (instance outputs are named without them)`,
      });
    }
    seen.set(key, instance.name);
  });
});
export type ComputeConfig = z.infer<typeof computeConfig>;

/** No GPU instance runs by default: they cost money while up. Switch on and list instances per stage. */
export const computeDefaults: StageDefaults<ComputeConfig> = {
  dev: { enabled: false, instances: [] },
  staging: { enabled: false, instances: [] },
  prod: { enabled: false, instances: [] },
};
