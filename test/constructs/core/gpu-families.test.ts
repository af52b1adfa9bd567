import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { GpuInstance, TrainingCluster } from '../../../lib';
import { newStack } from '../../helpers';

// One list of GPU families: a GPU box and an EKS GPU node group accept the same current families, and both refuse
// the same retired one. Construction only (validation runs in the constructor); nothing is synthesized.
describe('GPU families shared by GpuInstance and TrainingCluster', () => {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  let n = 0;
  const box = (instanceType: string) => () => new GpuInstance(stack, `Box${n++}`, { vpc, instanceType });
  const gpuGroup = (instanceType: string) => () =>
    new TrainingCluster(stack, `Cluster${n++}`, { vpc, kubeRay: false, gpuNodeGroups: [{ name: 'gpu', instanceTypes: [instanceType] }] });
  const UNKNOWN_TO_EKS = /must be a GPU instance type of a known family/;

  // Current families, including the Blackwell generation (g7e, p6) and the L4 variants.
  const current = ['g4dn.xlarge', 'g5.xlarge', 'g6.xlarge', 'g6e.xlarge', 'gr6.4xlarge', 'g7e.2xlarge', 'p4d.24xlarge', 'p5.4xlarge', 'p5en.48xlarge', 'p6-b200.48xlarge', 'p6-b300.48xlarge'];

  test.each(current)('%s: a GPU box accepts it, and EKS knows it (EFA types are refused for EFA, not as unknown)', (type) => {
    expect(box(type)).not.toThrow();
    let message = '';
    try {
      gpuGroup(type)();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toMatch(UNKNOWN_TO_EKS);
    if (message) expect(message).toMatch(/EFA/);
  });

  test('p3 (V100, dropped by current NVIDIA drivers) is refused by both, each naming the current families', () => {
    expect(box('p3.2xlarge')).toThrow(/instanceType: "p3.2xlarge" — .*g7e.*p6-b200/);
    expect(gpuGroup('p3.2xlarge')).toThrow(/gpuNodeGroups\[0\]\.instanceTypes\[0\]: "p3.2xlarge" — must be a GPU instance type of a known family \(.*g7e.*p6-b200/);
  });

  test('fractional-GPU g6f runs on a box; an EKS GPU node group, which schedules whole GPUs, refuses it', () => {
    expect(box('g6f.xlarge')).not.toThrow();
    expect(gpuGroup('g6f.xlarge')).toThrow(UNKNOWN_TO_EKS);
  });

  test('a family aws-cdk-lib does not know yet (g7e) reaches CloudFormation with the NVIDIA AMI type', () => {
    const s = newStack();
    new TrainingCluster(s, 'C', { vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2, natGateways: 1 }), kubeRay: false, gpuNodeGroups: [{ name: 'rtx', instanceTypes: ['g7e.2xlarge', 'g7e.4xlarge'] }] });
    Template.fromStack(s).hasResourceProperties('AWS::EKS::Nodegroup', { AmiType: 'AL2023_x86_64_NVIDIA', InstanceTypes: ['g7e.2xlarge', 'g7e.4xlarge'] });
  });
});
