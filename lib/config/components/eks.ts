import { z } from 'zod';
import {
  cpuCores, cpuTypesHint, EFA_REFUSAL, gpusPerInstance, gpuTypesHint, isCpuInstanceType, memoryGiB, needsEfa, podCapacity,
} from '../../../constructs/eks/instance-types';
import { intRange, modelPackageArn, resourceName, roleArn, type StageDefaults } from '../common';

const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, { error: 'must be an IPv4 CIDR such as 203.0.113.0/24' });

const cpuInstanceType = z.string().refine(isCpuInstanceType, { error: `must be ${cpuTypesHint()}` });
const gpuInstanceType = z.string().refine((t) => gpusPerInstance(t) !== undefined, { error: `must be ${gpuTypesHint()}` })
  .refine((t) => !needsEfa(t), { error: EFA_REFUSAL });

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

export const workerNodeGroupConfig = z.strictObject({
  /** Create a CPU worker group for Ray CPU workers and batch work (they stay off the system group). */
  enabled: z.boolean(),
  /** Spot capacity (cheap, interruptible) or on-demand. */
  spot: z.boolean(),
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

const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'must be a Kubernetes name: lowercase letters, digits and hyphens, starting and ending with a letter or digit' })
  .max(50, { error: 'must be at most 50 characters (KubeRay appends suffixes to it)' });
const cron = z.string().regex(/^\S+(\s+\S+){4}$/, { error: 'must be a five-field cron expression (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"' });

/** A named RayJob on a Ray cluster of its own (GPU workers from zero, deleted afterwards); scheduled with `schedule`. */
export const rayJobConfig = z.strictObject({
  name: k8sName,
  /** Command the driver runs on the head, e.g. `python train.py --epochs 3`. */
  entrypoint: z.string().min(1, { error: 'must be a command such as "python train.py"' }),
  /** Code: an `s3://…/code.zip` (in the artifacts bucket, which the Ray role reads) or `https://…` zip. */
  workingDir: z.string().regex(/^(s3|https):\/\/\S+\.zip$/, { error: 'must be an s3:// or https:// URL of a .zip' }).optional(),
  /** Pinned pip packages of the job's runtime environment, e.g. `torch==2.9.0`. */
  pip: z.array(z.string().regex(/^[A-Za-z0-9_.\-\[\],]+==[\w.+-]+$/, { error: 'must be a pinned requirement such as torch==2.9.0' })).default([]),
  /** Cron schedule: a RayCronJob creates the RayJob on every tick. Left out: one run at deploy time. */
  schedule: cron.optional(),
  /** IANA time zone of the schedule. */
  timeZone: z.string().regex(/^[A-Za-z]+(\/[A-Za-z0-9_+-]+)*$/, { error: 'must be an IANA time zone such as Europe/Berlin' }).optional(),
  /** CPU and GPU workers the job's cluster may grow to (sizes from eks.ray.cpuWorkers/gpuWorkers). */
  maxCpuWorkers: intRange(0, 1000, ' workers').default(2),
  maxGpuWorkers: intRange(0, 1000, ' workers').default(0),
  /** Seconds the job may run. */
  activeDeadlineSeconds: intRange(60, 2592000, ' seconds').default(86400),
});

