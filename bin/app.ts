#!/usr/bin/env node
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { buildPlatform } from '../lib/app';
import { ConfigError } from '../lib/config';
import { synthWithGate } from '../lib/validation-gate';
import { PropsValidationError } from '../constructs/core/validation';
import { printIdleCostSummary } from '../lib/cost/summary';
import { CachedTemplateValidation } from '../lib/template-validation';

// `npx cdk synth` builds the dev stage, what a user works on; `-c stage=prod|staging|all` and `-c config=./platform.yaml`
// select others. The infrastructure pipeline (which holds its own copy of every stage) is built only when asked for
// with `-c pipeline=true`, so the default synth does not build dev twice.
const app = new App();
// aws-cdk-lib's built-in CloudFormation validation, with each template's verdict reused while the template is
// byte-identical (a synth after an edit validates only the stacks the edit changed). CDK_MLOPS_VALIDATION_CACHE=off
// validates every template afresh (aws-cdk-lib's plugin alone); CDK_VALIDATION=false turns validation off, as ever.
if (process.env.CDK_VALIDATION !== 'false' && process.env.CDK_MLOPS_VALIDATION_CACHE !== 'off') {
  Validations.of(app).addPlugins(new CachedTemplateValidation({ cacheDirectory: path.join(process.cwd(), 'node_modules', '.cache', 'cdk-mlops', 'validation') }));
}
const stageContext = app.node.tryGetContext('stage') as string | undefined;
const pipelineContext = app.node.tryGetContext('pipeline') as string | boolean | undefined;
try {
  buildPlatform(app, {
    stage: stageContext,
    pipeline: String(pipelineContext) === 'true',
    configFile: app.node.tryGetContext('config') as string | undefined,
    requireGitHubRole: String(app.node.tryGetContext('require-github-role')) === 'true',
  });
} catch (e) {
  if (e instanceof ConfigError || e instanceof PropsValidationError) {
    console.error(`\n${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
synthWithGate(app);
printIdleCostSummary(app.outdir);
