import { DEFAULT_PRICE_TABLE, estimateIdleCost, type CfnTemplate, type PriceTable } from '../../lib/cost';

// A small hand-written template; every expected figure below is worked out by hand from the us-east-1 list
// prices in lib/cost/prices.ts (730 h a month), not read back from the code under test.
const ref = (id: string) => ({ Ref: id });
const template: CfnTemplate = {
  Resources: {
    Cluster: { Type: 'AWS::EKS::Cluster', Properties: {} },
    SystemLt: {
      Type: 'AWS::EC2::LaunchTemplate',
      Properties: { LaunchTemplateData: { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 50, VolumeType: 'gp3' } }] } },
    },
    System: {
      Type: 'AWS::EKS::Nodegroup',
      Properties: { InstanceTypes: ['m6i.large'], ScalingConfig: { MinSize: 2, DesiredSize: 3, MaxSize: 4 }, LaunchTemplate: { Id: ref('SystemLt') } },
    },
    Gpu: { Type: 'AWS::EKS::Nodegroup', Properties: { InstanceTypes: ['g5.xlarge'], ScalingConfig: { MinSize: 0, DesiredSize: 0, MaxSize: 2 } } },
    Nat: { Type: 'AWS::EC2::NatGateway', Properties: {} },
    Eip: { Type: 'AWS::EC2::EIP', Properties: {} },
    Ecr: {
      Type: 'AWS::EC2::VPCEndpoint',
      Properties: { VpcEndpointType: 'Interface', ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', ref('AWS::Region'), '.ecr.api']] }, SubnetIds: [ref('A'), ref('B'), ref('C')] },
    },
    S3Gateway: { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Gateway' } },
    RtConfig: {
      Type: 'AWS::SageMaker::EndpointConfig',
      Properties: { ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', InitialInstanceCount: 3 }] },
    },
    Rt: { Type: 'AWS::SageMaker::Endpoint', Properties: { EndpointConfigName: { 'Fn::GetAtt': ['RtConfig', 'EndpointConfigName'] } } },
    RtScaling: {
      Type: 'AWS::ApplicationAutoScaling::ScalableTarget',
      Properties: {
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', MinCapacity: 1, MaxCapacity: 4,
        ResourceId: { 'Fn::Join': ['', ['endpoint/', { 'Fn::GetAtt': ['Rt', 'EndpointName'] }, '/variant/AllTraffic']] },
      },
    },
    SlsConfig: {
      Type: 'AWS::SageMaker::EndpointConfig',
      Properties: { ProductionVariants: [{ VariantName: 'AllTraffic', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5, ProvisionedConcurrency: 2 } }] },
    },
    Sls: { Type: 'AWS::SageMaker::Endpoint', Properties: { EndpointConfigName: { 'Fn::GetAtt': ['SlsConfig', 'EndpointConfigName'] } } },
    OnDemandConfig: {
      Type: 'AWS::SageMaker::EndpointConfig',
      Properties: { ProductionVariants: [{ VariantName: 'AllTraffic', ServerlessConfig: { MemorySizeInMB: 1024, MaxConcurrency: 5 } }] },
    },
    OnDemand: { Type: 'AWS::SageMaker::Endpoint', Properties: { EndpointConfigName: ref('OnDemandConfig') } },
    Fn: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 1024, Architectures: ['arm64'] } },
    Alias: { Type: 'AWS::Lambda::Alias', Properties: { FunctionName: ref('Fn'), ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 4 } } },
    Mlflow: { Type: 'AWS::SageMaker::MlflowTrackingServer', Properties: { TrackingServerSize: 'Medium' } },
    Features: { Type: 'AWS::SageMaker::FeatureGroup', Properties: { OnlineStoreConfig: { EnableOnlineStore: true } } },
    Key1: { Type: 'AWS::KMS::Key', Properties: {} },
    Key2: { Type: 'AWS::KMS::Key', Properties: {} },
    Alarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Errors', Period: 60 } },
    MathAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: { Metrics: [{ Id: 'e', Expression: 'a/b' }, { Id: 'a', MetricStat: { Period: 300 } }, { Id: 'b', MetricStat: { Period: 300 } }] },
    },
    FastAlarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Latency', Period: 10 } },
    Composite: { Type: 'AWS::CloudWatch::CompositeAlarm', Properties: {} },
    Dashboard: { Type: 'AWS::CloudWatch::Dashboard', Properties: {} },
    Alb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Type: 'application' } },
    Box: {
      Type: 'AWS::EC2::Instance',
      Properties: { InstanceType: 'm5.large', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 100, VolumeType: 'gp3' } }] },
    },
    GpuBox: {
      Type: 'AWS::EC2::Instance',
      Properties: { InstanceType: 'g5.xlarge', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 200, VolumeType: 'gp3' } }] },
    },
    GpuBoxIdleStop: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        MetricName: 'CPUUtilization', Period: 60, Dimensions: [{ Name: 'InstanceId', Value: ref('GpuBox') }],
        AlarmActions: [{ 'Fn::Join': ['', ['arn:', ref('AWS::Partition'), ':automate:', ref('AWS::Region'), ':ec2:stop']] }],
      },
    },
    Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
    Logs: { Type: 'AWS::Logs::LogGroup', Properties: {} },
    Role: { Type: 'AWS::IAM::Role', Properties: {} },
    Db1: { Type: 'AWS::RDS::DBInstance', Properties: {} },
    Db2: { Type: 'AWS::RDS::DBInstance', Properties: {} },
  },
};

