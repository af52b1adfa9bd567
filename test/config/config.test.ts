import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, DEFAULT_CONFIGS, deepMerge, loadStageConfig, parseCidr, STAGE_NAMES } from '../../lib/config';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-config-'));
function writeFile(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('built-in defaults', () => {
  test.each(STAGE_NAMES)('%s is valid and environment-agnostic', (stage) => {
    const config = loadStageConfig({ stage });
    expect(config.stage).toBe(stage);
    expect(config.env).toEqual({});
  });

  test('prod protects data and dev is disposable', () => {
    expect(DEFAULT_CONFIGS.prod.data.retainOnDelete).toBe(true);
    expect(DEFAULT_CONFIGS.prod.data.versioned).toBe(true);
    expect(DEFAULT_CONFIGS.prod.network.natGateways).toBeGreaterThanOrEqual(2);
    expect(DEFAULT_CONFIGS.dev.data.retainOnDelete).toBe(false);
  });

  test('no GPU component is on by default in any stage', () => {
    for (const stage of STAGE_NAMES) {
      const c = loadStageConfig({ stage });
      expect(c.compute.instances).toHaveLength(0);
    }
  });
});

describe('user config files', () => {
  test('YAML deep-merges over the stage defaults; stages.<name> wins for that stage', () => {
    const file = writeFile('platform.yaml', [
      'prefix: acme-ml',
      'tags: { Team: research }',
      'network: { natGateways: 0, interfaceEndpoints: true }',
      'stages:',
      '  prod:',
      '    env: { account: "123456789012", region: eu-west-1 }',
      '    network: { natGateways: 2, availabilityZones: [eu-west-1a, eu-west-1b] }',
    ].join('\n'));
    const dev = loadStageConfig({ stage: 'dev', file });
    expect(dev.prefix).toBe('acme-ml');
    expect(dev.network.natGateways).toBe(0);
    expect(dev.network.cidr).toBe(DEFAULT_CONFIGS.dev.network.cidr); // untouched keys keep defaults
    expect(dev.tags).toEqual({ CostCenter: 'ml-platform', Team: 'research' });
    const prod = loadStageConfig({ stage: 'prod', file });
    expect(prod.network.natGateways).toBe(2);
    expect(prod.env).toEqual({ account: '123456789012', region: 'eu-west-1' });
  });

  test('JSON files work and arrays replace rather than merge', () => {
    const file = writeFile('platform.json', JSON.stringify({ registry: { repositories: ['serving'] } }));
    expect(loadStageConfig({ stage: 'staging', file }).registry.repositories).toEqual(['serving']);
  });

  test('an empty YAML file means defaults', () => {
    expect(loadStageConfig({ stage: 'dev', file: writeFile('empty.yaml', '') }).prefix).toBe('mlops');
  });

  test('unreadable, malformed and non-mapping files are clear errors', () => {
    expect(() => loadStageConfig({ stage: 'dev', file: path.join(tmp, 'missing.yaml') })).toThrow(/Cannot read config file .*missing\.yaml.*ENOENT/);
    expect(() => loadStageConfig({ stage: 'dev', file: writeFile('bad.json', '{ "prefix": ') })).toThrow(/is not valid JSON/);
    expect(() => loadStageConfig({ stage: 'dev', file: writeFile('list.yaml', '- a\n- b\n') })).toThrow(/must hold a mapping of config keys, got a list/);
  });

  test('deepMerge does not mutate its inputs', () => {
    const base = { a: { b: 1, c: [1] } };
    const merged = deepMerge(base, { a: { b: 2 } });
    expect(merged).toEqual({ a: { b: 2, c: [1] } });
    expect(base.a.b).toBe(1);
  });
});

describe('bad configs name the key, the value and what is allowed', () => {
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ['wrong type', 'dev', { network: { natGateways: '2' } }, /^network\.natGateways: "2" — must be a number, got string$/],
    ['unknown key', 'dev', { network: { subnets: 4 } }, /^network\.subnets: unknown key \(value 4\); allowed keys here: cidr, maxAzs/],
    ['unknown key inside a list item', 'dev', { compute: { instances: [{ name: 'box', instanceType: 'g5.xlarge', gpus: 4 }] } },
      /^compute\.instances\.0\.gpus: unknown key \(value 4\); allowed keys here: name, instanceType/],
    ['unknown top-level key', 'dev', { vpc: {} }, /^vpc: unknown key .*allowed keys here: prefix, env, tags/],
    ['malformed CIDR', 'dev', { network: { cidr: '10.0.0.0/33' } }, /^network\.cidr: "10\.0\.0\.0\/33" — must be an IPv4 CIDR such as 10\.0\.0\.0\/16$/],
    ['CIDR prefix too small', 'dev', { network: { cidr: '10.0.0.0/26' } }, /^network\.cidr: "10\.0\.0\.0\/26" — must have a prefix length between \/16 and \/22/],
    ['CIDR with host bits', 'dev', { network: { cidr: '10.0.1.0/16' } }, /^network\.cidr: "10\.0\.1\.0\/16" — must be a network address/],
    ['AZ count out of range', 'dev', { network: { maxAzs: 7 } }, /^network\.maxAzs: 7 — must be between 1 and 6 AZs$/],
    ['more NAT gateways than AZs', 'dev', { network: { natGateways: 3 } }, /^network\.natGateways: 3 — must not exceed network\.maxAzs \(2\)$/],
    ['3 AZs without explicit zones', 'dev', { network: { maxAzs: 3 } }, /^network\.maxAzs: 3 — more than 2 AZs needs env\.region and network\.availabilityZones/],
    ['explicit environment without zones', 'prod', { env: { account: '123456789012', region: 'eu-west-1' } },
      /^network\.availabilityZones: \(missing\) — env\.account and env\.region are set, so list the zones to use \(e\.g\. \["eu-west-1a", "eu-west-1b"\]\)/],
    ['invalid account id', 'dev', { env: { account: '12345' } }, /^env\.account: "12345" — must be a 12-digit AWS account id$/],
    ['invalid region', 'dev', { env: { region: 'moon-base-1' } }, /^env\.region: "moon-base-1" — must be an AWS region code/],
    ['negative retention', 'dev', { data: { noncurrentVersionExpirationDays: -1 } }, /^data\.noncurrentVersionExpirationDays: -1 — must be between 1 and 3650 days$/],
    ['invalid log retention', 'dev', { network: { flowLogRetentionDays: 45 } }, /^network\.flowLogRetentionDays: 45 — must be one of the CloudWatch Logs retention values: 1, 3, 5/],
    ['bad prefix', 'dev', { prefix: 'ML_Platform' }, /^prefix: "ML_Platform" — must be 3-20 lowercase letters/],
    ['autoDeleteObjects outside dev', 'staging', { data: { autoDeleteObjects: true, retainOnDelete: false } }, /^data\.autoDeleteObjects: true — allowed only in the dev stage, not in staging$/],
    ['prod without retain', 'prod', { data: { retainOnDelete: false } }, /^data\.retainOnDelete: false — prod must retain data/],
    ['prod single AZ', 'prod', { network: { maxAzs: 1, natGateways: 1 } }, /^network\.maxAzs: 1 — prod must span at least 2 AZs$/],
    ['unknown nag pack', 'dev', { nag: { packs: ['PCI'] } }, /^nag\.packs\.0: "PCI" — must be "NIST80053R5" or "HIPAA"$/],
    ['bad email', 'dev', { alerts: { emails: ['ops-at-example'] } }, /^alerts\.emails\.0: "ops-at-example" — must be an email address$/],
    ['bad repository name', 'dev', { registry: { repositories: ['Training Images'] } }, /^registry\.repositories\.0: "Training Images" — must be lowercase letters/],
    ['aws: tag key', 'dev', { tags: { 'aws:cost': 'x' } }, /^tags\.aws:cost: key "aws:cost" is not allowed — tag keys may not start with "aws:"$/],
    ['public EKS endpoint without CIDRs', 'dev', { eks: { endpointAccess: 'public-and-private' } }, /^eks\.publicAccessCidrs: \[\] — a public-and-private endpoint needs at least one allowed CIDR/],
    ['GPU instance with a CPU type', 'dev', { compute: { instances: [{ name: 'box', instanceType: 'm5.large', rootVolumeGiB: 200, spot: false, idleStopMinutes: 60 }] } },
      /^compute\.instances\.0\.instanceType: "m5\.large" — must be an EC2 instance type in a GPU family/],
  ];

  test.each(cases)('%s', (_name, stage, overrides, expected) => {
    const problems = problemsOf(() => loadStageConfig({ stage, overrides }));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  test('every problem is reported at once, in one message', () => {
    const file = writeFile('many.yaml', 'prefix: X\nenv: { account: abc, region: nowhere }\nnetwork: { maxAzs: 0, extra: true }\nstages: { qa: {} }\n');
    let message = '';
    try {
      loadStageConfig({ stage: 'prod', file });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^Invalid cdk-mlops configuration for stage "prod" \(built-in prod defaults \+ .*many\.yaml\): 6 problems/);
    for (const key of ['stages.qa', 'prefix', 'env.account', 'env.region', 'network.maxAzs', 'network.extra']) {
      expect(message).toContain(`  - ${key}`);
    }
  });

  test('unknown stage lists the allowed ones', () => {
    expect(() => loadStageConfig({ stage: 'qa' })).toThrow('stage: "qa" — not a known stage; allowed: dev, staging, prod');
  });

  test('explicit zones in the region allow 3 AZs', () => {
    const config = loadStageConfig({
      stage: 'prod',
      overrides: { env: { region: 'us-east-1' }, network: { maxAzs: 3, availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] } },
    });
    expect(config.network.maxAzs).toBe(3);
    expect(problemsOf(() => loadStageConfig({
      stage: 'prod',
      overrides: { env: { region: 'us-east-1' }, network: { maxAzs: 3, availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] } },
    }))).toEqual([expect.stringMatching(/every AZ must be in env\.region \(us-east-1\)/)]);
  });
});

test('parseCidr', () => {
  expect(parseCidr('10.0.0.0/16')).toEqual({ address: 0x0a000000, prefix: 16 });
  expect(parseCidr('256.0.0.0/16')).toBeUndefined();
  expect(parseCidr('10.0.0/16')).toBeUndefined();
});