/** A named RayService serving an ONNX model from the artifacts bucket (the reference model until one is written there). */
export const rayServiceConfig = z.strictObject({
  name: k8sName,
  /** Key of the .onnx file in the artifacts bucket. */
  modelS3Key: z.string().regex(/^[\w!\-.*'()/]{1,1024}\.onnx$/, { error: 'must be an S3 key ending in .onnx' }).default('models/reference/model.onnx'),
  /** Upload the repository's reference model there when the key is empty. */
  seedReferenceModel: z.boolean().default(true),
  /** Share of successful predictions sampled to the data lake for drift detection (0: no capture). */
  captureSamplingPercent: intRange(0, 100, ' percent').default(10),
  /** The model package this service serves (its drift baseline; its captures are partitioned by it). Update it with modelS3Key. */
  modelPackageArn: modelPackageArn.optional(),
  minReplicas: intRange(1, 100, ' replicas').default(1),
  maxReplicas: intRange(1, 100, ' replicas').default(2),
  /** Behind an internal NLB reachable from the VPC (otherwise ClusterIP + port-forward). */
  internalLoadBalancer: z.boolean().default(true),
  /** GCS fault tolerance: `host:port` of a Redis (e.g. ElastiCache with TLS) and the Kubernetes secret with its password. */
  gcsFaultTolerance: z.strictObject({
    redisAddress: z.string().regex(/^(rediss?:\/\/)?[\w.-]+:\d{2,5}$/, { error: 'must be host:port, e.g. rediss://master.ray-gcs.abc123.euw1.cache.amazonaws.com:6379' }),
    passwordSecretName: k8sName.optional(),
    passwordSecretKey: z.string().default('password'),
  }).optional(),
}).superRefine((s, ctx) => {
  if (s.minReplicas > s.maxReplicas) ctx.addIssue({ code: 'custom', path: ['minReplicas'], message: `must not exceed maxReplicas (${s.maxReplicas})` });
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
  /** Named RayJobs (one-off) and RayCronJobs (with `schedule`). */
  jobs: z.array(rayJobConfig).default([]),
  /** Named RayServices serving ONNX models. */
  services: z.array(rayServiceConfig).default([]),
  /** Gang scheduling of multi-worker Ray clusters with Volcano (KubeRay batch scheduler). */
  gangScheduling: z.boolean().default(false),
  /**
   * A DaemonSet on every GPU node that pulls the Ray GPU image as soon as the node joins (before the NVIDIA device
   * plugin has advertised its GPUs and the Ray worker can be scheduled) and keeps it from image garbage collection.
   */
  prePullGpuImage: z.boolean().default(true),
}).superRefine((ray, ctx) => {
  const seen = new Set(['default']);
  const named = [...ray.jobs.map((j, i) => ['jobs', i, j.name] as const), ...ray.services.map((x, i) => ['services', i, x.name] as const)];
  for (const [list, i, name] of named) {
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [list, i, 'name'], message: 'must be unique among ray.jobs and ray.services and not "default" (the default RayCluster)' });
    seen.add(name);
  }
  ray.jobs.forEach((j, i) => {
    if (j.timeZone && !j.schedule) ctx.addIssue({ code: 'custom', path: ['jobs', i, 'timeZone'], message: 'needs a schedule' });
    if (j.maxGpuWorkers > 0 && ray.gpuWorkers.maxReplicas === 0) ctx.addIssue({ code: 'custom', path: ['jobs', i, 'maxGpuWorkers'], message: 'needs GPU workers: eks.ray.gpuWorkers.maxReplicas is 0' });
  });
  for (const key of ['cpuWorkers', 'gpuWorkers'] as const) {
    if (ray[key].minReplicas > ray[key].maxReplicas) {
      ctx.addIssue({ code: 'custom', path: [key, 'minReplicas'], message: `must not exceed maxReplicas (${ray[key].maxReplicas})` });
    }
  }
});

