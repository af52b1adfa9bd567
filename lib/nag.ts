import {
  type IPolicyValidationContext, type IPolicyValidationPlugin, type PolicyValidationPluginReport, type Stage, Validations,
} from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, type NagPack, NIST80053R5Checks } from 'cdk-nag';
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
 * Runs one cdk-nag pack on one stage only. cdk-nag 3's own `validate` walks the whole app, so a pack
 * registered on each stage would check (and report) every stage once per stage, and a prod-only pack
 * would judge dev too.
 */
export class StageNagPlugin implements IPolicyValidationPlugin {
  public readonly name: string;

  constructor(
    private readonly stage: Stage,
    public readonly pack: NagPack,
  ) {
    this.name = pack.readPackName;
  }

  validate(_context: IPolicyValidationContext): PolicyValidationPluginReport {
    return this.pack.validateScope(this.stage);
  }
}

/**
 * Registers the stage's cdk-nag packs as validation plugins: any unacknowledged finding fails synth.
 * Returns the packs so tests can run them directly with `validateScope`.
 */
export function applyNag(stage: Stage, config: Pick<StageConfig, 'nag'>): NagPack[] {
  const packs = nagPacks(config);
  Validations.of(stage).addPlugins(...packs.map((pack) => new StageNagPlugin(stage, pack)));
  return packs;
}
