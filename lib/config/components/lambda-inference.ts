import { z } from 'zod';
import { intRange, type StageDefaults } from '../common';

export const lambdaInferenceConfig = z.strictObject({
  /** Switch for the Lambda container inference function and its front door. */
  enabled: z.boolean(),
  memoryMiB: intRange(128, 10240, ' MiB'),
  timeoutSeconds: intRange(1, 900, ' seconds'),
});
export type LambdaInferenceConfig = z.infer<typeof lambdaInferenceConfig>;

const off: LambdaInferenceConfig = { enabled: false, memoryMiB: 2048, timeoutSeconds: 30 };
export const lambdaInferenceDefaults: StageDefaults<LambdaInferenceConfig> = { dev: off, staging: off, prod: off };
