import { z } from 'zod';
import { type StageDefaults } from '../common';

export const sagemakerConfig = z.strictObject({
  /** Switch for SageMaker endpoints, the model registry and drift monitoring. */
  enabled: z.boolean(),
  /** Model package groups to create in the model registry. */
  modelPackageGroups: z.array(z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, { error: 'must be 1-63 letters, digits and hyphens' })),
});
export type SageMakerConfig = z.infer<typeof sagemakerConfig>;

const off: SageMakerConfig = { enabled: false, modelPackageGroups: [] };
export const sagemakerDefaults: StageDefaults<SageMakerConfig> = { dev: off, staging: off, prod: off };
