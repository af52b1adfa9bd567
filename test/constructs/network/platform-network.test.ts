import { type App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { NIST80053R5Checks } from 'cdk-nag';
import { PlatformNetwork, PropsValidationError } from '../../../constructs';
import { nagFindings, newStack, template } from '../../helpers';

describe('PlatformNetwork defaults', () => {
  const stack = newStack();
  const network = new PlatformNetwork(stack, 'Net');
  let t: Template;
  beforeAll(() => {
    t = template(stack);
  });

  test('VPC with public (NAT only), private and isolated subnets across 2 AZs', () => {
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    t.resourceCountIs('AWS::EC2::Subnet', 6);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
    t.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false, CidrBlock: '10.0.0.0/24' });
    expect(network.workloadSubnets.subnetType).toBe(ec2.SubnetType.PRIVATE_WITH_EGRESS);
  });

  test('S3 gateway endpoint and the eleven interface endpoints, private DNS, HTTPS from the VPC only', () => {
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({}) });
    const interfaces = t.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } });
    expect(Object.keys(interfaces)).toHaveLength(11);
    for (const e of Object.values(interfaces)) expect(e.Properties.PrivateDnsEnabled).toBe(true);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('interface endpoints'),
      SecurityGroupIngress: [{ CidrIp: '10.0.0.0/16', FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: 'HTTPS from the VPC' }],
    });
  });

  test('flow logs of all traffic to a KMS-encrypted log group with retention, retained by default', () => {
    t.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    t.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 90, KmsKeyId: Match.objectLike({ 'Fn::GetAtt': Match.anyValue() }) },
      DeletionPolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('default security group is stripped of rules', () => {
    t.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(nagFindings(stack, new NIST80053R5Checks())).toEqual([]);
  });
});

describe('PlatformNetwork options', () => {
  test('no NAT: no public subnets, workloads in isolated subnets, endpoints there', () => {
    const stack = newStack();
    const network = new PlatformNetwork(stack, 'Net', { natGateways: 0, maxAzs: 3, cidr: '10.1.0.0/20', removalPolicy: RemovalPolicy.DESTROY });
    const t = template(stack);
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.resourceCountIs('AWS::EC2::InternetGateway', 0);
    expect(network.workloadSubnets.subnetType).toBe(ec2.SubnetType.PRIVATE_ISOLATED);
    t.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete' });
  });

  test('interface endpoints can be switched off', () => {
    const stack = newStack();
    new PlatformNetwork(stack, 'Net', { interfaceEndpoints: false });
    template(stack).resourceCountIs('AWS::EC2::VPCEndpoint', 1);
  });

  test('explicit availability zones are used without lookups', () => {
    const stack = newStack('Zoned', 'eu-west-1');
    new PlatformNetwork(stack, 'Net', { maxAzs: 3, natGateways: 3, availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] });
    const t = template(stack);
    t.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: 'eu-west-1c' });
    t.resourceCountIs('AWS::EC2::NatGateway', 3);
    // No context lookup is recorded (the CLI would otherwise call AWS, or fail offline), and the stack's own
    // zones are its own again once the VPC is built.
    expect((stack.node.root as App).synth().manifest.missing).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(stack, 'availabilityZones')).toBeUndefined();
  });

  test('an imported VPC is used as is', () => {
    const stack = newStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Existing', { vpcId: 'vpc-12345678', availabilityZones: ['a', 'b'], privateSubnetIds: ['subnet-1', 'subnet-2'], privateSubnetRouteTableIds: ['rtb-1', 'rtb-2'] });
    const network = new PlatformNetwork(stack, 'Net', { vpc });
    expect(network.vpc).toBe(vpc);
    expect(network.flowLogGroup).toBeUndefined();
    template(stack).resourceCountIs('AWS::EC2::VPC', 0);
  });
});

describe('PlatformNetwork validation', () => {
  const build = (props: ConstructorParameters<typeof PlatformNetwork>[2]) => () => new PlatformNetwork(newStack(), 'Net', props);
  test('maxAzs out of range', () => expect(build({ maxAzs: 0 })).toThrow(/maxAzs: 0 — must be a whole number between 1 and 6 AZs/));
  test('more NAT gateways than AZs', () => expect(build({ maxAzs: 2, natGateways: 3 })).toThrow(/natGateways: 3 — must be a whole number between 0 and 2/));
  test('bad CIDR', () => expect(build({ cidr: '10.0.0.0/8' })).toThrow(/cidr: "10\.0\.0\.0\/8" — must be an IPv4 CIDR with a prefix length between \/16 and \/22/));
  test('too few zones', () => expect(build({ maxAzs: 3, availabilityZones: ['us-east-1a'] })).toThrow(/availabilityZones: \["us-east-1a"\] — must list at least maxAzs \(3\) zones/));
  test('imported VPC with shaping props', () => {
    const stack = newStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'V', { vpcId: 'vpc-12345678', availabilityZones: ['a'], privateSubnetIds: ['s'], privateSubnetRouteTableIds: ['rtb-1'] });
    expect(() => new PlatformNetwork(stack, 'Net', { vpc, cidr: '10.0.0.0/16' })).toThrow(/vpc: .* — cannot be combined with cidr/);
  });
  test('all problems at once, as a PropsValidationError naming the construct path', () => {
    let error: unknown;
    try {
      build({ maxAzs: 9, cidr: 'x' })();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PropsValidationError);
    expect((error as PropsValidationError).problems).toHaveLength(2);
    expect((error as Error).message).toMatch(/^PlatformNetwork at "Test\/Net" has invalid props:/);
  });
});