/** Karpenter settings (used with `eks.nodeProvisioner: karpenter`). */
export const karpenterConfig = z.strictObject({
  /**
   * `WhenEmpty` removes nodes without pods (Ray removes idle workers itself, so nodes empty out after
   * eks.ray.idleTimeoutSeconds); `WhenEmptyOrUnderutilized` also repacks pods, restarting running Ray workers.
   */
  consolidationPolicy: z.enum(['WhenEmpty', 'WhenEmptyOrUnderutilized'], { error: 'must be "WhenEmpty" or "WhenEmptyOrUnderutilized"' }),
  /** Pools with `spot: true` fall back to on-demand when spot has no capacity (Karpenter tries spot first). */
  onDemandFallback: z.boolean(),
  /** AL2023 EKS AMI release of Karpenter nodes: `latest` (nodes drift to new releases) or a pinned `vYYYYMMDD`. */
  amiVersion: z.string().regex(/^(latest|v\d{8})$/, { error: 'must be "latest" or an AL2023 EKS AMI release such as v20251120' }),
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
  /**
   * Make the CDK bootstrap deploy role (`cdk-hnb659fds-deploy-role-<account>-<region>`) a cluster admin, so whoever
   * can deploy the platform reaches the cluster. The cluster needs at least one admin: this or adminRoleArns.
   */
  deployRoleAdmin: z.boolean(),
  /** IAM roles with read-only access to the whole cluster (AmazonEKSViewPolicy), e.g. on-call. */
  viewerRoleArns: z.array(roleArn),
  /**
   * IAM roles of data scientists: submit and manage RayJobs, RayCronJobs, RayClusters and RayServices in the Ray
   * namespace, read its pods and logs, port-forward to dashboards — nothing outside that namespace.
   */
  rayUserRoleArns: z.array(roleArn),

  /** Small on-demand group for add-ons and Ray heads. */
  systemNodeGroup: systemNodeGroupConfig,
  /** GPU managed node groups (AL2023 NVIDIA AMI, tainted nvidia.com/gpu=true:NoSchedule). minSize 0 scales to zero. */
  gpuNodeGroups: z.array(gpuNodeGroupConfig),
  /** CPU worker group (spot or on-demand) for Ray CPU workers. */
  workerNodeGroup: workerNodeGroupConfig,
  /** Minutes a node must be unneeded before it is removed (how fast GPUs go back to zero): Cluster Autoscaler scale-down, Karpenter consolidateAfter. */
  scaleDownUnneededMinutes: intRange(1, 1440, ' minutes'),
  /**
   * Who adds and removes nodes. `cluster-autoscaler`: gpuNodeGroups and workerNodeGroup are EKS managed node groups
   * the Cluster Autoscaler resizes. `karpenter`: they become Karpenter NodePools with the same names, labels, taints
   * and maxSize limits (no minimum), and only the system group is a managed node group, kept at its minSize.
   */
  nodeProvisioner: z.enum(['cluster-autoscaler', 'karpenter'], { error: 'must be "cluster-autoscaler" or "karpenter"' }),
  /** Karpenter settings (with nodeProvisioner: karpenter). */
  karpenter: karpenterConfig,
  /** KubeRay operator and default RayCluster. */
  ray: rayConfig,
  /**
   * ECR pull-through cache for Docker Hub (the Ray images): a Secrets Manager secret `ecr-pullthroughcache/…` with
   * Docker Hub credentials. Ray pods then pull from ECR in the region instead of Docker Hub through the NAT.
   */
  dockerHubCacheCredentialArn: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ecr-pullthroughcache\/[\w/+=.@-]+$/, {
    error: 'must be a Secrets Manager secret ARN whose name starts with ecr-pullthroughcache/',
  }).optional(),
}).superRefine((eks, ctx) => {
  if (eks.endpointAccess === 'public-and-private' && eks.publicAccessCidrs.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['publicAccessCidrs'], message: 'a public-and-private endpoint needs at least one allowed CIDR (0.0.0.0/0 is not allowed)' });
  }
  eks.publicAccessCidrs.forEach((range, i) => {
    if (range.endsWith('/0')) ctx.addIssue({ code: 'custom', path: ['publicAccessCidrs', i], message: 'must not open the API to the whole internet' });
  });
  if (eks.enabled && eks.adminRoleArns.length === 0 && !eks.deployRoleAdmin) {
    ctx.addIssue({ code: 'custom', path: ['adminRoleArns'], message: 'the cluster needs at least one admin (its creator gets no access): list a role ARN or set eks.deployRoleAdmin: true' });
  }
  const karpenter = eks.nodeProvisioner === 'karpenter';
  if (eks.ray.enabled) {
    // The head and its autoscaler sidecar run on one system node beside the DaemonSets (and, with Karpenter, a controller replica).
    const type = eks.systemNodeGroup.instanceTypes[0];
    const room = podCapacity(type);
    const cpu = cpuCores(eks.ray.head.cpu) + 0.5 + (karpenter ? 0.25 : 0);
    const mem = memoryGiB(eks.ray.head.memory) + 0.5 + (karpenter ? 0.5 : 0);
    if (room && (cpu > room.cpu || mem > room.memoryGiB)) {
      ctx.addIssue({
        code: 'custom', path: ['systemNodeGroup', 'instanceTypes', 0],
        message: `has room for about ${room.cpu.toFixed(2)} vCPU / ${room.memoryGiB.toFixed(1)} GiB of pods per node after system reservations and DaemonSets, `
          + `but the Ray head (eks.ray.head ${eks.ray.head.cpu} CPU / ${eks.ray.head.memory}) plus its autoscaler sidecar (500m / 512Mi)`
          + `${karpenter ? ' and a Karpenter controller (250m / 512Mi)' : ''} needs ${cpu} vCPU / ${mem.toFixed(1)} GiB: `
          + 'use a larger type (e.g. m6i.xlarge) or a smaller head',
      });
    }
  }
  if (karpenter) {
    const noMinimum = 'must be 0 with eks.nodeProvisioner: karpenter (Karpenter launches nodes for pending pods and keeps no minimum; use cluster-autoscaler to keep nodes warm)';
    eks.gpuNodeGroups.forEach((g, i) => {
      if (g.minSize > 0) ctx.addIssue({ code: 'custom', path: ['gpuNodeGroups', i, 'minSize'], message: noMinimum });
    });
    if (eks.workerNodeGroup.enabled && eks.workerNodeGroup.minSize > 0) ctx.addIssue({ code: 'custom', path: ['workerNodeGroup', 'minSize'], message: noMinimum });
  }
  const names = eks.gpuNodeGroups.map((g) => g.name);
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: ['gpuNodeGroups', i, 'name'], message: 'must be unique among gpuNodeGroups' });
    if (name === 'system' || name === 'cpu-workers') ctx.addIssue({ code: 'custom', path: ['gpuNodeGroups', i, 'name'], message: 'must differ from "system" and "cpu-workers" (the labels of the system and CPU worker groups)' });
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

