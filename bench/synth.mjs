#!/usr/bin/env node
// Synth benchmark: wall time and peak memory of `cdk synth --quiet` for the default app and for every stage,
// median of N runs (default 3). Peak RSS comes from GNU time (`/usr/bin/time -v`, Debian package `time`).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const runs = Number(process.env.RUNS ?? 3);
const hasGnuTime = fs.existsSync('/usr/bin/time');
const cases = [
  { name: 'default (dev)', args: [] },
  { name: 'all stages', args: ['-c', 'stage=all'] },
];

function once(args) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-bench-'));
  const cmd = ['npx', 'cdk', 'synth', '--quiet', '--no-notices', '-o', outdir, ...args];
  const start = process.hrtime.bigint();
  let peakKb = 0;
  if (hasGnuTime) {
    const r = spawnSync('/usr/bin/time', ['-v', ...cmd], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`synth failed:\n${r.stderr}`);
    peakKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? 0);
  } else {
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`synth failed:\n${r.stderr}`);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.rmSync(outdir, { recursive: true, force: true });
  return { seconds, peakMb: peakKb / 1024 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cli = spawnSync('npx', ['cdk', '--version'], { encoding: 'utf8' });
const cliStart = process.hrtime.bigint();
spawnSync('npx', ['cdk', '--version']);
const cliSeconds = Number(process.hrtime.bigint() - cliStart) / 1e9;
console.log(`cdk CLI ${cli.stdout.trim()}; CLI start-up alone: ${cliSeconds.toFixed(2)} s; ${runs} runs per case\n`);
console.log('case              median s   min s   max s   peak RSS MB (median)');
for (const c of cases) {
  const results = Array.from({ length: runs }, () => once(c.args));
  const secs = results.map((r) => r.seconds);
  const mem = results.map((r) => r.peakMb);
  console.log(`${c.name.padEnd(16)}  ${median(secs).toFixed(2).padStart(8)}  ${Math.min(...secs).toFixed(2).padStart(6)}  ${Math.max(...secs).toFixed(2).padStart(6)}   ${hasGnuTime ? median(mem).toFixed(0).padStart(8) : '   (install GNU time)'}`);
}
