import { DescribeModelPackageCommand, DescribeTrainingJobCommand, ListModelPackagesCommand, SageMakerClient, SageMakerServiceException } from '@aws-sdk/client-sagemaker';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { mockClient } from 'aws-sdk-client-mock';
import { handler, logger, metrics } from '../../../lambda/model-evaluation';
import { EVALUATION_REPORT_URI_SHELL, evaluationReportUri } from '../../../lambda/model-evaluation/baseline-location';

const sm = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);
const request = { trainingJobName: 'mlops-dev-0b5c6d7e-1111-2222-3333-444455556666', metricName: 'validation:accuracy', threshold: 0.8, direction: 'maximize' };
const job = (value: number | undefined, status = 'Completed') => ({
  TrainingJobName: request.trainingJobName,
  TrainingJobStatus: status as 'Completed',
  FinalMetricDataList: value === undefined ? [{ MetricName: 'train:loss', Value: 0.2 }] : [{ MetricName: 'train:loss', Value: 0.2 }, { MetricName: 'validation:accuracy', Value: value }],
  ModelArtifacts: { S3ModelArtifacts: 's3://artifacts/training-jobs/job/output/model.tar.gz' },
});

beforeEach(() => {
  // Stored metrics are dropped instead of written to stdout (Powertools would flush them when a metric repeats).
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    metrics.clearMetrics();
    return metrics;
  });
});
beforeEach(() => {
  sm.reset();
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
});

describe('model evaluation handler', () => {
  test('the report (metric, threshold, verdict) is written beside the model, where Register attaches it as ModelMetrics', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job(0.71));
    const result = await handler(request);
    expect(result.reportUri).toBe('s3://artifacts/training-jobs/job/output/evaluation.json');
    const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).toMatchObject({ Bucket: 'artifacts', Key: 'training-jobs/job/output/evaluation.json', ContentType: 'application/json' });
    expect(JSON.parse(String(put.Body))).toEqual({
      trainingJobName: request.trainingJobName, status: 'FAILED', message: 'validation:accuracy = 0.71 misses the threshold (>= 0.8)',
      metrics: { 'validation:accuracy': { value: 0.71, threshold: 0.8, direction: 'maximize' } }, champion: null,
    });
    // The Register step's shell computes the same URI from the model's.
    const model = 's3://artifacts/training-jobs/job/output/model.tar.gz';
    expect(execFileSync('bash', ['--norc', '--noprofile', '-c', `${EVALUATION_REPORT_URI_SHELL}; printf %s "$EVALUATION_REPORT_URI"`], { env: { MODEL_DATA_URL: model }, encoding: 'utf8' })).toBe(evaluationReportUri(model));
  });

  test('a metric at the threshold passes and returns the model artifacts', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job(0.8));
    expect(await handler(request)).toMatchObject({ status: 'PASSED', value: 0.8, modelDataUrl: 's3://artifacts/training-jobs/job/output/model.tar.gz' });
  });

  test('a metric below the threshold fails with both numbers in the message', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job(0.71));
    const result = await handler(request);
    expect(result.status).toBe('FAILED');
    expect(result.message).toBe('validation:accuracy = 0.71 misses the threshold (>= 0.8)');
  });

  test('minimize: an error rate above the threshold fails, below passes', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job(0.3));
    expect((await handler({ ...request, threshold: 0.25, direction: 'minimize' })).status).toBe('FAILED');
    expect((await handler({ ...request, threshold: 0.35, direction: 'minimize' })).status).toBe('PASSED');
  });

  test('a job without the metric fails and lists what it reported', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job(undefined));
    expect((await handler(request)).message).toContain('reported no "validation:accuracy" metric (reported: train:loss)');
  });

  test('a job that did not complete fails', async () => {
    sm.on(DescribeTrainingJobCommand).resolves({ ...job(0.9, 'Failed'), FailureReason: 'AlgorithmError: out of memory' });
    expect((await handler(request)).message).toContain('is Failed: AlgorithmError: out of memory, not Completed');
  });

  test('an unknown job is a 404', async () => {
    sm.on(DescribeTrainingJobCommand).rejects(new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', $metadata: {}, message: 'Requested resource not found.' }));
    expect(await handler(request)).toMatchObject({ statusCode: 404, status: 'ERROR' });
  });

  test.each([
    [{ ...request, trainingJobName: 'has spaces' }, 'trainingJobName'],
    [{ ...request, threshold: 'high' }, 'threshold: "high" — must be a finite number'],
    [{ ...request, direction: 'up' }, 'direction: "up"'],
    [{}, 'metricName'],
  ])('a bad request is a 400 naming the field: %j', async (event, expected) => {
    const result = await handler(event);
    expect(result).toMatchObject({ statusCode: 400, status: 'ERROR' });
    expect(result.message).toContain(expected);
    expect(sm.calls()).toHaveLength(0);
  });
});

