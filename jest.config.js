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
  maxWorkers: 2,
};
