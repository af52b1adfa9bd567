// Unit tests skip aws-cdk-lib's built-in CloudFormation validation (seconds per synthesized app);
// test/app/all-stages.test.ts turns it back on and synthesizes every stage once with it.
process.env.CDK_VALIDATION = 'false';
// Handlers log JSON through Powertools; tests assert on their responses, so keep `npm test` output readable.
// Tests that capture the logs themselves (the model server's) run in their own environment and keep them.
if (!process.env.CDK_MLOPS_TEST_KEEP_LOGS) process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
// Tests run the Python handlers with python3; keep their bytecode out of the source tree.
process.env.PYTHONDONTWRITEBYTECODE = '1';
