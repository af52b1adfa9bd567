import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, CfnResource, CloudFormationValidatePlugin, type IPolicyValidationContext, type PolicyValidationStack, Stack, Validations } from 'aws-cdk-lib';
import { CachedTemplateValidation } from '../../lib/template-validation';
import { CDK_CONTEXT } from '../helpers';

// The cached plugin must answer exactly what aws-cdk-lib's plugin answers for the same templates. One plugin instance
// (one validation engine, about a second to start) serves the whole file: every template uses the same resource
// types, so the engine is never rebuilt.
const TEMPLATES = {
  a: { Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketNam: 'typo' } }, Queue: { Type: 'AWS::SQS::Queue', Properties: { DelaySeconds: 'soon' } } } },
  b: { Resources: { Bucket2: { Type: 'AWS::S3::Bucket', Properties: { BucketNam: 'typo' } } }, Outputs: { Dangling: { Value: { Ref: 'Nowhere' } } } },
  clean: { Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { DelaySeconds: 5 } } } },
};

let work: string;
let cacheDirectory: string;
let plugin: CachedTemplateValidation;
let engineCalls: PolicyValidationStack[][];
const engineValidate = CloudFormationValidatePlugin.prototype.validate;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-tv-'));
  cacheDirectory = path.join(work, 'cache');
  plugin = new CachedTemplateValidation({ cacheDirectory });
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
beforeEach(() => {
  engineCalls = [];
  jest.spyOn(CloudFormationValidatePlugin.prototype, 'validate').mockImplementation(function (this: CloudFormationValidatePlugin, context: IPolicyValidationContext) {
    engineCalls.push(context.stackTemplates);
    return engineValidate.call(this, context);
  });
});
afterEach(() => jest.restoreAllMocks());

/** Writes templates into a fresh output folder (as each `cdk synth` does) and returns the plugin's context. */
function contextFor(outdir: string, stacks: Array<{ template: object; path: string; accountId?: string; region?: string }>): IPolicyValidationContext {
  const dir = path.join(work, outdir);
  fs.mkdirSync(dir, { recursive: true });
  const stackTemplates = stacks.map((s, i) => {
    const templatePath = path.join(dir, `Stack${i}.template.json`);
    fs.writeFileSync(templatePath, JSON.stringify(s.template, undefined, 1));
    return { templatePath, stackConstructPath: s.path, accountId: s.accountId, region: s.region };
  });
  return { templatePaths: stackTemplates.map((s) => s.templatePath), stackTemplates, appConstruct: new App() };
}

/** What aws-cdk-lib's own plugin reports for the context (the engine, no cache). */
function uncached(context: IPolicyValidationContext) {
  return engineValidate.call(plugin, context);
}

