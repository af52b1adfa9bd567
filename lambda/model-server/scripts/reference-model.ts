import { onnx } from 'onnx-proto';

/** Options of the reference classifier: softmax(features · weights + bias [+ offset]). */
export interface ReferenceModelOptions {
  /** Weight matrix, `features × classes` (row-major nested arrays). */
  readonly weights: number[][];
  /** Bias, one value per class. */
  readonly bias: number[];
  /**
   * Name of a second float input `[batch, classes]` added to the logits before the softmax (for tests of
   * multi-input requests). Leave out for a single-input model.
   */
  readonly offsetInput?: string;
  /** Name of the features input. @default 'features' */
  readonly inputName?: string;
  /** Name of the output. @default 'probabilities' */
  readonly outputName?: string;
}

/** The weights of the shipped reference model (4 features → 3 classes). */
export const REFERENCE_WEIGHTS = [
  [0.5, -0.25, 0.1],
  [-0.3, 0.8, 0.2],
  [1.2, -0.6, -0.9],
  [0.05, 0.4, 1.1],
];
export const REFERENCE_BIAS = [0.1, 0, -0.1];

const floatTensorType = (dims: (number | string)[]): onnx.ITypeProto => ({
  tensorType: {
    elemType: onnx.TensorProto.DataType.FLOAT,
    shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
  },
});

/**
 * Builds a tiny real ONNX classifier (MatMul → Add → Softmax, opset 13) as serialized bytes. Used to ship
 * the reference model (`model/model.onnx`) and by tests, which compute the expected output independently.
 */
export function buildReferenceModel(options: ReferenceModelOptions = { weights: REFERENCE_WEIGHTS, bias: REFERENCE_BIAS }): Uint8Array {
  const features = options.weights.length;
  const classes = options.bias.length;
  if (features === 0 || options.weights.some((row) => row.length !== classes)) {
    throw new Error(`weights must be a non-empty features × ${classes} matrix`);
  }
  const input = options.inputName ?? 'features';
  const output = options.outputName ?? 'probabilities';
  const nodes: onnx.INodeProto[] = [
    { opType: 'MatMul', input: [input, 'W'], output: ['logits_raw'], name: 'matmul' },
    { opType: 'Add', input: ['logits_raw', 'B'], output: [options.offsetInput ? 'logits_biased' : 'logits'], name: 'bias' },
  ];
  if (options.offsetInput) nodes.push({ opType: 'Add', input: ['logits_biased', options.offsetInput], output: ['logits'], name: 'offset' });
  nodes.push({ opType: 'Softmax', input: ['logits'], output: [output], name: 'softmax', attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }] });

  const graphInputs: onnx.IValueInfoProto[] = [{ name: input, type: floatTensorType(['batch', features]) }];
  if (options.offsetInput) graphInputs.push({ name: options.offsetInput, type: floatTensorType(['batch', classes]) });

  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'cdk-mlops',
    producerVersion: '0.1.0',
    modelVersion: 1,
    docString: 'cdk-mlops reference classifier: softmax(features · W + B)',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'reference_classifier',
      node: nodes,
      initializer: [
        { name: 'W', dataType: onnx.TensorProto.DataType.FLOAT, dims: [features, classes], floatData: options.weights.flat() },
        { name: 'B', dataType: onnx.TensorProto.DataType.FLOAT, dims: [classes], floatData: options.bias },
      ],
      input: graphInputs,
      output: [{ name: output, type: floatTensorType(['batch', classes]) }],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/**
 * The classifier's output computed in plain JavaScript, in float32 like onnxruntime, for tests to compare
 * against real inference.
 */
export function referencePredict(options: ReferenceModelOptions, rows: number[][], offsets?: number[][]): number[][] {
  const f = Math.fround;
  return rows.map((row, r) => {
    const logits = options.bias.map((b, c) => {
      let acc = 0;
      row.forEach((x, i) => {
        acc = f(acc + f(f(x) * f(options.weights[i][c])));
      });
      return f(f(acc + f(b)) + f(offsets?.[r][c] ?? 0));
    });
    const max = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => f(e / sum));
  });
}
