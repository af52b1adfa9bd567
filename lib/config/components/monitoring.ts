import { z } from 'zod';
import {
  FEATURE_GROUP_NAME, FEATURE_NAME, FEATURE_TYPES, featureDefinitionProblems,
} from '../../../constructs/features/feature-group';
import { MLFLOW_DEFAULT_VERSION, MLFLOW_SIZES } from '../../../constructs/experiments/mlflow-tracking-server';
import { accountId, intRange, region, type StageDefaults } from '../common';
import { isScheduleExpression } from './pipelines';

/** Thresholds of the serving alarms; each alarm fires after `datapointsToAlarm` of `evaluationPeriods` bad periods. */
export const alarmThresholdsConfig = z.strictObject({
  /** Length of one alarm period. */
  periodMinutes: z.union([z.literal(1), z.literal(5), z.literal(15), z.literal(60)], { error: 'must be 1, 5, 15 or 60 minutes' }),
  /** Periods an alarm looks at. */
  evaluationPeriods: intRange(1, 24, ' periods'),
  /** Bad periods among them that make the alarm fire. */
  datapointsToAlarm: intRange(1, 24, ' periods'),
  /** SageMaker endpoints: p90 model latency above this (milliseconds). */
  sagemakerLatencyP90Ms: intRange(1, 600000, ' ms'),
  /** SageMaker endpoints: share of invocations answered with 5xx above this (percent). */
  sagemaker5xxPercent: z.number().gt(0, { error: 'must be above 0 percent' }).max(100, { error: 'must be at most 100 percent' }),
  /** Lambda inference: p90 duration above this (milliseconds). */
  lambdaDurationP90Ms: intRange(1, 900000, ' ms'),
  /** Lambda inference: share of invocations that error above this (percent). */
  lambdaErrorPercent: z.number().gt(0, { error: 'must be above 0 percent' }).max(100, { error: 'must be at most 100 percent' }),
  /** Lambda inference: throttled invocations per period at or above this. */
  lambdaThrottles: intRange(1, 1000000, ' throttles'),
}).superRefine((a, ctx) => {
  if (a.datapointsToAlarm > a.evaluationPeriods) {
    ctx.addIssue({ code: 'custom', path: ['datapointsToAlarm'], message: `must not exceed evaluationPeriods (${a.evaluationPeriods})` });
  }
});
export type AlarmThresholdsConfig = z.infer<typeof alarmThresholdsConfig>;

export const mlflowConfig = z.strictObject({
  /** Create a SageMaker managed MLflow tracking server (billed per hour while it exists). */
  enabled: z.boolean(),
  /** Server size: Small (up to ~25 users), Medium (~50), Large (~100). */
  size: z.enum(MLFLOW_SIZES, { error: `must be one of ${MLFLOW_SIZES.join(', ')}` }),
  /**
   * MLflow version of the server, e.g. 3.0 or 2.16.2 (major 2 or 3): pinned, because the grants training code gets
   * follow its major version (MLflow 3's log_model needs the logged-model APIs). Clients install the same major.
   */
  version: z.string().regex(/^[23]\.\d+(\.\d+)?$/, { error: 'must be an MLflow version with major 2 or 3, such as 3.0 or 2.16.2' }),
  /** Register logged models in the SageMaker model registry automatically. */
  automaticModelRegistration: z.boolean(),
  /** Weekly maintenance window start in UTC, e.g. Sun:03:30. */
  weeklyMaintenanceWindowStart: z.string().regex(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):([0-5]\d)$/, { error: 'must be Ddd:HH:MM in UTC, e.g. Sun:03:30' }),
});
export type MlflowConfig = z.infer<typeof mlflowConfig>;

