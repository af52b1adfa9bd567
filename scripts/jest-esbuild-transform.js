// A jest transform that compiles TypeScript with esbuild (transpile only; `tsc` does the type-checking in
// `npm run build`/`typecheck`). esbuild ships its binary as a registry package, so it installs everywhere.
const crypto = require('node:crypto');
const { transformSync, version } = require('esbuild');

module.exports = {
  process(source, filename) {
    const result = transformSync(source, {
      loader: filename.endsWith('.tsx') ? 'tsx' : 'ts',
      format: 'cjs',
      target: 'node22',
      sourcemap: 'inline',
      sourcefile: filename,
    });
    return { code: result.code };
  },
  getCacheKey(source, filename) {
    return crypto.createHash('sha256').update(version).update('\0').update(filename).update('\0').update(source).digest('hex');
  },
};
