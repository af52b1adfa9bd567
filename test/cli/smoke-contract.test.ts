/**
 * @jest-environment ./test/lambda/model-server/onnx-environment.js
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createHandler } from '../../lambda/model-server/src/lambda';
import { lambdaContext, loadTestModel } from '../lambda/model-server/fixtures';
import { cli, InvokeCommand, mocks, resetMocks, stackMocks } from './fixtures';

// The CLI's Lambda smoke test against the real model-server handler with a real ONNX model (4 features → 3
// classes): proves the HTTP event the CLI sends, the metadata it reads and the answer it checks match.
test('smoke passes against the real model-server Lambda handler', async () => {
  resetMocks();
  stackMocks(['Network', 'Data', 'Inference']);
  const model = await loadTestModel();
  const handler = createHandler({
    settings: { maxBodyBytes: 64 * 1024, maxBatchSize: 8, modelName: 'test', intraOpThreads: 0, metricsNamespace: 'test/ModelServer' },
    logger: new Logger({ serviceName: 'model-server', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test/ModelServer', serviceName: 'model-server' }),
    loadModel: async () => model,
  });
  const events: Array<{ rawPath: string }> = [];
  mocks.lambda.on(InvokeCommand).callsFake(async (input: { Payload: Uint8Array }) => {
    const event = JSON.parse(new TextDecoder().decode(input.Payload));
    events.push(event);
    const res = await handler(event, lambdaContext(`req-${events.length}`));
    return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(res)) };
  });
  // Powertools metrics print EMF to stdout; keep the test output clean.
  const quiet = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  let r;
  try {
    r = await cli(['smoke', '--stage', 'dev', '--json']);
  } finally {
    quiet.mockRestore();
  }
  expect(events.map((e) => e.rawPath)).toEqual(['/metadata', '/invocations']);
  expect(r.code).toBe(0);
  expect(r.json.checks).toEqual([expect.objectContaining({ target: 'lambda', passed: true, payloadSource: 'metadata', predictions: 1 })]);
  const sample = r.json.checks[0].sample as number[];
  expect(sample).toHaveLength(3);
  expect(sample.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5); // softmax probabilities
});
