import { z } from 'zod';

/** Stages the platform knows. Each has built-in defaults in `lib/config/defaults.ts`. */
export const STAGE_NAMES = ['dev', 'staging', 'prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Per-stage defaults a component contributes to the built-in configs. */
export type StageDefaults<T> = Record<StageName, T>;

/** CloudWatch Logs retention values CloudFormation accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const accountId = z.string().regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id' });

export const region = z
  .string()
  .regex(/^(us|eu|ap|sa|ca|me|af|il|mx|cn)(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-\d$/, {
    error: 'must be an AWS region code such as us-east-1 or eu-west-2',
  });

/** Kubernetes/DNS-1123 style names used for resources we name from config (max 63 chars). */
export const resourceName = z
  .string()
  .max(63, { error: 'must be at most 63 characters' })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
    error: 'must be lowercase letters, digits and hyphens, starting and ending with a letter or digit',
  });

export const logRetentionDays = z
  .number()
  .int()
  .refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), {
    error: `must be one of the CloudWatch Logs retention values: ${LOG_RETENTION_DAYS.join(', ')}`,
  });

export const days = (max = 3650) =>
  z
    .number()
    .int({ error: 'must be a whole number of days' })
    .min(1, { error: `must be between 1 and ${max} days` })
    .max(max, { error: `must be between 1 and ${max} days` });

export const intRange = (min: number, max: number, what = '') =>
  z
    .number()
    .int({ error: `must be a whole number${what}` })
    .min(min, { error: `must be between ${min} and ${max}${what}` })
    .max(max, { error: `must be between ${min} and ${max}${what}` });

export const roleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/, { error: 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)' });

/** A versioned SageMaker model package (what a serving path serves: its drift baseline and capture partition). */
export const modelPackageArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/[A-Za-z0-9](-*[A-Za-z0-9]){0,62}\/\d+$/, {
    error: 'must be a versioned model package ARN: arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>',
  });

export const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { error: 'must be an email address' });
