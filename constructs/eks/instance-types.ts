/**
 * Facts about EC2 instance types that EKS node groups and Ray worker groups need at synth time: which
 * families are known, how many NVIDIA GPUs a size has, and the accelerator label value the nodes carry.
 * Kept as data (not lookups) so synth works offline and bad types fail before deploy.
 */
import { GPU_FAMILIES, WHOLE_GPU_FAMILIES } from '../core/gpu-families';

export { GPU_FAMILIES } from '../core/gpu-families';

/**
 * x86_64 general purpose, compute and memory optimized families accepted for CPU node groups (the
 * AL2023_x86_64_STANDARD AMI): Graviton families would need the ARM AMI type.
 */
export const CPU_FAMILIES: readonly string[] = [
  't3', 't3a', 'm5', 'm5a', 'm5n', 'm6i', 'm6a', 'm6in', 'm7i', 'm7i-flex', 'm7a', 'm8i',
  'c5', 'c5a', 'c5n', 'c6i', 'c6a', 'c6in', 'c7i', 'c7i-flex', 'c7a', 'c8i',
  'r5', 'r5a', 'r5n', 'r6i', 'r6a', 'r7i', 'r7a', 'r8i',
];

const SHAPE = /^([a-z][a-z0-9-]*)\.([a-z0-9]+)$/;

/** Splits `g5.xlarge` into family and size; undefined when the string is not shaped like an instance type. */
export function parseInstanceType(type: string): { family: string; size: string } | undefined {
  const m = SHAPE.exec(type);
  return m ? { family: m[1], size: m[2] } : undefined;
}

/** NVIDIA GPUs of an instance type, or undefined when it is not a known GPU type. */
export function gpusPerInstance(type: string): number | undefined {
  const parsed = parseInstanceType(type);
  if (!parsed) return undefined;
  return GPU_FAMILIES[parsed.family]?.gpusBySize[parsed.size];
}

/** Accelerator label value (`k8s.amazonaws.com/accelerator`) of a GPU instance type. */
export function acceleratorOf(type: string): string | undefined {
  const parsed = parseInstanceType(type);
  return parsed ? GPU_FAMILIES[parsed.family]?.accelerator : undefined;
}

/** True when the type belongs to a known x86_64 CPU family. */
export function isCpuInstanceType(type: string): boolean {
  const parsed = parseInstanceType(type);
  return parsed !== undefined && CPU_FAMILIES.includes(parsed.family);
}

/** Human-readable list of the accepted GPU instance types, for error messages. */
export function gpuTypesHint(): string {
  return `a GPU instance type of a known family (${WHOLE_GPU_FAMILIES.join(', ')}) with a valid size, e.g. g5.xlarge`;
}

/** Human-readable hint for CPU node group instance types, for error messages. */
export function cpuTypesHint(): string {
  return `an x86_64 instance type of a known family (${CPU_FAMILIES.join(', ')}), e.g. m6i.large`;
}

/**
 * GPU types meant for multi-node training over EFA (400-3200 Gbps). Without EFA interfaces in the launch template,
 * the EFA device plugin and a cluster placement group, NCCL falls back to TCP over the ENA network and these
 * instances lose most of what they cost for; the node groups here set none of that up, so they are refused.
 */
export const EFA_TRAINING_TYPES: readonly string[] = ['p4d.24xlarge', 'p4de.24xlarge', 'p5.48xlarge', 'p5e.48xlarge', 'p5en.48xlarge', 'p6-b200.48xlarge', 'p6-b300.48xlarge'];

/** Why an EFA training type is refused, for error messages. */
export const EFA_REFUSAL = 'is an EFA training instance (p4d/p4de/p5/p6 8-GPU sizes): these node groups have no EFA interfaces, EFA device plugin '
  + 'or cluster placement group, so multi-node NCCL would fall back to TCP; use g5/g6/g6e/g7e (or p5.4xlarge) here, or SageMaker training for p4d/p5/p6';

/** True when the type needs EFA to be worth running (see {@link EFA_TRAINING_TYPES}). */
export function needsEfa(type: string): boolean {
  return EFA_TRAINING_TYPES.includes(type);
}

const VCPUS_BY_SIZE: Readonly<Record<string, number>> = {
  medium: 2, large: 2, xlarge: 4, '2xlarge': 8, '4xlarge': 16, '8xlarge': 32, '12xlarge': 48, '16xlarge': 64, '24xlarge': 96, '32xlarge': 128, '48xlarge': 192,
};
/** GiB of memory per vCPU by family letter (general purpose 4, compute 2, memory 8). */
const GIB_PER_VCPU: Readonly<Record<string, number>> = { m: 4, t: 4, c: 2, r: 8 };

/** vCPUs and memory (GiB) of a known x86 CPU instance type, or undefined. */
export function cpuInstanceResources(type: string): { vcpus: number; memoryGiB: number } | undefined {
  const parsed = parseInstanceType(type);
  if (!parsed || !isCpuInstanceType(type)) return undefined;
  const vcpus = VCPUS_BY_SIZE[parsed.size];
  if (vcpus === undefined) return undefined;
  // t3.medium is the one burstable size with 2 GiB per vCPU.
  const perVcpu = parsed.family.startsWith('t') && parsed.size === 'medium' ? 2 : GIB_PER_VCPU[parsed.family[0]] ?? 4;
  return { vcpus, memoryGiB: vcpus * perVcpu };
}

/**
 * What a node has left for pods, roughly: EKS AL2023 reserves CPU (about 6% of the first core and less of the
 * rest) and memory (kube-reserved 255 MiB + 11 MiB per pod, plus 100 MiB eviction threshold), and every node runs
 * the DaemonSets (VPC CNI, kube-proxy, Pod Identity agent, CloudWatch agent, node exporter): 0.5 vCPU and 1 GiB
 * are set aside for those.
 */
export function podCapacity(type: string): { cpu: number; memoryGiB: number } | undefined {
  const r = cpuInstanceResources(type);
  if (!r) return undefined;
  const reservedCpu = 0.06 + 0.01 + Math.max(0, r.vcpus - 2) * 0.0025;
  const reservedMemGiB = (255 + 11 * Math.min(110, r.vcpus * 15) + 100) / 1024;
  return { cpu: r.vcpus - reservedCpu - 0.5, memoryGiB: r.memoryGiB - reservedMemGiB - 1 };
}

/** Parses a Kubernetes CPU quantity (`500m`, `2`) to cores. */
export function cpuCores(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
}

/** Parses a Kubernetes memory quantity (`512Mi`, `8Gi`, `1G`) to GiB. */
export function memoryGiB(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(quantity);
  if (!m) return NaN;
  const factor: Record<string, number> = { Ki: 2 ** -20, Mi: 2 ** -10, Gi: 1, Ti: 1024, K: 1e3 / 2 ** 30, M: 1e6 / 2 ** 30, G: 1e9 / 2 ** 30, T: 1e12 / 2 ** 30 };
  return Number(m[1]) * (m[2] ? factor[m[2]] : 1 / 2 ** 30);
}
