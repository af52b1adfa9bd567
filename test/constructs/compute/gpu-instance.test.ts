import { spawnSync } from 'node:child_process';
import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import {
  DataLake, DEFAULT_DLAMI_PARAMETER, GpuInstance, type GpuInstanceProps, gpuInstanceFamily, ImageRegistry, PlatformNetwork, PropsValidationError,
} from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

/** A stack with a nag-clean platform VPC to put instances in. */
function stackWithVpc(): { stack: Stack; vpc: ec2.IVpc } {
  const stack = newStack();
  const network = new PlatformNetwork(stack, 'Net', { interfaceEndpoints: false, removalPolicy: RemovalPolicy.DESTROY });
  return { stack, vpc: network.vpc };
}

const instanceOf = (t: Template) => Object.values(t.findResources('AWS::EC2::Instance'))[0].Properties;
const policyStatements = (t: Template) =>
  [...Object.values(t.findResources('AWS::IAM::Policy')), ...Object.values(t.findResources('AWS::IAM::ManagedPolicy'))].flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown; Sid?: string }>);
const actionsOf = (t: Template) => policyStatements(t).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

interface AgentConfig {
  metrics: {
    namespace: string;
    append_dimensions: Record<string, string>;
    aggregation_dimensions: string[][];
    metrics_collected: { nvidia_gpu: { measurement: string[] } };
  };
}

/** The boot script, with CloudFormation references (the data volume id) rendered as a sample volume id. */
function bootScript(t: Template): string {
  const body = instanceOf(t).UserData['Fn::Base64'] as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof body === 'string') return body;
  return body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'vol-0123456789abcdef0')).join(body['Fn::Join'][0]);
}

/** The CloudWatch agent configuration the boot script writes. */
function agentConfig(t: Template): AgentConfig {
  const script = bootScript(t);
  const m = /<<'CWAGENT'\n([\s\S]*?)\nCWAGENT/.exec(script);
  if (!m) throw new Error('no CloudWatch agent config in the user data');
  return JSON.parse(m[1]);
}

