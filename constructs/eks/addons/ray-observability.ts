import * as fs from 'node:fs';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { type Construct } from 'constructs';
import { lambdaPath } from '../../core/paths';
import { type PropsValidator } from '../../core/validation';
import { checkK8sName, HelmAddOn } from './helm-add-on';

/** Label Ray pods and services carry with their node type (`head` or `worker`). */
const RAY_NODE_TYPE_LABEL = 'ray.io/node-type';

/** A persistent volume for Prometheus (needs a CSI driver and StorageClass in the cluster). */
export interface PrometheusStorageOptions {
  /** StorageClass of the volume claim, e.g. `gp3`. */
  readonly storageClassName: string;
  /** Volume size (10-16384 GiB). */
  readonly sizeGiB: number;
}

export interface RayObservabilityProps {
  /** Chart version of `kube-prometheus-stack` (prometheus-community). @default '79.0.0' */
  readonly version?: string;
  /** Namespace of Prometheus, Grafana and the Ray monitors. @default 'monitoring' */
  readonly namespace?: string;
  /** Namespaces whose Ray clusters are scraped. @default ['ray'] */
  readonly rayNamespaces?: string[];
  /** Namespace of the KubeRay operator, whose metrics are scraped too. @default 'kuberay-system' */
  readonly kubeRayNamespace?: string;
  /** Days Prometheus keeps samples (1-90). @default 7 */
  readonly retentionDays?: number;
  /** Persistent volume for Prometheus. @default - an emptyDir: samples survive container restarts, not pod rescheduling */
  readonly storage?: PrometheusStorageOptions;
  /** Node labels Prometheus, Grafana, the operator and kube-state-metrics must match (e.g. the system group). @default - none */
  readonly nodeSelector?: Record<string, string>;
  /**
   * Grafana address as the browser reaches it, for the Ray dashboard's embedded panels (RAY_GRAFANA_IFRAME_HOST).
   * @default 'http://127.0.0.1:3000' (`kubectl -n monitoring port-forward svc/grafana 3000:80`)
   */
  readonly grafanaBrowserUrl?: string;
  /**
   * GPU metrics: scrape the DCGM exporter the CloudWatch observability add-on runs on GPU nodes (service label
   * `k8s-app=dcgm-exporter-service` in `amazon-cloudwatch`) and add a "GPUs" dashboard (utilization and memory per
   * node and per Ray worker pod).
   * @default true
   */
  readonly gpuMetrics?: boolean;
  /** Service account of the Ray pods, allowed to publish Ray's dashboards as ConfigMaps in its namespace. @default 'ray' */
  readonly rayServiceAccountName?: string;
}

/** Namespace of the CloudWatch observability add-on, whose DCGM exporter serves GPU metrics. */
const CLOUDWATCH_NAMESPACE = 'amazon-cloudwatch';
/** Label Grafana's dashboard sidecar looks for (value "1", the chart's default). */
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';

/** One Grafana timeseries panel over a PromQL expression. */
function panel(id: number, title: string, expr: string, legend: string, unit: string, x: number, y: number): Record<string, unknown> {
  return {
    id, title, type: 'timeseries', datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos: { h: 8, w: 12, x, y },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: [{ refId: 'A', expr, legendFormat: legend }],
  };
}

/**
 * The "GPUs" dashboard: DCGM utilization and framebuffer memory per node (`Hostname`) and per pod in the Ray
 * namespaces (DCGM's Kubernetes mapping labels each GPU with the pod using it). Built here, not copied from elsewhere.
 */
