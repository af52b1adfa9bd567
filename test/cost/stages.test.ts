import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  estimateCloudAssembly, type IdleCostEstimate, printIdleCostSummary, README_TABLE_END, README_TABLE_START, readmeCostTable,
} from '../../lib/cost';
import { synthesizedPlatform } from '../journeys/support';

// The built-in stages and the everything-on config, priced from the journey support's cached synthesized platforms
// (no synth of its own when another file already built them). Expected figures are worked out by hand from the
// us-east-1 list prices: 730 h a month.
const byName = (estimates: IdleCostEstimate[], name: string): IdleCostEstimate => {
  const found = estimates.find((e) => e.name === name);
  if (!found) throw new Error(`no estimate for ${name}; have ${estimates.map((e) => e.name).join(', ')}`);
  return found;
};
const kinds = (e: IdleCostEstimate): Record<string, number> => Object.fromEntries(e.byKind.filter((k) => k.monthlyUsd > 0).map((k) => [k.kind, Number(k.monthlyUsd.toFixed(2))]));

describe('built-in stages', () => {
  let estimates: IdleCostEstimate[];
  let validationFailures: readonly string[];
  beforeAll(() => {
    const platform = synthesizedPlatform('defaults');
    estimates = estimateCloudAssembly(platform.directory);
    validationFailures = platform.validationFailures;
  });

  test('dev idles under $200 a month: the control plane, one system node, one NAT gateway, keys and alarms', () => {
    const dev = byName(estimates, 'dev');
    expect(kinds(dev)).toEqual({
      'EKS clusters': 73, // 0.10 × 730
      'EKS node groups': 70.08, // 1 × m6i.large 0.096 × 730
      'EBS volumes': 4, // 50 GiB gp3 × 0.08
      'NAT gateways': 32.85,
      'Public IPv4 addresses': 3.65,
      'KMS keys': 11, // two more with drift detection (its logs and forwarder DLQ; the retraining trigger)
      'CloudWatch alarms': 1.9, // 13 alarms (one per drift-monitored model: endpoint, Lambda, Ray Serve), one with 2 metrics, and a composite alarm (0.50)
      'CloudWatch dashboards': 3,
    });
    expect(dev.monthlyUsd).toBeCloseTo(199.48, 2);
    expect(dev.monthlyUsd).toBeLessThanOrEqual(200);
    expect(dev.notPriced).toEqual([]);
  });

  test('dev keeps EKS with GPU nodes from zero and the serverless endpoint', () => {
    const dev = byName(estimates, 'dev');
    const gpu = dev.items.filter((i) => i.kind === 'EKS node groups' && /Gpu/.test(i.logicalId));
    expect(gpu.map((i) => i.monthlyUsd)).toEqual([0]);
    expect(dev.usagePriced).toEqual(expect.arrayContaining([expect.objectContaining({ label: 'SageMaker serverless endpoints (on demand)', count: 1 })]));
    expect(dev.byKind.some((k) => k.kind === 'Interface endpoints' || k.kind === 'MLflow tracking servers')).toBe(false);
  });

  test('staging and prod pay for their protections: interface endpoints, a NAT gateway per AZ, more system nodes', () => {
    expect(kinds(byName(estimates, 'staging'))).toEqual({
      'EKS clusters': 73, 'EKS node groups': 140.16, 'EBS volumes': 8, 'NAT gateways': 65.7, 'Public IPv4 addresses': 7.3,
      'Interface endpoints': 160.6, // 11 endpoints × 2 AZ × 0.01 × 730
      // The dev model pipeline promotes to staging and prod, so their SageMaker stacks are on: one real-time endpoint each.
      'SageMaker endpoints': 83.95, 'KMS keys': 8, 'CloudWatch alarms': 1.3, 'CloudWatch dashboards': 3,
    });
    expect(byName(estimates, 'prod').byKind.find((k) => k.kind === 'EKS node groups')?.monthlyUsd).toBeCloseTo(420.48, 2); // 3 × m6i.xlarge 0.192 × 730
    expect(byName(estimates, 'staging').monthlyUsd).toBeCloseTo(551.01, 2);
    expect(byName(estimates, 'prod').monthlyUsd).toBeCloseTo(919.28, 2);
    for (const e of estimates) expect(e.notPriced).toEqual([]);
  });

  test('cdk-nag has no unacknowledged finding in any stage with the new dev defaults', () => {
    expect(validationFailures).toEqual([]);
  });

  test("the README's cost table is the one this code generates (npm run cost:readme)", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const start = readme.indexOf(README_TABLE_START);
    const section = readme.slice(start, readme.indexOf(README_TABLE_END) + README_TABLE_END.length);
    expect(start).toBeGreaterThan(0);
    expect(section).toBe(readmeCostTable(['dev', 'staging', 'prod'].map((s) => byName(estimates, s))));
  });

  test('the synth summary is one line per stage', () => {
    const lines: string[] = [];
    printIdleCostSummary(synthesizedPlatform('defaults').directory, (l) => lines.push(l));
    expect(lines.find((l) => l.startsWith('Idle cost dev:'))).toBe(
      'Idle cost dev: ~$199.48/month (EKS clusters $73.00, EKS node groups $70.08, NAT gateways $32.85); usage-priced resources excluded — list prices of 2026-12-01, details: cdk-mlops cost',
    );
    expect(lines.map((l) => l.split(':')[0])).toEqual(expect.arrayContaining(['Idle cost dev', 'Idle cost staging', 'Idle cost prod', 'Idle cost Pipeline/Prod', 'Idle cost Pipeline']));
  });
});

describe('every component on, one account per stage', () => {
  let estimates: IdleCostEstimate[];
  beforeAll(() => { estimates = estimateCloudAssembly(synthesizedPlatform('allOn').directory); });

  test('every resource of every stage is priced, usage-priced or free', () => {
    for (const e of estimates) expect({ stage: e.name, notPriced: e.notPriced }).toEqual({ stage: e.name, notPriced: [] });
  });

  test('serving, MLflow and GPU boxes are priced at their idle floor', () => {
    const prod = byName(estimates, 'prod');
    const k = kinds(prod);
    expect(k['SageMaker endpoints']).toBe(167.9); // real-time: autoscaling min 2 × ml.m5.large 0.115 × 730; async: min 0
    expect(k['Lambda provisioned concurrency']).toBe(43.8); // 2 × 2 GB x86_64 (the default, built on x86 hosts) × 0.0000041667 × 2,628,000 s
    expect(k['MLflow tracking servers']).toBe(438); // Small 0.60 × 730
    expect(k['EC2 instances']).toBeUndefined(); // both GPU boxes stop when idle: only their 200 GiB volumes bill
    expect(prod.items.filter((i) => i.resourceType === 'AWS::EC2::Instance' && i.kind === 'EBS volumes').map((i) => i.monthlyUsd)).toEqual([16, 16]);
    expect(prod.items.find((i) => /async/.test(i.detail))?.monthlyUsd).toBe(0);
    expect(prod.usagePriced.map((u) => u.label)).toEqual(expect.arrayContaining(['Feature Store online stores (on demand)', 'SageMaker serverless endpoints (on demand)']));
    expect(prod.stacks.every((s) => s.region === 'us-east-1')).toBe(true);
    expect(prod.warnings).toEqual([]);
  });
});
