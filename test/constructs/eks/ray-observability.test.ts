import { type Template } from 'aws-cdk-lib/assertions';
import {
  PlatformNetwork, PropsValidationError, RayObservability, type RayObservabilityProps, TrainingCluster,
} from '../../../constructs';
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
    expect(monitors.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(['ServiceMonitor/ray-head', 'PodMonitor/ray-workers', 'ServiceMonitor/kuberay-operator']);
    const [head, workers, operator] = monitors;
    expect(head.spec).toMatchObject({ namespaceSelector: { matchNames: ['ray', 'ray-jobs'] }, selector: { matchLabels: { 'ray.io/node-type': 'head' } } });
    expect(head.spec.endpoints![0]).toMatchObject({ port: 'metrics', relabelings: [{ targetLabel: 'ray_io_cluster' }] });
    expect(workers.spec).toMatchObject({ selector: { matchLabels: { 'ray.io/node-type': 'worker' } }, podMetricsEndpoints: [{ port: 'metrics' }] });
    expect(operator.spec).toMatchObject({ namespaceSelector: { matchNames: ['kuberay-system'] }, endpoints: [{ port: 'http', path: '/metrics' }] });
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