export function gpuDashboard(rayNamespaces: string[]): Record<string, unknown> {
  const ns = rayNamespaces.join('|');
  return {
    uid: 'cdk-mlops-gpus', title: 'GPUs (DCGM)', tags: ['cdk-mlops', 'gpu', 'ray'], schemaVersion: 39, refresh: '30s',
    time: { from: 'now-3h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', current: {} }] },
    panels: [
      panel(1, 'GPU utilization per node', 'avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)', '{{Hostname}}', 'percent', 0, 0),
      panel(2, 'GPU memory used per node', 'sum by (Hostname) (DCGM_FI_DEV_FB_USED) * 1024 * 1024', '{{Hostname}}', 'bytes', 12, 0),
      panel(3, 'GPU utilization per Ray worker', `avg by (namespace, pod) (DCGM_FI_DEV_GPU_UTIL{namespace=~"${ns}"})`, '{{pod}}', 'percent', 0, 8),
      panel(4, 'GPU memory used per Ray worker', `sum by (namespace, pod) (DCGM_FI_DEV_FB_USED{namespace=~"${ns}"}) * 1024 * 1024`, '{{pod}}', 'bytes', 12, 8),
    ],
  };
}

/**
 * A sidecar for Ray heads (`RayClusterSpecOptions.headSidecars`) that publishes the dashboards Ray generates for its
 * own version as `grafana_dashboard` ConfigMaps (`lambda/ray-dashboards/publish_dashboards.py`, standard library
 * only, run with the Ray image's Python). It shares the head's `/tmp/ray` volume.
 */
export function rayDashboardPublisher(image: string): Record<string, unknown> {
  return {
    name: 'dashboard-publisher',
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['python', '-c', fs.readFileSync(lambdaPath('ray-dashboards', 'publish_dashboards.py'), 'utf8')],
    resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '100m', memory: '128Mi' } },
    securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    volumeMounts: [{ name: 'ray-logs', mountPath: '/tmp/ray', readOnly: true }],
  };
}

/**
 * Prometheus and Grafana for Ray on EKS: the `kube-prometheus-stack` chart (Prometheus operator, Prometheus,
 * Grafana, kube-state-metrics, node exporter) plus the monitors KubeRay documents — a ServiceMonitor for Ray
 * head services, a PodMonitor for Ray workers and a ServiceMonitor for the KubeRay operator.
 *
 * Everything stays inside the cluster (ClusterIP services, reached with `kubectl port-forward`), so the Ray
 * dashboard can query Prometheus and embed Grafana without request signing. Give {@link rayHeadEnv} to the
 * Ray head container: it sets `RAY_PROMETHEUS_HOST`, `RAY_GRAFANA_HOST` and `RAY_GRAFANA_IFRAME_HOST`.
 * Alertmanager is off: platform alerts go through CloudWatch alarms and the alerts topic.
 */
export class RayObservability extends HelmAddOn {
  /** Grafana's service name (the chart's Grafana `fullnameOverride`). */
  public static readonly GRAFANA_SERVICE = 'grafana';
  /** Service the Prometheus operator creates for every Prometheus it runs. */
  public static readonly PROMETHEUS_SERVICE = 'prometheus-operated';
  private readonly options: RayObservabilityProps;
  /** The Ray monitors manifest, set once installed. */
  public monitors?: eks.KubernetesManifest;

  constructor(props: RayObservabilityProps = {}) {
    super({
      name: 'ray-observability',
      chart: 'kube-prometheus-stack',
      repository: 'https://prometheus-community.github.io/helm-charts',
      version: props.version ?? '79.0.0',
      namespace: props.namespace ?? 'monitoring',
      release: 'kube-prometheus-stack',
    });
    this.options = props;
  }

  /** In-cluster Prometheus URL (what Ray's dashboard and Grafana query). */
  public get prometheusUrl(): string {
    return `http://${RayObservability.PROMETHEUS_SERVICE}.${this.props.namespace}.svc:9090`;
  }

  /** In-cluster Grafana URL. */
  public get grafanaUrl(): string {
    return `http://${RayObservability.GRAFANA_SERVICE}.${this.props.namespace}.svc:80`;
  }

