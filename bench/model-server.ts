/**
 * Model server benchmark (`npm run bench:model-server`), loopback only, bounded time (~45 s):
 *  1. bundle the server as the images do (esbuild) and report the bundle sizes;
 *  2. cold start: process spawn → first successful POST /invocations (median of 3);
 *  3. throughput and p50/p99 latency under autocannon load, the model server vs a bare node:http +
 *     onnxruntime-node baseline serving the same model, in 5 interleaved A/B rounds of the same run,
 *     plus server CPU time per request and unloaded latency (sequential requests, µs resolution);
 *  4. the Lambda handler in-process: first invocation (model load) and warm p50/p99.
 * Env: BENCH_SECONDS (per target, default 10), BENCH_CONNECTIONS (default 8), BENCH_BATCH (rows per request, default 1).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import autocannon from 'autocannon';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createHandler } from '../lambda/model-server/src/lambda';
import { Model } from '../lambda/model-server/src/model';
import { settingsFromEnv } from '../lambda/model-server/src/settings';

process.env.ONNXRUNTIME_NODE_INSTALL = 'skip';
const ROOT = join(__dirname, '..');
const SERVER_DIR = join(ROOT, 'lambda', 'model-server');
const MODEL = join(SERVER_DIR, 'model', 'model.onnx');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const BATCH = Number(process.env.BENCH_BATCH ?? 1);
const ROUNDS = 5;
const RESULTS = join(ROOT, 'bench', 'results');

const rows = Array.from({ length: BATCH }, (_, i) => [0.1 * i, 1.5, -0.3, 2.2]);
const BODY = JSON.stringify({ instances: rows });
const HEADERS = { 'content-type': 'application/json' };

interface Target {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
}

/**
 * Spawns a server process and resolves once its log shows the port. Logs go to a file, as a container's go to
 * the log driver: a pipe read by this (busy) load-generating process would block the server's stdout writes.
 */
