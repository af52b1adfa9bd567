import { type PropsValidator } from '../../core/validation';
import { checkK8sName } from '../addons/helm-add-on';
import { type GpuCapacity } from '../training-cluster';

/** Ray release the builders pin; the images below carry exactly this version. */
export const RAY_VERSION = '2.57.0';
/** Pinned Ray image for heads and CPU workers (Python 3.11). */
export const RAY_IMAGE = `rayproject/ray:${RAY_VERSION}-py311`;
/** Pinned Ray image with CUDA for GPU workers. */
export const RAY_GPU_IMAGE = `rayproject/ray:${RAY_VERSION}-py311-gpu`;

/** Ray head pod settings. */
export interface RayHeadOptions {
  /** CPU request and limit, e.g. `2` or `1500m`. */
  readonly cpu: string;
  /** Memory request and limit, e.g. `8Gi`. */
  readonly memory: string;
  /** Node labels the head must run on (e.g. the system node group). @default - none */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Logical CPUs Ray schedules on the head; 0 keeps tasks on workers. @default 0 */
  readonly numCpus?: number;
  /**
   * Environment of the head container, e.g. `RayObservability.rayHeadEnv` to wire the Ray dashboard to
   * Prometheus and Grafana.
   * @default - none
   */
  readonly env?: Readonly<Record<string, string>>;
}

/** One Ray worker group: CPU-only, or GPU when `gpus` > 0. */
export interface RayWorkerGroupOptions {
  /** Group name (Kubernetes name rules), unique in the cluster. */
  readonly groupName: string;
  /** Workers the Ray autoscaler keeps at least. @default 0 */
  readonly minReplicas?: number;
  /** Workers the Ray autoscaler may start. */
  readonly maxReplicas: number;
  /** Workers at creation. @default - minReplicas */
  readonly replicas?: number;
  /** CPU request and limit per worker, e.g. `4`. */
  readonly cpu: string;
  /** Memory request and limit per worker, e.g. `16Gi`. */
  readonly memory: string;
  /** NVIDIA GPUs per worker (`nvidia.com/gpu` limit, Ray `num-gpus`). Needs `gpuCapacity`. @default 0 */
  readonly gpus?: number;
  /** The GPU node group the workers run on (from `TrainingCluster.gpuCapacityOf`). Required when `gpus` > 0. @default - none */
  readonly gpuCapacity?: GpuCapacity;
  /** Node labels for CPU workers (e.g. the spot group). Ignored for GPU workers, which select their GPU group. @default - none */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Image override. @default RAY_IMAGE, or RAY_GPU_IMAGE for GPU workers */
  readonly image?: string;
}

/** Files from a ConfigMap, mounted read-only into the head and every worker (e.g. a Serve app or a training script). */
export interface RayCodeMount {
  /** ConfigMap name (in the object's namespace). */
  readonly configMapName: string;
  /** Directory the files appear in, e.g. `/home/ray/app`. */
  readonly mountPath: string;
}

/** A key of a Kubernetes secret in the object's namespace. */
export interface SecretKeySelector {
  /** Secret name. */
  readonly name: string;
  /** Key within the secret. */
  readonly key: string;
}

/**
 * GCS fault tolerance: the head keeps cluster metadata in an external Redis, so a restarted head recovers its
 * actors, jobs and Serve applications instead of the whole cluster starting over (KubeRay `gcsFaultToleranceOptions`).
 */
export interface GcsFaultToleranceOptions {
  /** `host:port` of the Redis, e.g. an ElastiCache primary endpoint with in-transit encryption (`rediss://host:6379`). */
  readonly redisAddress: string;
  /** Kubernetes secret (same namespace) holding the Redis password. @default - no password */
  readonly redisPasswordSecret?: SecretKeySelector;
}

