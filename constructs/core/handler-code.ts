import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { packageRoot } from './paths';

/** Where `npm run build` writes the pre-bundled handlers (shipped in the npm package). */
export const PREBUILT_HANDLERS_DIR = path.join('dist', 'handlers');

/** How every handler is bundled: minified CommonJS for the Lambda Node.js 24 runtime, which provides the v3 SDK. */
export const HANDLER_BUILD_OPTIONS = {
  bundle: true,
  platform: 'node' as const,
  target: 'node24',
  format: 'cjs' as const,
  minify: true,
  sourcemap: false,
  external: ['@aws-sdk/*'],
  logLevel: 'error' as const,
};

const bundled = new Map<string, string>();

/**
 * The code of the Lambda handler in `lambda/<name>/index.ts`, exported as `handler` (use `handler: 'index.handler'`).
 *
 * The published package ships each handler pre-bundled (`dist/handlers/<name>/index.js`, built once by
 * `npm run build`), so a consumer's synth runs no bundler and needs neither esbuild nor the handlers'
 * dependencies. In a clone of the repository, where the TypeScript source is present, the handler is bundled from
 * source with esbuild's API in this process (tens of milliseconds, once per handler per synth), so an edited handler
 * is never deployed stale.
 */
export function handlerCode(name: string): lambda.Code {
  const root = packageRoot();
  const source = path.join(root, 'lambda', name, 'index.ts');
  if (fs.existsSync(source)) return lambda.Code.fromAsset(bundleFromSource(name, source));
  const prebuilt = path.join(root, PREBUILT_HANDLERS_DIR, name);
  if (fs.existsSync(path.join(prebuilt, 'index.js'))) return lambda.Code.fromAsset(prebuilt);
  throw new Error(`cdk-mlops: handler "${name}" has neither a source (${source}) nor a pre-bundled build (${prebuilt}/index.js); run "npm run build"`);
}

function bundleFromSource(name: string, source: string): string {
  const memo = bundled.get(source);
  if (memo) return memo;
  // Loaded only here: the installed package never bundles, so esbuild is a development dependency.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildSync } = require('esbuild') as { buildSync: (options: Record<string, unknown>) => unknown };
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `cdk-mlops-${name}-`));
  buildSync({ ...HANDLER_BUILD_OPTIONS, entryPoints: [source], outfile: path.join(outdir, 'index.js') });
  bundled.set(source, outdir);
  if (bundled.size === 1) process.once('exit', () => { for (const dir of bundled.values()) fs.rmSync(dir, { recursive: true, force: true }); });
  return outdir;
}
