/**
 * @jest-environment ./test/lambda/model-server/onnx-environment.js
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsv, predict, readHyperparameters, run, split, train } from '../../examples/churn-model/src/train';
import { Model, modelSourceFromEnv } from '../../lambda/model-server/src/model';
import { InferenceService } from '../../lambda/model-server/src/service';
import { loadStageConfig } from '../../lib/config';

const DATA = join(__dirname, '../../examples/churn-model/data/train.csv');

// The example model repository: a SageMaker training job's layout in, an ONNX model the reference model server
// serves out, and the metric line the pipeline's evaluation reads.
describe('example model repository (examples/churn-model)', () => {
  let root: string;
  const lines: string[] = [];
  let accuracy: number;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'opt-ml-'));
    mkdirSync(join(root, 'input/data/train'), { recursive: true });
    mkdirSync(join(root, 'input/config'), { recursive: true });
    writeFileSync(join(root, 'input/data/train/train.csv'), readFileSync(DATA));
    writeFileSync(join(root, 'input/config/hyperparameters.json'), JSON.stringify({ epochs: '300', learning_rate: '0.2' }));
    accuracy = run({ trainDir: join(root, 'input/data/train'), modelDir: join(root, 'model'), hyperparametersFile: join(root, 'input/config/hyperparameters.json') }, (l) => lines.push(l)).accuracy;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('the held-out accuracy is well above chance and is what the pipeline\'s default metric regex reads', () => {
    expect(accuracy).toBeGreaterThan(0.8);
    const { metricRegex, metricName } = loadStageConfig({ stage: 'dev' }).pipelines.evaluation;
    expect(metricName).toBe('validation:accuracy');
    const read = lines.map((l) => new RegExp(metricRegex).exec(l)?.[1]).find((v) => v !== undefined);
    expect(Number(read)).toBeCloseTo(accuracy, 4);
    expect(JSON.parse(readFileSync(join(root, 'model/evaluation.json'), 'utf8')).metrics.accuracy.value).toBeCloseTo(accuracy, 10);
  });

  test('the reference model server loads the exported model from the model directory and answers like the trained weights', async () => {
    const source = modelSourceFromEnv({}, join(root, 'model'));
    const model = await Model.load(source);
    expect(model.inputs).toEqual([{ name: 'features', dtype: 'float32', shape: ['batch', 4] }]);
    const service = new InferenceService(model, { maxBodyBytes: 65536, maxBatchSize: 16, modelName: 'churn' });
    const rows = [[0.5, 1.8, 4, 0], [5.5, 0.3, 0, 1]];
    const predictions = (await service.predict({ instances: rows })).predictions as number[][];
    // Independent check: the same softmax in JavaScript over weights trained on the same split.
    const data = parseCsv(readFileSync(DATA, 'utf8'));
    const expected = train(split(data, 20).train, readHyperparameters({ epochs: '300', learning_rate: '0.2' }));
    rows.forEach((r, i) => predict(expected, r).forEach((p, k) => expect(Math.abs(predictions[i][k] - p)).toBeLessThan(1e-4)));
    // Short tenure, high spend, many calls churns; the opposite stays.
    expect(predictions[0][1]).toBeGreaterThan(0.5);
    expect(predictions[1][1]).toBeLessThan(0.5);
    await model.release();
  });

  test('bad data and hyperparameters fail with the row or key named', () => {
    expect(() => parseCsv('a,b,label\n1,x,0\n')).toThrow('row 2: expected 3 numbers, got "1,x,0"');
    expect(() => parseCsv('a,label\n1,2\n')).toThrow('row 2: label must be 0 or 1, got 2');
    expect(() => readHyperparameters({ learning_rate: 'fast' })).toThrow('hyperparameter learning_rate="fast" must be a number between 0.000001 and 10');
  });
});
