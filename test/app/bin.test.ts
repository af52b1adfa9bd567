import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Runs the app entry of cdk.json the way `cdk synth` does, for what a user sees when config is wrong.
const root = path.join(__dirname, '..', '..');
const [command, ...args] = (JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8')).app as string).split(' ');
function runApp(context: Record<string, string>) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-bin-'));
  const result = spawnSync(command === 'node' ? process.execPath : command, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
  });
  fs.rmSync(outdir, { recursive: true, force: true });
  return result;
}

describe('bin/app.ts', () => {
  test('a bad config stops synth with the list of problems and no stack trace', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-cfg-')), 'platform.yaml');
    fs.writeFileSync(file, 'network:\n  cidr: 10.0.0.0/8\n  maxAzs: 0\n');
    const result = runApp({ stage: 'staging', config: file });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid cdk-mlops configuration for stage "staging"');
    expect(result.stderr).toContain('network.cidr: "10.0.0.0/8"');
    expect(result.stderr).toContain('network.maxAzs: 0');
    expect(result.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack frames
  });

  test('an unknown stage is refused with the allowed ones', () => {
    const result = runApp({ stage: 'qa' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('stage: "qa" — not a known stage; allowed: dev, staging, prod');
  });
});
