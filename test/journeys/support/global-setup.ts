import { synthesizedPlatform } from './assembly';

// Jest global setup: synthesize the shared journey configs once, before the workers start, so parallel test files
// read one cached cloud assembly instead of each worker synthesizing the same config (a no-op when the cache is warm).
export default function warmJourneyAssemblies(): void {
  synthesizedPlatform('defaults');
  synthesizedPlatform('allOn');
}