describe('CachedTemplateValidation', () => {
  test('the first synth is validated by the engine and reports what the engine reports, merged across templates', () => {
    const context = contextFor('out1', [{ template: TEMPLATES.a, path: 'dev/A' }, { template: TEMPLATES.b, path: 'dev/B' }]);
    const report = plugin.validate(context);
    expect(engineCalls).toHaveLength(1);
    expect(report).toEqual(uncached(context));
    expect(report.success).toBe(false);
    // One F3002 finding naming both buckets, as the engine groups them
    expect(report.violations.find((v) => v.ruleName === 'F3002')?.violatingResources.map((r) => r.resourceLogicalId)).toEqual(['Bucket', 'Bucket2']);
    expect(fs.readdirSync(cacheDirectory).filter((f) => f.endsWith('.json'))).toHaveLength(2);
  });

  test('the same templates in a fresh output folder under other stack paths: no engine, same findings at the new paths', () => {
    const context = contextFor('out2', [{ template: TEMPLATES.a, path: 'staging/A' }, { template: TEMPLATES.b, path: 'staging/B' }]);
    const report = plugin.validate(context);
    expect(engineCalls).toEqual([]);
    expect(report).toEqual(uncached(context));
    const dangling = report.violations.find((v) => v.ruleName === 'F6101')!;
    expect(dangling.violatingResources).toEqual([expect.objectContaining({ constructPath: 'staging/B', templatePath: context.stackTemplates[1].templatePath })]);
  });

  test('a changed template is the only one the engine sees; the merged report is still the engine\'s', () => {
    const context = contextFor('out3', [{ template: TEMPLATES.a, path: 'dev/A' }, { template: TEMPLATES.clean, path: 'dev/B' }]);
    const report = plugin.validate(context);
    expect(engineCalls).toEqual([[context.stackTemplates[1]]]);
    expect(report).toEqual(uncached(context));
  });

  test('another account or region is validated again (pseudo parameters resolve differently)', () => {
    const context = contextFor('out4', [{ template: TEMPLATES.a, path: 'prod/A', accountId: '333333333333', region: 'eu-west-1' }]);
    expect(plugin.validate(context)).toEqual(uncached(context));
    expect(engineCalls).toHaveLength(1);
  });

  test('a corrupt cache entry is validated again, not trusted', () => {
    for (const f of fs.readdirSync(cacheDirectory)) fs.writeFileSync(path.join(cacheDirectory, f), '{"format":1,');
    const context = contextFor('out5', [{ template: TEMPLATES.b, path: 'dev/B' }]);
    expect(plugin.validate(context)).toEqual(uncached(context));
    expect(engineCalls).toHaveLength(1);
  });

  test('keeps at most maxCacheEntries verdicts, the most recently used', () => {
    const small = new CachedTemplateValidation({ cacheDirectory: path.join(work, 'small'), maxCacheEntries: 1 });
    // The engine's validate is stubbed here: this test is about the cache, and a second plugin would start a second engine.
    jest.spyOn(CloudFormationValidatePlugin.prototype, 'validate').mockReturnValue({ success: true, violations: [] });
    small.validate(contextFor('out6', [{ template: TEMPLATES.a, path: 'A' }, { template: TEMPLATES.b, path: 'B' }]));
    expect(fs.readdirSync(path.join(work, 'small'))).toHaveLength(1);
  });

  test('rejects a bad maxCacheEntries and a missing cacheDirectory by name', () => {
    expect(() => new CachedTemplateValidation({ cacheDirectory, maxCacheEntries: 0 })).toThrow(/maxCacheEntries must be a positive integer, got 0/);
    expect(() => new CachedTemplateValidation({ cacheDirectory: '' })).toThrow(/cacheDirectory is required/);
  });

  test('registered on an App it replaces the built-in plugin: one report under its name, errors fail, acknowledgements apply', () => {
    const saved = process.env.CDK_VALIDATION;
    delete process.env.CDK_VALIDATION; // the built-in plugin would run too if aws-cdk-lib did not recognise this one
    try {
      const app = new App({ outdir: path.join(work, 'app'), context: { ...CDK_CONTEXT, '@aws-cdk/core:failSynthOnValidationErrors': false } });
      Validations.of(app).addPlugins(plugin);
      const stack = new Stack(app, 'Demo');
      new CfnResource(stack, 'Bucket', { type: 'AWS::S3::Bucket', properties: { BucketNam: 'typo' } });
      const queue = new CfnResource(stack, 'Queue', { type: 'AWS::SQS::Queue', properties: { DelaySeconds: 'soon' } });
      Validations.of(queue).acknowledge({ id: 'CloudFormation-Validate::F3012', reason: 'test: acknowledged finding' });
      const assembly = app.synth();
      const report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as {
        pluginReports: Array<{ pluginName: string; conclusion: string; violations: Array<{ ruleName: string; severity: string }> }>;
      };
      const ours = report.pluginReports.filter((r) => r.pluginName === CloudFormationValidatePlugin.PLUGIN_NAME);
      expect(ours).toHaveLength(1);
      expect(ours[0].conclusion).toBe('failure');
      expect(ours[0].violations.map((v) => [v.ruleName, v.severity])).toEqual([['F3002', 'error']]);
    } finally {
      process.env.CDK_VALIDATION = saved;
    }
  });
});
