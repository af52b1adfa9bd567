import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, DescribeModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { buildBaseline } from '../../../lambda/drift-detection/baseline';
import { eventBridge, handler, s3, sagemaker } from '../../../lambda/drift-detection';
import { chiSquare, ksTest, psi, quantiles } from '../../../lambda/drift-detection/stats';
import { decodeCaptureLine } from '../../../lambda/model-server/src/capture-format';
import { argmax, classify, rows, s3Store, sageMakerCaptureLines } from './support';

const LAKE = 'mlops-prod-artifacts';
const PACKAGE = 'arn:aws:sagemaker:eu-west-1:333333333333:model-package/model-prod/7';
const END = new Date('2026-12-01T22:00:00Z');
const CAPTURE_ROOT = 'data-capture/mlops-prod-model/mlops-prod-model/';

/** EMF documents and logs Powertools writes. */
function captureStdout() {
  const lines: string[] = [];
  const fn = (chunk: string | Uint8Array) => { lines.push(...chunk.toString().split('\n').filter(Boolean)); return true; };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(fn), jest.spyOn(process.stderr, 'write').mockImplementation(fn)];
  return { docs: () => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>), restore: () => spies.forEach((s) => s.mockRestore()) };
}

const featureMetric = (docs: Record<string, unknown>[], feature: string, name: string) =>
  docs.find((d) => d.feature === feature && name in d)?.[name] as number | undefined;

describe('statistics', () => {
  test('PSI is 0 for the same distribution and grows with the shift', () => {
    expect(psi([0.25, 0.25, 0.25, 0.25], [25, 25, 25, 25])).toBeCloseTo(0, 10);
    expect(psi([0.5, 0.5], [90, 10])).toBeCloseTo((0.9 - 0.5) * Math.log(0.9 / 0.5) + (0.1 - 0.5) * Math.log(0.1 / 0.5), 10);
  });
  test('chi-square: statistic and p-value match the closed form for 2 degrees of freedom (p = e^(-x/2))', () => {
    const r = chiSquare([1 / 3, 1 / 3, 1 / 3], [10, 20, 30]);
    expect(r.statistic).toBeCloseTo(10, 10);
    expect(r.degreesOfFreedom).toBe(2);
    expect(r.pValue).toBeCloseTo(Math.exp(-5), 6);
  });
  test('KS: a sample of the same distribution is not rejected, a shifted one is', () => {
    const base = rows(5000, 1).map((r) => r[0]).sort((a, b) => a - b);
    const same = rows(500, 2).map((r) => r[0]).sort((a, b) => a - b);
    const shifted = rows(500, 3, [0.5, 0, 0, 0]).map((r) => r[0]).sort((a, b) => a - b);
    const qs = quantiles(base, 100);
    expect(ksTest(same, qs, base.length).pValue).toBeGreaterThan(0.05);
    const d = ksTest(shifted, qs, base.length);
    // N(0.5,1) vs N(0,1): sup |Φ(x−0.5) − Φ(x)| = 2Φ(0.25) − 1 ≈ 0.197.
    expect(d.statistic).toBeGreaterThan(0.15);
    expect(d.statistic).toBeLessThan(0.25);
    expect(d.pValue).toBeLessThan(1e-6);
  });
});

describe('capture format', () => {
  test('reads the SageMaker data-capture sample of the AWS documentation (CSV encoding)', () => {
    // From "Capture data from real-time endpoint" (SageMaker Developer Guide), shortened to four features.
    const line = '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"69,0,153.7,109","encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv; charset=utf-8","mode":"OUTPUT","data":"0.0254181120544672","encoding":"CSV"}},"eventMetadata":{"eventId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","inferenceTime":"2019-11-22T08:24:40Z"},"eventVersion":"0"}';
    expect(decodeCaptureLine(line)).toEqual({ rows: [[69, 0, 153.7, 109]], predictions: [0.0254181120544672], inferenceTime: '2019-11-22T08:24:40Z', modelPackageArn: undefined });
  });
  test('reads nested {"instances": [[…]]} bodies and BASE64 payloads', () => {
    const body = Buffer.from(JSON.stringify({ instances: [[1, 2], [3, 4]] })).toString('base64');
    const line = JSON.stringify({ captureData: { endpointInput: { observedContentType: 'application/octet-stream', mode: 'INPUT', data: body, encoding: 'BASE64' } }, eventMetadata: { eventId: 'x', inferenceTime: 't' }, eventVersion: '0' });
    expect(decodeCaptureLine(line).rows).toEqual([[1, 2], [3, 4]]);
  });
});

