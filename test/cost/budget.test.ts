import * as fs from 'node:fs';
import * as path from 'node:path';
import { type App } from 'aws-cdk-lib';
import { IdleCostBudget } from '../../lib/cost';
import { type ConfigError, loadStageConfig } from '../../lib/config';
import { PlatformStage } from '../../lib/platform-stage';
import { newApp } from '../helpers';

// staging with only the foundation (network, data, alerts), priced by hand at us-east-1:
// 2 NAT gateways 2 × 0.045 × 730 = 65.70, 2 public IPv4 7.30, 11 interface endpoints × 2 AZ × 0.01 × 730 = 160.60,
// 4 KMS keys 4.00: $237.60 a month.
const foundationOnly = { eks: { enabled: false }, sagemaker: { enabled: false }, lambdaInference: { enabled: false }, monitoring: { enabled: false } };

describe('budget.monthlyIdleUsd', () => {
  let app: App;
  let thrown: Error | undefined;
  let report: { pluginReports: Array<{ pluginName: string; conclusion: string; violations: Array<{ description: string; violatingConstructs: Array<{ constructPath: string }> }> }> };
  beforeAll(() => {
    app = newApp();
    new PlatformStage(app, 'staging', { config: loadStageConfig({ stage: 'staging', overrides: { ...foundationOnly, budget: { monthlyIdleUsd: 100 } } }) });
    try {
      app.synth();
    } catch (e) {
      thrown = e as Error;
    }
    report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
  });

  test('synth fails when the stage is above its budget, naming the total, the key and the biggest items', () => {
    expect(thrown?.message).toContain('above budget.monthlyIdleUsd ($100.00)');
    const failed = report.pluginReports.filter((r) => r.conclusion === 'failure');
    expect(failed.map((r) => r.pluginName)).toEqual(['cdk-mlops-idle-cost']);
    const [violation] = failed[0].violations;
    expect(violation.description).toBe(
      'Idle cost estimate of stage staging is $237.60/month, above budget.monthlyIdleUsd ($100.00). Biggest items: '
      + 'NAT gateways staging/Network/Network/Vpc/publicSubnet1/NATGateway $32.85 ($0.045/h × 730 h); '
      + 'NAT gateways staging/Network/Network/Vpc/publicSubnet2/NATGateway $32.85 ($0.045/h × 730 h); '
      + 'Interface endpoints staging/Network/Network/Vpc/EcrApi $14.60 (ecr.api: 2 AZ × $0.01/h × 730 h). '
      + 'Switch those off or shrink them, or raise budget.monthlyIdleUsd; `cdk-mlops cost` lists every item.',
    );
    expect(violation.violatingConstructs.map((c) => c.constructPath)).toEqual(['staging/Network/Network/Vpc/publicSubnet1/NATGateway']);
  });

  test('the same templates pass a budget above their estimate (the plugin on its own)', () => {
    const stackTemplates = fs.readdirSync(path.join(app.outdir, 'assembly-staging'))
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => ({ stackConstructPath: f, templatePath: path.join(app.outdir, 'assembly-staging', f), accountId: undefined, region: undefined }));
    const context = { templatePaths: stackTemplates.map((s) => s.templatePath), stackTemplates, appConstruct: app };
    expect(new IdleCostBudget({ monthlyIdleUsd: 237.6 }).validate(context)).toEqual({ success: true, violations: [] });
    expect(new IdleCostBudget({ monthlyIdleUsd: 237.59 }).validate(context).success).toBe(false);
  });

  test('bad values name the key, the value and what is allowed', () => {
    const problems = (budget: unknown) => {
      try {
        loadStageConfig({ stage: 'dev', overrides: { budget } });
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ monthlyIdleUsd: -5 })).toEqual(['budget.monthlyIdleUsd: -5 — must be a number of US dollars a month above 0']);
    expect(problems({ monthlyIdleUsd: '200' })).toEqual(['budget.monthlyIdleUsd: "200" — must be a number, got string']);
    expect(problems({ monthlyIdle: 200 })).toEqual(['budget.monthlyIdle: unknown key (value 200); allowed keys here: monthlyIdleUsd']);
    expect(() => new IdleCostBudget({ monthlyIdleUsd: 0 })).toThrow('IdleCostBudget: monthlyIdleUsd 0 — must be a number of dollars above 0');
  });

  test('no budget by default; a budget is kept in the stage config', () => {
    expect(loadStageConfig({ stage: 'dev' }).budget).toBeUndefined();
    expect(loadStageConfig({ stage: 'prod', overrides: { budget: { monthlyIdleUsd: 1000 } } }).budget).toEqual({ monthlyIdleUsd: 1000 });
  });

  test('natGateways 0 needs the interface endpoints (dev turns them off)', () => {
    expect(() => loadStageConfig({ stage: 'dev', overrides: { network: { natGateways: 0 } } })).toThrow(
      'network.interfaceEndpoints: false — with network.natGateways 0 the private subnets would reach nothing',
    );
    expect(loadStageConfig({ stage: 'dev', overrides: { network: { natGateways: 0, interfaceEndpoints: true } } }).network.natGateways).toBe(0);
  });
});
