import { type Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, type NagPack, NIST80053R5Checks } from 'cdk-nag';
import { ScopedNagPlugin } from '../constructs/core/nag';
import { type StageConfig } from './config';

/** The cdk-nag packs a stage runs: AwsSolutions always, NIST 800-53 R5 and HIPAA when the config asks. */
export function nagPacks(config: Pick<StageConfig, 'nag'>): NagPack[] {
  const verbose = config.nag.verbose;
  const packs: NagPack[] = [new AwsSolutionsChecks(undefined, { verbose })];
  if (config.nag.packs.includes('NIST80053R5')) packs.push(new NIST80053R5Checks(undefined, { verbose }));
  if (config.nag.packs.includes('HIPAA')) packs.push(new HIPAASecurityChecks(undefined, { verbose }));
  return packs;
}

/**
 * Registers the stage's cdk-nag packs as validation plugins: any unacknowledged finding fails synth.
 * Returns the packs so tests can run them directly with `validateScope`.
 */
export function applyNag(stage: Stage, config: Pick<StageConfig, 'nag'>): NagPack[] {
  const packs = nagPacks(config);
  Validations.of(stage).addPlugins(...packs.map((pack) => new ScopedNagPlugin(stage, pack)));
  return packs;
}