/** A whole Ray cluster spec, shared by RayCluster, RayJob (own cluster) and RayService. */
export interface RayClusterSpecOptions {
  readonly head: RayHeadOptions;
  /** @default - no workers (everything runs on the head) */
  readonly workerGroups?: RayWorkerGroupOptions[];
  /** Service account of every Ray pod (gives them AWS access through Pod Identity). @default - the namespace's default */
  readonly serviceAccountName?: string;
  /**
   * Environment of every Ray container, head and workers (e.g. `MLFLOW_TRACKING_URI`, so tasks on any pod log to
   * MLflow). The head's own `head.env` wins for a name in both.
   * @default - none
   */
  readonly podEnv?: Readonly<Record<string, string>>;
  /** Ray version the operator assumes. Must match the images. @default RAY_VERSION */
  readonly rayVersion?: string;
  /** Image of head and CPU workers. @default RAY_IMAGE */
  readonly image?: string;
  /** Image of GPU workers. @default RAY_GPU_IMAGE */
  readonly gpuImage?: string;
  /** Let the Ray autoscaler add and remove workers between min and max replicas. @default true */
  readonly enableInTreeAutoscaling?: boolean;
  /** Seconds an idle worker lives before the Ray autoscaler removes it. @default 60 */
  readonly idleTimeoutSeconds?: number;
  /** @default 'Default' */
  readonly upscalingMode?: 'Default' | 'Aggressive' | 'Conservative';
  /** ConfigMaps mounted into every Ray container. @default - none */
  readonly codeMounts?: RayCodeMount[];
  /** Extra containers of the head pod, sharing its `/tmp/ray` volume (e.g. the Grafana dashboard publisher). @default - none */
  readonly headSidecars?: Record<string, unknown>[];
  /** External Redis for GCS fault tolerance. @default - none: the head keeps GCS state in memory */
  readonly gcsFaultTolerance?: GcsFaultToleranceOptions;
}

const CPU = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$/;
const PINNED_IMAGE = /^[\w.\-/:]+:[\w][\w.-]{0,127}(@sha256:[a-f0-9]{64})?$/;

function checkResources(v: PropsValidator, prop: string, cpu: string, memory: string): void {
  v.check(CPU.test(cpu) && !/^0+(\.0+)?m?$/.test(cpu), `${prop}.cpu`, cpu, 'must be a positive CPU quantity such as 500m or 2 (no negative or zero values)');
  v.check(MEMORY.test(memory) && !/^0+(\.0+)?[A-Za-z]*$/.test(memory), `${prop}.memory`, memory, 'must be a positive memory quantity such as 512Mi or 8Gi (no negative or zero values)');
}

function checkImage(v: PropsValidator, prop: string, image: string): void {
  v.check(PINNED_IMAGE.test(image) && !/:latest$/.test(image) && !/:nightly/.test(image), prop, image,
    'must be an image with a pinned tag such as rayproject/ray:2.57.0-py311 (not latest or nightly)');
}

