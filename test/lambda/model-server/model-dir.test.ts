/**
 * @jest-environment ./test/lambda/model-server/onnx-environment.js
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model, modelSourceFromEnv } from '../../../lambda/model-server/src/model';

const REFERENCE = join(__dirname, '../../../lambda/model-server/model/model.onnx');
const BAKED = { MODEL_DEFAULT_PATH: '/opt/model-server/model/model.onnx' };

describe('a model SageMaker unpacked into /opt/ml/model is served or refused, never swapped for the baked one', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'opt-ml-model-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('a model in a subfolder of the archive (model/model.onnx) is found and loads', async () => {
    mkdirSync(join(root, 'model'));
    copyFileSync(REFERENCE, join(root, 'model', 'model.onnx'));
    writeFileSync(join(root, 'metrics.json'), '{}');
    const source = modelSourceFromEnv(BAKED, root);
    expect(source).toEqual({ kind: 'file', path: join(root, 'model', 'model.onnx') });
    const model = await Model.load(source);
    expect(model.inputs[0].name).toBe('features');
    await model.release();
  });

  test('an archive in another format fails at start, naming what it holds', () => {
    writeFileSync(join(root, 'model.joblib'), 'pickle');
    expect(() => modelSourceFromEnv(BAKED, root)).toThrow(`model directory ${root} holds no .onnx file (it holds model.joblib); this server serves ONNX models`);
  });

  test('several ONNX files are ambiguous unless one is model.onnx at the top', () => {
    mkdirSync(join(root, 'a'));
    writeFileSync(join(root, 'a', 'x.onnx'), '');
    writeFileSync(join(root, 'y.onnx'), '');
    expect(() => modelSourceFromEnv(BAKED, root)).toThrow(/holds several ONNX files \(a\/x\.onnx, y\.onnx\)/);
    writeFileSync(join(root, 'model.onnx'), '');
    expect(modelSourceFromEnv(BAKED, root)).toEqual({ kind: 'file', path: join(root, 'model.onnx') });
  });

  test('an empty or missing directory means no model was given: the baked reference model serves', () => {
    expect(modelSourceFromEnv(BAKED, root)).toEqual({ kind: 'file', path: BAKED.MODEL_DEFAULT_PATH });
    expect(modelSourceFromEnv(BAKED, join(root, 'absent'))).toEqual({ kind: 'file', path: BAKED.MODEL_DEFAULT_PATH });
  });

  test('a corrupt ONNX file fails to load with its location', async () => {
    writeFileSync(join(root, 'model.onnx'), 'not onnx');
    await expect(Model.load(modelSourceFromEnv(BAKED, root))).rejects.toThrow(`cannot load ONNX model from ${join(root, 'model.onnx')}`);
  });
});
