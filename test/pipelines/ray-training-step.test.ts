import { loadStageConfig } from '../../lib/config';

// The Ray training step on a synthesized platform (template, state machines, IAM, the Register hand-off) is
// asserted in test/journeys/ray.test.ts.
test('the Ray backend without Ray on EKS is a config error naming both keys', () => {
  expect(() => loadStageConfig({ stage: 'dev', overrides: { pipelines: { training: { backend: 'ray' } }, eks: { ray: { enabled: false } } } }))
    .toThrow(/pipelines\.training\.backend: "ray" — needs eks\.enabled and eks\.ray\.enabled/);
  expect(loadStageConfig({ stage: 'dev', overrides: { pipelines: { training: { backend: 'ray' } } } }).pipelines.training.ray)
    .toEqual({ entrypoint: 'python train.py', maxCpuWorkers: 2, maxGpuWorkers: 1 });
});
