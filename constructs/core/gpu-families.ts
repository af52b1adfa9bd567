/**
 * The one list of NVIDIA GPU instance families the platform runs on, shared by GPU boxes (`GpuInstance`) and EKS GPU
 * node groups (`TrainingCluster`), with the facts Kubernetes scheduling needs. Current x86_64 families only:
 * Graviton `g5g` needs arm64 images, and `p3` (V100) is no longer supported by the current NVIDIA drivers of the Deep
 * Learning AMIs and the EKS AL2023 NVIDIA AMIs.
 */

/** What the platform knows about one GPU family. */
export interface GpuFamilyFacts {
  /** Value of the `k8s.amazonaws.com/accelerator` node label. */
  readonly accelerator: string;
  /**
   * Whole NVIDIA GPUs by instance size. Empty for fractional-GPU families (`g6f`, `gr6f`: a slice of one L4), which a
   * GPU box can use but a Kubernetes GPU node group cannot (the device plugin schedules whole GPUs).
   */
  readonly gpusBySize: Readonly<Record<string, number>>;
}

const L4_SIZES = { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, '24xlarge': 4, '48xlarge': 8 };

export const GPU_FAMILIES: Readonly<Record<string, GpuFamilyFacts>> = {
  g4dn: { accelerator: 'nvidia-tesla-t4', gpusBySize: { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, metal: 8 } },
  g5: { accelerator: 'nvidia-a10g', gpusBySize: { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, '24xlarge': 4, '48xlarge': 8 } },
  g6: { accelerator: 'nvidia-l4', gpusBySize: L4_SIZES },
  g6e: { accelerator: 'nvidia-l40s', gpusBySize: { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, '24xlarge': 4, '48xlarge': 8 } },
  g6f: { accelerator: 'nvidia-l4', gpusBySize: {} },
  gr6: { accelerator: 'nvidia-l4', gpusBySize: { '4xlarge': 1, '8xlarge': 1 } },
  gr6f: { accelerator: 'nvidia-l4', gpusBySize: {} },
  // GPU counts of g7 sizes are not recorded here yet: GPU boxes only until they are.
  g7: { accelerator: 'nvidia-blackwell', gpusBySize: {} },
  g7e: { accelerator: 'nvidia-rtx-pro-6000', gpusBySize: { '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '12xlarge': 2, '24xlarge': 4, '48xlarge': 8 } },
  p4d: { accelerator: 'nvidia-tesla-a100', gpusBySize: { '24xlarge': 8 } },
  p4de: { accelerator: 'nvidia-tesla-a100', gpusBySize: { '24xlarge': 8 } },
  p5: { accelerator: 'nvidia-h100', gpusBySize: { '4xlarge': 1, '48xlarge': 8 } },
  p5e: { accelerator: 'nvidia-h200', gpusBySize: { '48xlarge': 8 } },
  p5en: { accelerator: 'nvidia-h200', gpusBySize: { '48xlarge': 8 } },
  'p6-b200': { accelerator: 'nvidia-b200', gpusBySize: { '48xlarge': 8 } },
  'p6-b300': { accelerator: 'nvidia-b300', gpusBySize: { '48xlarge': 8 } },
};

/** Families whose sizes have whole GPUs: what EKS GPU node groups accept. */
export const WHOLE_GPU_FAMILIES: readonly string[] = Object.keys(GPU_FAMILIES).filter((f) => Object.keys(GPU_FAMILIES[f].gpusBySize).length > 0);
