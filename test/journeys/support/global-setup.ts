import { synthesizedPlatform } from './assembly';

// Jest global setup: synthesize the shared journey configs once, before the workers start, so parallel test files
// read one cached cloud assembly instead of each worker synthesizing the same config (a no-op when the cache is warm).
export default function warmJourneyAssemblies(): void {
  // For global-teardown.ts: temp folders created from now on belong to this run.
  process.env.CDK_MLOPS_TEST_STARTED = String(Date.now());
  synthesizedPlatform('defaults');
  synthesizedPlatform('allOn');
}
