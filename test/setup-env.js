// Unit tests skip aws-cdk-lib's built-in CloudFormation validation (seconds per synthesized app);
// test/app/all-stages.test.ts turns it back on and synthesizes every stage once with it.
process.env.CDK_VALIDATION = 'false';
// Apps read this context (as they read the CLI's): assets are referenced where they are instead of copied into each
// test's cdk.out. The EKS kubectl and AWS CLI layers are 36 MB and 22 MB zips, copied on every synth of a cluster:
// measured on six EKS test files, 12.6 s → 9.3 s and system time 3.1 s → 1.2 s. Tests that need other context set
// it on their App; a child process the CLI starts gets the CLI's own context instead.
process.env.CDK_CONTEXT_JSON = JSON.stringify({ 'aws:cdk:disable-asset-staging': true });
// Handlers log JSON through Powertools; tests assert on their responses, so keep `npm test` output readable.
// Tests that capture the logs themselves (the model server's) run in their own environment and keep them.
if (!process.env.CDK_MLOPS_TEST_KEEP_LOGS) process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
// Tests run the Python handlers with python3; keep their bytecode out of the source tree.
process.env.PYTHONDONTWRITEBYTECODE = '1';
