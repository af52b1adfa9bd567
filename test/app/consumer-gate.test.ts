import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// A consumer's own app composing PlatformStage, run by the real CDK CLI: a cdk-nag finding must fail `cdk synth`
// when the app ends with synthWithGate, and (negative control) does not with a plain app.synth().
const root = path.join(__dirname, '..', '..');
const cdkBin = path.join(root, 'node_modules', 'aws-cdk', 'bin', 'cdk');

function consumerApp(ending: string): string {
  return `
const { App } = require('aws-cdk-lib');
const s3 = require('aws-cdk-lib/aws-s3');
const { PlatformStage, loadStageConfig, synthWithGate } = require(${JSON.stringify(path.join(root, 'lib', 'index.ts'))});
void synthWithGate;
const app = new App();
// Only the foundation stacks: what the gate does is independent of the components.
const overrides = { sagemaker: { enabled: false }, compute: { enabled: false }, eks: { enabled: false },
  lambdaInference: { enabled: false }, pipelines: { enabled: false }, monitoring: { enabled: false } };
const stage = new PlatformStage(app, 'prod', { config: loadStageConfig({ stage: 'prod', overrides }) });
// The consumer's own addition, with a cdk-nag finding (no access logs, no TLS-only policy).
new s3.Bucket(stage.dataStack, 'Scratch');
${ending}
`;
}

interface Run { code: number; output: string }
function synth(dir: string, file: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cdkBin, 'synth', '--quiet', '--no-notices', '--app', `node --require tsx/cjs ${file}`, '--output', path.join(dir, `out-${file}`)], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_VALIDATION: 'false', NODE_PATH: path.join(root, 'node_modules') },
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` }));
  });
}

let gated: Run;
let plain: Run;
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-consumer-'));
  fs.writeFileSync(path.join(dir, 'gated.js'), consumerApp('synthWithGate(app);'));
  fs.writeFileSync(path.join(dir, 'plain.js'), consumerApp('app.synth();'));
  [gated, plain] = await Promise.all([synth(dir, 'gated.js'), synth(dir, 'plain.js')]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('consumer nag gate', () => {
  test('synthWithGate fails cdk synth (non-zero exit) and names the finding', () => {
    expect(gated.code).not.toBe(0);
    expect(gated.output).toContain('Synth blocked by');
    expect(gated.output).toMatch(/AwsSolutions-S1 at \/?prod\/Data\/Scratch/);
    expect(gated.output).not.toContain('Successfully synthesized');
  });

  test('negative control: a plain app.synth() lets the CLI exit 0 despite the finding', () => {
    expect(plain.code).toBe(0);
    expect(plain.output).not.toContain('Synth blocked by');
  });
});
