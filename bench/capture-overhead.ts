/**
 * Lambda-path capture overhead (`npm run bench:capture`): the real model-server Lambda handler (real ONNX
 * inference of the bundled reference model, direct invocations) with capture off, at 10 % and at 100 % sampling.
 * Writes go to a stub that takes 30 ms like an S3 PUT, so background writes overlap later requests as they would.
 * Rounds interleave the three variants; reports per-request p50/p99 and mean in µs, and the mean difference.
 * Env: BENCH_CAPTURE_REQUESTS (per variant per round, default 3000), BENCH_CAPTURE_ROUNDS (default 5).
 *
 * Then the Ray Serve path (with python3 on PATH): what the request path pays for `TrafficCapture.offer` of
 * `lambda/ray-serve-onnx/capture.py` per request at 10 % and 100 %, against a baseline of building the same
 * response without capture; writes go to a thread that takes 30 ms per object like an S3 PUT.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { TrafficCapture } from '../lambda/model-server/src/capture';
import { createHandler } from '../lambda/model-server/src/lambda';
import { Model } from '../lambda/model-server/src/model';

process.env.ONNXRUNTIME_NODE_INSTALL = 'skip';
const REQUESTS = Number(process.env.BENCH_CAPTURE_REQUESTS ?? 3000);
const ROUNDS = Number(process.env.BENCH_CAPTURE_ROUNDS ?? 5);
const context = { awsRequestId: 'bench' } as Context;
const settings = { maxBodyBytes: 1 << 20, maxBatchSize: 64, modelName: 'bench', intraOpThreads: 1, metricsNamespace: 'bench' };

async function main(): Promise<void> {
  const model = await Model.load({ kind: 'file', path: join(__dirname, '..', 'lambda', 'model-server', 'model', 'model.onnx') }, { intraOpThreads: 1 });
  let written = 0;
  const slowS3 = async (o: { body: string }) => { await new Promise((r) => setTimeout(r, 30)); written += o.body.length; };
  const make = (percent: number) => createHandler({
    settings,
    logger: new Logger({ serviceName: 'bench', logLevel: 'ERROR' }),
    metrics: new Metrics({ namespace: 'bench', serviceName: 'bench' }),
    loadModel: async () => model,
    capture: percent > 0 ? new TrafficCapture({
      bucket: 'lake', prefix: 'capture/', samplingPercent: percent, source: 'bench', modelName: 'bench', servingPath: 'lambda', maxRecords: 200, maxAgeMs: 60_000,
      modelPackageArn: 'arn:aws:sagemaker:us-east-1:111111111111:model-package/bench/1',
    }, slowS3) : undefined,
  });
  const variants = [{ name: 'capture off', h: make(0) }, { name: 'capture 10 %', h: make(10) }, { name: 'capture 100 %', h: make(100) }];
  const samples: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  const event = { instances: [[0.1, 1.5, -0.3, 2.2]] };
  const out = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write; // EMF metrics of each invocation
  try {
    for (const v of variants) for (let i = 0; i < 500; i++) await v.h(event, context); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of variants) {
        for (let i = 0; i < REQUESTS; i++) {
          const t = process.hrtime.bigint();
          await v.h(event, context);
          samples[v.name].push(Number(process.hrtime.bigint() - t) / 1000);
        }
      }
    }
  } finally {
    process.stdout.write = out;
  }
  const stat = (xs: number[]) => {
    const s = xs.slice().sort((a, b) => a - b);
    return { p50: s[Math.floor(s.length * 0.5)], p99: s[Math.floor(s.length * 0.99)], mean: s.reduce((a, b) => a + b, 0) / s.length };
  };
  const base = stat(samples['capture off']);
  console.log(`Lambda handler, direct invocation, 1 instance, node ${process.version}; ${ROUNDS} interleaved rounds x ${REQUESTS} requests per variant`);
  for (const v of variants) {
    const s = stat(samples[v.name]);
    console.log(`${v.name.padEnd(14)} p50 ${s.p50.toFixed(1).padStart(7)} µs  p99 ${s.p99.toFixed(1).padStart(7)} µs  mean ${s.mean.toFixed(1).padStart(7)} µs  (mean +${(s.mean - base.mean).toFixed(1)} µs vs off)`);
  }
  console.log(`captured bytes written by the stub: ${written.toLocaleString('en-US')}`);
  rayServe();
}

/** The Ray Serve app's capture cost per request, measured in python (its runtime). */
function rayServe(): void {
  const program = `
import json, statistics, sys, time
sys.path.insert(0, ${JSON.stringify(join(__dirname, '..', 'lambda', 'ray-serve-onnx'))})
from capture import TrafficCapture
N, ROUNDS = ${REQUESTS * 3}, ${ROUNDS}
body = json.dumps({"instances": [[0.1, 1.5, -0.3, 2.2]]}).encode()
def slow_s3(bucket, key, body, kms):
    time.sleep(0.03)
def settings(p):
    return {"bucket": "lake", "prefix": "capture/ray/", "sampling_percent": p, "kms_key_id": "k", "source": "bench", "model_package_arn": "arn:aws:sagemaker:us-east-1:111111111111:model-package/bench/1", "model_name": "bench", "max_records": 200, "max_age_ms": 60000}
captures = {"capture off": None, "capture 10 %": TrafficCapture(settings(10), slow_s3), "capture 100 %": TrafficCapture(settings(100), slow_s3)}
samples = {k: [] for k in captures}
for _ in range(ROUNDS):
    for name, cap in captures.items():
        for _ in range(N):
            t = time.perf_counter_ns()
            raw = body.decode("utf-8", "replace")
            text = json.dumps({"predictions": [[0.2, 0.5, 0.3]]}, separators=(",", ":"))
            if cap:
                cap.offer(raw, text)
            samples[name].append((time.perf_counter_ns() - t) / 1000)
for cap in captures.values():
    if cap:
        cap.flush()
base = statistics.fmean(samples["capture off"])
print(f"Ray Serve app, response serialization + capture.offer, python {sys.version.split()[0]}; {ROUNDS} rounds x {N} requests per variant")
for name, xs in samples.items():
    xs.sort()
    mean = statistics.fmean(xs)
    print(f"{name:<14} p50 {xs[len(xs)//2]:7.1f} µs  p99 {xs[int(len(xs)*0.99)]:7.1f} µs  mean {mean:7.1f} µs  (mean +{mean - base:.1f} µs vs off)")
print("captured records written by the stub:", sum(c.stats["written"] for c in captures.values() if c))
`;
  const r = spawnSync('python3', ['-c', program], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    console.log(`Ray Serve path not measured: python3 ${r.error ? 'not found' : `failed: ${r.stderr.trim().split('\n').pop()}`}`);
    return;
  }
  console.log(r.stdout.trimEnd());
}

main().catch((e) => { console.error(e); process.exit(1); });
