// Unit tests skip aws-cdk-lib's built-in CloudFormation validation (seconds per synthesized app);
// test/app/all-stages.test.ts turns it back on and synthesizes every stage once with it.
process.env.CDK_VALIDATION = 'false';
