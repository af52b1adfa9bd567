#!/usr/bin/env node
// Compiles the construct library (constructs/, pipelines/ and lib/library.ts, its curated entry) with jsii, the
// compiler behind aws-cdk-lib and cdk-eks-blueprints, into a scratch package under build/jsii. The app's own build
// (`npm run build`, tsc) is untouched: jsii only proves that every public type can be used from Python, Java, .NET
// and Go, and writes the `.jsii` assembly jsii-pacmak turns into those packages.
//
//   node scripts/jsii.mjs            compile, fail on any jsii error (CI)
//   node scripts/jsii.mjs --python   also generate the Python package's source with jsii-pacmak (`--code-only`) and
//                                    byte-compile it with python3. A full `jsii-pacmak --targets python` also builds
//                                    the wheel in a venv with pip packages from PyPI (setuptools~=75.3.2, build~=1.5.0,
//                                    twine~=7.0.0); offline that install fails, so CI stops at the generated source.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(root, 'build', 'jsii');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const dep = (name) => `^${JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version}`;

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(path.join(work, 'lib'), { recursive: true });
const copy = (rel) => fs.cpSync(path.join(root, rel), path.join(work, rel), {
  recursive: true,
  filter: (src) => !/\.test\.ts$|node_modules|[\\/]dist[\\/]?/.test(path.relative(root, src)),
});
for (const rel of ['constructs', 'pipelines', 'lib/library.ts', 'LICENSE', 'README.md']) copy(rel);
// Run-time code the constructs import values from (shared formats of lambda/), found from their imports.
const lambdaImports = new Set();
const scan = (dir) => fs.readdirSync(path.join(root, dir), { withFileTypes: true }).forEach((e) => {
  const rel = path.join(dir, e.name);
  if (e.isDirectory()) return scan(rel);
  if (!rel.endsWith('.ts') || rel.endsWith('.test.ts')) return;
  for (const m of fs.readFileSync(path.join(root, rel), 'utf8').matchAll(/from '((?:\.\.\/)+lambda\/[^']+)'/g)) {
    lambdaImports.add(path.relative(root, path.resolve(root, path.dirname(rel), `${m[1]}.ts`)));
  }
});
['constructs', 'pipelines'].forEach(scan);
for (const rel of lambdaImports) copy(rel);
fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'), 'dir');

const jsiiPackage = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  license: pkg.license,
  author: { name: 'cdk-mlops contributors', organization: false },
  repository: { type: 'git', url: 'https://github.com/cdk-mlops/cdk-mlops.git' },
  main: 'lib/library.js',
  types: 'lib/library.d.ts',
  stability: 'experimental',
  jsii: {
    outdir: 'dist',
    versionFormat: 'full',
    excludeTypescript: ['lambda/**'],
    targets: {
      python: { distName: 'cdk-mlops', module: 'cdk_mlops' },
    },
    tsc: { rootDir: '.', outDir: '.' },
  },
  // jsii dependencies are jsii assemblies; `yaml` is not, so it is bundled (and never appears in a public type).
  peerDependencies: {
    'aws-cdk-lib': dep('aws-cdk-lib'),
    constructs: dep('constructs'),
    'cdk-nag': dep('cdk-nag'),
    'cdk-monitoring-constructs': dep('cdk-monitoring-constructs'),
    '@aws-cdk/lambda-layer-kubectl-v35': dep('@aws-cdk/lambda-layer-kubectl-v35'),
  },
  devDependencies: Object.fromEntries(['aws-cdk-lib', 'constructs', 'cdk-nag', 'cdk-monitoring-constructs', '@aws-cdk/lambda-layer-kubectl-v35']
    .map((name) => [name, dep(name).slice(1)])),
  dependencies: { yaml: dep('yaml') },
  bundledDependencies: ['yaml'],
};
fs.writeFileSync(path.join(work, 'package.json'), `${JSON.stringify(jsiiPackage, null, 2)}\n`);

function run(bin, args) {
  const started = Date.now();
  const result = spawnSync(path.join(root, 'node_modules', '.bin', bin), args, { cwd: work, stdio: 'inherit' });
  console.log(`${bin}: exit ${result.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run('jsii', ['--silence-warnings=reserved-word']);
const assembly = JSON.parse(fs.readFileSync(path.join(work, '.jsii'), 'utf8'));
console.log(`jsii assembly ${assembly.name}@${assembly.version}: ${Object.keys(assembly.types ?? {}).length} types`);
if (process.argv.includes('--python')) {
  run('jsii-pacmak', ['--targets', 'python', '--outdir', 'dist', '--code-only']);
  const module = path.join(work, 'dist', 'python', 'src', 'cdk_mlops', '__init__.py');
  const python = spawnSync('python3', ['-m', 'py_compile', module], { stdio: 'inherit' });
  if (python.error) console.log('python3 not found: the Python source is generated but not byte-compiled');
  else if (python.status !== 0) process.exit(python.status ?? 1);
  else console.log(`Python package source: ${path.relative(root, path.dirname(module))} (${fs.readFileSync(module, 'utf8').split('\n').length} lines), compiles`);
}