  /** Environment of the Ray head container that wires the Ray dashboard to this Prometheus and Grafana. */
  public get rayHeadEnv(): Record<string, string> {
    return {
      RAY_PROMETHEUS_HOST: this.prometheusUrl,
      RAY_PROMETHEUS_NAME: 'Prometheus',
      RAY_GRAFANA_HOST: this.grafanaUrl,
      RAY_GRAFANA_IFRAME_HOST: this.options.grafanaBrowserUrl ?? 'http://127.0.0.1:3000',
    };
  }

  /** @internal */
  protected override _validate(v: PropsValidator): void {
    const o = this.options;
    (o.rayNamespaces ?? ['ray']).forEach((ns, i) => checkK8sName(v, `rayNamespaces[${i}]`, ns));
    v.check((o.rayNamespaces ?? ['ray']).length > 0, 'rayNamespaces', o.rayNamespaces, 'must list at least one namespace');
    checkK8sName(v, 'kubeRayNamespace', o.kubeRayNamespace ?? 'kuberay-system');
    v.intRange('retentionDays', o.retentionDays, 1, 90, 'days');
    if (o.storage) {
      v.intRange('storage.sizeGiB', o.storage.sizeGiB, 10, 16384, 'GiB');
      checkK8sName(v, 'storage.storageClassName', o.storage.storageClassName);
    }
    v.check(/^https?:\/\/[^\s/]+(\/\S*)?$/.test(o.grafanaBrowserUrl ?? 'http://127.0.0.1:3000'), 'grafanaBrowserUrl', o.grafanaBrowserUrl,
      'must be an http(s) URL such as http://127.0.0.1:3000');
  }

  protected override installResources(scope: Construct, cluster: eks.ICluster): Construct {
    const chart = this.installChart(scope, cluster);
    this.monitors = new eks.KubernetesManifest(scope, 'RayMonitors', {
      cluster,
      manifest: this.monitorManifests(),
      skipValidation: false,
    });
    // The monitors are custom resources whose CRDs the chart installs.
    this.monitors.node.addDependency(chart);
    return this.monitors;
  }

