import { Stack, type StackProps } from 'aws-cdk-lib';
import { type Construct } from 'constructs';
import { type StageConfig } from '../config';

export interface PlatformStackProps extends StackProps {
  readonly config: StageConfig;
  /** The part of the platform this stack holds; the stack is named `<prefix>-<stage>-<part>`. */
  readonly part: string;
}

/**
 * Base of every platform stack: the `<prefix>-<stage>-<Part>` name, termination protection in prod, and
 * availability zones from config so synth with an explicit region makes no lookups.
 */
export class PlatformStack extends Stack {
  public readonly config: StageConfig;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    const { config, part, ...stackProps } = props;
    super(scope, id, {
      stackName: `${config.prefix}-${config.stage}-${part}`,
      terminationProtection: config.stage === 'prod',
      description: `cdk-mlops ${config.stage}: ${part}`,
      ...stackProps,
    });
    this.config = config;
  }

  override get availabilityZones(): string[] {
    const configured = this.config?.network.availabilityZones;
    return configured ? configured.slice(0, this.config.network.maxAzs) : super.availabilityZones;
  }
}
