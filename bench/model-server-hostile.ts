/**
 * Hostile-input benchmark (`npm run bench:hostile`), loopback only, bounded (~3 × 2 × BENCH_SECONDS):
 * normal traffic (autocannon, one-row predictions) against the SageMaker-contract server in its own process,
 * alone and with hostile bodies sent alongside (4 MiB of nested arrays, 1.2M tiny elements, a 5 MiB wrong-typed
 * string, an over-limit declared Content-Length), in interleaved rounds. Reports normal-traffic p50/p99 and
 * throughput per phase, and how the hostile requests were answered.
 * Env: BENCH_SECONDS (per phase and round, default 5), BENCH_CONNECTIONS (default 8), BENCH_HOSTILE_CONCURRENCY (default 2).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import autocannon from 'autocannon';

const ROOT = join(__dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const HOSTILE_CONCURRENCY = Number(process.env.BENCH_HOSTILE_CONCURRENCY ?? 2);
const ROUNDS = 3;
const NORMAL = JSON.stringify({ instances: [[0.1, 1.5, -0.3, 2.2]] });

const HOSTILE: Array<{ name: string; body: string; declared?: number }> = [
  { name: 'nested 4 MiB', body: '['.repeat(2 * 1024 * 1024) + ']'.repeat(2 * 1024 * 1024) },
  { name: '1.2M elements', body: `{"instances": [${Array.from({ length: 1_200_000 }, () => '0').join(',')}]}` },
  { name: '5 MB string', body: JSON.stringify({ instances: [[1, 'x'.repeat(5_000_000 - 40), 3, 4]] }) },
  { name: 'declared 50 MiB', body: '', declared: 50 * 1024 * 1024 },
];

async function launch(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'lambda/model-server/src/server.ts'), 'serve'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MODEL_PATH: join(ROOT, 'lambda/model-server/model'), ONNXRUNTIME_NODE_INSTALL: 'skip', METRICS_FLUSH_MS: '60000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening`)));
  });
  // Keep draining the server's log so its writes never block.
  child.stdout!.on('data', () => undefined);
  return { child, url: `http://127.0.0.1:${port}` };
}

function sendHostile(url: string, h: (typeof HOSTILE)[number]): Promise<{ status: number; bytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest(`${url}/invocations`, {
      method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(h.declared ?? Buffer.byteLength(h.body)) },
    }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - started }));
    });
    req.on('error', () => resolve({ status: 0, bytes: 0, ms: performance.now() - started }));
    if (h.declared) req.flushHeaders();
    else req.end(h.body);
  });
}

async function normalLoad(url: string): Promise<{ p50: number; p99: number; rps: number; errors: number }> {
  const r = await autocannon({
    url: `${url}/invocations`, method: 'POST', headers: { 'content-type': 'application/json' }, body: NORMAL,
    connections: CONNECTIONS, duration: SECONDS,
  });
  return { p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average, errors: r.errors + r.non2xx };
}

async function main(): Promise<void> {
  const { child, url } = await launch();
  const replies = new Map<string, { count: number; statuses: Set<number>; maxBytes: number; maxMs: number }>();
  const phases: Record<'alone' | 'hostile', Array<Awaited<ReturnType<typeof normalLoad>>>> = { alone: [], hostile: [] };
  try {
    await normalLoad(url); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      phases.alone.push(await normalLoad(url));
      // The attacker runs in its own process, so writing its large bodies does not slow the load generator.
      const attacker = spawn(process.execPath, ['--require', 'tsx/cjs', __filename], { env: { ...process.env, BENCH_ATTACK_URL: url }, stdio: ['ignore', 'pipe', 'inherit'] });
      let report = '';
      attacker.stdout!.on('data', (c: Buffer) => { report += c.toString(); });
      const attackerDone = new Promise<void>((resolve) => attacker.once('exit', () => resolve()));
      await new Promise((r) => setTimeout(r, 200));
      phases.hostile.push(await normalLoad(url));
      attacker.kill('SIGTERM');
      await attackerDone;
      for (const line of report.trim().split('\n').filter(Boolean)) {
        const r = JSON.parse(line) as { name: string; status: number; bytes: number; ms: number };
        const e = replies.get(r.name) ?? { count: 0, statuses: new Set<number>(), maxBytes: 0, maxMs: 0 };
        e.count++;
        e.statuses.add(r.status);
        e.maxBytes = Math.max(e.maxBytes, r.bytes);
        e.maxMs = Math.max(e.maxMs, r.ms);
        replies.set(r.name, e);
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`normal traffic: ${CONNECTIONS} connections, ${SECONDS} s per phase, ${ROUNDS} interleaved rounds (median of rounds)`);
  for (const [name, rounds] of Object.entries(phases)) {
    console.log(`  ${name === 'alone' ? 'alone         ' : `+ ${HOSTILE_CONCURRENCY} hostile   `} p50 ${median(rounds.map((r) => r.p50))} ms  p99 ${median(rounds.map((r) => r.p99))} ms  ${Math.round(median(rounds.map((r) => r.rps)))} req/s  errors ${rounds.reduce((a, r) => a + r.errors, 0)}`);
  }
  console.log('hostile requests:');
  for (const [name, e] of replies) console.log(`  ${name.padEnd(16)} ${e.count} sent, status ${[...e.statuses].join('/')}, largest reply ${e.maxBytes} B, slowest ${e.maxMs.toFixed(0)} ms`);
}

/** Attacker process: sends hostile bodies with BENCH_HOSTILE_CONCURRENCY in flight until SIGTERM, one JSON line per reply. */
async function attack(url: string): Promise<void> {
  let running = true;
  process.once('SIGTERM', () => { running = false; });
  await Promise.all(Array.from({ length: HOSTILE_CONCURRENCY }, async (_, a) => {
    for (let i = a; running; i++) {
      const h = HOSTILE[i % HOSTILE.length];
      const r = await sendHostile(url, h);
      process.stdout.write(`${JSON.stringify({ name: h.name, ...r })}\n`);
    }
  }));
}

(process.env.BENCH_ATTACK_URL ? attack(process.env.BENCH_ATTACK_URL) : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
