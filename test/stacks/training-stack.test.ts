import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { ConfigError, loadStageConfig } from '../../lib/config';
import { nagFindings, platformStage } from '../helpers';

const COMPUTE_ON = {
  compute: {
    enabled: true,
    instances: [
      { name: 'dev-box', instanceType: 'g5.xlarge', amiParameterName: '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id' },
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

  test('one shared volume key, kept even in dev (data volume snapshots outlive the stack); no termination protection in dev', () => {
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: { EnableKeyRotation: true } });
    for (const i of Object.values(t.findResources('AWS::EC2::Instance'))) expect(i.Properties.DisableApiTermination).toBe(false);
  });

  test('a pinned amiId replaces the SSM parameter for that instance only', () => {
    t.hasResourceProperties('AWS::EC2::Instance', { InstanceType: 'g6e.2xlarge', ImageId: 'ami-0123456789abcdef0' });
    t.hasResourceProperties('AWS::EC2::Instance', { InstanceType: 'g5.xlarge', ImageId: { Ref: Match.stringLikeRegexp('SsmParameterValue') } });
  });

  test('a data volume per instance, encrypted with the stage volume key, snapshotted (not deleted) with the dev stack', () => {
    const volumes = Object.values(t.findResources('AWS::EC2::Volume'));
    expect(volumes).toHaveLength(2);
    const [keyId] = Object.keys(t.findResources('AWS::KMS::Key'));
    for (const v of volumes) {
      expect(v.DeletionPolicy).toBe('Snapshot');
      expect(v.UpdateReplacePolicy).toBe('Snapshot');
      expect(v.Properties).toMatchObject({ Size: 100, Encrypted: true, KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    }
  });

  test('an instance that follows an AMI parameter warns that a new image replaces it; a pinned one does not', () => {
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('cdk-mlops:gpuImageFollowsParameter|follows /aws/service'));
      expect(warnings.map((w) => w.id)).toEqual([expect.stringMatching(/Gpu-dev-box$/)]);
    } finally {
      printed.mockRestore();
    }
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
    network: { natGateways: 0, interfaceEndpoints: true }, eks: { enabled: false }, compute: { enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge', amiId: 'ami-0123456789abcdef0' }] },
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
  const stage = platformStage('prod', { compute: { enabled: true, instances: [{ name: 'trainer', instanceType: 'p4d.24xlarge', rootVolumeGiB: 1000, amiId: 'ami-0123456789abcdef0' }] }, eks: { enabled: false } });
  const stack = stage.trainingStack!;

  test('termination protection on the instance and the stack; volume key and data volume retained', () => {
    const t = Template.fromStack(stack);
    t.hasResource('AWS::EC2::Volume', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
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

  test('an entry needs only name, instanceType and the image; the rest has cost-aware defaults', () => {
    const c = load({ enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge', amiId: 'ami-0123456789abcdef0' }] })();
    expect(c.compute.instances[0]).toEqual({
      name: 'box', instanceType: 'g5.xlarge', amiId: 'ami-0123456789abcdef0', rootVolumeGiB: 200, dataVolumeGiB: 100, spot: false, idleStopMinutes: 60,
      idleThresholdPercent: 5, idleMetric: 'gpu', allowAllOutbound: false,
    });
  });

  test('the image must be chosen: without amiId or amiParameterName the error names the key and the command that prints the AMI id', () => {
    expect(problems({ enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge' }] })).toEqual([expect.stringMatching(
      /^compute\.instances\.0\.amiId: .*is required \(or amiParameterName to follow a parameter on purpose\).*aws ssm get-parameter --name \/aws\/service\/deeplearning\/ami\/.* --query Parameter\.Value/,
    )]);
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
    const image = 'amiParameterName' in entry ? {} : { amiId: 'ami-0123456789abcdef0' };
    const found = problems({ enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge', ...image, ...entry }] });
    expect(found).toEqual([expect.stringMatching(message)]);
  });

  test('instance names are unique in a stage', () => {
    const amiId = 'ami-0123456789abcdef0';
    const found = problems({ enabled: true, instances: [{ name: 'box', instanceType: 'g5.xlarge', amiId }, { name: 'box', instanceType: 'g6.xlarge', amiId }] });
    expect(found).toEqual([expect.stringMatching(/^compute\.instances\.1\.name: "box" — must be unique/)]);
    const nearly = problems({ enabled: true, instances: [{ name: 'gpu-box', instanceType: 'g5.xlarge', amiId }, { name: 'gpubox', instanceType: 'g6.xlarge', amiId }] });
    expect(nearly).toEqual([expect.stringMatching(/^compute\.instances\.1\.name: "gpubox" — must differ from "gpu-box" in more than hyphens/)]);
  });
});
