import * as path from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildSync } from 'esbuild';
import { lambdaPath } from './paths';

/**
 * A handler under `lambda/<folder>/` bundled with esbuild's API in this process: minified CommonJS for Node.js 24,
 * the v3 SDK left to the Lambda runtime. In process because NodejsFunction's bundling starts `npx esbuild` per
 * function on every synth; this builds the same bundle in tens of milliseconds.
 */
export function bundledHandlerCode(folder: string, file = 'index.ts'): lambda.Code {
  const entry = lambdaPath(folder, file);
  return lambda.Code.fromAsset(path.dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never used: esbuild is a dependency of this package, so local bundling always succeeds.
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
      local: {
        tryBundle(outputDir: string): boolean {
          buildSync({
            entryPoints: [entry], outfile: path.join(outputDir, 'index.js'), bundle: true, platform: 'node', target: 'node24',
            format: 'cjs', minify: true, sourcemap: false, external: ['@aws-sdk/*'], logLevel: 'error',
          });
          return true;
        },
      },
    },
  });
}
