import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
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
 * source with esbuild's API in this process and cached in node_modules/.cache/cdk-mlops/handlers until one of the
 * files esbuild read changes, so an edited handler is never deployed stale.
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
  const outdir = bundleSource(source, path.join(packageRoot(), 'node_modules', '.cache', 'cdk-mlops', 'handlers', name));
  bundled.set(source, outdir);
  return outdir;
}

/** The folder holding `index.js` bundled from `source`: the cached one in `cacheDir` if still current, else a new build. */
export function bundleSource(source: string, cacheDir: string): string {
  return cachedBundle(cacheDir) ?? buildBundle(source, cacheDir);
}

interface BundleStamp {
  /** Every input esbuild read, with its size and modification time when it was read. */
  readonly inputs: { readonly file: string; readonly size: number; readonly mtimeMs: number }[];
  /** Folder (named by the bundle's content hash) holding `index.js`. */
  readonly output: string;
}

/** The cached bundle's folder if none of the inputs it was built from changed since. */
function cachedBundle(cacheDir: string): string | undefined {
  try {
    const stamp = JSON.parse(fs.readFileSync(path.join(cacheDir, 'stamp.json'), 'utf8')) as BundleStamp;
    const outdir = path.join(cacheDir, stamp.output);
    if (!fs.existsSync(path.join(outdir, 'index.js'))) return undefined;
    for (const input of stamp.inputs) {
      const stat = fs.statSync(input.file);
      if (stat.size !== input.size || stat.mtimeMs !== input.mtimeMs) return undefined;
    }
    return outdir;
  } catch {
    return undefined;
  }
}

/**
 * Bundles with esbuild's API into a content-addressed folder of the clone's cache (node_modules/.cache/cdk-mlops),
 * recording the inputs esbuild read, so later synths and test files reuse it until a source changes. Folders and
 * the stamp are written by rename, so parallel synths (jest workers) never see a half-written bundle.
 */
function buildBundle(source: string, cacheDir: string): string {
  // Loaded only here: the installed package never bundles, so esbuild is a development dependency.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildSync } = require('esbuild') as { buildSync: (options: Record<string, unknown>) => { metafile?: { inputs: Record<string, unknown> } } };
  fs.mkdirSync(cacheDir, { recursive: true });
  const before = Date.now();
  const tmp = fs.mkdtempSync(path.join(cacheDir, 'tmp-'));
  const result = buildSync({ ...HANDLER_BUILD_OPTIONS, entryPoints: [source], outfile: path.join(tmp, 'index.js'), metafile: true, absWorkingDir: path.dirname(source) });
  const hash = crypto.createHash('sha256').update(fs.readFileSync(path.join(tmp, 'index.js'))).digest('hex').slice(0, 16);
  const outdir = path.join(cacheDir, hash);
  try {
    fs.renameSync(tmp, outdir);
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true }); // the same bundle is already there
  }
  const inputs = Object.keys(result.metafile?.inputs ?? {}).map((rel) => {
    const file = path.resolve(path.dirname(source), rel);
    const stat = fs.statSync(file);
    return { file, size: stat.size, mtimeMs: stat.mtimeMs };
  });
  // A source edited while esbuild read it must not be recorded as built.
  if (inputs.every((i) => i.mtimeMs < before)) {
    const stampTmp = path.join(cacheDir, `stamp-${process.pid}-${hash}.json`);
    fs.writeFileSync(stampTmp, JSON.stringify({ inputs, output: hash } satisfies BundleStamp));
    fs.renameSync(stampTmp, path.join(cacheDir, 'stamp.json'));
  }
  return outdir;
}