describe('estimateIdleCost on a small template (us-east-1)', () => {
  const e = estimateIdleCost([{ stackName: 'Small', template, region: 'us-east-1' }], { name: 'small' });
  const kind = (k: string) => e.byKind.find((b) => b.kind === k)?.monthlyUsd;

  test('prices each hourly and monthly resource kind', () => {
    expect(kind('EKS clusters')).toBeCloseTo(73.0, 6); // 0.10 × 730
    expect(kind('EKS node groups')).toBeCloseTo(140.16, 6); // minSize 2 × 0.096 × 730; the GPU group is at 0
    expect(kind('NAT gateways')).toBeCloseTo(32.85, 6); // 0.045 × 730
    expect(kind('Public IPv4 addresses')).toBeCloseTo(3.65, 6); // 0.005 × 730
    expect(kind('Interface endpoints')).toBeCloseTo(21.9, 6); // 3 AZ × 0.01 × 730; the gateway endpoint is free
    expect(kind('SageMaker endpoints')).toBeCloseTo(83.95, 6); // autoscaling min 1 (not the initial 3) × 0.115 × 730
    expect(kind('SageMaker serverless provisioned concurrency')).toBeCloseTo(50.4576, 6); // 2 × 2 GB × 0.0000048 × 2,628,000 s
    expect(kind('Lambda provisioned concurrency')).toBeCloseTo(35.0407008, 6); // 4 × 1 GB × 0.0000033334 × 2,628,000 s
    expect(kind('MLflow tracking servers')).toBeCloseTo(1022, 6); // Medium 1.40 × 730
    expect(kind('KMS keys')).toBeCloseTo(2, 6);
    // 0.10 + 2 metrics × 0.10 + high resolution 0.30 + the idle-stop alarm 0.10 + composite 0.50
    expect(kind('CloudWatch alarms')).toBeCloseTo(1.2, 6);
    expect(kind('CloudWatch dashboards')).toBeCloseTo(3, 6);
    expect(kind('Load balancers')).toBeCloseTo(16.425, 6); // 0.0225 × 730
    expect(kind('EC2 instances')).toBeCloseTo(70.08, 6); // m5.large 0.096 × 730; the GPU box stops when idle
    expect(kind('EBS volumes')).toBeCloseTo(8 + 8 + 16, 6); // 2 × 50 GiB + 100 GiB + 200 GiB of gp3 at 0.08
    expect(e.monthlyUsd).toBeCloseTo(1587.7133008, 6);
  });

  test('usage-priced resources are listed apart with their counts, free ones nowhere', () => {
    expect(e.usagePriced).toEqual(expect.arrayContaining([
      expect.objectContaining({ label: 'S3 buckets', count: 1 }),
      expect.objectContaining({ label: 'CloudWatch log groups', count: 1 }),
      expect.objectContaining({ label: 'Lambda functions', count: 1 }),
      expect.objectContaining({ label: 'SageMaker serverless endpoints (on demand)', count: 1 }),
      expect.objectContaining({ label: 'Feature Store online stores (on demand)', count: 1 }),
    ]));
    expect(JSON.stringify(e)).not.toContain('AWS::IAM::Role');
  });

  test('a type with no price rule is "not priced" with its count, never $0', () => {
    expect(e.notPriced).toEqual([expect.objectContaining({ resourceType: 'AWS::RDS::DBInstance', count: 2, reason: 'no price rule for this resource type' })]);
    expect(e.items.some((i) => i.resourceType === 'AWS::RDS::DBInstance')).toBe(false);
  });

  test('zero-cost idle capacity is shown as $0 items, with the assumptions', () => {
    expect(e.items.filter((i) => i.monthlyUsd === 0).map((i) => i.logicalId).sort()).toEqual(['Gpu', 'GpuBox']);
    expect(e.assumptions).toEqual(expect.arrayContaining([
      'System: priced at minSize 2, not desiredSize 3 (an autoscaler removes idle nodes down to minSize)',
      'GpuBox: an alarm stops it when idle, so only its volumes are priced',
    ]));
    expect(e.items[0]).toMatchObject({ logicalId: 'Mlflow', kind: 'MLflow tracking servers', detail: 'Medium: $1.4/h × 730 h' });
  });
});

