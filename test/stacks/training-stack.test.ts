import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { ConfigError, loadStageConfig } from '../../lib/config';
import { nagFindings, platformStage } from '../helpers';

const COMPUTE_ON = {
  compute: {
    enabled: true,
    instances: [
      { name: 'dev-box', instanceType: 'g5.xlarge' },
      { name: 'spot-box', instanceType: 'g6e.2xlarge', spot: true, idleMetric: 'cpu', idleStopMinutes: 30, amiId: 'ami-0123456789abcdef0' },
    ],
  },
};

describe('TrainingStack', () => {
  test('absent when compute and EKS are both switched off', () => {
    const stage = platformStage('dev', { compute: { enabled: false }, eks: { enabled: false } });
    expect(stage.trainingStack).toBeUndefined();
    expect(stage.stacks.map((s) => s.stackName)).not.toContain('mlops-dev-Training');
  });

  test('compute switched on without instances: the stack exists and holds no instance', () => {
    const stage = platformStage('dev', { compute: { enabled: true, instances: [] }, eks: { enabled: false } });
    const t = Template.fromStack(stage.trainingStack!);
    t.resourceCountIs('AWS::EC2::Instance', 0);
    t.resourceCountIs('AWS::KMS::Key', 0);
  });
});

describe('TrainingStack with GPU instances (dev)', () => {
  const stage = platformStage('dev', { ...COMPUTE_ON, eks: { enabled: false } });
  const stack = stage.trainingStack!;
  let t: Template;
  beforeAll(() => {
    t = Template.fromStack(stack);
  });

  test('named <prefix>-<stage>-Training, one instance per config entry, named after the entry', () => {
    expect(stack.stackName).toBe('mlops-dev-Training');
    expect(stage.stacks).toContain(stack);
    expect(Object.keys(stack.gpuInstances)).toEqual(['dev-box', 'spot-box']);
    t.resourceCountIs('AWS::EC2::Instance', 2);
    t.hasResourceProperties('AWS::EC2::Instance', { InstanceType: 'g5.xlarge', Tags: Match.arrayWith([{ Key: 'Name', Value: 'mlops-dev-dev-box' }]) });
  });

  test('instances run in the stage VPC workload subnets, imported from the Network stack', () => {
    const instances = Object.values(t.findResources('AWS::EC2::Instance'));
    for (const i of instances) expect(JSON.stringify(i.Properties.NetworkInterfaces[0].SubnetId)).toMatch(/mlops-dev-Network|Fn::ImportValue|Fn::GetStackOutput/);
  });

  test('one shared volume key, destroyed with the dev stack; no termination protection in dev', () => {
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete', Properties: { EnableKeyRotation: true } });
    for (const i of Object.values(t.findResources('AWS::EC2::Instance'))) expect(i.Properties.DisableApiTermination).toBe(false);
  });

  test('a pinned amiId replaces the SSM parameter for that instance only', () => {
    t.hasResourceProperties('AWS::EC2::Instance', { InstanceType: 'g6e.2xlarge', ImageId: 'ami-0123456789abcdef0' });
    t.hasResourceProperties('AWS::EC2::Instance', { InstanceType: 'g5.xlarge', ImageId: { Ref: Match.stringLikeRegexp('SsmParameterValue') } });
  });

  test('idle alarms stop the instances and notify the stage alerts topic', () => {
    t.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      const actions = JSON.stringify(alarm.Properties.AlarmActions);
      expect(actions).toContain(':ec2:stop');
      expect(actions).toMatch(/Alerts/);
    }
  });

  test('instance roles read the data lake, write artifacts and pull images from the Data stack', () => {
    const actions = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => s.Action));
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject', 's3:PutObject', 'ecr:BatchGetImage', 'kms:Decrypt']));
  });

  test('an output per instance id', () => {
    t.hasOutput('devboxInstanceId', { Value: { Ref: Match.stringLikeRegexp('GpudevboxInstance') } });
    t.hasOutput('spotboxInstanceId', { Value: { Ref: Match.stringLikeRegexp('GpuspotboxInstance') } });
  });

  test('cdk-nag AwsSolutions, NIST 800-53 R5 and HIPAA find nothing in the stack', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
    expect(nagFindings(stack, new HIPAASecurityChecks())).toEqual([]);
  });
});

