import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildSync } from 'esbuild';
import { lambdaPath } from './paths';

const bundles = new Map<string, string>();

/**
 * The handler `lambda/<name>/index.ts` bundled with esbuild's API in this process: minified CommonJS for Node.js 24,
 * the v3 SDK left to the Lambda runtime. The bundle is written to a folder named after its content hash and used as a
 * plain asset, so synth neither starts an `npx esbuild` child per function (NodejsFunction) nor prints a
 * "Bundling asset" block per handler (aws-cdk-lib's asset bundling), and the asset hash changes only with the code.
 */
export function bundledHandlerCode(name: string): lambda.Code {
  return lambda.Code.fromAsset(bundleDir(name));
}

function bundleDir(name: string): string {
  const cached = bundles.get(name);
  if (cached && fs.existsSync(path.join(cached, 'index.js'))) return cached;
  const result = buildSync({
    entryPoints: [lambdaPath(name, 'index.ts')],
    outfile: 'index.js',
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    sourcemap: false,
    external: ['@aws-sdk/*'],
    logLevel: 'error',
  });
  const code = result.outputFiles[0].contents;
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 32);
  const dir = path.join(os.tmpdir(), 'cdk-mlops-handlers', `${name}-${hash}`);
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    // Written under a temporary name first, so a concurrent synth never sees half a file.
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `index.js.${process.pid}.tmp`);
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, path.join(dir, 'index.js'));
  }
  bundles.set(name, dir);
  return dir;
}