export const featureGroupConfig = z.strictObject({
  /** Feature group name (1-64 letters, digits, "_" and "-"). */
  name: z.string().regex(FEATURE_GROUP_NAME, { error: 'must be 1-64 letters, digits, "_" and "-", starting and ending with a letter or digit' }),
  /** What the group holds. Create-only: a change creates a new version of the group (a new name, beside the old one). */
  description: z.string().max(128, { error: 'must be at most 128 characters' }).optional(),
  /**
   * Increase to create a new version of the group for a change Feature Store cannot make in place: changing a feature's
   * type or removing a feature (features can only be appended). Other create-only changes version the group by themselves.
   */
  revision: intRange(0, 1000000).optional(),
  /** Feature identifying a record (Integral or String). */
  recordIdentifier: z.string(),
  /** Feature holding the event time (String ISO-8601 or Fractional Unix seconds). */
  eventTime: z.string(),
  /** Every feature, including the record identifier and event time. */
  features: z.array(z.strictObject({
    name: z.string().regex(FEATURE_NAME, { error: 'must be 1-64 letters, digits, "_" and "-", starting and ending with a letter or digit' }),
    type: z.enum(FEATURE_TYPES, { error: `must be one of ${FEATURE_TYPES.join(', ')}` }),
  })).min(1, { error: 'must list at least one feature' }).max(2500, { error: 'must list at most 2500 features' }),
  /** Keep the latest record per id in the online store (KMS-encrypted). */
  onlineStore: z.boolean(),
  /** Days records live in the online store. */
  onlineTtlDays: intRange(1, 3650, ' days').optional(),
  /**
   * Names of existing IAM roles in the stage's account that ingest records (sagemaker:PutRecord), e.g. the role of an
   * ETL job. The platform's own training principals (training jobs, Ray pods, GPU boxes) read the offline store.
   */
  ingestRoles: z.array(z.string().regex(/^[\w+=,.@-]{1,64}$/, { error: 'must be an IAM role name (1-64 letters, digits and +=,.@_-), not an ARN' })).optional(),
}).superRefine((g, ctx) => {
  // The same rules the FeatureGroup construct applies, reported at the config key.
  const problems = featureDefinitionProblems({
    featureGroupName: g.name, recordIdentifierFeatureName: g.recordIdentifier, eventTimeFeatureName: g.eventTime, features: g.features,
  });
  for (const p of problems) {
    if (p.prop === 'featureGroupName' || p.prop === 'features' || /^features\[\d+\]\.type$/.test(p.prop)) continue; // checked by the fields above
    const m = /^features\[(\d+)\]\.name$/.exec(p.prop);
    if (m && !FEATURE_NAME.test(g.features[Number(m[1])].name)) continue;
    const path = m ? ['features', Number(m[1]), 'name']
      : [p.prop === 'recordIdentifierFeatureName' ? 'recordIdentifier' : 'eventTime'];
    ctx.addIssue({ code: 'custom', path, message: p.allowed });
  }
  if (!g.onlineStore && g.onlineTtlDays !== undefined) ctx.addIssue({ code: 'custom', path: ['onlineTtlDays'], message: 'only applies with onlineStore true' });
});
export type FeatureGroupConfig = z.infer<typeof featureGroupConfig>;

export const driftConfig = z.strictObject({
  /** Run the drift job over this stage's captured traffic (SageMaker endpoints with data capture, Lambda inference with capture). */
  enabled: z.boolean(),
  /** EventBridge Scheduler expression of the job. */
  schedule: z.string().refine(isScheduleExpression, { error: 'must be an EventBridge Scheduler expression such as rate(1 hour) or cron(0 * * * ? *)' }),
  /** Hours of captured traffic each run compares with the baseline. */
  windowHours: intRange(1, 744, ' hours'),
  /** Fewer records in the window: "insufficient data", never drift. */
  minRecords: intRange(1, 10000000, ' records'),
  /** A feature drifted at this population stability index (0.1 moderate, 0.2 significant). */
  psiThreshold: z.number().gt(0, { error: 'must be above 0' }).max(10, { error: 'must be at most 10' }),
  /** …or, numeric features, at this Kolmogorov–Smirnov statistic with p below pValue. */
  ksThreshold: z.number().gt(0, { error: 'must be above 0' }).max(1, { error: 'must be at most 1' }),
  pValue: z.number().gt(0, { error: 'must be above 0' }).lt(1, { error: 'must be below 1' }),
  /** Account of the model pipeline (its retraining bus). Default: this stage's account. */
  pipelineAccount: accountId.optional(),
  /** Region of the model pipeline. Default: this stage's region. */
  pipelineRegion: region.optional(),
});
export type DriftConfig = z.infer<typeof driftConfig>;

