import { withRetrainingRoutes } from '../../lib/app';
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
});
