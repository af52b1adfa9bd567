import { ConfigError, loadStageConfig, STAGE_NAMES } from '../../lib/config';

function problemsOf(overrides: Record<string, unknown>, stage = 'dev'): string[] {
  try {
    loadStageConfig({ stage, overrides: { monitoring: overrides } });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

const GROUP = {
  name: 'customers', recordIdentifier: 'customer_id', eventTime: 'event_time', onlineStore: true,
  features: [{ name: 'customer_id', type: 'String' }, { name: 'event_time', type: 'String' }, { name: 'spend_30d', type: 'Fractional' }],
};

describe('monitoring config defaults', () => {
  test.each(STAGE_NAMES)('%s: dashboard and alarms on, thresholds valid, Ray observability on', (stage) => {
    const { monitoring } = loadStageConfig({ stage });
    expect(monitoring.enabled).toBe(true);
    expect(monitoring.rayObservability.enabled).toBe(true);
    expect(monitoring.alarms.datapointsToAlarm).toBeLessThanOrEqual(monitoring.alarms.evaluationPeriods);
  });

  test('thresholds tighten towards prod; MLflow (billed per hour) is off until a stage switches it on', () => {
    const [dev, prod] = (['dev', 'prod'] as const).map((stage) => loadStageConfig({ stage }).monitoring);
    expect(prod.alarms.sagemakerLatencyP90Ms).toBeLessThan(dev.alarms.sagemakerLatencyP90Ms);
    expect(prod.alarms.lambdaErrorPercent).toBeLessThan(dev.alarms.lambdaErrorPercent);
    expect(dev.mlflow.enabled).toBe(false);
    expect(prod.mlflow.enabled).toBe(false);
  });

  test('a valid feature group loads', () => {
    const { monitoring } = loadStageConfig({ stage: 'dev', overrides: { monitoring: { featureGroups: [GROUP] } } });
    expect(monitoring.featureGroups[0].features).toHaveLength(3);
  });
});

describe('monitoring config errors name the key, the value and what is allowed', () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['alarm period', { alarms: { periodMinutes: 2 } }, /monitoring\.alarms\.periodMinutes: 2 — must be 1, 5, 15 or 60 minutes/],
    ['datapoints above periods', { alarms: { evaluationPeriods: 2, datapointsToAlarm: 3 } }, /monitoring\.alarms\.datapointsToAlarm: 3 — must not exceed evaluationPeriods \(2\)/],
    ['5xx percent', { alarms: { sagemaker5xxPercent: 0 } }, /monitoring\.alarms\.sagemaker5xxPercent: 0 — must be above 0 percent/],
    ['latency', { alarms: { sagemakerLatencyP90Ms: -5 } }, /monitoring\.alarms\.sagemakerLatencyP90Ms: -5 — must be between 1 and 600000 ms/],
    ['MLflow size', { mlflow: { size: 'XL' } }, /monitoring\.mlflow\.size: "XL" — must be one of Small, Medium, Large/],
    ['MLflow window', { mlflow: { weeklyMaintenanceWindowStart: 'sunday' } }, /monitoring\.mlflow\.weeklyMaintenanceWindowStart: "sunday" — must be Ddd:HH:MM/],
    ['Prometheus retention', { rayObservability: { retentionDays: 400 } }, /monitoring\.rayObservability\.retentionDays: 400 — must be between 1 and 90 days/],
  ])('%s', (_name, overrides, message) => {
    expect(problemsOf(overrides).join('\n')).toMatch(message);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['duplicate feature', { features: [...GROUP.features, { name: 'Spend_30d', type: 'Integral' }] },
      /monitoring\.featureGroups\.0\.features\.3\.name: .*duplicates features\[2\]/],
    ['missing identifier', { recordIdentifier: 'user_id' }, /monitoring\.featureGroups\.0\.recordIdentifier: "user_id" — must name one of the features/],
    ['missing event time', { eventTime: 'ts' }, /monitoring\.featureGroups\.0\.eventTime: "ts" — must name one of the features/],
    ['event time of a wrong type', { eventTime: 'customer_id', recordIdentifier: 'spend_30d' },
      /monitoring\.featureGroups\.0\.recordIdentifier: "spend_30d" — must be a feature of type Integral or String/],
    ['invalid type', { features: [...GROUP.features, { name: 'flag', type: 'Boolean' }] }, /monitoring\.featureGroups\.0\.features\.3\.type: "Boolean" — must be one of Integral, Fractional, String/],
    ['invalid feature name', { features: [...GROUP.features, { name: 'bad name', type: 'String' }] }, /monitoring\.featureGroups\.0\.features\.3\.name: "bad name" — must be 1-64 letters/],
    ['reserved name', { features: [...GROUP.features, { name: 'write_time', type: 'String' }] }, /monitoring\.featureGroups\.0\.features\.3\.name: "write_time" — is reserved/],
    ['invalid group name', { name: 'customers.v1' }, /monitoring\.featureGroups\.0\.name: "customers\.v1" — must be 1-64 letters/],
    ['TTL without online store', { onlineStore: false, onlineTtlDays: 3 }, /monitoring\.featureGroups\.0\.onlineTtlDays: 3 — only applies with onlineStore true/],
  ])('feature group: %s', (_name, change, message) => {
    expect(problemsOf({ featureGroups: [{ ...GROUP, ...change }] }).join('\n')).toMatch(message);
  });

  test('feature group names are unique', () => {
    expect(problemsOf({ featureGroups: [GROUP, { ...GROUP, name: 'Customers' }] }).join('\n'))
      .toMatch(/monitoring\.featureGroups\.1\.name: "Customers" — must be unique among featureGroups/);
  });
});
