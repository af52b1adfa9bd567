import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aws } from '../../lib/cli/aws';
import { explainAwsError } from '../../lib/cli/errors';
import { cli, mocks, resetMocks } from './fixtures';

const ROOT = path.join(__dirname, '..', '..');

beforeEach(() => resetMocks());

describe('command line', () => {
  test('--help lists every command; no command prints it with exit 2', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['status', 'smoke', 'promote', 'rollback', 'cost']) expect(help.stdout).toMatch(new RegExp(`^  ${c}\\s+\\S`, 'm'));
    expect(help.stdout).toContain('--profile <name>');
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 unhealthy or failed');
  });

  test.each([
    ['status', '--stage <name>'],
    ['smoke', '--payload <file.json>'],
    ['promote', '--model <group>'],
    ['rollback', '--target lambda|endpoint'],
  ])('%s --help shows its options and the global ones, without calling AWS', async (command, option) => {
    const r = await cli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: cdk-mlops ${command}`);
    expect(r.stdout).toContain(option);
    expect(r.stdout).toContain('--output table|json');
    expect(mocks.cfn.calls()).toHaveLength(0);
  });

  test.each([
    [['deploy'], 'error: Unknown command "deploy". Commands: status, smoke, promote, rollback, cost; see `cdk-mlops --help`.'],
    [['status'], 'error: status needs --stage; see `cdk-mlops status --help`.'],
    [['status', '--stage', 'Prod!'], 'error: --stage "Prod!" is not allowed: a stage name such as dev, staging or prod (lowercase letters, digits, hyphens).'],
    [['status', '--stage', 'dev', '--output', 'yaml'], 'error: --output "yaml" is not allowed: use table or json.'],
    [['status', '--stage', 'dev', '--prefix', 'X'], 'error: --prefix "X" is not allowed: 3-20 lowercase letters, digits and hyphens, starting with a letter.'],
    [['smoke', '--stage', 'dev', '--target', 'gpu'], 'error: --target "gpu" is not allowed: use all or lambda or endpoint.'],
  ])('usage error %j', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(message);
    expect(mocks.cfn.calls()).toHaveLength(0);
  });

  test('unknown options are usage errors naming the option', async () => {
    const r = await cli(['status', '--stage', 'dev', '--stgae', 'prod']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: Unknown option '--stgae'.*; see `cdk-mlops status --help`\.$/);
  });

  test('a bad region is caught before calling AWS', async () => {
    const r = await cli(['status', '--stage', 'dev', '--region', 'Ireland']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: --region "Ireland" is not an AWS region name such as eu-west-1.');
  });
});

describe('AWS clients and errors', () => {
  test('clients use the SDK adaptive retry mode and the region given', async () => {
    const aws = new Aws({ region: 'eu-west-1' });
    for (const client of [aws.cloudFormation, aws.eks, aws.ecr, aws.lambda, aws.sageMaker, aws.sageMakerRuntime]) {
      expect(client.config.retryMode).toBe('adaptive');
      expect(await client.config.maxAttempts()).toBe(5);
      expect(await client.config.region()).toBe('eu-west-1');
    }
    expect(aws.eks).toBe(aws.eks); // one client per service per run
  });

  test('--profile is handed to the SDK credential chain through AWS_PROFILE', () => {
    const before = process.env.AWS_PROFILE;
    try {
      new Aws({ profile: 'ops-prod' });
      expect(process.env.AWS_PROFILE).toBe('ops-prod');
    } finally {
      if (before === undefined) delete process.env.AWS_PROFILE;
      else process.env.AWS_PROFILE = before;
    }
  });

  test('access denied without the action in the message names the call\'s action', () => {
    const e = explainAwsError(Object.assign(new Error(''), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }), 'ecr:DescribeImages', 0);
    expect(e).toMatchObject({ kind: 'access-denied', action: 'ecr:DescribeImages', exitCode: 4 });
    expect(e.message).toMatch(/^Access denied: the caller is missing permission ecr:DescribeImages\. See lib\/cli\/README\.md/);
  });

  test('missing region and unknown errors get plain messages', () => {
    expect(explainAwsError(new Error('Region is missing'), 'cloudformation:DescribeStacks', 0)).toMatchObject({ kind: 'no-region', message: 'No AWS region set. Pass --region <name> or set AWS_REGION.' });
    expect(explainAwsError(Object.assign(new Error('boom'), { name: 'InternalFailure' }), 'eks:DescribeCluster', 0).message).toBe('eks:DescribeCluster failed: InternalFailure: boom');
  });
});

describe('documentation', () => {
  test('the README lists every IAM action the CLI calls', () => {
    const dir = path.join(ROOT, 'lib', 'cli');
    const files = [...fs.readdirSync(dir), ...fs.readdirSync(path.join(dir, 'commands')).map((f) => `commands/${f}`)].filter((f) => f.endsWith('.ts'));
    const actions = new Set(files.flatMap((f) => [...fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/(?:call|paginate)\('([a-z-]+:[A-Za-z]+)'/g)].map((m) => m[1])));
    expect(actions.size).toBeGreaterThanOrEqual(20);
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect([...actions].filter((a) => !readme.includes(a))).toEqual([]);
  });
});

describe('the executable', () => {
  test('bin/cli.ts --help runs in a fresh process without loading aws-cdk-lib', () => {
    // Load the entry as `cdk-mlops --help`, then report whether any CDK module was required.
    const script = `process.argv = [process.argv[0], 'cdk-mlops', '--help']; require('./bin/cli.ts');
process.on('exit', () => { process.stderr.write('CDK_LOADED=' + Object.keys(require.cache).some((k) => /node_modules[\\\\/](aws-cdk-lib|constructs|cdk-nag)[\\\\/]/.test(k))); });`;
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: cdk-mlops <command> [options]');
    expect(r.stderr).toContain('CDK_LOADED=false');
  });
});
