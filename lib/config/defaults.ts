import { type StageName } from './common';
import { computeDefaults } from './components/compute';
import { eksDefaults } from './components/eks';
import { lambdaInferenceDefaults } from './components/lambda-inference';
import { monitoringDefaults } from './components/monitoring';
import { pipelinesDefaults } from './components/pipelines';
import { sagemakerDefaults } from './components/sagemaker';
import { type PlatformConfig } from './schema';

const base = (stage: StageName) => ({
  prefix: 'mlops',
  env: {},
  tags: { CostCenter: 'ml-platform' },
  nag: { packs: [], verbose: false },
  registry: { repositories: ['training', 'inference'], maxTaggedImages: 50, untaggedExpiryDays: 7, pullAccounts: [] },
  alerts: { emails: [] },
  compute: computeDefaults[stage],
  eks: eksDefaults[stage],
  sagemaker: sagemakerDefaults[stage],
  lambdaInference: lambdaInferenceDefaults[stage],
  pipelines: pipelinesDefaults[stage],
  monitoring: monitoringDefaults[stage],
});

/**
 * Built-in configuration per stage. dev is cheap and disposable (its idle estimate stays under $200 a month: no
 * interface endpoints, AWS APIs are reached through the one NAT gateway); staging and prod keep the interface
 * endpoints and a NAT gateway per AZ; prod protects data and uptime (RETAIN, versioning, longer log retention).
 */
export const DEFAULT_CONFIGS: Record<StageName, PlatformConfig> = {
  dev: {
    ...base('dev'),
    network: { cidr: '10.10.0.0/16', maxAzs: 2, natGateways: 1, interfaceEndpoints: false, flowLogRetentionDays: 30 },
    data: {
      retainOnDelete: false, autoDeleteObjects: false, versioned: true,
      noncurrentVersionExpirationDays: 30, intelligentTieringAfterDays: 30, accessLogRetentionDays: 90,
    },
  },
  staging: {
    ...base('staging'),
    network: { cidr: '10.20.0.0/16', maxAzs: 2, natGateways: 2, interfaceEndpoints: true, flowLogRetentionDays: 90 },
    data: {
      retainOnDelete: true, autoDeleteObjects: false, versioned: true,
      noncurrentVersionExpirationDays: 90, intelligentTieringAfterDays: 30, accessLogRetentionDays: 365,
    },
  },
  prod: {
    ...base('prod'),
    network: { cidr: '10.30.0.0/16', maxAzs: 2, natGateways: 2, interfaceEndpoints: true, flowLogRetentionDays: 365 },
    data: {
      retainOnDelete: true, autoDeleteObjects: false, versioned: true,
      noncurrentVersionExpirationDays: 365, intelligentTieringAfterDays: 30, accessLogRetentionDays: 731,
    },
  },
};
