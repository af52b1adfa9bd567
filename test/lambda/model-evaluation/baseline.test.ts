import { execFileSync } from 'node:child_process';
import { DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { parseBaseline } from '../../../lambda/drift-detection/baseline';
import { DRIFT_BASELINE_URI_SHELL, driftBaselineUri, handler, parseTrainingData, s3, sagemaker } from '../../../lambda/model-evaluation/baseline';
import { rows, s3Store } from '../drift-detection/support';

const JOB = 'mlops-dev-0b5c6d7e-1111-2222-3333-444455556666';
const MODEL = `s3://mlops-dev-artifacts/training-jobs/${JOB}/output/model.tar.gz`;

describe('drift baseline from training', () => {
  const store = s3Store(s3);
  const sm = mockClient(sagemaker);
  let spies: jest.SpyInstance[];
  beforeEach(() => {
    store.objects.clear();
    sm.reset();
    sm.on(DescribeTrainingJobCommand, { TrainingJobName: JOB }).resolves({
      ModelArtifacts: { S3ModelArtifacts: MODEL },
      InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://mlops-dev-processed/training/' } } }],
      OutputDataConfig: { S3OutputPath: 's3://mlops-dev-artifacts/training-jobs/', KmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/lake' },
    } as never);
    spies = [jest.spyOn(process.stdout, 'write').mockImplementation(() => true)];
  });
  afterEach(() => spies.forEach((s) => s.mockRestore()));

  test('the Register step\'s shell line computes the same baseline URI as the handler', () => {
    const shell = execFileSync('bash', ['--norc', '--noprofile', '-c', `${DRIFT_BASELINE_URI_SHELL}; printf %s "$DRIFT_BASELINE_URI"`], { env: { MODEL_DATA_URL: MODEL }, encoding: 'utf8' });
    expect(shell).toBe(`s3://mlops-dev-artifacts/training-jobs/${JOB}/output/drift-baseline.json`);
    expect(driftBaselineUri(MODEL)).toBe(shell);
  });

  test('CSV with a header and a label column: per-feature statistics and the label distribution, written next to the model with the job key', async () => {
    const data = rows(3000, 41);
    const csv = ['f0,f1,label,f2,f3', ...data.map((r, i) => `${r[0]},${r[1]},${i % 3},${r[2]},${r[3]}`), 'broken,line'].join('\n');
    store.put('mlops-dev-processed', 'training/part-0.csv', csv);
    const res = await handler({ trainingJobName: JOB });
    expect(res).toMatchObject({ status: 'PASSED', rows: 3000, baselineUri: driftBaselineUri(MODEL) });
    const written = store.get('mlops-dev-artifacts', `training-jobs/${JOB}/output/drift-baseline.json`)!;
    expect(written).toMatchObject({ sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/lake' });
    const b = parseBaseline(JSON.parse(written.body));
    expect(b.features.map((f) => f.name)).toEqual(['f0', 'f1', 'f2', 'f3']);
    const f0 = b.features[0];
    expect(f0.type).toBe('numeric');
    if (f0.type === 'numeric') {
      expect(f0.mean).toBeCloseTo(0, 1);
      expect(f0.std).toBeCloseTo(1, 1);
      expect(f0.binProportions.reduce((a, c) => a + c, 0)).toBeCloseTo(1, 10);
    }
    expect(b.predictions).toMatchObject({ type: 'categorical', proportions: { 0: expect.closeTo(1 / 3, 3), 1: expect.closeTo(1 / 3, 3), 2: expect.closeTo(1 / 3, 3) } });
  });

  test('JSON lines with instances bodies, no label: features only', () => {
    const parsed = parseTrainingData('{"instances": [[1, 2], [3, 4]]}\n[5, 6]\nnot json');
    expect(parsed).toEqual({ rows: [[1, 2], [3, 4], [5, 6]], names: undefined, labels: undefined, skipped: 1 });
  });

  test('no training rows fails the step with the reason; a bad request is a 400', async () => {
    expect(await handler({ trainingJobName: JOB })).toMatchObject({ status: 'FAILED', message: expect.stringContaining('No readable training rows under s3://mlops-dev-processed/training/') });
    expect(await handler({ trainingJobName: 'bad name!' })).toMatchObject({ statusCode: 400, status: 'ERROR' });
  });
});
