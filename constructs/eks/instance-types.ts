/**
 * Facts about EC2 instance types that EKS node groups and Ray worker groups need at synth time: which
 * families are known, how many NVIDIA GPUs a size has, and the accelerator label value the nodes carry.
 * Kept as data (not lookups) so synth works offline and bad types fail before deploy.
 */

/** NVIDIA GPU families, with the accelerator name used for the `k8s.amazonaws.com/accelerator` label. */
export const GPU_FAMILIES: Readonly<Record<string, { readonly accelerator: string; readonly gpusBySize: Readonly<Record<string, number>> }>> = {
  g4dn: { accelerator: 'nvidia-tesla-t4', gpusBySize: { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, metal: 8 } },
  g5: { accelerator: 'nvidia-a10g', gpusBySize: { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, '24xlarge': 4, '48xlarge': 8 } },
  g6: { accelerator: 'nvidia-l4', gpusBySize: { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, '24xlarge': 4, '48xlarge': 8 } },
  g6e: { accelerator: 'nvidia-l40s', gpusBySize: { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, '24xlarge': 4, '48xlarge': 8 } },
  p3: { accelerator: 'nvidia-tesla-v100', gpusBySize: { '2xlarge': 1, '8xlarge': 4, '16xlarge': 8 } },
  p4d: { accelerator: 'nvidia-tesla-a100', gpusBySize: { '24xlarge': 8 } },
  p4de: { accelerator: 'nvidia-tesla-a100', gpusBySize: { '24xlarge': 8 } },
  p5: { accelerator: 'nvidia-h100', gpusBySize: { '4xlarge': 1, '48xlarge': 8 } },
  p5e: { accelerator: 'nvidia-h200', gpusBySize: { '48xlarge': 8 } },
  p5en: { accelerator: 'nvidia-h200', gpusBySize: { '48xlarge': 8 } },
};

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
  return `a GPU instance type of a known family (${Object.keys(GPU_FAMILIES).join(', ')}) with a valid size, e.g. g5.xlarge`;
}

/** Human-readable hint for CPU node group instance types, for error messages. */
export function cpuTypesHint(): string {
  return `an x86_64 instance type of a known family (${CPU_FAMILIES.join(', ')}), e.g. m6i.large`;
}