describe('GpuInstance defaults', () => {
  const { stack, vpc } = stackWithVpc();
  const box = new GpuInstance(stack, 'Box', { vpc, instanceType: 'g5.xlarge' });
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('DLAMI from its public SSM parameter, resolved by CloudFormation at deploy time', () => {
    const params = t.findParameters('*', { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>' });
    expect(Object.values(params).map((p) => p.Default)).toEqual([DEFAULT_DLAMI_PARAMETER]);
    expect(instanceOf(t).ImageId).toEqual({ Ref: Object.keys(params)[0] });
    expect(instanceOf(t).InstanceType).toBe('g5.xlarge');
  });

  test('private subnet, no public IP, IMDSv2 required, no key pair', () => {
    const props = instanceOf(t);
    expect(props.NetworkInterfaces[0].AssociatePublicIpAddress).toBe(false);
    expect(JSON.stringify(props.NetworkInterfaces[0].SubnetId)).toMatch(/privateSubnet/);
    expect(props.MetadataOptions).toEqual({ HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 2 });
    expect(props.KeyName).toBeUndefined();
  });

  test('security group: no inbound rules, HTTPS-only outbound', () => {
    const sg = Object.values(t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('GPU instance') } }))[0].Properties;
    expect(sg.SecurityGroupIngress).toBeUndefined();
    expect(sg.SecurityGroupEgress).toEqual([{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'HTTPS to AWS APIs and package indexes' }]);
    t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('encrypted gp3 root volume of 200 GiB with a rotating customer-managed key', () => {
    t.hasResourceProperties('AWS::EC2::Instance', {
      BlockDeviceMappings: [{
        DeviceName: '/dev/xvda',
        Ebs: { VolumeSize: 200, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('BoxVolumeKey'), 'Arn'] } },
      }],
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('detailed monitoring, EBS-optimized, termination protection, OS shutdown stops', () => {
    const props = instanceOf(t);
    expect(props.Monitoring).toBe(true);
    expect(props.EbsOptimized).toBe(true);
    expect(props.DisableApiTermination).toBe(true);
    expect(props.InstanceInitiatedShutdownBehavior).toBe('stop');
  });

  test('role: no AWS managed policies; Session Manager agent actions and metrics in one namespace only', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: [{ Ref: Match.stringLikeRegexp('BoxRole') }] });
    t.hasResource('AWS::EC2::Instance', { DependsOn: Match.arrayWith([Match.stringLikeRegexp('BoxAgentPolicy')]) });
    const actions = actionsOf(t);
    expect(actions).toEqual(expect.arrayContaining(['ssmmessages:OpenDataChannel', 'ssm:UpdateInstanceInformation', 'ec2messages:GetMessages', 'cloudwatch:PutMetricData']));
    expect(actions.filter((a) => a.startsWith('s3:') || a.startsWith('ssm:GetParameter') || a.includes('*'))).toEqual([]);
    const metrics = policyStatements(t).find((s) => s.Sid === 'CloudWatchAgentMetrics');
    expect(metrics?.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'CdkMlops/GPU' } });
  });

  test('boot script installs and starts the CloudWatch agent with nvidia-smi GPU metrics rolled up per instance', () => {
    const script = bootScript(t);
    expect(script).toMatch(/"\$CTL" -a fetch-config -m ec2 -s -c file:\/opt\/aws\/amazon-cloudwatch-agent\/etc\/cdk-mlops-gpu\.json/);
    expect(script).toMatch(/dnf install -y amazon-cloudwatch-agent/);
    const config = agentConfig(t);
    expect(config.metrics.namespace).toBe('CdkMlops/GPU');
    expect(config.metrics.append_dimensions).toEqual({ InstanceId: '${aws:InstanceId}' });
    expect(config.metrics.aggregation_dimensions).toEqual([['InstanceId']]);
    expect(config.metrics.metrics_collected.nvidia_gpu.measurement).toEqual(expect.arrayContaining(['utilization_gpu', 'utilization_memory', 'memory_used']));
  });

  test('the boot script is valid bash', () => {
    const check = spawnSync('bash', ['--norc', '--noprofile', '-n'], { input: bootScript(t), encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  test('idle auto-stop: Maximum GPU utilization below 5% for 60 one-minute periods stops the instance', () => {
    t.resourceCountIs('AWS::CloudWatch::Alarm', 1);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CdkMlops/GPU',
      MetricName: 'nvidia_smi_utilization_gpu',
      Dimensions: [{ Name: 'InstanceId', Value: { Ref: Match.stringLikeRegexp('BoxInstance') } }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 60,
      DatapointsToAlarm: 60,
      Threshold: 5,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':automate:', { Ref: 'AWS::Region' }, ':ec2:stop']] }],
    });
    expect(box.idleAlarm).toBeDefined();
  });

  test('metric helpers name the agent and EC2 metrics of this instance', () => {
    const gpu = stack.resolve(box.metricGpuUtilization({ statistic: 'Maximum' }).toMetricConfig().metricStat);
    expect(gpu).toMatchObject({ namespace: 'CdkMlops/GPU', metricName: 'nvidia_smi_utilization_gpu', statistic: 'Maximum', dimensions: [{ name: 'InstanceId', value: stack.resolve(box.instanceId) }] });
    expect(box.metricGpuMemoryUsed().metricName).toBe('nvidia_smi_memory_used');
    expect(box.metricGpuMemoryUtilization().metricName).toBe('nvidia_smi_utilization_memory');
    expect(box.metricMemoryUsedPercent().metricName).toBe('mem_used_percent');
    expect(box.metricCpuUtilization()).toMatchObject({ namespace: 'AWS/EC2', metricName: 'CPUUtilization' });
  });

  test('cdk-nag AwsSolutions, NIST 800-53 R5 and HIPAA find nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
    expect(nagFindings(stack, new HIPAASecurityChecks())).toEqual([]);
  });
});

