/**
 * @jest-environment ./test/lambda/model-server/onnx-environment.js
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { buildBaseline } from '../../../lambda/drift-detection/baseline';
import { eventBridge, handler as driftJob, s3, sagemaker } from '../../../lambda/drift-detection';
import { captureSettingsFromEnv, TrafficCapture } from '../../../lambda/model-server/src/capture';
import { createHandler } from '../../../lambda/model-server/src/lambda';
import { httpApiEvent, lambdaContext, loadTestModel } from '../model-server/fixtures';
import { argmax, classify, rng, rows, s3Store } from './support';

const LAKE = 'mlops-prod-artifacts';
const PACKAGE = 'arn:aws:sagemaker:eu-west-1:333333333333:model-package/model-prod/3';

/**
 * The Lambda serving path end to end: the real model-server handler (real ONNX inference) captures sampled
 * requests through `TrafficCapture` into the (stubbed) lake, and the drift job reads exactly those objects.
 */
describe('Lambda path capture → drift job', () => {
  const store = s3Store(s3);
  const sm = mockClient(sagemaker);
  const eb = mockClient(eventBridge);
  const env = {
    CAPTURE_BUCKET: LAKE, CAPTURE_PREFIX: 'capture/lambda/', CAPTURE_SAMPLING_PERCENT: '50', CAPTURE_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:333333333333:key/lake',
    CAPTURE_SOURCE: 'mlops-prod-inference', MODEL_PACKAGE_ARN: PACKAGE, CAPTURE_MAX_RECORDS: '100',
  };
  const training = rows(5000, 31);
  let spies: jest.SpyInstance[];

  // Sampling draws from a seeded generator: which requests are captured is the same every run, so a drift verdict
  // on them cannot flip between runs (with Math.random, 'no drift' on training-like traffic failed once in seven full runs here).
  async function serve(instances: number[][], sampling: number): Promise<TrafficCapture> {
    const capture = new TrafficCapture(captureSettingsFromEnv(env)!, async (o) => {
      store.objects.set(`${o.bucket}/${o.key}`, { body: o.body, sse: o.kmsKeyId ? 'aws:kms' : undefined, kmsKeyId: o.kmsKeyId });
    }, undefined, rng(sampling));
    const model = await loadTestModel();
    const h = createHandler({
      settings: { maxBodyBytes: 64 * 1024, maxBatchSize: 8, modelName: 'test', intraOpThreads: 0, metricsNamespace: 'test' },
      logger: new Logger({ serviceName: 'model-server' }),
      metrics: new Metrics({ namespace: 'test', serviceName: 'model-server' }),
      loadModel: async () => model,
      capture,
    });
    // Two instances per request, alternating the HTTP API and direct invocation.
    for (let i = 0; i < instances.length; i += 2) {
      const batch = instances.slice(i, i + 2);
      if (i % 4 === 0) await h(httpApiEvent('POST', '/predict', JSON.stringify({ instances: batch })), lambdaContext(`r${i}`));
      else await h({ instances: batch }, lambdaContext(`r${i}`));
    }
    await h(httpApiEvent('POST', '/predict', '{"instances": [[1, 2]]}'), lambdaContext('bad')); // a 400: never captured
    await capture.flush();
    return capture;
  }

  beforeAll(() => {
    Object.assign(process.env, {
      DRIFT_TARGETS: JSON.stringify([{ name: 'prod-inference', servingPath: 'lambda', bucket: LAKE, prefix: 'capture/lambda/mlops-prod-inference/' }]),
      REPORT_BUCKET: LAKE, REPORT_PREFIX: 'drift-reports/', WINDOW_HOURS: '2', MIN_RECORDS: '100',
    });
  });
  beforeEach(() => {
    store.objects.clear();
    store.put(LAKE, 'training-jobs/job-3/output/drift-baseline.json', JSON.stringify(buildBaseline(training, { predictions: training.map((r) => argmax(classify(r))) })));
    sm.reset();
    eb.reset();
    sm.on(DescribeModelPackageCommand, { ModelPackageName: PACKAGE }).resolves({ CustomerMetadataProperties: { DriftBaseline: `s3://${LAKE}/training-jobs/job-3/output/drift-baseline.json` } } as never);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-9' }] });
    spies = [jest.spyOn(process.stdout, 'write').mockImplementation(() => true), jest.spyOn(process.stderr, 'write').mockImplementation(() => true)];
  });
  afterEach(() => spies.forEach((s) => s.mockRestore()));

  test('captures about the sampling percent, KMS-encrypted, partitioned by model package and hour', async () => {
    const capture = await serve(rows(800, 32), 42);
    // 400 requests at 50 %: a binomial draw, 4 standard deviations either side.
    expect(capture.stats.captured).toBeGreaterThan(160);
    expect(capture.stats.captured).toBeLessThan(240);
    expect(capture.stats).toMatchObject({ written: capture.stats.captured, failedWrites: 0 });
    const keys = store.keys(LAKE, 'capture/');
    expect(keys.length).toBe(Math.ceil(capture.stats.captured / 100));
    const hour = new Date().toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/');
    for (const k of keys) expect(k).toMatch(new RegExp(`^capture/lambda/mlops-prod-inference/model-prod-3/${hour}/\\d+-[0-9a-f-]{36}\\.jsonl$`));
    expect(store.get(LAKE, keys[0])).toMatchObject({ sse: 'aws:kms', kmsKeyId: env.CAPTURE_KMS_KEY_ID });
    const first = JSON.parse(store.get(LAKE, keys[0])!.body.split('\n')[0]);
    expect(first).toMatchObject({ eventVersion: '0', eventMetadata: { servingPath: 'lambda', modelPackageArn: PACKAGE }, captureData: { endpointInput: { encoding: 'JSON', mode: 'INPUT' }, endpointOutput: { mode: 'OUTPUT' } } });
  });

  test('no drift on training-like traffic; drift on f1 when callers shift it, with the package in the event', async () => {
    await serve(rows(800, 33), 43);
    let { results } = await driftJob({});
    expect(results[0]).toMatchObject({ status: 'ok', malformed: 0 });
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);

    for (const k of [...store.objects.keys()]) if (k.startsWith(`${LAKE}/capture/`)) store.objects.delete(k);
    await serve(rows(800, 34, [0, 1, 0, 0]), 44);
    ({ results } = await driftJob({}));
    expect(results[0].status).toBe('drift');
    expect(results[0].driftedFeatures).toContain('f1');
    const detail = JSON.parse(eb.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0].Detail!);
    expect(detail).toMatchObject({ model: 'prod-inference', servingPath: 'lambda', modelPackageArn: PACKAGE });
  });
});
