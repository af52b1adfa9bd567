import { z } from 'zod';
import {
  cpuTypesHint, gpusPerInstance, gpuTypesHint, isCpuInstanceType,
} from '../../../constructs/eks/instance-types';
import { intRange, resourceName, roleArn, type StageDefaults } from '../common';

const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, { error: 'must be an IPv4 CIDR such as 203.0.113.0/24' });

const cpuInstanceType = z.string().refine(isCpuInstanceType, { error: `must be ${cpuTypesHint()}` });
const gpuInstanceType = z.string().refine((t) => gpusPerInstance(t) !== undefined, { error: `must be ${gpuTypesHint()}` });

/** Kubernetes quantities: CPU like `500m` or `2`, memory like `4Gi`. Never negative. */
const cpuQuantity = z.string().regex(/^(\d+(\.\d+)?|\d+m)$/, { error: 'must be a non-negative CPU quantity such as 500m or 2' });
const memoryQuantity = z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/, { error: 'must be a non-negative memory quantity such as 512Mi or 8Gi' });

const sizes = {
  /** Nodes the group never goes below. */
  minSize: intRange(0, 100, ' nodes'),
  /** Nodes the group never exceeds. */
  maxSize: intRange(0, 100, ' nodes'),
};
const minNotAboveMax = (group: { minSize: number; maxSize: number }, ctx: z.RefinementCtx) => {
  if (group.minSize > group.maxSize) {
    ctx.addIssue({ code: 'custom', path: ['minSize'], message: `must not exceed maxSize (${group.maxSize})` });
  }
};

export const systemNodeGroupConfig = z.strictObject({
  /** On-demand x86 instance types for cluster add-ons (CoreDNS, autoscaler, KubeRay operator, Ray heads). */
  instanceTypes: z.array(cpuInstanceType).min(1, { error: 'needs at least one instance type' }),
  ...sizes,
}).superRefine(minNotAboveMax);

export const gpuNodeGroupConfig = z.strictObject({
  /** Node group name (also the `cdk-mlops/node-group` label Ray GPU workers select). */
  name: resourceName,
  /** GPU instance types; all must have the same GPU count so the autoscaler's node template is right. */
  instanceTypes: z.array(gpuInstanceType).min(1, { error: 'needs at least one instance type' }),
  ...sizes,
  /** Use spot capacity (cheaper, interruptible: fine for checkpointed training). */
  spot: z.boolean(),
  /** Root volume size per node (images with CUDA are large). */
  diskSizeGiB: intRange(50, 16384, ' GiB'),
}).superRefine((group, ctx) => {
  minNotAboveMax(group, ctx);
  const counts = new Set(group.instanceTypes.map(gpusPerInstance));
  if (counts.size > 1) {
    ctx.addIssue({ code: 'custom', path: ['instanceTypes'], message: 'all instance types of a GPU node group must have the same number of GPUs' });
  }
});

export const spotNodeGroupConfig = z.strictObject({
  /** Create a spot CPU worker group for Ray CPU workers and batch work. */
  enabled: z.boolean(),
  /** x86 instance types; several similar types make spot capacity easier to get. */
  instanceTypes: z.array(cpuInstanceType).min(1, { error: 'needs at least one instance type' }),
  ...sizes,
}).superRefine(minNotAboveMax);

const workers = z.strictObject({
  /** Worker pods the Ray autoscaler keeps at least. */
  minReplicas: intRange(0, 1000, ' workers'),
  /** Worker pods the Ray autoscaler may start. */
  maxReplicas: intRange(0, 1000, ' workers'),
  /** CPU per worker pod (request and limit). */
  cpu: cpuQuantity,
  /** Memory per worker pod (request and limit). */
  memory: memoryQuantity,
});

export const rayConfig = z.strictObject({
  /** Install the KubeRay operator and the default RayCluster. */
  enabled: z.boolean(),
  /** Namespace of the Ray workloads and their service account. */
  namespace: resourceName,
  /** Head pod CPU and memory (request and limit). */
  head: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }),
  /** CPU workers of the default RayCluster. */
  cpuWorkers: workers,
  /** GPU workers of the default RayCluster (on the first GPU node group). Keep minReplicas 0 so idle costs nothing. */
  gpuWorkers: workers.extend({
    /** GPUs per worker pod (`nvidia.com/gpu` limit and Ray `num-gpus`). */
    gpus: intRange(1, 8, ' GPUs'),
  }),
  /** Seconds an idle Ray worker lives before the Ray autoscaler removes it. */
  idleTimeoutSeconds: intRange(30, 86400, ' seconds'),
}).superRefine((ray, ctx) => {
  for (const key of ['cpuWorkers', 'gpuWorkers'] as const) {
    if (ray[key].minReplicas > ray[key].maxReplicas) {
      ctx.addIssue({ code: 'custom', path: [key, 'minReplicas'], message: `must not exceed maxReplicas (${ray[key].maxReplicas})` });
    }
  }
});

