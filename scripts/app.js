#!/usr/bin/env node
// The CDK app entry for a clone (cdk.json "app"): bundles bin/app.ts with esbuild's API (dependencies stay external)
// and runs the bundle in this process. Faster than transpiling module by module at load (tsx), and type-checking
// stays where it belongs: `npm run typecheck` and CI. Two caches keep repeated synths fast, both under
// node_modules/.cache/cdk-mlops and both safe to delete:
// - the bundle is rebuilt only when a source file under bin/, lib/, constructs/, pipelines/ or lambda/ (or this
//   script, package.json, tsconfig.json) changed size or modification time since the last build;
// - Node's on-disk compile cache (module.enableCompileCache) keeps the bytecode of the dependencies it loads.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const nodeModule = require('node:module');

const root = path.join(__dirname, '..');
const cacheDir = path.join(root, 'node_modules', '.cache', 'cdk-mlops');
const outfile = path.join(cacheDir, 'app.js');
const stampFile = path.join(cacheDir, 'app.js.sources');

nodeModule.enableCompileCache?.(path.join(cacheDir, 'compile'));

/** Size and modification time of every file the bundle can depend on, hashed. */
function sourcesStamp() {
  const hash = crypto.createHash('sha256');
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.(ts|js|json|mjs|cjs)$/.test(entry.name)) {
        const stat = fs.statSync(file);
        hash.update(`${file}\0${stat.size}\0${stat.mtimeMs}\n`);
      }
    }
  };
  for (const dir of ['bin', 'lib', 'constructs', 'pipelines', 'lambda']) walk(path.join(root, dir));
  for (const file of [__filename, path.join(root, 'package.json'), path.join(root, 'tsconfig.json')]) {
    const stat = fs.statSync(file);
    hash.update(`${file}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

const stamp = sourcesStamp();
const upToDate = fs.existsSync(outfile) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp;
if (!upToDate) {
  require('esbuild').buildSync({
    entryPoints: [path.join(root, 'bin', 'app.ts')],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    sourcemap: 'linked',
    sourcesContent: false, // traces need the mappings only; a smaller map is parsed faster at start
    logLevel: 'error',
  });
  fs.writeFileSync(stampFile, stamp);
}
// Stack traces point at the TypeScript sources (the map is read only when a trace is formatted).
process.setSourceMapsEnabled(true);
require(outfile);
