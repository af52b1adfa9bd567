import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { type AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { synthesizedPlatform } from '../journeys/support';

// The README's deploy and diff lines, run with the real CDK CLI against one synthesized assembly (`--app <dir>`,
// so the app is built once): they must select the stacks of the stage they name, and nothing else. The assembly is
// the journeys' defaults (every stage and the infrastructure pipeline, synthesized once per source tree and shared),
// so the selector is shown to leave out staging, prod and the pipeline's copies of dev alike.
const root = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const cdkBin = path.join(root, 'node_modules', 'aws-cdk', 'bin', 'cdk');

/** The arguments of the first README line running `npx cdk <command>`, without the trailing comment. */
function readmeLine(command: string): string[] {
  const line = readme.split('\n').find((l) => l.startsWith(`npx cdk ${command} `));
  if (!line) throw new Error(`README.md has no "npx cdk ${command}" line`);
  // Shell words: the lines use single quotes around patterns and no other quoting.
  return (line.replace(/\s+#.*$/, '').match(/'[^']*'|\S+/g) ?? []).slice(3).map((w) => w.replace(/^'(.*)'$/, '$1'));
}

const homes: string[] = [];
function home(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-home-'));
  homes.push(dir);
  return dir;
}

interface Run { code: number; output: string }
function cdk(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cdkBin, ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? '',
        // A fresh home: the CLI caches the account per access key in ~/.cdk.
        HOME: home(),
        CDK_DISABLE_VERSION_CHECK: '1',
        CDK_DISABLE_CLI_TELEMETRY: 'true',
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        AWS_REGION: 'eu-west-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        ...env,
      },
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` }));
  });
}

/**
 * A local endpoint that answers STS GetCallerIdentity (so the CLI can resolve the account of the
 * environment-agnostic stacks) and refuses every other call: the CLI names each stack it starts, then fails.
 */
function fakeAws(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      if (body.includes('Action=GetCallerIdentity')) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end('<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/test</Arn>'
          + '<UserId>AIDATEST</UserId><Account>111111111111</Account></GetCallerIdentityResult></GetCallerIdentityResponse>');
        return;
      }
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ __type: 'AccessDenied', message: 'offline test endpoint' }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let assembly: string;
let devStacks: string[];
let server: http.Server;
beforeAll(async () => {
  const platform = synthesizedPlatform('defaults');
  assembly = platform.directory;
  devStacks = platform.stageStacks('dev').map((s) => s.stackName);
  server = await fakeAws();
});
afterAll(() => {
  server?.closeAllConnections();
  server?.close();
  for (const dir of homes) fs.rmSync(dir, { recursive: true, force: true });
});

describe("README's deploy line", () => {
  test('is a stage pattern, not --all', () => {
    expect(readmeLine('deploy')).toEqual(['dev/*']);
  });

  test('selects exactly the dev stage (cdk list with the same selector)', async () => {
    const run = await cdk(['list', ...readmeLine('deploy'), '--app', assembly, '--no-notices'], {});
    expect(run.code).toBe(0);
    const listed = run.output.trim().split('\n').map((l) => /\((.+)\)$/.exec(l)?.[1]);
    expect(listed.sort()).toEqual([...devStacks].sort());
    expect(listed).not.toContain('mlops-Pipeline');
  });

  test('starts deploying the dev stage against a local endpoint with fake credentials', async () => {
    const { port } = server.address() as AddressInfo;
    const run = await cdk(['deploy', ...readmeLine('deploy'), '--app', assembly, '--require-approval', 'never', '--no-notices'],
      { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` });
    expect(run.code).not.toBe(0); // the endpoint refuses the deployment itself
    expect(run.output).not.toContain('No stack found');
    // Stacks deploy in dependency order; the CLI names the first one (the network) before it fails on it.
    expect(run.output).toMatch(new RegExp(`${devStacks[0]}: `));
    expect(devStacks[0]).toBe('mlops-dev-Network');
    expect(run.output).not.toContain('mlops-Pipeline');
  });

  test("the diff line uses the same stage pattern", () => {
    expect(readmeLine('diff')).toEqual(['dev/*']);
  });
});
