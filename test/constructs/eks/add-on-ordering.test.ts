import { type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CfnResource } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { KubeRayOperator, RayJob, RayServiceAccount, TrainingCluster } from '../../../lib';
import { newStack, template } from '../../helpers';

// Add-ons and Ray objects declare what they provide and need; the order they are written in does not matter.
describe('add-on ordering: a RayJob written before the KubeRay operator and its namespace', () => {
  let t: Template;
  beforeAll(() => {
    const stack = newStack();
    const tc = new TrainingCluster(stack, 'Training', { vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }), clusterName: 'order-test', kubeRay: false });
    // Written first, with no dependsOn: it must still be created after the operator (CRDs) and the namespace.
    new RayJob(stack, 'EarlyJob', { trainingCluster: tc, name: 'early', namespace: 'ray', entrypoint: 'python train.py', clusterSelector: 'train' });
    // In "default" (no namespace to wait for): only the operator.
    new RayJob(stack, 'DefaultJob', { trainingCluster: tc, name: 'default-ns', entrypoint: 'python train.py', clusterSelector: 'train' });
    new RayServiceAccount(stack, 'Ray', { trainingCluster: tc, namespace: 'ray' });
    new KubeRayOperator().install(new Construct(stack, 'KubeRay'), tc.cluster);
    t = template(stack);
  });

  const idOf = (type: string, marker: string): string => {
    const ids = Object.entries(t.findResources(type)).filter(([, r]) => JSON.stringify(r.Properties).includes(marker)).map(([id]) => id);
    expect(ids).toHaveLength(1);
    return ids[0];
  };
  const dependsOn = (marker: string): string[] => t.findResources('Custom::AWSCDK-EKS-KubernetesResource')[idOf('Custom::AWSCDK-EKS-KubernetesResource', marker)].DependsOn ?? [];

  test('the RayJob in "ray" waits for the KubeRay release and the ray namespace', () => {
    const operator = idOf('Custom::AWSCDK-EKS-HelmChart', 'kuberay-operator');
    const namespace = idOf('Custom::AWSCDK-EKS-KubernetesResource', '\\"kind\\":\\"Namespace\\"');
    expect(dependsOn('\\"name\\":\\"early\\"')).toEqual(expect.arrayContaining([operator, namespace]));
  });

  test('the RayJob in "default" waits for the operator only (negative control: no namespace provider)', () => {
    const operator = idOf('Custom::AWSCDK-EKS-HelmChart', 'kuberay-operator');
    const namespace = idOf('Custom::AWSCDK-EKS-KubernetesResource', '\\"kind\\":\\"Namespace\\"');
    const deps = dependsOn('\\"name\\":\\"default-ns\\"');
    expect(deps).toContain(operator);
    expect(deps).not.toContain(namespace);
  });
});

// Typed wiring: a Ray object takes the cluster and the service account it runs with, and wrong wiring fails the synth.
describe('Ray objects wired by reference', () => {
  const stack = newStack('Wiring');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const tc = new TrainingCluster(stack, 'Training', { vpc, clusterName: 'wired' });
  const other = new TrainingCluster(stack, 'Other', { vpc, clusterName: 'no-kuberay', kubeRay: false });
  const sa = new RayServiceAccount(stack, 'Ray', { trainingCluster: tc, namespace: 'team' });
  const job = new RayJob(stack, 'Job', {
    trainingCluster: tc, serviceAccount: sa, name: 'train', entrypoint: 'python train.py',
    rayClusterSpec: { head: { cpu: '1', memory: '4Gi' } },
  });
  const t = template(stack);

  test('the service account gives the namespace, the pods\' service account and the ordering', () => {
    expect(job.manifest).toMatchObject({ metadata: { name: 'train', namespace: 'team' } });
    const spec = (job.manifest.spec as any).rayClusterSpec;
    expect(spec.headGroupSpec.template.spec.serviceAccountName).toBe('ray');
    const [id] = Object.entries(t.findResources('Custom::AWSCDK-EKS-KubernetesResource')).find(([, r]) => JSON.stringify(r.Properties).includes('\\"kind\\":\\"RayJob\\"'))!;
    const deps: string[] = t.toJSON().Resources[id].DependsOn;
    // After the service account's manifest (and its role), its namespace and the cluster's KubeRay release.
    const logicalId = (c: Construct) => stack.getLogicalId(c.node.findAll().find((n) => n instanceof CfnResource)!);
    expect(deps).toEqual(expect.arrayContaining([logicalId(sa.serviceAccount), logicalId(sa.namespaceManifest), logicalId(tc.kubeRayOperator!)]));
    expect(deps).toHaveLength(6);
  });

  test('a service account of another cluster, or another namespace, is a PropsValidationError naming the prop', () => {
    const spec = { entrypoint: 'python train.py', clusterSelector: 'train' };
    expect(() => new RayJob(stack, 'Crossed', { trainingCluster: other, serviceAccount: sa, name: 'crossed', ...spec }))
      .toThrow(expect.objectContaining({ name: 'PropsValidationError', message: expect.stringContaining('serviceAccount: "Wiring/Ray" — must be a RayServiceAccount of the trainingCluster ("Wiring/Other")') }));
    expect(() => new RayJob(stack, 'Elsewhere', { trainingCluster: tc, serviceAccount: sa, namespace: 'ray', name: 'elsewhere', ...spec }))
      .toThrow(/namespace: "ray" — must be the serviceAccount's namespace \("team"\)/);
  });

  test('a cluster of this app with no KubeRay operator fails the synth, naming trainingCluster; an adopted cluster does not', () => {
    const orphan = new RayJob(stack, 'Orphan', { trainingCluster: other, name: 'orphan', entrypoint: 'python train.py', clusterSelector: 'train' });
    expect(() => orphan.node.validate()).toThrow(expect.objectContaining({
      name: 'PropsValidationError', message: expect.stringContaining('trainingCluster: "Wiring/Other" — has no KubeRay operator'),
    }));
    const adopted = TrainingCluster.fromTrainingClusterAttributes(stack, 'Adopted', { cluster: other.cluster });
    const onAdopted = new RayJob(stack, 'OnAdopted', { trainingCluster: adopted, name: 'adopted', entrypoint: 'python train.py', clusterSelector: 'train' });
    expect(onAdopted.node.validate()).toEqual([]);
    // The wired job's cluster has its operator.
    expect(job.node.validate()).toEqual([]);
  });

  test('metricRunningPods checks the Kubernetes namespace it is given', () => {
    expect(tc.metricRunningPods({ kubernetesNamespace: 'team' }).dimensions).toEqual({ ClusterName: tc.cluster.clusterName, Namespace: 'team' });
    expect(() => tc.metricRunningPods({ kubernetesNamespace: 'Team_NS' })).toThrow(/kubernetesNamespace: "Team_NS"/);
  });
});
