import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { stringify } from 'yaml';
import { buildPlatform, retrainingRouteProblems, withRetrainingRoutes } from '../../lib/app';
import { ConfigError, loadStageConfig, STAGE_NAMES } from '../../lib/config';

function problemsOf(overrides: Record<string, unknown>): string[] {
  try {
    loadStageConfig({ stage: 'prod', overrides });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('drift config', () => {
  test.each(STAGE_NAMES)('%s: drift detection on by default, hourly over 24 hours; Lambda capture at 10 %%', (stage) => {
    const c = loadStageConfig({ stage });
    expect(c.monitoring.drift).toMatchObject({ enabled: true, schedule: 'rate(1 hour)', windowHours: 24, psiThreshold: 0.2 });
    expect(c.lambdaInference.captureSamplingPercent).toBe(10);
  });

  test.each([
    [{ monitoring: { drift: { schedule: 'hourly' } } }, 'monitoring.drift.schedule'],
    [{ monitoring: { drift: { windowHours: 0 } } }, 'monitoring.drift.windowHours'],
    [{ monitoring: { drift: { psiThreshold: -1 } } }, 'monitoring.drift.psiThreshold'],
    [{ monitoring: { drift: { pValue: 1 } } }, 'monitoring.drift.pValue'],
    [{ monitoring: { drift: { pipelineAccount: '12' } } }, 'monitoring.drift.pipelineAccount'],
    [{ pipelines: { retrainCooldownHours: 0 } }, 'pipelines.retrainCooldownHours'],
    [{ pipelines: { retrainFromAccounts: ['abc'] } }, 'pipelines.retrainFromAccounts.0'],
    [{ lambdaInference: { captureSamplingPercent: 101 } }, 'lambdaInference.captureSamplingPercent'],
  ])('%j is refused at its key', (overrides, key) => {
    const problems = problemsOf(overrides);
    expect(problems.some((p) => p.startsWith(key))).toBe(true);
  });

  test('drift is routed to the pipeline stage\'s account, whose bus accepts the other stages; explicit values win', () => {
    const configs = STAGE_NAMES.map((stage, i) => loadStageConfig({ stage, overrides: { env: { account: `${i + 1}`.repeat(12), region: 'eu-west-1' }, network: { availabilityZones: ['eu-west-1a', 'eu-west-1b'] } } }));
    const [dev, staging, prod] = withRetrainingRoutes(configs);
    expect(prod.monitoring.drift).toMatchObject({ pipelineAccount: '111111111111', pipelineRegion: 'eu-west-1' });
    expect(staging.monitoring.drift.pipelineAccount).toBe('111111111111');
    expect(dev.pipelines.retrainFromAccounts).toEqual(['222222222222', '333333333333']);
    const explicit = STAGE_NAMES.map((stage) => loadStageConfig({ stage, overrides: stage === 'prod' ? { monitoring: { drift: { pipelineAccount: '999999999999' } } } : {} }));
    expect(withRetrainingRoutes(explicit)[2].monitoring.drift.pipelineAccount).toBe('999999999999');
  });

  test('without a pipeline stage nothing is routed', () => {
    const configs = STAGE_NAMES.map((stage) => loadStageConfig({ stage, overrides: { pipelines: { enabled: false } } }));
    expect(withRetrainingRoutes(configs)).toBe(configs);
  });

  describe('an explicit retraining target must host the pipeline', () => {
    const accounts = { dev: '111111111111', staging: '222222222222', prod: '333333333333' };
    const stages = (prod: Record<string, unknown>, dev: Record<string, unknown> = {}) => STAGE_NAMES.map((stage) => loadStageConfig({
      stage,
      overrides: {
        ...(stage === 'dev' && 'noAccount' in dev ? {} : { env: { account: accounts[stage], region: 'eu-west-1' }, network: { availabilityZones: ['eu-west-1a', 'eu-west-1b'] } }),
        ...(stage === 'dev' && 'pipelines' in dev ? { pipelines: dev.pipelines } : {}),
        ...(stage === 'prod' ? { monitoring: { drift: prod } } : {}),
      },
    }));

    test('the pipeline\'s own account and region pass; so does leaving them unset', () => {
      expect(retrainingRouteProblems(stages({ pipelineAccount: accounts.dev, pipelineRegion: 'eu-west-1' }))).toEqual([]);
      expect(retrainingRouteProblems(stages({}))).toEqual([]);
    });

    test('another account or region is refused at the key, naming the pipeline\'s stage and account', () => {
      expect(retrainingRouteProblems(stages({ pipelineAccount: '999999999999', pipelineRegion: 'us-west-2' }))).toEqual([
        'stages.prod.monitoring.drift.pipelineAccount: "999999999999" — the model pipeline and its retraining bus are in stage dev (account 111111111111); drift sent to 999999999999 reaches no pipeline. Use "111111111111" or leave it unset (drift routes to the pipeline\'s account by default)',
        'stages.prod.monitoring.drift.pipelineRegion: "us-west-2" — the model pipeline and its retraining bus are in stage dev (region eu-west-1); drift sent to us-west-2 reaches no pipeline. Use "eu-west-1" or leave it unset (drift routes to the pipeline\'s region by default)',
      ]);
    });

    test('no pipeline stage, or one without an account: refused too', () => {
      expect(retrainingRouteProblems(stages({ pipelineAccount: accounts.dev }, { pipelines: { enabled: false } }))).toEqual([
        expect.stringMatching(/^stages\.prod\.monitoring\.drift\.pipelineAccount: "111111111111" — no stage hosts the model pipeline with retraining on drift/),
      ]);
      expect(retrainingRouteProblems(stages({ pipelineAccount: accounts.dev }, { noAccount: true }))).toEqual([
        expect.stringMatching(/^stages\.prod\.monitoring\.drift\.pipelineAccount: "111111111111" — the model pipeline's stage dev has no explicit env\.account.*set stages\.dev\.env\.account/),
      ]);
    });

    test('synth fails with that message before building anything', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drift-route-'));
      const file = path.join(dir, 'platform.yaml');
      const env = (account: string) => ({ env: { account, region: 'eu-west-1' }, network: { availabilityZones: ['eu-west-1a', 'eu-west-1b'] } });
      fs.writeFileSync(file, stringify({ stages: { dev: env(accounts.dev), prod: { ...env(accounts.prod), monitoring: { drift: { pipelineAccount: '999999999999' } } } } }));
      const app = new App();
      expect(() => buildPlatform(app, { stage: 'prod', configFile: file })).toThrow(/stages\.prod\.monitoring\.drift\.pipelineAccount: "999999999999" — the model pipeline and its retraining bus are in stage dev/);
      expect(app.node.children).toHaveLength(0);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });
});