async function launch(name: string, script: string, env: Record<string, string>): Promise<Target & { startedAt: number; listeningAt: number }> {
  const log = join(RESULTS, `${name}.log`);
  const fd = openSync(log, 'w');
  const startedAt = performance.now();
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  for (;;) {
    const m = /"port":(\d+)/.exec(readFileSync(log, 'utf8'));
    if (m) return { name, child, url: `http://127.0.0.1:${m[1]}`, startedAt, listeningAt: performance.now() };
    if (exited !== undefined) throw new Error(`${name} exited (${exited}) before listening; see ${log}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function stop(target: Target): Promise<number> {
  const t0 = performance.now();
  const exited = new Promise<void>((resolve) => target.child.once('exit', () => resolve()));
  target.child.kill('SIGTERM');
  await exited;
  return performance.now() - t0;
}

async function post(url: string): Promise<number> {
  const res = await fetch(`${url}/invocations`, { method: 'POST', headers: HEADERS, body: BODY });
  await res.text();
  return res.status;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function coldStart(serverJs: string): Promise<{ listenMs: number; firstResponseMs: number; shutdownMs: number }> {
  const target = await launch('model-server', serverJs, { PORT: '0', HOST: '127.0.0.1', MODEL_PATH: MODEL });
  let status = 0;
  while (status !== 200) status = await post(target.url).catch(() => 0);
  const firstResponseMs = performance.now() - target.startedAt;
  const shutdownMs = await stop(target);
  return { listenMs: target.listeningAt - target.startedAt, firstResponseMs, shutdownMs };
}

/** CPU seconds (user + system) a child process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks (100 Hz).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface LoadResult {
  requests: number;
  cpuSeconds: number;
  seconds: number;
  latencies: { p50: number[]; p99: number[] };
  non2xx: number;
  errors: number;
}

/** Unloaded latency with µs resolution: sequential requests on one keep-alive connection. */
async function sequentialLatency(target: Target, count = 1000): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const s = performance.now();
    await post(target.url);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function load(target: Target, seconds: number, into?: LoadResult): Promise<void> {
  const cpuBefore = cpuSeconds(target.child.pid!);
  const r = await autocannon({ url: `${target.url}/invocations`, method: 'POST', headers: HEADERS, body: BODY, connections: CONNECTIONS, duration: seconds });
  if (!into) return;
  into.cpuSeconds += cpuSeconds(target.child.pid!) - cpuBefore;
  into.requests += r['2xx'];
  into.seconds += seconds;
  into.latencies.p50.push(r.latency.p50);
  into.latencies.p99.push(r.latency.p99);
  into.non2xx += r.non2xx;
  into.errors += r.errors + r.timeouts;
}

async function lambdaInProcess(): Promise<{ firstInvokeMs: number; p50: number; p99: number; mean: number; invocations: number }> {
  const event = (requestId: string): APIGatewayProxyEventV2 => ({
    version: '2.0', routeKey: 'POST /predict', rawPath: '/predict', rawQueryString: '', headers: HEADERS, body: BODY, isBase64Encoded: false,
    requestContext: {
      accountId: '111111111111', apiId: 'bench', domainName: 'bench', domainPrefix: 'bench', requestId, routeKey: 'POST /predict', stage: '$default',
      time: '', timeEpoch: 0, http: { method: 'POST', path: '/predict', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
    },
  });
  const context = (awsRequestId: string) => ({ awsRequestId, functionName: 'bench', memoryLimitInMB: '2048', getRemainingTimeInMillis: () => 30_000 }) as unknown as Context;
  // Powertools still formats every log line and EMF document; only the terminal write is skipped.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    const t0 = performance.now();
    const handler = createHandler({
      settings: settingsFromEnv({}),
      logger: new Logger({ serviceName: 'model-server' }),
      metrics: new Metrics({ namespace: 'bench', serviceName: 'model-server' }),
      loadModel: () => Model.load({ kind: 'file', path: MODEL }),
    });
    const first = await handler(event('first'), context('first'));
    if (first.statusCode !== 200) throw new Error(`handler answered ${first.statusCode}: ${first.body}`);
    const firstInvokeMs = performance.now() - t0;
    const times: number[] = [];
    const deadline = performance.now() + 3000;
    for (let i = 0; performance.now() < deadline; i++) {
      const s = performance.now();
      const res = await handler(event(`r${i}`), context(`r${i}`));
      times.push(performance.now() - s);
      if (res.statusCode !== 200) throw new Error(`invocation ${i} answered ${res.statusCode}: ${res.body}`);
    }
    times.sort((a, b) => a - b);
    return { firstInvokeMs, p50: percentile(times, 50), p99: percentile(times, 99), mean: times.reduce((a, b) => a + b, 0) / times.length, invocations: times.length };
  } finally {
    process.stdout.write = write;
  }
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  console.log(`model-server benchmark: ${SECONDS}s per target, ${CONNECTIONS} connections, batch ${BATCH}, loopback, Node ${process.version}`);

  execFileSync(process.execPath, ['scripts/bundle.mjs'], { cwd: SERVER_DIR, stdio: 'ignore' });
  const serverJs = join(SERVER_DIR, 'dist', 'server.js');
  const bundles = { server: statSync(serverJs).size, lambda: statSync(join(SERVER_DIR, 'dist', 'lambda.js')).size };
  console.log(`bundles (esbuild, minified): server.js ${(bundles.server / 1024).toFixed(0)} KiB, lambda.js ${(bundles.lambda / 1024).toFixed(0)} KiB`);

  // Load the client (undici) first so its start-up is not counted in the server's cold start.
  await fetch('http://127.0.0.1:9/').catch(() => undefined);
  const colds = [];
  for (let i = 0; i < 3; i++) colds.push(await coldStart(serverJs));
  const cold = {
    listenMs: median(colds.map((c) => c.listenMs)),
    firstResponseMs: median(colds.map((c) => c.firstResponseMs)),
    shutdownMs: median(colds.map((c) => c.shutdownMs)),
  };
  console.log(`cold start (median of 3): listening ${ms(cold.listenMs)}, first successful response ${ms(cold.firstResponseMs)}; SIGTERM → exit ${ms(cold.shutdownMs)}`);

  const server = await launch('model-server', serverJs, { PORT: '0', HOST: '127.0.0.1', MODEL_PATH: MODEL, MAX_BATCH_SIZE: String(Math.max(256, BATCH)) });
  const baseline = await launch('baseline', join(__dirname, 'model-server-baseline.mjs'), { MODEL_PATH: MODEL });
  for (const t of [server, baseline]) {
    if ((await post(t.url)) !== 200) throw new Error(`${t.name} does not answer`);
  }
  const results: Record<string, LoadResult> = {};
  for (const t of [server, baseline]) results[t.name] = { requests: 0, cpuSeconds: 0, seconds: 0, latencies: { p50: [], p99: [] }, non2xx: 0, errors: 0 };
  for (const t of [baseline, server]) await load(t, 2); // warm-up (JIT, connection set-up), not counted
  const unloaded: Record<string, { p50: number; p99: number }> = {};
  for (const t of [baseline, server]) unloaded[t.name] = await sequentialLatency(t);
  // Short back-to-back A/B slices in alternating order: load from other processes on a shared machine then
  // hits both sides alike, and the per-round ratios show how steady the comparison is.
  const roundRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [baseline, server] : [server, baseline];
    const before = Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.requests]));
    for (const t of order) await load(t, SECONDS / ROUNDS, results[t.name]);
    roundRatios.push((results['model-server'].requests - before['model-server']) / (results.baseline.requests - before.baseline));
  }
  await Promise.all([stop(server), stop(baseline)]);

  const summary = Object.fromEntries(Object.entries(results).map(([name, r]) => [name, {
    requestsPerSecond: r.requests / r.seconds,
    cpuMicrosPerRequest: (r.cpuSeconds * 1e6) / r.requests,
    loadedP50Ms: median(r.latencies.p50),
    loadedP99Ms: Math.max(...r.latencies.p99),
    unloadedP50Ms: unloaded[name].p50,
    unloadedP99Ms: unloaded[name].p99,
    non2xx: r.non2xx,
    errors: r.errors,
  }]));
  const ratio = summary['model-server'].requestsPerSecond / summary.baseline.requestsPerSecond;
  // On a shared machine throughput swings with other load; server CPU time per request does much less.
  const cpuRatio = summary.baseline.cpuMicrosPerRequest / summary['model-server'].cpuMicrosPerRequest;
  for (const [name, s] of Object.entries(summary)) {
    console.log(`${name.padEnd(13)} ${s.requestsPerSecond.toFixed(0).padStart(7)} req/s   ${s.cpuMicrosPerRequest.toFixed(1)} µs CPU/request   under load p50 ${s.loadedP50Ms} ms p99 ${s.loadedP99Ms} ms (autocannon, 1 ms resolution)   `
      + `unloaded p50 ${ms(s.unloadedP50Ms)} p99 ${ms(s.unloadedP99Ms)}   non-2xx ${s.non2xx}   errors ${s.errors}`);
  }
  console.log(`throughput ratio model-server / baseline: ${ratio.toFixed(3)} (goal ≥ 0.9) ${ratio >= 0.9 ? 'MET' : 'NOT MET'}; `
    + `per round ${roundRatios.map((r) => r.toFixed(2)).join(', ')} (median ${median(roundRatios).toFixed(3)})`);
  console.log(`CPU-efficiency ratio (baseline CPU per request / model-server CPU per request): ${cpuRatio.toFixed(3)}`);

  const lambda = await lambdaInProcess();
  console.log(`lambda handler in-process: first invocation incl. model load ${ms(lambda.firstInvokeMs)}; warm p50 ${ms(lambda.p50)}, p99 ${ms(lambda.p99)}, mean ${ms(lambda.mean)} over ${lambda.invocations} invocations`);

  writeFileSync(join(RESULTS, 'model-server.json'), `${JSON.stringify({
    date: new Date().toISOString(), node: process.version, seconds: SECONDS, connections: CONNECTIONS, batch: BATCH, bundles, cold, summary, ratio, roundRatios, cpuRatio, lambda,
  }, null, 2)}\n`);
  console.log('written to bench/results/model-server.json');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
