import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Template } from 'aws-cdk-lib/assertions';
import {
  PlatformNetwork, PropsValidationError, rayDashboardPublisher, RayObservability, type RayObservabilityProps, TrainingCluster,
} from '../../../constructs';
import { lambdaPath } from '../../../constructs/core/paths';
import { nagFindings, newStack, template } from '../../helpers';

const charts = (t: Template) => Object.values(t.findResources('Custom::AWSCDK-EKS-HelmChart')).map((r) => r.Properties);
/** A Kubernetes object as the tests read it. */
interface K8sObject { apiVersion: string; kind: string; metadata: { name: string }; spec: { endpoints?: unknown[]; podMetricsEndpoints?: unknown[] } }
const manifests = (t: Template) => Object.values(t.findResources('Custom::AWSCDK-EKS-KubernetesResource'))
  // Manifests holding tokens (e.g. role ARNs) render as Fn::Join; the monitors are plain JSON.
  .filter((r) => typeof r.Properties.Manifest === 'string')
  .map((r) => ({ id: r, objects: JSON.parse(r.Properties.Manifest) as K8sObject[] }));

describe('RayObservability on a TrainingCluster', () => {
  const stack = newStack();
  const { vpc } = new PlatformNetwork(stack, 'Net', { interfaceEndpoints: false });
  const observability = new RayObservability({ retentionDays: 15, nodeSelector: { 'cdk-mlops/node-group': 'system' }, rayNamespaces: ['ray', 'ray-jobs'] });
  const tc = new TrainingCluster(stack, 'Training', { vpc, clusterName: 'obs-test', addOns: [observability] });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('kube-prometheus-stack pinned, in its namespace, after the built-in add-ons', () => {
    const chart = charts(t).find((c) => c.Chart === 'kube-prometheus-stack')!;
    expect(chart).toMatchObject({
      Repository: 'https://prometheus-community.github.io/helm-charts', Version: '79.0.0', Namespace: 'monitoring',
      Release: 'kube-prometheus-stack', CreateNamespace: true, Wait: true,
    });
    expect(tc.addOns['ray-observability']).toBe(observability.monitors);
  });

  test('values: no unreachable control-plane targets, no Alertmanager, retention, placement, no default Grafana password', () => {
    const values = JSON.parse(charts(t).find((c) => c.Chart === 'kube-prometheus-stack')!.Values);
    for (const part of ['kubeControllerManager', 'kubeScheduler', 'kubeEtcd', 'kubeProxy', 'alertmanager']) expect(values[part].enabled).toBe(false);
    expect(values.prometheus.prometheusSpec).toMatchObject({
      retention: '15d', serviceMonitorSelectorNilUsesHelmValues: false, podMonitorSelectorNilUsesHelmValues: false,
      nodeSelector: { 'cdk-mlops/node-group': 'system' }, securityContext: { runAsNonRoot: true },
    });
    expect(values.prometheus.prometheusSpec.storageSpec).toBeUndefined();
    expect(values.grafana).toMatchObject({
      adminPassword: '', fullnameOverride: 'grafana', service: { type: 'ClusterIP' },
      'grafana.ini': { security: { allow_embedding: true }, 'auth.anonymous': { enabled: true, org_role: 'Viewer' } },
    });
  });

  test('Ray monitors: head ServiceMonitor and worker PodMonitor on the metrics port in the Ray namespaces, operator ServiceMonitor', () => {
    const monitors = manifests(t).flatMap((m) => m.objects).filter((o) => o.apiVersion === 'monitoring.coreos.com/v1');
    expect(monitors.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(['ServiceMonitor/dcgm-exporter', 'ServiceMonitor/ray-head', 'PodMonitor/ray-workers', 'ServiceMonitor/kuberay-operator']);
    const [, head, workers, operator] = monitors;
    expect(head.spec).toMatchObject({ namespaceSelector: { matchNames: ['ray', 'ray-jobs'] }, selector: { matchLabels: { 'ray.io/node-type': 'head' } } });
    expect(head.spec.endpoints![0]).toMatchObject({ port: 'metrics', relabelings: [{ targetLabel: 'ray_io_cluster' }] });
    expect(workers.spec).toMatchObject({ selector: { matchLabels: { 'ray.io/node-type': 'worker' } }, podMetricsEndpoints: [{ port: 'metrics' }] });
    expect(operator.spec).toMatchObject({ namespaceSelector: { matchNames: ['kuberay-system'] }, endpoints: [{ port: 'http', path: '/metrics' }] });
  });

  test('GPU metrics: the CloudWatch add-on\'s DCGM exporter is scraped, and a GPUs dashboard shows utilization and memory per node and per Ray worker', () => {
    const objects = manifests(t).flatMap((m) => m.objects) as any[];
    const dcgm = objects.find((o) => o.metadata.name === 'dcgm-exporter');
    expect(dcgm.spec).toMatchObject({
      namespaceSelector: { matchNames: ['amazon-cloudwatch'] }, selector: { matchLabels: { 'k8s-app': 'dcgm-exporter-service' } },
      endpoints: [{ targetPort: 9400, scheme: 'https', path: '/metrics' }],
    });
    const dashboard = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cdk-mlops-gpu-dashboard');
    expect(dashboard.metadata.labels.grafana_dashboard).toBe('1');
    const json = JSON.parse(dashboard.data['gpus.json']);
    expect(json.panels.map((p: any) => [p.title, p.targets[0].expr])).toEqual([
      ['GPU utilization per node', 'avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)'],
      ['GPU memory used per node', 'sum by (Hostname) (DCGM_FI_DEV_FB_USED) * 1024 * 1024'],
      ['GPU utilization per Ray worker', 'avg by (namespace, pod) (DCGM_FI_DEV_GPU_UTIL{namespace=~"ray|ray-jobs"})'],
      ['GPU memory used per Ray worker', 'sum by (namespace, pod) (DCGM_FI_DEV_FB_USED{namespace=~"ray|ray-jobs"}) * 1024 * 1024'],
    ]);
  });

  test('Ray\'s own dashboards: the Ray service account may write ConfigMaps in its namespace only; the head sidecar shares /tmp/ray read-only', () => {
    const objects = manifests(t).flatMap((m) => m.objects) as any[];
    const roles = objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'ray-dashboard-publisher');
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['ray', 'ray-jobs']);
    expect(roles[0].rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update'] }]);
    const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'ray');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'ray', namespace: 'ray' }]);
    const sidecar = rayDashboardPublisher('rayproject/ray:2.57.0-py311') as any;
    expect(sidecar).toMatchObject({ name: 'dashboard-publisher', command: ['python', '-c', expect.stringContaining('grafana_dashboard')], volumeMounts: [{ name: 'ray-logs', mountPath: '/tmp/ray', readOnly: true }] });
  });

  test('the publisher turns each dashboard Ray wrote into a labelled ConfigMap (real script, Kubernetes API stubbed)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ray-dash-'));
    fs.writeFileSync(path.join(dir, 'default_grafana_dashboard.json'), '{"title":"Default"}');
    fs.writeFileSync(path.join(dir, 'serve_grafana_dashboard.json'), '{"title":"Serve"}');
    const script = `
import importlib.util, json, pathlib, sys
spec = importlib.util.spec_from_file_location("p", sys.argv[1]); p = importlib.util.module_from_spec(spec); spec.loader.exec_module(p)
p.DASHBOARDS = pathlib.Path(sys.argv[2])
calls = []
def api(method, path, body=None):
    calls.append([method, path, body["metadata"]["name"], body["metadata"]["labels"], list(body["data"])])
    return 404 if method == "PUT" and "serve" in path else 200 if method == "PUT" else 201
p.api = api
print(json.dumps({"published": p.publish_once("ray"), "calls": calls}))`;
    const stdout = execFileSync('python3', ['-B', '-c', script, lambdaPath('ray-dashboards', 'publish_dashboards.py'), dir], { encoding: 'utf8' }).trim().split('\n');
    expect(stdout.slice(0, -1)).toEqual(['ray-dashboard-default: HTTP 200', 'ray-dashboard-serve: HTTP 201']);
    const out = JSON.parse(stdout[stdout.length - 1]);
    expect(out.published).toBe(2);
    const labels = { 'grafana_dashboard': '1', 'app.kubernetes.io/managed-by': 'cdk-mlops' };
    expect(out.calls).toEqual([
      ['PUT', '/api/v1/namespaces/ray/configmaps/ray-dashboard-default', 'ray-dashboard-default', labels, ['default_grafana_dashboard.json']],
      ['PUT', '/api/v1/namespaces/ray/configmaps/ray-dashboard-serve', 'ray-dashboard-serve', labels, ['serve_grafana_dashboard.json']],
      ['POST', '/api/v1/namespaces/ray/configmaps', 'ray-dashboard-serve', labels, ['serve_grafana_dashboard.json']],
    ]);
  });

  test('monitors are applied after the chart that installs their CRDs', () => {
    const resources = t.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[]; Properties?: { Manifest?: unknown; Chart?: string } }>;
    const monitorsId = Object.keys(resources).find((id) => resources[id].Type === 'Custom::AWSCDK-EKS-KubernetesResource' && JSON.stringify(resources[id].Properties?.Manifest).includes('PodMonitor'))!;
    const chartId = Object.keys(resources).find((id) => resources[id].Type === 'Custom::AWSCDK-EKS-HelmChart' && resources[id].Properties?.Chart === 'kube-prometheus-stack')!;
    expect(resources[monitorsId].DependsOn).toContain(chartId);
  });

  test('Ray head environment points the Ray dashboard at in-cluster Prometheus and Grafana', () => {
    expect(observability.rayHeadEnv).toEqual({
      RAY_PROMETHEUS_HOST: 'http://prometheus-operated.monitoring.svc:9090',
      RAY_PROMETHEUS_NAME: 'Prometheus',
      RAY_GRAFANA_HOST: 'http://grafana.monitoring.svc:80',
      RAY_GRAFANA_IFRAME_HOST: 'http://127.0.0.1:3000',
    });
  });

  test('cdk-nag AwsSolutions finds nothing new', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('RayObservability options and validation', () => {
  const install = (props: RayObservabilityProps) => {
    const stack = newStack();
    const { vpc } = new PlatformNetwork(stack, 'Net', { interfaceEndpoints: false, natGateways: 1 });
    new TrainingCluster(stack, 'Training', { vpc, clusterName: 'obs-test', kubeRay: false, addOns: [new RayObservability(props)] });
    return stack;
  };

  test('persistent volume for Prometheus when a StorageClass is given', () => {
    const stack = install({ storage: { storageClassName: 'gp3', sizeGiB: 100 }, grafanaBrowserUrl: 'https://grafana.example.com' });
    const values = JSON.parse(charts(template(stack)).find((c) => c.Chart === 'kube-prometheus-stack')!.Values);
    expect(values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec).toEqual({
      storageClassName: 'gp3', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Gi' } },
    });
  });

  test.each<[string, RayObservabilityProps, RegExp]>([
    ['retentionDays', { retentionDays: 365 }, /retentionDays: 365 — must be a whole number between 1 and 90 days/],
    ['rayNamespaces', { rayNamespaces: ['Ray_NS'] }, /rayNamespaces\[0\]: "Ray_NS" — must be a Kubernetes name/],
    ['storage.sizeGiB', { storage: { storageClassName: 'gp3', sizeGiB: 1 } }, /storage\.sizeGiB: 1 — must be a whole number between 10 and 16384 GiB/],
    ['grafanaBrowserUrl', { grafanaBrowserUrl: 'grafana:3000' }, /grafanaBrowserUrl: "grafana:3000" — must be an http\(s\) URL/],
    ['version', { version: '^79' }, /version: "\^79" — must be an exact chart version/],
  ])('%s', (_name, props, message) => {
    expect(() => install(props)).toThrow(PropsValidationError);
    expect(() => install(props)).toThrow(message);
  });
});
