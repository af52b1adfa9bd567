import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { encryptedLogGroup, logsServicePrincipal, platformKey } from '../core/defaults';
import { acknowledge, acknowledgeCheck, compliancePackIds } from '../core/nag';
import { PropsValidator } from '../core/validation';

/** Interface endpoints an ML platform in private subnets needs to reach AWS without the internet. */
export const DEFAULT_INTERFACE_ENDPOINTS: Readonly<Record<string, ec2.InterfaceVpcEndpointAwsService>> = {
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  SageMakerApi: ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
  SageMakerRuntime: ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
  CloudWatchLogs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
  // Session Manager and the CloudWatch agent on private instances (GPU boxes) need these three.
  SsmMessages: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
  Ec2Messages: ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
  CloudWatchMonitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
};

export interface PlatformNetworkProps {
  /**
   * Use an existing VPC instead of creating one. Endpoints and flow logs are then left to its owner.
   * @default - a new VPC
   */
  readonly vpc?: ec2.IVpc;
  /** IPv4 CIDR of the new VPC. @default '10.0.0.0/16' */
  readonly cidr?: string;
  /** Availability zones to span (1-6). @default 2 */
  readonly maxAzs?: number;
  /**
   * Explicit availability zones, for stacks with a concrete region (no lookups at synth).
   * @default - the stack's availability zones
   */
  readonly availabilityZones?: string[];
  /**
   * NAT gateways (0 to maxAzs). With 0 there are no public subnets: workloads run in isolated subnets
   * and reach AWS through the VPC endpoints only.
   * @default 1
   */
  readonly natGateways?: number;
  /** Create the interface endpoints in {@link DEFAULT_INTERFACE_ENDPOINTS}. @default true */
  readonly interfaceEndpoints?: boolean;
  /** Retention of the flow log group. @default logs.RetentionDays.THREE_MONTHS */
  readonly flowLogRetention?: logs.RetentionDays;
  /** Key for the flow log group. @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The platform VPC: public subnets only for NAT, private subnets with egress for workloads, isolated
 * subnets for data-plane resources, an S3 gateway endpoint, interface endpoints for the AWS APIs the platform
 * calls, and flow logs of all traffic to a KMS-encrypted log group.
 */
export class PlatformNetwork extends Construct {
  public readonly vpc: ec2.IVpc;
  /** Subnets where workloads run (private with egress, or isolated when there is no NAT). */
  public readonly workloadSubnets: ec2.SubnetSelection;
  /** Security group of the interface endpoints (HTTPS from inside the VPC). Undefined for an imported VPC. */
  public readonly endpointSecurityGroup?: ec2.SecurityGroup;
  /** Flow log group. Undefined for an imported VPC. */
  public readonly flowLogGroup?: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: PlatformNetworkProps = {}) {
    super(scope, id);
    const maxAzs = props.maxAzs ?? 2;
    const natGateways = props.natGateways ?? 1;
    const cidr = props.cidr ?? '10.0.0.0/16';

    const v = new PropsValidator(this, 'PlatformNetwork');
    v.intRange('maxAzs', maxAzs, 1, 6, 'AZs')
      .intRange('natGateways', natGateways, 0, maxAzs, 'NAT gateways (at most maxAzs)')
      .check(/^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-2])$/.test(cidr), 'cidr', cidr, 'must be an IPv4 CIDR with a prefix length between /16 and /22')
      .check(!(props.vpc && (props.cidr || props.maxAzs || props.natGateways !== undefined || props.availabilityZones)), 'vpc', '(imported VPC)',
        'cannot be combined with cidr, maxAzs, natGateways or availabilityZones, which shape a new VPC')
      .check(!props.availabilityZones || props.availabilityZones.length >= maxAzs, 'availabilityZones', props.availabilityZones, `must list at least maxAzs (${maxAzs}) zones`);
    v.throwIfInvalid();

    const workloadType = natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED;
    this.workloadSubnets = { subnetType: workloadType };

    if (props.vpc) {
      this.vpc = props.vpc;
      return;
    }

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const key = props.encryptionKey
      ?? platformKey(this, 'FlowLogKey', { description: 'VPC flow logs', removalPolicy, servicePrincipals: [logsServicePrincipal(this)] });
    this.flowLogGroup = encryptedLogGroup(this, 'FlowLogs', { encryptionKey: key, retention: props.flowLogRetention ?? 90, removalPolicy });

    const subnetConfiguration: ec2.SubnetConfiguration[] = [
      ...(natGateways > 0 ? [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false }] : []),
      ...(natGateways > 0 ? [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 }] : []),
      { name: natGateways > 0 ? 'isolated' : 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
    ];
    // Fixed masks leave room for 6 AZs in a /17 or larger; smaller VPCs are split evenly by CDK.
    const prefix = Number(cidr.split('/')[1]);
    const vpc = withStackZones(this, props.availabilityZones, () => new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      ...(props.availabilityZones ? { availabilityZones: props.availabilityZones.slice(0, maxAzs) } : { maxAzs }),
      natGateways,
      subnetConfiguration: prefix <= 17 ? subnetConfiguration : subnetConfiguration.map(({ cidrMask: _unused, ...rest }) => rest),
      restrictDefaultSecurityGroup: true,
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    }));
    this.vpc = vpc;
    const restrictDefaultSg = Stack.of(this).node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider')?.node.tryFindChild('Handler');
    if (restrictDefaultSg) {
      acknowledgeCheck(restrictDefaultSg, 'lambdaInsideVpc',
        'aws-cdk-lib\'s provider that strips the default security group\'s rules at deploy time: it calls only the EC2 API and must run before anything in the VPC exists; aws-cdk-lib offers no VPC option for it.');
    }
    for (const subnet of vpc.publicSubnets) {
      acknowledge(subnet, compliancePackIds('VPCNoUnrestrictedRouteToIGW'),
        'Public subnets hold only the NAT gateways (no public IPs are mapped on launch); their default route must reach the internet gateway.');
    }
    const flowLogRole = vpc.node.tryFindChild('all')?.node.tryFindChild('IAMRole');
    if (flowLogRole) {
      acknowledge(flowLogRole, compliancePackIds('IAMNoInlinePolicy'),
        'CDK-generated VPC flow log role; its inline policy is scoped by CDK to the flow log group.');
    }

    vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    if (props.interfaceEndpoints ?? true) {
      this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc,
        description: 'HTTPS from inside the VPC to AWS service interface endpoints',
        allowAllOutbound: false,
      });
      // The literal CIDR (not the vpcCidrBlock token) keeps the rule checkable by cdk-nag at synth.
      this.endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
      for (const [name, service] of Object.entries(DEFAULT_INTERFACE_ENDPOINTS)) {
        vpc.addInterfaceEndpoint(name, {
          service,
          privateDnsEnabled: true,
          open: false, // our security group already admits HTTPS from the VPC CIDR
          securityGroups: [this.endpointSecurityGroup],
          subnets: this.workloadSubnets,
        });
      }
    }
  }
}

/**
 * `ec2.Vpc` checks explicit zones against `Stack.availabilityZones`, which in a stack with a concrete account
 * and region is a context lookup: AWS calls at synth, or a failed synth offline. With explicit zones there is
 * nothing to look up, so while the VPC is built the stack reports exactly those zones (PlatformStack does the
 * same for its whole life). A stack that already has the lookup's answer in context is left alone.
 */
function withStackZones<T>(scope: Construct, zones: string[] | undefined, build: () => T): T {
  const stack = Stack.of(scope);
  const concrete = !Token.isUnresolved(stack.account) && !Token.isUnresolved(stack.region);
  const contextKey = `availability-zones:account=${stack.account}:region=${stack.region}`;
  if (!zones || !concrete || stack.node.tryGetContext(contextKey) !== undefined) return build();
  Object.defineProperty(stack, 'availabilityZones', { configurable: true, get: () => [...zones] });
  try {
    return build();
  } finally {
    delete (stack as { availabilityZones?: unknown }).availabilityZones;
  }
}
