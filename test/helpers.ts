import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, type NagPack } from 'cdk-nag';
import { type IConstruct } from 'constructs';
import { loadStageConfig } from '../lib/config';
import { PlatformStage } from '../lib/platform-stage';

/** A fresh app and stack for construct tests (built-in CloudFormation validation off). */
export function newStack(id = 'Test', region?: string): Stack {
  const app = new App({ builtinCloudFormationValidation: false });
  return new Stack(app, id, region ? { env: { region, account: '111111111111' } } : undefined);
}

/** Unacknowledged findings of a cdk-nag pack on a scope, as `ruleId at path` lines. */
export function nagFindings(scope: IConstruct, pack: NagPack = new AwsSolutionsChecks()): string[] {
  return pack
    .validateScope(scope)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`));
}

/** Builds one platform stage from built-in defaults plus overrides. */
export function platformStage(stage: string, overrides?: Record<string, unknown>): PlatformStage {
  const app = new App({ builtinCloudFormationValidation: false });
  return new PlatformStage(app, stage, { config: loadStageConfig({ stage, overrides }) });
}

export const template = (stack: Stack): Template => Template.fromStack(stack);