/**
 * The Cluster Autoscaler on managed node groups everywhere by default; Karpenter is one key away, with settings that
 * keep running Ray work undisturbed (only empty nodes removed) and spot pools able to fall back to on-demand.
 */
const provisioner = {
  nodeProvisioner: 'cluster-autoscaler',
  karpenter: { consolidationPolicy: 'WhenEmpty', onDemandFallback: true, amiVersion: 'latest' },
} satisfies Partial<EksConfig>;

/** Admin through the CDK deploy role until a stage lists its own roles. */
const access = { adminRoleArns: [], deployRoleAdmin: true, viewerRoleArns: [], rayUserRoleArns: [] } satisfies Partial<EksConfig>;

const rayDefaults = (head: EksConfig['ray']['head'], maxCpuWorkers: number, maxGpuWorkers: number): EksConfig['ray'] => ({
  enabled: true,
  namespace: 'ray',
  // The head runs on the on-demand system group, so it must fit beside the add-ons there.
  head,
  cpuWorkers: { minReplicas: 0, maxReplicas: maxCpuWorkers, cpu: '2', memory: '8Gi' },
  // GPU workers start at zero everywhere: GPU nodes exist only while Ray asks for them.
  gpuWorkers: { minReplicas: 0, maxReplicas: maxGpuWorkers, cpu: '3', memory: '12Gi', gpus: 1 },
  idleTimeoutSeconds: 300,
  jobs: [],
  services: [],
  gangScheduling: false,
  prePullGpuImage: true,
});

/** The reference ONNX model served by Ray Serve behind an internal load balancer (dev): proves the serving path end to end. */
const referenceService: EksConfig['ray']['services'][number] = {
  name: 'reference-model', modelS3Key: 'models/reference/model.onnx', seedReferenceModel: true, captureSamplingPercent: 10, minReplicas: 1, maxReplicas: 2, internalLoadBalancer: true,
};

