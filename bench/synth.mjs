#!/usr/bin/env node
// Synth benchmark, side by side with the anchor in one run: `npx cdk synth --quiet` (fresh output folder each time)
// of the default app, of `-c stage=dev` with every component switched on, and of the anchor, a cdk-eks-blueprints
// app with Karpenter, the GPU operator and KubeRay on the same aws-cdk-lib and CLI (bench/anchor, installed into a
// scratch folder from the npm registry on first use). Runs are interleaved (anchor, ours, ours, ...) so machine load
// affects both sides alike; prints medians, peak RSS (GNU time, Debian package `time`) and the ratios to the anchor.
// The app reuses a template's validation verdict while the template is byte-identical (lib/template-validation.ts,
// under node_modules/.cache/cdk-mlops/validation), as a repeated `cdk synth`/`diff`/`deploy` does; the last case
// runs with CDK_MLOPS_VALIDATION_CACHE=off, aws-cdk-lib's plugin validating every template (a fresh clone's synth).
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.RUNS ?? 3);
const hasGnuTime = fs.existsSync('/usr/bin/time');
const env = { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_CLI_NOTICES: 'false' };
const log = (m) => process.stderr.write(`${m}\n`);

function anchorDir() {
  const src = path.join(root, 'bench', 'anchor');
  const key = crypto.createHash('sha256').update(fs.readFileSync(path.join(src, 'package.json'))).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `cdk-mlops-bench-anchor-${key}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  if (!fs.existsSync(path.join(dir, 'node_modules', '@aws-quickstart', 'eks-blueprints'))) {
    log(`installing the anchor app into ${dir} (once) ...`);
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) throw new Error('anchor install failed');
  }
  return dir;
}

/** The everything-on config of the journey tests (one source of truth), written out as JSON for `-c config=`. */
function allOnConfigFile() {
  const file = path.join(os.tmpdir(), 'cdk-mlops-bench-all-on.json');
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e',
    `require('fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify(require('./test/journeys/support/configs').ALL_ON_CONFIG))`], { cwd: root, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot write the all-on config:\n${r.stderr}`);
  return file;
}

function once(cwd, args, extraEnv) {
  const runEnv = { ...env, ...extraEnv };
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-bench-out-'));
  const cmd = ['npx', 'cdk', 'synth', '--quiet', '--no-notices', '-o', outdir, ...args];
  const start = process.hrtime.bigint();
  const r = hasGnuTime ? spawnSync('/usr/bin/time', ['-v', ...cmd], { cwd, env: runEnv, encoding: 'utf8' }) : spawnSync(cmd[0], cmd.slice(1), { cwd, env: runEnv, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.rmSync(outdir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`synth failed in ${cwd} (${args.join(' ')}):\n${r.stderr.slice(-3000)}`);
  const peakMb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '')?.[1] ?? 0) / 1024;
  return { seconds, peakMb };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const anchor = anchorDir();
const cases = [
  { name: 'anchor: blueprints EKS+Karpenter+GPU+KubeRay', cwd: anchor, args: [] },
  { name: 'cdk-mlops: npx cdk synth (default)', cwd: root, args: [] },
  { name: 'cdk-mlops: -c stage=dev, every component on', cwd: root, args: ['-c', 'stage=dev', '-c', `config=${allOnConfigFile()}`] },
  {
    name: 'cdk-mlops: default, no cached validation',
    cwd: root,
    args: [],
    env: { CDK_MLOPS_VALIDATION_CACHE: 'off' },
  },
];
const results = cases.map(() => []);
for (let i = 0; i < runs; i++) {
  cases.forEach((c, j) => {
    log(`run ${i + 1}/${runs}: ${c.name} ...`);
    results[j].push(once(c.cwd, c.args, c.env));
  });
}

const cli = spawnSync('npx', ['cdk', '--version'], { cwd: root, env, encoding: 'utf8' }).stdout.trim();
console.log(`\ncdk CLI ${cli}; node ${process.version}; ${os.cpus().length} cores; median of ${runs} interleaved runs\n`);
console.log(`${'case'.padEnd(48)} median s   min s   max s  peak RSS MB   ratio`);
const anchorMedian = median(results[0].map((r) => r.seconds));
cases.forEach((c, j) => {
  const secs = results[j].map((r) => r.seconds);
  const mem = median(results[j].map((r) => r.peakMb));
  const ratio = median(secs) / anchorMedian;
  console.log(`${c.name.padEnd(48)} ${median(secs).toFixed(2).padStart(8)} ${Math.min(...secs).toFixed(2).padStart(7)} ${Math.max(...secs).toFixed(2).padStart(7)} ${(hasGnuTime ? mem.toFixed(0) : '-').padStart(12)} ${ratio.toFixed(2).padStart(7)}`);
});