describe('GpuInstance with data lake, registry, spot, CPU idle metric and notifications', () => {
  const { stack, vpc } = stackWithVpc();
  const dataLake = new DataLake(stack, 'Lake', { removalPolicy: RemovalPolicy.DESTROY });
  const imageRegistry = new ImageRegistry(stack, 'Registry', { removalPolicy: RemovalPolicy.DESTROY });
  const topicKey = new kms.Key(stack, 'TopicKey', { enableKeyRotation: true });
  const alarmTopic = new sns.Topic(stack, 'Alerts', { masterKey: topicKey, enforceSSL: true });
  const box = new GpuInstance(stack, 'Box', {
    vpc, instanceType: 'g6e.2xlarge', spot: true, idleMetric: 'cpu', idleStopMinutes: 30, idleThresholdPercent: 10,
    alarmTopic, dataLake, imageRegistry, rootVolumeGiB: 500,
  });
  const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
  box.grantConnect(operator);
  box.grantStartStop(operator);
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('spot: a one-time request, terminated on interruption (nothing relaunches a box without its alarm), no termination protection', () => {
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } } },
    });
    t.hasResourceProperties('AWS::EC2::Instance', { LaunchTemplate: { LaunchTemplateId: { Ref: Match.stringLikeRegexp('BoxLaunchTemplate') }, Version: Match.anyValue() } });
    expect(instanceOf(t).DisableApiTermination).toBe(false);
  });

  test('spot: the EC2 Spot service-linked role may use the volume key to launch encrypted volumes', () => {
    const key = Object.values(t.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('Root volume') } }))[0];
    const statements = key.Properties.KeyPolicy.Statement as Array<{ Action: string | string[]; Condition?: { Bool?: Record<string, string> } }>;
    const spot = statements.filter((s) => JSON.stringify(s.Condition ?? {}).includes('AWSServiceRoleForEC2Spot'));
    expect(spot.flatMap((s) => s.Action)).toEqual(expect.arrayContaining(['kms:GenerateDataKey*', 'kms:Decrypt', 'kms:CreateGrant']));
    expect(spot.find((s) => JSON.stringify(s.Action).includes('CreateGrant'))?.Condition?.Bool).toEqual({ 'kms:GrantIsForAWSResource': 'true' });
  });

  test('CPU idle alarm on EC2 CPUUtilization stops the instance and notifies the topic', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Statistic: 'Maximum', Period: 60, EvaluationPeriods: 30, Threshold: 10,
      AlarmActions: [Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':ec2:stop'])]) }), { Ref: Match.stringLikeRegexp('Alerts') }],
    });
  });

  test('reads raw and processed data, writes artifacts only, pulls images', () => {
    const statements = policyStatements(t).filter((s) => JSON.stringify(s.Resource).includes('Lake'));
    const writes = statements.filter((s) => JSON.stringify(s.Action).includes('s3:PutObject'));
    expect(writes.length).toBeGreaterThan(0);
    for (const s of writes) expect(JSON.stringify(s.Resource)).not.toMatch(/LakeRaw|LakeProcessed/);
    expect(statements.some((s) => JSON.stringify(s.Resource).includes('LakeRaw') && JSON.stringify(s.Action).includes('s3:GetObject'))).toBe(true);
    expect(actionsOf(t)).toEqual(expect.arrayContaining(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']));
    expect(actionsOf(t).filter((a) => a.startsWith('s3:Delete'))).toEqual([]);
  });

  test('grantConnect and grantStartStop are scoped to this instance', () => {
    const operatorPolicy = Object.values(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('Operator') }] } }))[0];
    const statements = operatorPolicy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>;
    const start = statements.find((s) => JSON.stringify(s.Action).includes('ssm:StartSession'))!;
    expect(JSON.stringify(start.Resource)).toMatch(/:instance\/",\{"Ref":"BoxInstance/);
    const startStop = statements.find((s) => JSON.stringify(s.Action).includes('ec2:StopInstances'))!;
    expect(startStop.Action).toEqual(['ec2:StartInstances', 'ec2:StopInstances']);
    expect(JSON.stringify(startStop.Resource)).not.toContain('*');
  });

  test('root volume size from props', () => {
    expect(instanceOf(t).BlockDeviceMappings[0].Ebs.VolumeSize).toBe(500);
  });

  test('cdk-nag AwsSolutions finds nothing in the instance (termination protection acknowledged for spot only)', () => {
    expect(nagFindings(box)).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks()).filter((f) => f.includes('/Box/'))).toEqual([]);
  });
});