/**
 * On in every stage so what is tested in dev is what staging and prod run. Cost-aware everywhere: GPU and
 * spot groups at min 0 and Ray GPU workers at 0 (nothing GPU runs while idle); only the small on-demand
 * system group is always up. prod has larger GPU nodes, higher limits and on-demand CPU workers.
 * The API endpoint is private everywhere.
 */
export const eksDefaults: StageDefaults<EksConfig> = {
  dev: {
    enabled: true,
    endpointAccess: 'private',
    publicAccessCidrs: [],
    ...access,
    // One system node while idle (the autoscaler adds up to two more under load): no add-on redundancy in dev.
    systemNodeGroup: { instanceTypes: ['m6i.large'], minSize: 1, maxSize: 3 },
    gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.xlarge', 'g5.2xlarge'], minSize: 0, maxSize: 2, spot: false, diskSizeGiB: 100 }],
    workerNodeGroup: { enabled: true, spot: true, instanceTypes: ['m6i.xlarge', 'm6a.xlarge', 'm5.xlarge'], minSize: 0, maxSize: 4 },
    scaleDownUnneededMinutes: 10,
    ...provisioner,
    // The head (and its autoscaler sidecar) must fit an m6i.large beside the DaemonSets; config checks it.
    ray: { ...rayDefaults({ cpu: '500m', memory: '2Gi' }, 4, 2), services: [referenceService] },
  },
  staging: {
    enabled: true,
    endpointAccess: 'private',
    publicAccessCidrs: [],
    ...access,
    systemNodeGroup: { instanceTypes: ['m6i.large'], minSize: 2, maxSize: 4 },
    gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.xlarge', 'g5.2xlarge'], minSize: 0, maxSize: 4, spot: false, diskSizeGiB: 200 }],
    workerNodeGroup: { enabled: true, spot: true, instanceTypes: ['m6i.xlarge', 'm6a.xlarge', 'm5.xlarge'], minSize: 0, maxSize: 8 },
    scaleDownUnneededMinutes: 10,
    ...provisioner,
    ray: rayDefaults({ cpu: '500m', memory: '2Gi' }, 8, 4),
  },
  prod: {
    enabled: true,
    endpointAccess: 'private',
    publicAccessCidrs: [],
    ...access,
    systemNodeGroup: { instanceTypes: ['m6i.xlarge'], minSize: 3, maxSize: 6 },
    gpuNodeGroups: [{ name: 'gpu-g5', instanceTypes: ['g5.2xlarge', 'g5.4xlarge'], minSize: 0, maxSize: 8, spot: false, diskSizeGiB: 200 }],
    workerNodeGroup: { enabled: true, spot: false, instanceTypes: ['m6i.xlarge', 'm6a.xlarge', 'm5.xlarge'], minSize: 0, maxSize: 8 },
    scaleDownUnneededMinutes: 15,
    ...provisioner,
    ray: rayDefaults({ cpu: '2', memory: '8Gi' }, 16, 8),
  },
};

/** Rules between `eks` and other components. */
export function eksCrossProblems(c: { eks: EksConfig; network: { natGateways: number }; pipelines: { enabled: boolean; training: { backend: string } } }): string[] {
  const p: string[] = [];
  if (c.pipelines.enabled && c.pipelines.training.backend === 'ray' && !(c.eks.enabled && c.eks.ray.enabled)) {
    p.push('pipelines.training.backend: "ray" — needs eks.enabled and eks.ray.enabled (the pipeline runs a RayJob on this stage\'s cluster); switch them on or use "sagemaker"');
  }
  if (c.eks.enabled && c.network.natGateways === 0) {
    p.push('eks.enabled: true — needs network.natGateways >= 1: with 0 the cluster runs in isolated subnets, where nodes cannot pull the Helm '
      + 'charts (Helm repositories), the images (Docker Hub, registry.k8s.io, nvcr.io) or reach the EKS, STS, EC2 and Auto Scaling APIs the '
      + 'nodes, Pod Identity agent and Cluster Autoscaler call; set network.natGateways to 1 or more, or eks.enabled: false');
  }
  return p;
}
