import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '../../lib';

// The package entry is curated: every construct is importable from it, helpers are not.
const root = path.join(__dirname, '..', '..');
function exportedClasses(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return exportedClasses(p);
    if (!e.name.endsWith('.ts') || e.name === 'index.ts') return [];
    return [...fs.readFileSync(p, 'utf8').matchAll(/^export (?:abstract )?class (\w+)/gm)].map((m) => m[1]);
  });
}

describe('public entry (lib/index.ts)', () => {
  const names = Object.keys(api);

  test('exports every construct class of constructs/, pipelines/ and the platform stacks', () => {
    // Internal plumbing classes, not constructs a consumer composes.
    const internal = new Set(['PropsValidator', 'ScopedNagPlugin']);
    const classes = [...exportedClasses(path.join(root, 'constructs')), ...exportedClasses(path.join(root, 'pipelines')), ...exportedClasses(path.join(root, 'lib', 'stacks'))]
      .filter((c) => !internal.has(c));
    expect(classes.length).toBeGreaterThan(40);
    expect(classes.filter((c) => !names.includes(c))).toEqual([]);
  });

  test('keeps helpers internal', () => {
    for (const helper of ['days', 'email', 'region', 'deepMerge', 'parseCidr', 'lambdaPath', 'packageRoot', 'acknowledge', 'encryptedLogGroup', 'platformKey', 'gpuInstanceFamily', 'renderRayJobSpec']) {
      expect(names).not.toContain(helper);
    }
    expect(names.length).toBeLessThan(90);
  });

  test('offers the platform: stage, config loader, validation gate', () => {
    for (const name of ['PlatformStage', 'loadStageConfig', 'ConfigError', 'buildPlatform', 'failedValidations', 'synthWithGate', 'CachedTemplateValidation', 'PropsValidationError']) {
      expect(names).toContain(name);
    }
  });
});
