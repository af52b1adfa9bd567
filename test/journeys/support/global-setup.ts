import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { synthesizedPlatform, synthesizedVariant } from './assembly';
import { VARIANTS, type VariantName } from './configs';

const CACHE = path.join(__dirname, '..', '..', '..', 'node_modules', '.cache', 'cdk-mlops-journeys');
const DAY_MS = 24 * 3600 * 1000;

// Jest global setup: synthesize the shared journey configs once, before the workers start, so parallel test files
// read one cached cloud assembly instead of each worker synthesizing the same config (a no-op when the cache is warm).
// The two configs are synthesized side by side (the everything-on one in a child process), one per core; the journey
// files' own configs fill the time this process would otherwise wait for the child (measured cold: defaults 4.1 s
// here, everything-on 7.5 s in the child, each variant under a second here once the modules are loaded).
export default async function warmJourneyAssemblies(): Promise<void> {
  // The run's own temp directory (workers inherit TMPDIR; os.tmpdir() reads it), removed by global-teardown.ts.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-test-run-'));
  process.env.CDK_MLOPS_TEST_TMPDIR = tmp;
  process.env.TMPDIR = tmp;
  const allOn = warmInChild('allOn');
  const warmed = [synthesizedPlatform('defaults'), ...Object.keys(VARIANTS).map((name) => synthesizedVariant(name as VariantName))];
  await allOn;
  const current = new Set([...warmed, synthesizedPlatform('allOn')].map((p) => path.basename(p.directory)));
  pruneCache(current);
}

function warmInChild(name: 'allOn'): Promise<void> {
  const script = `require(${JSON.stringify(path.join(__dirname, 'assembly'))}).synthesizedPlatform(${JSON.stringify(name)})`;
  return new Promise((resolve, reject) => {
    // With this process's V8 flags (npm test's larger young generation).
    const child = spawn(process.execPath, [...process.execArgv, '--require', 'tsx/cjs', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`synthesizing the "${name}" journey config failed (exit ${code}):\n${stderr.slice(-4000)}`))));
  });
}

/** Drops assemblies of older source trees: the built-in configs' previous versions, and anything a day old. */
function pruneCache(current: Set<string>): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(CACHE);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (current.has(entry)) continue;
    const dir = path.join(CACHE, entry);
    const builtIn = ['defaults', 'allOn', ...Object.keys(VARIANTS)].some((name) => entry.startsWith(`${name}-`));
    const old = Date.now() - fs.statSync(dir).mtimeMs > DAY_MS;
    if (builtIn || old) fs.rmSync(dir, { recursive: true, force: true });
  }
}