export const eksConfig = z.strictObject({
  /** Switch for the EKS cluster with GPU node groups and KubeRay. */
  enabled: z.boolean(),
  /** API endpoint exposure. `private` keeps the Kubernetes API inside the VPC. */
  endpointAccess: z.enum(['private', 'public-and-private'], { error: 'must be "private" or "public-and-private"' }),
  /** CIDRs allowed to reach a public endpoint; required with `public-and-private`. */
  publicAccessCidrs: z.array(cidr),
  /** IAM roles granted cluster-admin through EKS access entries. */
  adminRoleArns: z.array(roleArn),
  /** Small on-demand group for add-ons and Ray heads. */
  systemNodeGroup: systemNodeGroupConfig,
  /** GPU managed node groups (AL2023 NVIDIA AMI, tainted nvidia.com/gpu=true:NoSchedule). minSize 0 scales to zero. */
  gpuNodeGroups: z.array(gpuNodeGroupConfig),
  /** Optional spot CPU worker group. */
  spotNodeGroup: spotNodeGroupConfig,
  /** Minutes a node must be unneeded before the Cluster Autoscaler removes it (how fast GPUs go back to zero). */
  scaleDownUnneededMinutes: intRange(1, 1440, ' minutes'),
  /** KubeRay operator and default RayCluster. */
  ray: rayConfig,
}).superRefine((eks, ctx) => {
  if (eks.endpointAccess === 'public-and-private' && eks.publicAccessCidrs.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['publicAccessCidrs'], message: 'a public-and-private endpoint needs at least one allowed CIDR (0.0.0.0/0 is not allowed)' });
  }
  eks.publicAccessCidrs.forEach((range, i) => {
    if (range.endsWith('/0')) ctx.addIssue({ code: 'custom', path: ['publicAccessCidrs', i], message: 'must not open the API to the whole internet' });
  });
  const names = eks.gpuNodeGroups.map((g) => g.name);
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: ['gpuNodeGroups', i, 'name'], message: 'must be unique among gpuNodeGroups' });
  });
  if (eks.ray.enabled && eks.ray.gpuWorkers.maxReplicas > 0) {
    const group = eks.gpuNodeGroups[0];
    if (!group || group.maxSize === 0) {
      ctx.addIssue({ code: 'custom', path: ['ray', 'gpuWorkers', 'maxReplicas'], message: 'GPU workers need GPU capacity: add a gpuNodeGroups entry with maxSize > 0, or set maxReplicas to 0' });
    } else {
      const perNode = gpusPerInstance(group.instanceTypes[0]) ?? 0;
      if (eks.ray.gpuWorkers.gpus > perNode) {
        ctx.addIssue({ code: 'custom', path: ['ray', 'gpuWorkers', 'gpus'], message: `must not exceed the ${perNode} GPU(s) per node of gpuNodeGroups[0] (${group.instanceTypes[0]})` });
      }
    }
  }
});
export type EksConfig = z.infer<typeof eksConfig>;

const rayDefaults = (head: EksConfig['ray']['head'], maxCpuWorkers: number, maxGpuWorkers: number): EksConfig['ray'] => ({
  enabled: true,
  namespace: 'ray',
  // The head runs on the on-demand system group, so it must fit beside the add-ons there.
  head,
  cpuWorkers: { minReplicas: 0, maxReplicas: maxCpuWorkers, cpu: '2', memory: '8Gi' },
  // GPU workers start at zero everywhere: GPU nodes exist only while Ray asks for them.
  gpuWorkers: { minReplicas: 0, maxReplicas: maxGpuWorkers, cpu: '3', memory: '12Gi', gpus: 1 },
  idleTimeoutSeconds: 300,
});

/**
 * On in every stage so what is tested in dev is what staging and prod run. Cost-aware everywhere: GPU and
 * spot groups at min 0 and Ray GPU workers at 0 (nothing GPU runs while idle); only the small on-demand
 * system group is always up. prod has larger system nodes, higher GPU limits and no spot CPU group.
 * The API endpoint is private everywhere.
 */
export const eksDefaults: StageDefaults<EksConfig> = {
  dev: {
    enabled: true,
    endpointAccess: 'private',
    publicAccessCidrs: [],
    adminRoleArns: [],
    // One system node while idle (the autoscaler adds up to two more under load): no add-on redundancy in dev.
    systemNodeGroup: { instanceTypes: ['m6i.large'], minSize: 1, maxSize: 3 },
    gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.xlarge', 'g5.2xlarge'], minSize: 0, maxSize: 2, spot: false, diskSizeGiB: 100 }],
    spotNodeGroup: { enabled: true, instanceTypes: ['m6i.xlarge', 'm6a.xlarge', 'm5.xlarge'], minSize: 0, maxSize: 4 },
    scaleDownUnneededMinutes: 10,
    ray: rayDefaults({ cpu: '1', memory: '4Gi' }, 4, 2),
  },
  staging: {
    enabled: true,
    endpointAccess: 'private',
    publicAccessCidrs: [],
    adminRoleArns: [],
    systemNodeGroup: { instanceTypes: ['m6i.large'], minSize: 2, maxSize: 4 },
    gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.xlarge', 'g5.2xlarge'], minSize: 0, maxSize: 4, spot: false, diskSizeGiB: 200 }],
    spotNodeGroup: { enabled: true, instanceTypes: ['m6i.xlarge', 'm6a.xlarge', 'm5.xlarge'], minSize: 0, maxSize: 8 },
    scaleDownUnneededMinutes: 10,
    ray: rayDefaults({ cpu: '1', memory: '4Gi' }, 8, 4),
  },
  prod: {
    enabled: true,
    endpointAccess: 'private',
    publicAccessCidrs: [],
    adminRoleArns: [],
    systemNodeGroup: { instanceTypes: ['m6i.xlarge'], minSize: 3, maxSize: 6 },
    gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.2xlarge', 'g5.4xlarge'], minSize: 0, maxSize: 8, spot: false, diskSizeGiB: 200 }],
    spotNodeGroup: { enabled: false, instanceTypes: ['m6i.xlarge', 'm6a.xlarge', 'm5.xlarge'], minSize: 0, maxSize: 8 },
    scaleDownUnneededMinutes: 15,
    ray: rayDefaults({ cpu: '2', memory: '8Gi' }, 16, 8),
  },
};
