// Bundles the two adapters into plain CommonJS for the container images. onnxruntime-node stays external
// because it loads a native binding from its own package directory.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  sourcemap: 'linked',
  external: ['onnxruntime-node'],
  logLevel: 'info',
};

await build({ ...common, entryPoints: ['src/lambda.ts'], outfile: 'dist/lambda.js' });
await build({ ...common, entryPoints: ['src/server.ts'], outfile: 'dist/server.js' });
