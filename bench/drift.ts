/**
 * Drift job benchmark (`npm run bench:drift`): records per second of the real handler (`lambda/drift-detection`)
 * reading SageMaker data-capture JSONL (4 features, one instance per line, predictions captured) from an in-memory
 * S3 stub, comparing with a 5 000-row baseline and writing its report; plus the comparison alone (decoded rows).
 * Median of 3 runs per size. Env: BENCH_DRIFT_RECORDS (comma-separated sizes, default 50000,200000).
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { buildBaseline, compareWindow } from '../lambda/drift-detection/baseline';
import { eventBridge, handler, s3, sagemaker } from '../lambda/drift-detection';
import { decodeCaptureLine } from '../lambda/model-server/src/capture-format';

const SIZES = (process.env.BENCH_DRIFT_RECORDS ?? '50000,200000').split(',').map(Number);
const PER_OBJECT = 5000;

let seed = 7;
const random = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296; };
const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const row = (shift = 0) => [gauss(), gauss(), gauss() + shift, gauss()].map((x) => Math.round(x * 1000) / 1000);
const line = (r: number[], i: number) => JSON.stringify({
  captureData: {
    endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: JSON.stringify({ instances: [r] }), encoding: 'JSON' },
    endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: JSON.stringify({ predictions: [[0.2, 0.5, 0.3]] }), encoding: 'JSON' },
  },
  eventMetadata: { eventId: `e-${i}`, inferenceTime: '2026-12-01T21:00:00Z' },
  eventVersion: '0',
});

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const training = Array.from({ length: 5000 }, () => row());
  const baseline = buildBaseline(training, { predictions: training.map(() => '1') });
  const objects = new Map<string, string>();
  const s3m = mockClient(s3);
  s3m.on(ListObjectsV2Command).callsFake((i: { Prefix: string; Delimiter?: string }) => {
    const keys = [...objects.keys()].filter((k) => k.startsWith(i.Prefix));
    if (i.Delimiter) return { CommonPrefixes: [...new Set(keys.map((k) => k.slice(0, k.indexOf('/', i.Prefix.length) + 1)))].map((Prefix) => ({ Prefix })) };
    return { Contents: keys.map((Key) => ({ Key })) };
  });
  s3m.on(GetObjectCommand).callsFake((i: { Key: string }) => ({ Body: { transformToString: async () => objects.get(i.Key) ?? JSON.stringify(baseline) } }));
  s3m.on(PutObjectCommand).resolves({});
  mockClient(sagemaker).on(DescribeModelPackageCommand).resolves({});
  mockClient(eventBridge).on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
  Object.assign(process.env, {
    DRIFT_TARGETS: JSON.stringify([{ name: 'bench', servingPath: 'sagemaker', bucket: 'lake', prefix: 'capture/', baselineUri: 's3://lake/baseline.json' }]),
    REPORT_BUCKET: 'lake', WINDOW_HOURS: '2', MAX_RECORDS: String(Math.max(...SIZES)), 
  });

  console.log(`drift job, node ${process.version}, ${PER_OBJECT} records per object, median of 3`);
  for (const n of SIZES) {
    objects.clear();
    const lines = Array.from({ length: n }, (_, i) => line(row(i % 2 ? 0.5 : 0), i));
    for (let o = 0; o * PER_OBJECT < n; o++) objects.set(`capture/AllTraffic/2026/12/01/21/part-${o}.jsonl`, lines.slice(o * PER_OBJECT, (o + 1) * PER_OBJECT).join('\n'));
    const job: number[] = [];
    const compare: number[] = [];
    for (let run = 0; run < 3; run++) {
      // The handler's logs and EMF metrics go to stdout; keep them out of the figures.
      const [out, err] = [process.stdout.write, process.stderr.write];
      process.stdout.write = (() => true) as typeof process.stdout.write;
      process.stderr.write = (() => true) as typeof process.stderr.write;
      let t = performance.now();
      const { results } = await handler({ time: '2026-12-01T21:30:00Z' }).finally(() => { process.stdout.write = out; process.stderr.write = err; });
      job.push(performance.now() - t);
      if (results[0].records !== n) throw new Error(`read ${results[0].records} of ${n} records: ${results[0].message}`);
      const decoded = lines.map(decodeCaptureLine);
      t = performance.now();
      compareWindow(baseline, decoded.map((d) => d.rows[0]), decoded.map((d) => d.predictions?.[0]), { minRecords: 100, psiThreshold: 0.2, ksThreshold: 0.1, pValue: 0.01 });
      compare.push(performance.now() - t);
    }
    const ms = median(job);
    console.log(`${String(n).padStart(8)} records: job ${ms.toFixed(0)} ms = ${Math.round(n / (ms / 1000)).toLocaleString('en-US')} records/s `
      + `(comparison alone ${median(compare).toFixed(0)} ms = ${Math.round(n / (median(compare) / 1000)).toLocaleString('en-US')} records/s)`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
