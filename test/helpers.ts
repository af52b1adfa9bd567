import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, type AppProps, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, type NagPack } from 'cdk-nag';
import { type IConstruct } from 'constructs';
import { acknowledgeSingleRolePolicies, applyPendingAcknowledgements } from '../constructs/core/nag';
import { loadStageConfig } from '../lib/config';
import { PlatformStage } from '../lib/platform-stage';

/** The feature flags of cdk.json, so tests synthesize with the same flags as the app. */
export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;

/** An app with the project's feature flags and the built-in CloudFormation validation off. */
export function newApp(props: AppProps = {}): App {
  return new App({ builtinCloudFormationValidation: false, ...props, context: { ...CDK_CONTEXT, ...props.context } });
}

/** A fresh app and stack for construct tests. */
export function newStack(id = 'Test', region?: string): Stack {
  const app = newApp();
  return new Stack(app, id, region ? { env: { region, account: '111111111111' } } : undefined);
}

/** Unacknowledged findings of a cdk-nag pack on a scope, as `ruleId at path` lines. */
export function nagFindings(scope: IConstruct, pack: NagPack = new AwsSolutionsChecks()): string[] {
  applyPendingAcknowledgements(scope);
  acknowledgeSingleRolePolicies(scope);
  return pack
    .validateScope(scope)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`));
}

/** Builds one platform stage from built-in defaults plus overrides. */
export function platformStage(stage: string, overrides?: Record<string, unknown>): PlatformStage {
  const app = newApp();
  return new PlatformStage(app, stage, { config: loadStageConfig({ stage, overrides }) });
}

export const template = (stack: Stack): Template => Template.fromStack(stack);

/**
 * Where a cloud assembly's file assets are, from its asset manifests: staged copies inside the assembly, or the
 * sources themselves when staging is off (as it is under `npm test`: test/setup-env.js).
 */
export function fileAssetPaths(assemblyDirectory: string): string[] {
  return fs.readdirSync(assemblyDirectory).filter((f) => f.endsWith('.assets.json')).flatMap((f) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDirectory, f), 'utf8')) as { files?: Record<string, { source: { path?: string } }> };
    return Object.values(manifest.files ?? {}).flatMap((a) => (a.source.path ? [path.resolve(assemblyDirectory, a.source.path)] : []));
  });
}
