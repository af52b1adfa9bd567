import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { type Construct } from 'constructs';
import { ScopedNagPlugin } from '../../constructs/core/nag';
import { InfrastructurePipeline } from '../../pipelines/infrastructure-pipeline';
import { ConfigError, type StageConfig } from '../config';
import { infrastructurePipelineName, infrastructurePipelineStackName } from '../naming';
import { nagPacks } from '../nag';
import { PlatformStage } from '../platform-stage';

export interface InfrastructurePipelineStackProps extends StackProps {
  /** The configs of the stages to deploy, in order (dev, staging, prod). The first one's `pipelines.infrastructure` and `pipelines.source` configure the pipeline. */
  readonly configs: StageConfig[];
  /** The user's config file (relative to the repository root), which the pipeline's synth step passes on. @default - none */
  readonly configFile?: string;
}

/**
 * `<prefix>-Pipeline`: the self-mutating CDK Pipelines pipeline that deploys the platform's stages in order, each to
 * the account and region of its config, with a manual approval before every stage whose `pipelines.requireApproval`
 * is true (always prod). It lives in the tooling account of `pipelines.infrastructure`.
 */
export class InfrastructurePipelineStack extends Stack {
  public readonly infrastructure: InfrastructurePipeline;
  public readonly stages: PlatformStage[];

  constructor(scope: Construct, id: string, props: InfrastructurePipelineStackProps) {
    const [first] = props.configs;
    const infra = first.pipelines.infrastructure;
    // The pipeline lives in the tooling account: pipelines.infrastructure.account/region, else the dev stage's env.
    const env = { account: infra.account ?? first.env.account, region: infra.region ?? first.env.region };
    const explicit = props.configs.filter((c) => c.env.region);
    if (explicit.length > 0 && !env.region) {
      throw new ConfigError(`Invalid cdk-mlops configuration for the infrastructure pipeline:\n  - pipelines.infrastructure.region: (missing) — stages ${explicit.map((c) => c.stage).join(', ')} set env.region, so the pipeline that deploys them needs an explicit region (and account) too`,
        ['pipelines.infrastructure.region: (missing)']);
    }
    super(scope, id, {
      stackName: infrastructurePipelineStackName(first.prefix),
      description: 'cdk-mlops: infrastructure delivery pipeline (CDK Pipelines)',
      terminationProtection: true,
      env,
      ...props,
    });
    const src = first.pipelines.source;
    this.infrastructure = new InfrastructurePipeline(this, 'Infrastructure', {
      source: src.connectionArn && src.repository ? { connectionArn: src.connectionArn, repository: src.repository, branch: src.branch } : undefined,
      crossAccount: true,
      pipelineName: infrastructurePipelineName(first.prefix),
      configFile: props.configFile,
    });
    const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
    this.stages = props.configs.map((config) => {
      const stage = new PlatformStage(this, capitalized(config.stage), { config, stageConfig: (name) => props.configs.find((c) => c.stage === name) ?? config });
      this.infrastructure.addStage(stage, { approval: config.pipelines.requireApproval });
      return stage;
    });
    this.infrastructure.buildPipeline();

    // The stages carry their own cdk-nag gate; this one covers the pipeline.
    Validations.of(scope).addPlugins(...nagPacks(first).map((pack) => new ScopedNagPlugin(this.infrastructure, pack)));
    new CfnOutput(this, 'PipelineName', { value: this.infrastructure.pipeline.pipeline.pipelineName });
    if (this.infrastructure.sourceBucket) new CfnOutput(this, 'SourceBucketName', { value: this.infrastructure.sourceBucket.bucketName });
  }
}