test('GPU instances in a NAT-less network warn that agent and Session Manager need interface endpoints', () => {
  const stage = platformStage('dev', {
    network: { natGateways: 0, interfaceEndpoints: true }, eks: { enabled: false }, compute: { enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge' }] },
  });
  // CDK prints the warning while synthesizing; keep the test output quiet.
  const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    Annotations.fromStack(stage.trainingStack!).hasWarning('*', Match.stringLikeRegexp('network.natGateways is 0.*ssmmessages, ec2messages and monitoring'));
  } finally {
    printed.mockRestore();
  }
});

describe('TrainingStack in prod', () => {
  const stage = platformStage('prod', { compute: { enabled: true, instances: [{ name: 'trainer', instanceType: 'p4d.24xlarge', rootVolumeGiB: 1000 }] }, eks: { enabled: false } });
  const stack = stage.trainingStack!;

  test('termination protection on the instance and the stack; volume key retained', () => {
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EC2::Instance', { DisableApiTermination: true, BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ VolumeSize: 1000 }) })] });
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    expect(stack.terminationProtection).toBe(true);
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('compute config', () => {
  const load = (compute: Record<string, unknown>, stage = 'dev') => () => loadStageConfig({ stage, overrides: { compute } });
  const problems = (compute: Record<string, unknown>): readonly string[] => {
    try {
      load(compute)();
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  };

  test('an entry needs only name and instanceType; the rest has cost-aware defaults', () => {
    const c = load({ enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge' }] })();
    expect(c.compute.instances[0]).toEqual({
      name: 'box', instanceType: 'g5.xlarge', rootVolumeGiB: 200, spot: false, idleStopMinutes: 60, idleThresholdPercent: 5, idleMetric: 'gpu', allowAllOutbound: false,
    });
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['non-GPU instance type', { instanceType: 'c5.large' }, /^compute\.instances\.0\.instanceType: "c5\.large" — must be an EC2 instance type in a GPU family/],
    ['root volume out of range', { rootVolumeGiB: 20 }, /^compute\.instances\.0\.rootVolumeGiB: 20 — must be between 100 and 16384 GiB/],
    ['idle minutes out of range', { idleStopMinutes: 2 }, /^compute\.instances\.0\.idleStopMinutes: 2 — must be 0 \(never stop\) or between 5 and 1440 minutes/],
    ['idle threshold out of range', { idleThresholdPercent: 0 }, /^compute\.instances\.0\.idleThresholdPercent: 0 — must be between 1 and 99 percent/],
    ['unknown idle metric', { idleMetric: 'disk' }, /^compute\.instances\.0\.idleMetric: "disk" — must be "gpu" or "cpu"/],
    ['AMI parameter name without a slash', { amiParameterName: 'dlami' }, /^compute\.instances\.0\.amiParameterName: "dlami" — must be an SSM parameter name/],
    ['malformed AMI id', { amiId: 'ami-xyz' }, /^compute\.instances\.0\.amiId: "ami-xyz" — must be an AMI id/],
    ['AMI id and parameter together', { amiId: 'ami-0123456789abcdef0', amiParameterName: '/a/b' }, /^compute\.instances\.0\.amiId: "ami-0123456789abcdef0" — cannot be combined with amiParameterName/],
    ['spot with termination protection', { spot: true, terminationProtection: true }, /^compute\.instances\.0\.terminationProtection: true — must be false or left out with spot/],
    ['unknown key', { gpus: 4 }, /^compute\.instances\.0\.gpus: unknown key \(value 4\)/],
  ])('%s', (_name, entry, message) => {
    const found = problems({ enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge', ...entry }] });
    expect(found).toEqual([expect.stringMatching(message)]);
  });

  test('instance names are unique in a stage', () => {
    const found = problems({ enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge' }, { name: 'box', instanceType: 'g6.xlarge' }] });
    expect(found).toEqual([expect.stringMatching(/^compute\.instances\.1\.name: "box" — must be unique/)]);
    const nearly = problems({ enabled: true, instances: [{ name: 'gpu-box', instanceType: 'g5.xlarge' }, { name: 'gpubox', instanceType: 'g6.xlarge' }] });
    expect(nearly).toEqual([expect.stringMatching(/^compute\.instances\.1\.name: "gpubox" — must differ from "gpu-box" in more than hyphens/)]);
  });
});
