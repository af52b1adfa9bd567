import { type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
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