describe('GpuInstance options', () => {
  test('idleStopMinutes 0 creates no alarm; allowAllOutbound opens egress', () => {
    const { stack, vpc } = stackWithVpc();
    const box = new GpuInstance(stack, 'Box', { vpc, instanceType: 'p5.48xlarge', idleStopMinutes: 0, allowAllOutbound: true, terminationProtection: false });
    const t = template(stack);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(box.idleAlarm).toBeUndefined();
    t.hasResourceProperties('AWS::EC2::SecurityGroup', { SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0', IpProtocol: '-1' })] });
    expect(instanceOf(t).DisableApiTermination).toBe(false);
    expect(nagFindings(box)).toEqual([]);
  });

  test('Ubuntu AMI parameter uses /dev/sda1 as root device; extra boot commands run after the agent', () => {
    const { stack, vpc } = stackWithVpc();
    const parameter = '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id';
    new GpuInstance(stack, 'Box', { vpc, instanceType: 'g4dn.xlarge', amiParameterName: parameter, userDataCommands: ['echo ready > /tmp/ready'] });
    const t = template(stack);
    expect(Object.values(t.findParameters('*', { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>' })).map((p) => p.Default)).toEqual([parameter]);
    expect(instanceOf(t).BlockDeviceMappings[0].DeviceName).toBe('/dev/sda1');
    const script = bootScript(t);
    expect(script.indexOf('echo ready > /tmp/ready')).toBeGreaterThan(script.indexOf('fetch-config'));
  });

  test('a pinned machine image and a given key replace the SSM parameter and the new key', () => {
    const { stack, vpc } = stackWithVpc();
    const encryptionKey = new kms.Key(stack, 'SharedKey', { enableKeyRotation: true });
    const box = new GpuInstance(stack, 'Box', {
      vpc, instanceType: 'g6.xlarge', encryptionKey, metricsNamespace: 'Team/Gpu',
      machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }),
    });
    const t = template(stack);
    expect(Object.keys(t.findParameters('*', { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>' }))).toEqual([]);
    expect(Object.keys(t.findResources('AWS::KMS::Key')).filter((id) => id.startsWith('Box'))).toEqual([]);
    expect(box.encryptionKey).toBe(encryptionKey);
    expect(agentConfig(t).metrics.namespace).toBe('Team/Gpu');
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'Team/Gpu' });
  });

  test('gpuInstanceFamily recognises GPU types only', () => {
    expect(gpuInstanceFamily('g5.xlarge')).toBe('g5');
    expect(gpuInstanceFamily('p6-b200.48xlarge')).toBe('p6-b200');
    expect(gpuInstanceFamily('m5.large')).toBeUndefined();
    expect(gpuInstanceFamily('g5')).toBeUndefined();
  });
});

describe('GpuInstance replacement rules: the data outlives the box', () => {
  /** Logical ids and templates of a box built from props, in a fresh stack. */
  const build = (props: Partial<GpuInstanceProps> = {}) => {
    const { stack, vpc } = stackWithVpc();
    new GpuInstance(stack, 'Box', { vpc, instanceType: 'g5.xlarge', ...props });
    const t = template(stack);
    const ids = (type: string) => Object.keys(t.findResources(type)).filter((id) => id.startsWith('Box'));
    return { t, stack, instanceIds: ids('AWS::EC2::Instance'), volumeIds: ids('AWS::EC2::Volume') };
  };
  const pinned = (imageId: string): ec2.IMachineImage => ({ getImage: () => ({ imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() }) });
  let base: ReturnType<typeof build>;
  beforeAll(() => {
    base = build();
  });

  test('a changed boot script keeps the instance (no userDataCausesReplacement: logical id unchanged)', () => {
    const edited = build({ userDataCommands: ['echo edited'] });
    expect(edited.instanceIds).toEqual(base.instanceIds);
    expect(bootScript(edited.t)).toContain('echo edited');
  });

  test('a pinned image is the only image input: the AMI changes only when the pinned id does', () => {
    const a = build({ machineImage: pinned('ami-0123456789abcdef0') });
    const b = build({ machineImage: pinned('ami-0fedcba9876543210') });
    expect(Object.keys(a.t.findParameters('*', { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>' }))).toEqual([]);
    expect(instanceOf(a.t).ImageId).toBe('ami-0123456789abcdef0');
    // ImageId is a replace-on-change property in CloudFormation: this is the one deliberate way to a new image.
    expect(instanceOf(b.t).ImageId).toBe('ami-0fedcba9876543210');
    expect(b.volumeIds).toEqual(a.volumeIds);
  });

  test('data volume: its own resource, retained on delete and on replacement, encrypted gp3 with the box key, in the instance AZ', () => {
    expect(base.volumeIds).toHaveLength(1);
    base.t.hasResource('AWS::EC2::Volume', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { Size: 100, VolumeType: 'gp3', Encrypted: true, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('BoxVolumeKey'), 'Arn'] } },
    });
    const volume = Object.values(base.t.findResources('AWS::EC2::Volume'))[0].Properties;
    expect(instanceOf(base.t).AvailabilityZone).toEqual(volume.AvailabilityZone);
    // Not in the instance's block devices: those go with the instance.
    expect(instanceOf(base.t).BlockDeviceMappings).toHaveLength(1);
  });

  test('SNAPSHOT and size from props', () => {
    const { t } = build({ dataVolumeRemovalPolicy: RemovalPolicy.SNAPSHOT, dataVolumeGiB: 2000 });
    t.hasResource('AWS::EC2::Volume', { DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot', Properties: { Size: 2000 } });
  });

  test('attachment: no CloudFormation VolumeAttachment (it cannot move a volume to a replacement); the boot script attaches, never reformats, mounts', () => {
    base.t.resourceCountIs('AWS::EC2::VolumeAttachment', 0);
    const script = bootScript(base.t);
    expect(instanceOf(base.t).UserData['Fn::Base64']['Fn::Join'][1]).toEqual(expect.arrayContaining([{ Ref: base.volumeIds[0] }]));
    expect(script).toMatch(/aws ec2 attach-volume --region "\$REGION" --volume-id "\$DATA_VOLUME_ID" --instance-id "\$IID" --device \/dev\/sdf && break/);
    expect(script).toMatch(/blkid "\$DATA_DEV" >\/dev\/null \|\| mkfs -t xfs "\$DATA_DEV"/);
    expect(script).toMatch(/\/data xfs defaults,nofail 0 2/);
    // IMDSv2 for the instance id: a token first.
    expect(script).toMatch(/curl -fsS -X PUT "\$IMDS\/api\/token"/);
    expect(script.indexOf('attach-volume')).toBeGreaterThan(script.indexOf('fetch-config'));
  });

  test('the role may attach this one volume, only to instances tagged as this box', () => {
    const statements = policyStatements(base.t);
    const volume = statements.find((s) => s.Sid === 'AttachDataVolume')!;
    expect(JSON.stringify(volume.Resource)).toContain(`"Ref":"${base.volumeIds[0]}"`);
    const instance = statements.find((s) => s.Sid === 'AttachDataVolumeToThisBox')!;
    expect(instance.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/cdk-mlops:gpu-box': 'Test/Box' } });
    base.t.hasResourceProperties('AWS::EC2::Instance', { Tags: Match.arrayWith([{ Key: 'cdk-mlops:gpu-box', Value: 'Test/Box' }]) });
  });

  test('IMDSv2 is still required on the instance and its launch template', () => {
    expect(instanceOf(base.t).MetadataOptions.HttpTokens).toBe('required');
    base.t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: { MetadataOptions: Match.objectLike({ HttpTokens: 'required' }) } });
  });

  test('cdk-nag clean with the data volume (AwsSolutions, NIST 800-53 R5, HIPAA)', () => {
    expect(nagFindings(base.stack)).toEqual([]);
    expect(nagFindings(base.stack, new NIST80053R5Checks())).toEqual([]);
    expect(nagFindings(base.stack, new HIPAASecurityChecks())).toEqual([]);
  });
});

describe('GpuInstance validation', () => {
  const attempt = (props: Partial<GpuInstanceProps>) => () => {
    const { stack, vpc } = stackWithVpc();
    new GpuInstance(stack, 'Box', { vpc, instanceType: 'g5.xlarge', ...props });
  };

  test.each<[string, Partial<GpuInstanceProps>, RegExp]>([
    ['non-GPU instance type', { instanceType: 'm5.large' }, /instanceType: "m5\.large" — must be an EC2 instance type in a GPU family \(g4dn, g5/],
    ['instance type without a size', { instanceType: 'g5' }, /instanceType: "g5" — must be an EC2 instance type in a GPU family/],
    ['root volume too small', { rootVolumeGiB: 50 }, /rootVolumeGiB: 50 — must be a whole number between 100 and 16384 GiB/],
    ['root volume too large', { rootVolumeGiB: 20000 }, /rootVolumeGiB: 20000 — must be a whole number between 100 and 16384 GiB/],
    ['idle minutes too short', { idleStopMinutes: 3 }, /idleStopMinutes: 3 — must be 0 \(never stop\) or a whole number between 5 and 1440 minutes/],
    ['idle minutes beyond one day', { idleStopMinutes: 1441 }, /idleStopMinutes: 1441 — must be 0 \(never stop\) or a whole number between 5 and 1440/],
    ['idle threshold out of range', { idleThresholdPercent: 100 }, /idleThresholdPercent: 100 — must be a whole number between 1 and 99 percent/],
    ['unknown idle metric', { idleMetric: 'memory' as never }, /idleMetric: "memory" — must be "gpu" or "cpu"/],
    ['spot with termination protection', { spot: true, terminationProtection: true }, /terminationProtection: true — must be false with spot/],
    ['AMI parameter that is not a parameter name', { amiParameterName: 'ami-123' }, /amiParameterName: "ami-123" — must be an SSM parameter name starting with "\/"/],
    ['machine image and AMI parameter together', { amiParameterName: '/x/y', machineImage: ec2.MachineImage.latestAmazonLinux2023() }, /machineImage: "\(image\)" — cannot be combined with amiParameterName/],
    ['data volume too large', { dataVolumeGiB: 20000 }, /dataVolumeGiB: 20000 — must be a whole number between 1 and 16384 GiB/],
    ['data volume destroyed with the stack', { dataVolumeRemovalPolicy: RemovalPolicy.DESTROY }, /dataVolumeRemovalPolicy: "destroy" — must be RETAIN or SNAPSHOT/],
    ['no subnet selected', { vpcSubnets: { subnets: [] } }, /vpcSubnets: "\(selection\)" — must select at least one subnet of the VPC/],
    ['bad root device name', { rootDeviceName: 'sda1' }, /rootDeviceName: "sda1" — must be a device name such as \/dev\/xvda/],
    ['AWS metrics namespace', { metricsNamespace: 'AWS/EC2' }, /metricsNamespace: "AWS\/EC2" — must be 1-255 letters, digits or "_.\/#:-" and must not start with "AWS\/"/],
  ])('%s', (_name, props, message) => {
    expect(attempt(props)).toThrow(PropsValidationError);
    expect(attempt(props)).toThrow(message);
  });

  test('every problem is reported at once, naming the construct path', () => {
    try {
      attempt({ instanceType: 't3.large', rootVolumeGiB: 10, idleStopMinutes: -1 })();
      throw new Error('expected a validation error');
    } catch (e) {
      expect(e).toBeInstanceOf(PropsValidationError);
      expect((e as PropsValidationError).problems).toHaveLength(3);
      expect((e as Error).message).toMatch(/^GpuInstance at "Test\/Box" has invalid props:/);
    }
  });
});
