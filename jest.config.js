/** @type {import('jest').Config} */
module.exports = {
  // Jest's node environment; a worker exits as soon as the run ends (why: test/node-environment.js).
  testEnvironment: '<rootDir>/test/node-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': '<rootDir>/scripts/jest-esbuild-transform.js',
  },
  // aws-cdk-lib's built-in CloudFormation validation costs seconds per synthesized app; tests switch it
  // off and one dedicated test (test/app/all-stages.test.ts) synthesizes every stage with it on.
  setupFiles: ['<rootDir>/test/setup-env.js'],
  // Synthesizes the configs the journey tests share once per source tree (test/journeys/support/assembly.ts).
  globalSetup: '<rootDir>/test/journeys/support/global-setup.ts',
  // Removes the cdk.out folders the run's apps left in the temp directory.
  globalTeardown: '<rootDir>/test/journeys/support/global-teardown.ts',
  testTimeout: 120000,
  // `npm test` starts jest with --max-semi-space-size=32 (package.json); workers inherit it. Synthesizing CDK apps
  // allocates many short-lived objects, and a 32 MB young generation scavenges less often than V8's default: measured
  // on a cold run, 127.7 s → 120.3 s of user CPU, 82.9 s → 78.5 s wall on 2 cores.
  maxWorkers: 2,
};
