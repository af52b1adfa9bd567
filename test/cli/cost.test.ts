import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { synthesizedPlatform } from '../journeys/support';
import { type CostReport, renderCost } from '../../lib/cli/commands/cost';
import { cli, mocks, resetMocks } from './fixtures';

// `cdk-mlops cost` over the journey support's cached cloud assembly of the built-in stages (--assembly), and once
// synthesizing a small config itself. It never calls AWS.
let assembly: string;
let tmp: string;
beforeAll(() => {
  assembly = synthesizedPlatform('defaults').directory;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-cost-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => resetMocks());

describe('cdk-mlops cost', () => {
  test('prints a stage of a cloud assembly per stack, per kind and per item, with what is left out', async () => {
    const r = await cli(['cost', '--assembly', assembly, '--stage', 'dev']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dev: idle estimate \$199\.48 per month$/m);
    expect(r.stdout).toMatch(/^mlops-dev-Training\s+us-east-1 \(assumed\)\s+\$149\.08$/m); // 73 + 70.08 + 4 + 2 KMS keys
    expect(r.stdout).toMatch(/^NAT gateways\s+1\s+\$32\.85$/m);
    expect(r.stdout).toContain('$70.08  EKS node groups: dev/Training/Eks/Cluster/Cluster/NodegroupSystem — 1 × m6i.large × $0.096/h × 730 h');
    expect(r.stdout).toContain('At $0 while idle:');
    expect(r.stdout).toContain('Usage-priced (billed by use, not in the total):');
    expect(r.stdout).toContain('1 × SageMaker serverless endpoints (on demand)');
    expect(r.stdout).not.toContain('Not priced');
    expect(r.stdout).toContain('environment-agnostic stacks (no region at synth) are priced at us-east-1 prices');
    expect(r.stdout).toContain('not fetched live');
    expect(mocks.cfn.calls()).toHaveLength(0);
  });

  test('--output json gives one document with every stage of the assembly', async () => {
    const r = await cli(['cost', '--assembly', assembly, '--output', 'json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { source: string; stages: Array<{ name: string; monthlyUsd: number; overBudget: boolean }> };
    expect(report.source).toBe('assembly');
    expect(report.stages.map((s) => s.name)).toEqual(expect.arrayContaining(['dev', 'staging', 'prod', 'Pipeline']));
    expect(report.stages.find((s) => s.name === 'staging')?.monthlyUsd).toBeCloseTo(551.01, 2);
    expect(report.stages.every((s) => s.overBudget === false)).toBe(true);
  });

  test('synthesizes a config, reports its budget and exits 1 when a stage is above it', async () => {
    const file = path.join(tmp, 'platform.yaml');
    fs.writeFileSync(file, stringify({
      eks: { enabled: false }, sagemaker: { enabled: false }, lambdaInference: { enabled: false }, monitoring: { enabled: false },
      stages: { staging: { budget: { monthlyIdleUsd: 100 } } },
    }));
    const r = await cli(['cost', '--stage', 'staging', '--config', file, '--output', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as CostReport;
    const [staging] = report.stages;
    // 2 NAT gateways 65.70 + 2 public IPv4 7.30 + 11 interface endpoints in 2 AZs 160.60 + 4 KMS keys
    expect(staging).toMatchObject({ name: 'staging', budgetUsd: 100, overBudget: true });
    expect(staging.monthlyUsd).toBeCloseTo(237.6, 2);
    // The human report of the same result (rendered, not synthesized twice).
    expect(renderCost(report)).toMatch(/^staging: idle estimate \$237\.60 per month \(budget \$100\.00: OVER\)$/m);
  });

  test.each([
    [['--assembly', '/nonexistent/cdk.out'], 'error: --assembly /nonexistent/cdk.out: no manifest.json there; give a cloud assembly directory such as cdk.out (run `cdk synth` first).'],
    [['--assembly', 'ASSEMBLY', '--stage', 'qa'], /^error: --stage qa: not in the assembly; it has dev, staging, prod, .*Pipeline\.$/],
    [['--assembly', 'ASSEMBLY', '--config', 'x.yaml'], 'error: --config applies when the platform is synthesized; with --assembly the templates are already synthesized. Give one of them.'],
    [['--stage', 'qa'], /^error: Invalid cdk-mlops configuration:\n {2}- stage: "qa" — not a known stage; allowed: dev, staging, prod$/],
  ])('%j is refused with what to do (exit 2)', async (args, message) => {
    const r = await cli(['cost', ...args.map((a) => (a === 'ASSEMBLY' ? assembly : a))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : message);
  });

  test('--prices replaces the table; a table without its default region is refused', async () => {
    const good = path.join(tmp, 'prices.json');
    fs.writeFileSync(good, JSON.stringify({ date: '2027-01-01', source: 'test', hoursPerMonth: 100, defaultRegion: 'x-1', regions: { 'x-1': { natGatewayHour: 1 } } }));
    const r = await cli(['cost', '--assembly', assembly, '--stage', 'dev', '--prices', good, '--output', 'json']);
    const [dev] = (JSON.parse(r.stdout) as { stages: Array<{ monthlyUsd: number; notPriced: Array<{ resourceType: string }> }> }).stages;
    expect(dev.monthlyUsd).toBe(100); // one NAT gateway × $1/h × 100 h; everything else is not priced
    expect(dev.notPriced.map((n) => n.resourceType)).toEqual(expect.arrayContaining(['AWS::EKS::Cluster', 'AWS::KMS::Key']));
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ date: '2027-01-01', source: 'test', hoursPerMonth: 730, defaultRegion: 'us-east-1', regions: {} }));
    const refused = await cli(['cost', '--assembly', assembly, '--prices', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`error: --prices ${bad}: defaultRegion: "us-east-1" — must be one of regions ().`);
  });
});
