import { z } from 'zod';
import { type StageDefaults } from '../common';

export const monitoringConfig = z.strictObject({
  /** Switch for the platform dashboard and alarms. */
  enabled: z.boolean(),
});
export type MonitoringConfig = z.infer<typeof monitoringConfig>;

export const monitoringDefaults: StageDefaults<MonitoringConfig> = {
  dev: { enabled: false },
  staging: { enabled: false },
  prod: { enabled: false },
};