/** Validates a RayClusterSpecOptions, recording problems as `<prefix>.<field>`. */
export function validateRayClusterSpec(v: PropsValidator, prefix: string, o: RayClusterSpecOptions): void {
  checkResources(v, `${prefix}.head`, o.head.cpu, o.head.memory);
  v.intRange(`${prefix}.head.numCpus`, o.head.numCpus, 0, 1024);
  for (const name of Object.keys(o.podEnv ?? {})) {
    v.check(/^[A-Za-z_][A-Za-z0-9_]*$/.test(name), `${prefix}.podEnv`, name, 'variable names must be letters, digits and underscores, not starting with a digit');
  }
  for (const name of Object.keys(o.head.env ?? {})) {
    v.check(/^[A-Za-z_][A-Za-z0-9_]*$/.test(name), `${prefix}.head.env`, name, 'variable names must be letters, digits and underscores, not starting with a digit');
  }
  v.intRange(`${prefix}.idleTimeoutSeconds`, o.idleTimeoutSeconds, 0, 86400, 'seconds');
  if (o.serviceAccountName !== undefined) checkK8sName(v, `${prefix}.serviceAccountName`, o.serviceAccountName);
  if (o.rayVersion !== undefined) v.check(/^\d+\.\d+\.\d+$/.test(o.rayVersion), `${prefix}.rayVersion`, o.rayVersion, 'must be an exact Ray version such as 2.57.0');
  checkImage(v, `${prefix}.image`, o.image ?? RAY_IMAGE);
  checkImage(v, `${prefix}.gpuImage`, o.gpuImage ?? RAY_GPU_IMAGE);
  (o.codeMounts ?? []).forEach((m, i) => {
    checkK8sName(v, `${prefix}.codeMounts[${i}].configMapName`, m.configMapName);
    v.check(/^\/[\w./-]+$/.test(m.mountPath) && m.mountPath !== '/tmp/ray', `${prefix}.codeMounts[${i}].mountPath`, m.mountPath, 'must be an absolute path other than /tmp/ray');
  });
  if (o.gcsFaultTolerance) {
    v.check(/^(rediss?:\/\/)?[\w.-]+:\d{2,5}$/.test(o.gcsFaultTolerance.redisAddress), `${prefix}.gcsFaultTolerance.redisAddress`, o.gcsFaultTolerance.redisAddress,
      'must be host:port, optionally with redis:// or rediss://, e.g. rediss://master.ray-gcs.abc123.euw1.cache.amazonaws.com:6379');
    if (o.gcsFaultTolerance.redisPasswordSecret) checkK8sName(v, `${prefix}.gcsFaultTolerance.redisPasswordSecret.name`, o.gcsFaultTolerance.redisPasswordSecret.name);
  }
  const groups = o.workerGroups ?? [];
  groups.forEach((g, i) => {
    const p = `${prefix}.workerGroups[${i}]`;
    checkK8sName(v, `${p}.groupName`, g.groupName);
    v.check(groups.findIndex((x) => x.groupName === g.groupName) === i, `${p}.groupName`, g.groupName, 'must be unique among workerGroups');
    const min = g.minReplicas ?? 0;
    v.intRange(`${p}.minReplicas`, min, 0, 10000).intRange(`${p}.maxReplicas`, g.maxReplicas, 0, 10000);
    v.check(min <= g.maxReplicas, `${p}.minReplicas`, min, `must not exceed maxReplicas (${g.maxReplicas})`);
    if (g.replicas !== undefined) {
      v.check(Number.isInteger(g.replicas) && g.replicas >= min && g.replicas <= g.maxReplicas, `${p}.replicas`, g.replicas,
        `must be a whole number between minReplicas (${min}) and maxReplicas (${g.maxReplicas})`);
    }
    checkResources(v, p, g.cpu, g.memory);
    if (g.image !== undefined) checkImage(v, `${p}.image`, g.image);
    const gpus = g.gpus ?? 0;
    v.intRange(`${p}.gpus`, gpus, 0, 64, 'GPUs');
    if (gpus > 0) {
      const cap = g.gpuCapacity;
      v.check(cap !== undefined && cap.maxNodes > 0, `${p}.gpuCapacity`, cap?.name ?? null,
        'a GPU worker group needs GPU capacity: a GPU node group with maxSize > 0 (TrainingCluster.gpuCapacityOf(name))');
      if (cap) {
        v.check(gpus <= cap.gpusPerNode, `${p}.gpus`, gpus, `must not exceed the ${cap.gpusPerNode} GPU(s) per node of GPU node group "${cap.name}"`);
      }
    }
  });
}

type Manifest = Record<string, unknown>;

const securityContext = {
  // The Ray images run as user "ray" (uid 1000); nothing in Ray needs root or extra capabilities.
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

function container(name: string, image: string, cpu: string, memory: string, gpus: number, ports: Manifest[], o: RayClusterSpecOptions): Manifest {
  const limits: Record<string, string> = { cpu, memory, ...(gpus > 0 ? { 'nvidia.com/gpu': String(gpus) } : {}) };
  const env = Object.entries({ ...o.podEnv }).map(([n, value]) => ({ name: n, value }));
  return {
    ...(env.length > 0 ? { env } : {}),
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { ...limits }, limits },
    ...(ports.length > 0 ? { ports } : {}),
    securityContext,
    // Lets in-flight tasks finish and the node leave the cluster cleanly on scale-down.
    lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'ray stop'] } } },
    volumeMounts: [
      { name: 'ray-logs', mountPath: '/tmp/ray' },
      ...(o.codeMounts ?? []).map((m, i) => ({ name: `code-${i}`, mountPath: m.mountPath, readOnly: true })),
    ],
  };
}