export const monitoringConfig = z.strictObject({
  /**
   * Switch for this whole component: the dashboard and alarms (Monitoring stack), and the MLflow server, feature
   * groups (Experiments stack) and Ray observability when their own switches are on too.
   */
  enabled: z.boolean(),
  /** Serving alarm thresholds of this stage. */
  alarms: alarmThresholdsConfig,
  /** SageMaker managed MLflow (Experiments stack). */
  mlflow: mlflowConfig,
  /** SageMaker Feature Store feature groups (Experiments stack); offline stores in the data lake's processed bucket. */
  featureGroups: z.array(featureGroupConfig),
  /** Drift detection on captured traffic and the retraining request it sends to the model pipeline. */
  drift: driftConfig,
  /** Prometheus and Grafana for Ray on the EKS cluster (kube-prometheus-stack with Ray monitors). */
  rayObservability: z.strictObject({
    /** Install it when EKS with Ray is on. */
    enabled: z.boolean(),
    /** Days Prometheus keeps samples. */
    retentionDays: intRange(1, 90, ' days'),
  }),
}).superRefine((m, ctx) => {
  const names = m.featureGroups.map((g) => g.name.toLowerCase());
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['featureGroups', i, 'name'], message: 'must be unique among featureGroups (regardless of case)' });
  });
});
export type MonitoringConfig = z.infer<typeof monitoringConfig>;

const driftDefaults: DriftConfig = { enabled: true, schedule: 'rate(1 hour)', windowHours: 24, minRecords: 100, psiThreshold: 0.2, ksThreshold: 0.1, pValue: 0.01 };

const mlflowOff: MlflowConfig = { enabled: false, size: 'Small', version: MLFLOW_DEFAULT_VERSION, automaticModelRegistration: false, weeklyMaintenanceWindowStart: 'Sun:03:30' };

/**
 * Dashboard and alarms on in every stage (a few dollars a month). Thresholds tighten towards prod. The MLflow
 * server is billed per hour (a Small one is more than the rest of idle dev together), so it is off by default
 * everywhere: switch `mlflow.enabled` on for the stage where experiments are tracked. No feature groups by
 * default: they are defined per use case in a config file.
 */
export const monitoringDefaults: StageDefaults<MonitoringConfig> = {
  dev: {
    enabled: true,
    alarms: {
      periodMinutes: 5, evaluationPeriods: 3, datapointsToAlarm: 3,
      sagemakerLatencyP90Ms: 2000, sagemaker5xxPercent: 5, lambdaDurationP90Ms: 3000, lambdaErrorPercent: 5, lambdaThrottles: 10,
    },
    mlflow: mlflowOff,
    featureGroups: [],
    drift: driftDefaults,
    rayObservability: { enabled: true, retentionDays: 7 },
  },
  staging: {
    enabled: true,
    alarms: {
      periodMinutes: 5, evaluationPeriods: 3, datapointsToAlarm: 2,
      sagemakerLatencyP90Ms: 1000, sagemaker5xxPercent: 2, lambdaDurationP90Ms: 2000, lambdaErrorPercent: 2, lambdaThrottles: 5,
    },
    mlflow: mlflowOff,
    featureGroups: [],
    drift: driftDefaults,
    rayObservability: { enabled: true, retentionDays: 15 },
  },
  prod: {
    enabled: true,
    alarms: {
      periodMinutes: 1, evaluationPeriods: 5, datapointsToAlarm: 3,
      sagemakerLatencyP90Ms: 500, sagemaker5xxPercent: 1, lambdaDurationP90Ms: 1000, lambdaErrorPercent: 1, lambdaThrottles: 1,
    },
    mlflow: mlflowOff,
    featureGroups: [],
    drift: { ...driftDefaults, minRecords: 500 },
    rayObservability: { enabled: true, retentionDays: 30 },
  },
};
