import { App } from 'aws-cdk-lib';
import { buildPlatform } from '../../lib/app';
import { failedValidations } from '../../lib/validation-gate';
import { CDK_CONTEXT } from '../helpers';

// The one place the suite pays for aws-cdk-lib's built-in CloudFormation validation (resource schemas and
// rules): every stage, synthesized once, as `cdk synth -c stage=all` would.
describe('every stage with the built-in CloudFormation validation and the cdk-nag gate', () => {
  let app: App;
  let assemblyStacks: string[];
  let failures: string[];
  beforeAll(() => {
    const saved = process.env.CDK_VALIDATION;
    delete process.env.CDK_VALIDATION;
    try {
      app = new App({ context: CDK_CONTEXT });
      buildPlatform(app, { stage: 'all' });
      const assembly = app.synth();
      failures = failedValidations(assembly);
      assemblyStacks = assembly.nestedAssemblies.flatMap((a) => a.nestedAssembly.stacks.map((s) => s.stackName));
    } finally {
      process.env.CDK_VALIDATION = saved;
    }
  });

  test('no validation plugin reports a failure', () => {
    expect(failures).toEqual([]);
  });

  test('dev, staging and prod are all in the cloud assembly', () => {
    for (const stage of ['dev', 'staging', 'prod']) {
      expect(assemblyStacks).toEqual(expect.arrayContaining([`mlops-${stage}-Network`, `mlops-${stage}-Data`, `mlops-${stage}-Alerts`]));
    }
  });
});
