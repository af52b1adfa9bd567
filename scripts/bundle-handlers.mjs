#!/usr/bin/env node
// Pre-bundles every Lambda handler (lambda/<name>/index.ts) into dist/handlers/<name>/index.js, as cdklabs
// construct libraries ship theirs: a consumer's synth then runs no bundler. Run by `npm run build` after tsc, with
// the same esbuild options the source tree uses at synth (constructs/core/handler-code.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { buildSync } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const { HANDLER_BUILD_OPTIONS, PREBUILT_HANDLERS_DIR } = require(path.join(root, 'dist', 'constructs', 'core', 'handler-code.js'));

const out = path.join(root, PREBUILT_HANDLERS_DIR);
fs.rmSync(out, { recursive: true, force: true });
const names = fs.readdirSync(path.join(root, 'lambda')).filter((n) => fs.existsSync(path.join(root, 'lambda', n, 'index.ts'))).sort();
for (const name of names) {
  buildSync({ ...HANDLER_BUILD_OPTIONS, entryPoints: [path.join(root, 'lambda', name, 'index.ts')], outfile: path.join(out, name, 'index.js') });
}
console.log(`bundled ${names.length} handlers into ${PREBUILT_HANDLERS_DIR}: ${names.join(', ')}`);