describe('regions', () => {
  const nat: CfnTemplate = { Resources: { Nat: { Type: 'AWS::EC2::NatGateway' }, Mlflow: { Type: 'AWS::SageMaker::MlflowTrackingServer' } } };

  test('a region in the table uses its own prices; a price the region lacks is not priced', () => {
    const e = estimateIdleCost([{ stackName: 'Eu', template: nat, region: 'eu-central-1' }]);
    expect(e.monthlyUsd).toBeCloseTo(37.96, 6); // 0.052 × 730
    expect(e.notPriced).toEqual([expect.objectContaining({ resourceType: 'AWS::SageMaker::MlflowTrackingServer', count: 1, reason: 'no MLflow Small tracking server price for eu-central-1 in the price table' })]);
    expect(e.warnings).toEqual([]);
  });

  test('an unknown region falls back to the default region, with a warning', () => {
    const e = estimateIdleCost([{ stackName: 'Far', template: nat, region: 'ap-south-2' }]);
    expect(e.monthlyUsd).toBeCloseTo(32.85 + 438, 6);
    expect(e.stacks[0]).toMatchObject({ region: 'ap-south-2', pricedAs: 'us-east-1' });
    expect(e.warnings).toEqual([expect.stringContaining('region ap-south-2 is not in the price table')]);
    expect(e.warnings[0]).toContain('priced at us-east-1 prices instead');
  });

  test('environment-agnostic stacks are priced at the default region, stated as an assumption', () => {
    const e = estimateIdleCost([{ stackName: 'Agnostic', template: nat }]);
    expect(e.warnings).toEqual([]);
    expect(e.assumptions).toContain('environment-agnostic stacks (no region at synth) are priced at us-east-1 prices');
  });

  test('a custom table replaces the built-in one', () => {
    const table: PriceTable = { ...DEFAULT_PRICE_TABLE, defaultRegion: 'x-1', regions: { 'x-1': { natGatewayHour: 1 } } };
    const e = estimateIdleCost([{ stackName: 'X', template: nat }], { prices: table });
    expect(e.monthlyUsd).toBe(730);
    expect(e.notPriced.map((n) => n.resourceType)).toEqual(['AWS::SageMaker::MlflowTrackingServer']);
  });
});

test('the built-in price table is dated, sourced and complete for its default region', () => {
  const t = DEFAULT_PRICE_TABLE;
  expect(t.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(t.source).toMatch(/Price List API/);
  expect(t.source).toMatch(/not fetched live/);
  expect(t.hoursPerMonth).toBe(730);
  const us = t.regions[t.defaultRegion];
  for (const key of ['eksClusterHour', 'natGatewayHour', 'interfaceEndpointAzHour', 'kmsKeyMonth', 'dashboardMonth', 'sagemakerServerlessProvisionedGbSecond'] as const) {
    expect(us[key]).toBeGreaterThan(0);
  }
  for (const prices of Object.values(t.regions)) {
    for (const table of [prices.ec2InstanceHour, prices.ebsGbMonth, prices.sagemakerHostingInstanceHour]) {
      for (const v of Object.values(table ?? {})) expect(v).toBeGreaterThan(0);
    }
  }
});
