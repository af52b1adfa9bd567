import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadStageConfig } from '../../lib/config';

// What a newcomer runs from README.md, checked as written: the install needs no variables, the CLI lines work
// in a clone, and the validation example prints what the README shows.
const root = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

describe('install (npm ci) on a fresh machine', () => {
  test("the project's .npmrc stops dependency install scripts with a key npm knows (no warning)", () => {
    const result = spawnSync('npm', ['config', 'get', 'ignore-scripts'], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: os.tmpdir() } });
    expect(result.stdout.trim()).toBe('true');
    expect(result.stderr).not.toContain('Unknown project config');
  });

  test('CI proves it: .ci/run and the CI workflow set no onnxruntime variable', () => {
    for (const file of ['.ci/run', '.github/workflows/ci.yml', 'scripts/package-smoke.sh']) {
      expect(fs.readFileSync(path.join(root, file), 'utf8')).not.toContain('ONNXRUNTIME_NODE_INSTALL');
    }
  });
});

describe("README's CLI lines in a clone", () => {
  test('the documented project script runs the CLI, and its output starts with what was asked', () => {
    const line = /`(npm run -s cdk-mlops -- [^`]+)`/.exec(readme);
    expect(line?.[1]).toBe('npm run -s cdk-mlops -- status --stage dev');
    const result = spawnSync('npm', ['run', '-s', 'cdk-mlops', '--', '--help'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('cdk-mlops — operate a deployed cdk-mlops platform');
    expect(result.stderr).toBe('');
  });
});

describe("README's validation example", () => {
  const block = /```text\n(Invalid cdk-mlops configuration[^`]+)```/.exec(readme)?.[1].trim() ?? '';

  test('is what loadStageConfig prints for the keys it lists', () => {
    // The config file is built from the README's own lines: `  - dotted.key: value — …`.
    const lines = [...block.matchAll(/^ {2}- ([\w.]+): (\S+) —/gm)];
    expect(lines.length).toBeGreaterThan(1);
    const config: Record<string, Record<string, unknown>> = {};
    for (const [, key, value] of lines) {
      const [section, field] = key.split('.');
      config[section] = { ...config[section], [field]: JSON.parse(value) };
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-readme-'));
    fs.writeFileSync(path.join(dir, 'platform.yaml'), JSON.stringify(config));
    const cwd = process.cwd();
    process.chdir(dir);
    let message = '';
    try {
      loadStageConfig({ stage: 'prod', file: './platform.yaml' });
    } catch (e) {
      message = (e as Error).message;
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(message).toBe(block);
  });
});