describe('model evaluation handler: champion/challenger', () => {
  const GROUP = 'mlops-dev-default';
  beforeEach(() => { for (const level of ['info', 'warn', 'error'] as const) jest.spyOn(logger, level).mockImplementation(() => undefined); });
  afterEach(() => jest.restoreAllMocks());
  const CHAMPION = `arn:aws:sagemaker:us-east-1:111111111111:model-package/${GROUP}/4`;
  const champion = (metadata: Record<string, string> | undefined) => {
    sm.on(ListModelPackagesCommand, { ModelPackageGroupName: GROUP, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 1 })
      .resolves({ ModelPackageSummaryList: [{ ModelPackageArn: CHAMPION, ModelPackageGroupName: GROUP, ModelPackageVersion: 4, ModelApprovalStatus: 'Approved', CreationTime: new Date(), ModelPackageStatus: 'Completed' }] });
    sm.on(DescribeModelPackageCommand, { ModelPackageName: CHAMPION }).resolves({ ModelPackageArn: CHAMPION, CustomerMetadataProperties: metadata } as never);
  };

  test('a challenger above the threshold but worse than the approved champion fails, naming both', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job(0.86));
    champion({ 'validation:accuracy': '0.9', TrainingJobName: 'old' });
    const result = await handler({ ...request, modelPackageGroupName: GROUP });
    expect(result).toMatchObject({ status: 'FAILED', value: 0.86, champion: { modelPackageArn: CHAMPION, value: 0.9 } });
    expect(result.message).toBe(`validation:accuracy = 0.86 meets the threshold (>= 0.8) but is worse than the champion ${CHAMPION} (0.9)`);
  });

  test('a challenger at least as good passes; for minimized metrics lower is better', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job(0.9));
    champion({ 'validation:accuracy': '0.9' });
    expect((await handler({ ...request, modelPackageGroupName: GROUP })).status).toBe('PASSED');
    sm.on(DescribeTrainingJobCommand).resolves(job(12.5));
    champion({ 'validation:accuracy': '11' });
    expect((await handler({ ...request, threshold: 20, direction: 'minimize', modelPackageGroupName: GROUP })).status).toBe('FAILED');
  });

  test('no approved version, or a champion without the metric (or "None"): the threshold alone decides', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job(0.85));
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    expect(await handler({ ...request, modelPackageGroupName: GROUP })).toMatchObject({ status: 'PASSED', champion: undefined });
    champion({ 'validation:accuracy': 'None' });
    expect(await handler({ ...request, modelPackageGroupName: GROUP })).toMatchObject({ status: 'PASSED', champion: undefined });
  });

  test('a bad group name is a 400 naming it', async () => {
    expect(await handler({ ...request, modelPackageGroupName: 'no spaces' })).toMatchObject({ statusCode: 400, message: expect.stringContaining('modelPackageGroupName: "no spaces" — must be a model package group name') });
  });
});