describe('drift job on SageMaker data capture', () => {
  const store = s3Store(s3);
  const sm = mockClient(sagemaker);
  const eb = mockClient(eventBridge);
  const training = rows(5000, 11);
  const baseline = buildBaseline(training, { predictions: training.map((r) => argmax(classify(r))), source: 's3://mlops-dev-processed/training/' });
  let out: ReturnType<typeof captureStdout>;

  const writeCapture = (instances: number[][], extra: string[] = []) => {
    store.objects.clear();
    store.put(LAKE, 'training-jobs/job-7/output/drift-baseline.json', JSON.stringify(baseline));
    const lines = sageMakerCaptureLines(instances, new Date('2026-12-01T21:00:05Z'), classify);
    const half = Math.floor(lines.length / 2);
    store.put(LAKE, `${CAPTURE_ROOT}AllTraffic/2026/12/01/21/21-00-05-123-a1b2c3d4.jsonl`, [...lines.slice(0, half), ...extra].join('\n'));
    store.put(LAKE, `${CAPTURE_ROOT}AllTraffic/2026/12/01/20/20-10-00-000-e5f6a7b8.jsonl`, lines.slice(half).join('\n'));
  };

  beforeAll(() => {
    Object.assign(process.env, {
      DRIFT_TARGETS: JSON.stringify([{ name: 'prod-model', servingPath: 'sagemaker', bucket: LAKE, prefix: CAPTURE_ROOT, endpointName: 'mlops-prod-model' }]),
      REPORT_BUCKET: LAKE, REPORT_PREFIX: 'drift-reports/', REPORT_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:333333333333:key/lake', WINDOW_HOURS: '24', MIN_RECORDS: '100',
      EVENT_BUS_NAME: 'default',
    });
  });
  beforeEach(() => {
    sm.reset();
    eb.reset();
    sm.on(DescribeEndpointCommand, { EndpointName: 'mlops-prod-model' }).resolves({ EndpointConfigName: 'cfg-7' } as never);
    sm.on(DescribeEndpointConfigCommand, { EndpointConfigName: 'cfg-7' }).resolves({ ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'model-7' }] } as never);
    sm.on(DescribeModelCommand, { ModelName: 'model-7' }).resolves({ Containers: [{ ModelPackageName: PACKAGE }] } as never);
    sm.on(DescribeModelPackageCommand, { ModelPackageName: PACKAGE }).resolves({
      DriftCheckBaselines: { ModelDataQuality: { Statistics: { ContentType: 'application/json', S3Uri: `s3://${LAKE}/training-jobs/job-7/output/drift-baseline.json` } } },
    } as never);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    out = captureStdout();
  });
  afterEach(() => out.restore());

  test('traffic like the training data: no drift, no event, malformed lines counted and skipped, report in the lake', async () => {
    writeCapture(rows(400, 21), ['{"truncated": ', 'not json at all', '{"captureData":{}}']);
    const { results } = await handler({ time: END.toISOString() });
    expect(results).toEqual([expect.objectContaining({ model: 'prod-model', status: 'ok', records: 400, malformed: 3, driftedFeatures: [] })]);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);
    const report = store.get(LAKE, `drift-reports/prod-model/2026/12/01/22/drift-report-${END.getTime()}.json`)!;
    expect(report.sse).toBe('aws:kms');
    expect(JSON.parse(report.body)).toMatchObject({ status: 'ok', modelPackageArn: PACKAGE, window: { records: 400, malformed: 3, objects: 2 } });
    const docs = out.docs();
    expect(featureMetric(docs, 'f0', 'FeaturePSI')).toBeLessThan(0.1);
    expect(docs.find((d) => 'DriftedFeatures' in d)).toMatchObject({ model: 'prod-model', DriftedFeatures: 0, MalformedRecords: 3, RecordsAnalyzed: 400 });
  });

  test('feature f2 shifted by 1.5 standard deviations: drift on f2 (and the predictions), one event with the reason', async () => {
    writeCapture(rows(400, 22, [0, 0, 1.5, 0]));
    const { results } = await handler({ time: END.toISOString() });
    expect(results[0]).toMatchObject({ status: 'drift', eventId: 'evt-1' });
    expect(results[0].driftedFeatures).toContain('f2');
    expect(results[0].driftedFeatures).not.toContain('f0');
    const calls = eb.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    const entry = calls[0].args[0].input.Entries![0];
    expect(entry).toMatchObject({ Source: 'cdk-mlops.monitoring', DetailType: 'Model Drift Detected', EventBusName: 'default', Resources: [PACKAGE] });
    const detail = JSON.parse(entry.Detail!);
    expect(detail).toMatchObject({ trigger: 'drift', model: 'prod-model', modelPackageArn: PACKAGE, records: 400 });
    expect(detail.reason).toMatch(/^Drift on prod-model: .*f2 \(PSI \d/);
    const f2 = detail.features.find((f: { name: string }) => f.name === 'f2');
    expect(f2.psi).toBeGreaterThan(0.5);
    expect(f2.ks).toBeGreaterThan(0.4);
    expect(featureMetric(out.docs(), 'f2', 'FeaturePSI')).toBeCloseTo(f2.psi, 6);
  });

  test('a window with too few records reports insufficient data, not drift', async () => {
    writeCapture(rows(40, 23, [3, 3, 3, 3]));
    const { results } = await handler({ time: END.toISOString() });
    expect(results[0]).toMatchObject({ status: 'insufficient-data', message: expect.stringContaining('40 comparable records in the window, at least 100 needed') });
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(out.docs().find((d) => 'InsufficientData' in d)).toMatchObject({ InsufficientData: 1 });
  });

  test('a schema change (a new feature) is its own finding, not a crash', async () => {
    writeCapture([...rows(300, 24), ...rows(150, 25).map((r) => [...r, 1])]);
    const { results } = await handler({ time: END.toISOString() });
    expect(results[0].status).toBe('ok');
    const report = JSON.parse(store.get(LAKE, `drift-reports/prod-model/2026/12/01/22/drift-report-${END.getTime()}.json`)!.body);
    expect(report.schema).toMatchObject({ expectedFeatures: 4, observedWidths: { 5: 150 }, mismatchedRecords: 150 });
    expect(report.schema.message).toContain('new features');
    expect(out.docs().find((d) => 'SchemaMismatchRecords' in d)).toMatchObject({ SchemaMismatchRecords: 150 });
  });

  test('a package without a baseline is reported as such, not compared with anything', async () => {
    writeCapture(rows(200, 26));
    sm.on(DescribeModelPackageCommand).resolves({} as never);
    const { results } = await handler({ time: END.toISOString() });
    expect(results[0]).toMatchObject({ status: 'no-baseline', message: `model package ${PACKAGE} carries no drift baseline` });
  });
});