  /** The ServiceMonitor/PodMonitor objects for Ray heads, Ray workers and the KubeRay operator. */
  public monitorManifests(): Record<string, unknown>[] {
    const ns = this.props.namespace;
    const rayNamespaces = this.options.rayNamespaces ?? ['ray'];
    const labels = { release: this.props.release!, 'app.kubernetes.io/managed-by': 'cdk-mlops' };
    // Ray's Grafana dashboards filter on `ray_io_cluster`; KubeRay labels every pod and service with `ray.io/cluster`.
    const clusterLabel = { sourceLabels: ['__meta_kubernetes_pod_label_ray_io_cluster'], targetLabel: 'ray_io_cluster' };
    const sa = this.options.rayServiceAccountName ?? 'ray';
    const gpu = this.options.gpuMetrics ?? true;
    // Ray's own dashboards: the head sidecar may write ConfigMaps in its namespace (it reads nothing else).
    const publisherRbac = rayNamespaces.flatMap((rayNs) => [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role',
        metadata: { name: 'ray-dashboard-publisher', namespace: rayNs, labels },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding',
        metadata: { name: 'ray-dashboard-publisher', namespace: rayNs, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ray-dashboard-publisher' },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: rayNs }],
      },
    ]);
    const gpuObjects = gpu ? [
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: 'dcgm-exporter', namespace: ns, labels },
        spec: {
          jobLabel: 'dcgm-exporter',
          namespaceSelector: { matchNames: [CLOUDWATCH_NAMESPACE] },
          selector: { matchLabels: { 'k8s-app': 'dcgm-exporter-service' } },
          endpoints: [{
            targetPort: 9400, path: '/metrics', interval: '30s', scheme: 'https',
            // The add-on serves DCGM over TLS with a certificate from its own CA, which it gives only to its agent;
            // the scrape is pod-to-pod inside the cluster and carries GPU counters only.
            tlsConfig: { insecureSkipVerify: true },
          }],
        },
      },
      {
        apiVersion: 'v1', kind: 'ConfigMap',
        metadata: { name: 'cdk-mlops-gpu-dashboard', namespace: ns, labels: { ...labels, [GRAFANA_DASHBOARD_LABEL]: '1' } },
        data: { 'gpus.json': JSON.stringify(gpuDashboard(rayNamespaces)) },
      },
    ] : [];
    return [
      ...publisherRbac,
      ...gpuObjects,
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: 'ray-head', namespace: ns, labels },
        spec: {
          jobLabel: 'ray-head',
          namespaceSelector: { matchNames: rayNamespaces },
          selector: { matchLabels: { [RAY_NODE_TYPE_LABEL]: 'head' } },
          endpoints: [{ port: 'metrics', interval: '30s', relabelings: [clusterLabel] }],
        },
      },
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PodMonitor',
        metadata: { name: 'ray-workers', namespace: ns, labels },
        spec: {
          jobLabel: 'ray-workers',
          namespaceSelector: { matchNames: rayNamespaces },
          selector: { matchLabels: { [RAY_NODE_TYPE_LABEL]: 'worker', 'ray.io/is-ray-node': 'yes' } },
          podMetricsEndpoints: [{ port: 'metrics', interval: '30s', relabelings: [clusterLabel] }],
        },
      },
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: 'kuberay-operator', namespace: ns, labels },
        spec: {
          namespaceSelector: { matchNames: [this.options.kubeRayNamespace ?? 'kuberay-system'] },
          selector: { matchLabels: { 'app.kubernetes.io/name': 'kuberay-operator' } },
          endpoints: [{ port: 'http', path: '/metrics', honorLabels: true }],
        },
      },
    ];
  }

  protected values(_cluster: eks.ICluster): Record<string, unknown> {
    const o = this.options;
    const placement = o.nodeSelector ? { nodeSelector: o.nodeSelector } : {};
    return {
      // EKS runs the control plane: its scheduler, controller manager and etcd cannot be scraped, and
      // kube-proxy binds metrics to localhost. Leaving them on would show permanently-down targets.
      kubeControllerManager: { enabled: false },
      kubeScheduler: { enabled: false },
      kubeEtcd: { enabled: false },
      kubeProxy: { enabled: false },
      alertmanager: { enabled: false },
      prometheusOperator: { ...placement, admissionWebhooks: { patch: placement } },
      'kube-state-metrics': placement,
      prometheus: {
        prometheusSpec: {
          ...placement,
          retention: `${o.retentionDays ?? 7}d`,
          // Pick up every ServiceMonitor/PodMonitor, not only those labelled with this release.
          serviceMonitorSelectorNilUsesHelmValues: false,
          podMonitorSelectorNilUsesHelmValues: false,
          resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '2Gi' } },
          securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000 },
          ...(o.storage ? {
            storageSpec: {
              volumeClaimTemplate: {
                spec: { storageClassName: o.storage.storageClassName, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: `${o.storage.sizeGiB}Gi` } } },
              },
            },
          } : {}),
        },
      },
      grafana: {
        ...placement,
        fullnameOverride: RayObservability.GRAFANA_SERVICE,
        // Empty: the Grafana chart generates a random admin password into its secret instead of the chart's well-known default.
        adminPassword: '',
        service: { type: 'ClusterIP' },
        // Ray's dashboard embeds Grafana panels in iframes; read-only anonymous viewing stays inside the cluster (ClusterIP + port-forward).
        'grafana.ini': {
          security: { allow_embedding: true },
          'auth.anonymous': { enabled: true, org_role: 'Viewer' },
        },
        sidecar: { dashboards: { enabled: true, label: 'grafana_dashboard', searchNamespace: 'ALL' } },
      },
    };
  }
}
