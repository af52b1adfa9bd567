import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { type Construct } from 'constructs';
import { PlatformNetwork } from '../../constructs/network';
import { PlatformStack, type PlatformStackProps } from './platform-stack';

/** The stage's VPC (new or imported), endpoints and flow logs. */
export class NetworkStack extends PlatformStack {
  public readonly network: PlatformNetwork;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { network: n, data } = props.config;
    const removalPolicy = data.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.network = n.existingVpc
      ? new PlatformNetwork(this, 'Network', {
        vpc: ec2.Vpc.fromVpcAttributes(this, 'ExistingVpc', {
          vpcId: n.existingVpc.vpcId,
          availabilityZones: n.existingVpc.availabilityZones,
          privateSubnetIds: n.existingVpc.privateSubnetIds,
          privateSubnetRouteTableIds: n.existingVpc.privateSubnetRouteTableIds,
        }),
      })
      : new PlatformNetwork(this, 'Network', {
        cidr: n.cidr,
        maxAzs: n.maxAzs,
        availabilityZones: n.availabilityZones,
        natGateways: n.natGateways,
        interfaceEndpoints: n.interfaceEndpoints,
        flowLogRetention: n.flowLogRetentionDays,
        removalPolicy,
      });
  }
}