function podSpec(o: RayClusterSpecOptions, containers: Manifest[], nodeSelector?: Readonly<Record<string, string>>, tolerations?: Manifest[]): Manifest {
  const serviceAccountName = o.serviceAccountName;
  return {
    ...(serviceAccountName ? { serviceAccountName } : {}),
    containers,
    volumes: [
      { name: 'ray-logs', emptyDir: {} },
      ...(o.codeMounts ?? []).map((m, i) => ({ name: `code-${i}`, configMap: { name: m.configMapName } })),
    ],
    ...(nodeSelector && Object.keys(nodeSelector).length > 0 ? { nodeSelector: { ...nodeSelector } } : {}),
    ...(tolerations ? { tolerations } : {}),
  };
}

/**
 * Renders a `ray.io/v1` RayCluster spec (also the `rayClusterSpec` of a RayJob and the `rayClusterConfig` of
 * a RayService). Call {@link validateRayClusterSpec} first.
 */
export function renderRayClusterSpec(o: RayClusterSpecOptions): Manifest {
  const image = o.image ?? RAY_IMAGE;
  const gpuImage = o.gpuImage ?? RAY_GPU_IMAGE;
  const autoscaling = o.enableInTreeAutoscaling ?? true;
  const head = container('ray-head', image, o.head.cpu, o.head.memory, 0, [
    { containerPort: 6379, name: 'gcs-server' },
    { containerPort: 8265, name: 'dashboard' },
    { containerPort: 10001, name: 'client' },
    { containerPort: 8080, name: 'metrics' },
    // Ray Serve's HTTP proxy (RayService traffic goes to <name>-serve-svc on this port).
    { containerPort: 8000, name: 'serve' },
  ], o);
  // The head's own env wins over podEnv for a name in both.
  const headEnv = Object.entries({ ...o.podEnv, ...o.head.env });
  if (headEnv.length > 0) head.env = headEnv.map(([name, value]) => ({ name, value }));
  const gcs = o.gcsFaultTolerance;
  return {
    rayVersion: o.rayVersion ?? RAY_VERSION,
    enableInTreeAutoscaling: autoscaling,
    ...(autoscaling ? {
      autoscalerOptions: {
        upscalingMode: o.upscalingMode ?? 'Default',
        idleTimeoutSeconds: o.idleTimeoutSeconds ?? 60,
        resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
      },
    } : {}),
    ...(gcs ? {
      gcsFaultToleranceOptions: {
        redisAddress: gcs.redisAddress,
        ...(gcs.redisPasswordSecret ? { redisPassword: { valueFrom: { secretKeyRef: { name: gcs.redisPasswordSecret.name, key: gcs.redisPasswordSecret.key } } } } : {}),
      },
    } : {}),
    headGroupSpec: {
      // Dashboard and client stay inside the cluster: reach them with `kubectl port-forward`.
      serviceType: 'ClusterIP',
      rayStartParams: { 'dashboard-host': '0.0.0.0', 'num-cpus': String(o.head.numCpus ?? 0) },
      template: { spec: podSpec(o, [head, ...(o.headSidecars ?? [])], o.head.nodeSelector) },
    },
    workerGroupSpecs: (o.workerGroups ?? []).map((g) => {
      const gpus = g.gpus ?? 0;
      const cap = gpus > 0 ? g.gpuCapacity : undefined;
      const worker = container('ray-worker', g.image ?? (gpus > 0 ? gpuImage : image), g.cpu, g.memory, gpus, [], o);
      const tolerations = cap ? [{ key: cap.taint.key, operator: 'Equal', value: cap.taint.value, effect: cap.taint.effect }] : undefined;
      const min = g.minReplicas ?? 0;
      return {
        groupName: g.groupName,
        replicas: g.replicas ?? min,
        minReplicas: min,
        maxReplicas: g.maxReplicas,
        rayStartParams: gpus > 0 ? { 'num-gpus': String(gpus) } : {},
        template: { spec: podSpec(o, [worker], cap ? cap.nodeSelector : g.nodeSelector, tolerations) },
      };
    }),
  };
}
