import { z } from 'zod';
import { type StageDefaults } from '../common';

export const pipelinesConfig = z.strictObject({
  /** Switch for the model delivery pipeline and infrastructure delivery. */
  enabled: z.boolean(),
  /** Require a manual approval before this stage's model deployment. */
  requireApproval: z.boolean(),
});
export type PipelinesConfig = z.infer<typeof pipelinesConfig>;

export const pipelinesDefaults: StageDefaults<PipelinesConfig> = {
  dev: { enabled: false, requireApproval: false },
  staging: { enabled: false, requireApproval: true },
  prod: { enabled: false, requireApproval: true },
};
