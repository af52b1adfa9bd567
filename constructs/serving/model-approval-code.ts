import * as path from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildSync } from 'esbuild';
import { lambdaPath } from '../core/paths';

/**
 * The model-approval handler bundled with esbuild's API in this process: minified CommonJS for Node.js 24, the v3
 * SDK left to the Lambda runtime. NodejsFunction's own bundling shells out to `npx esbuild` on every synth (about a
 * second of npm start-up per function); this produces the same bundle in tens of milliseconds.
 */
export function modelApprovalCode(): lambda.Code {
  const entry = lambdaPath('model-approval', 'index.ts');
  return lambda.Code.fromAsset(path.dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never used: esbuild is a dependency of this package, so local bundling always succeeds.
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
      local: {
        tryBundle(outputDir: string): boolean {
          buildSync({
            entryPoints: [entry],
            outfile: path.join(outputDir, 'index.js'),
            bundle: true,
            platform: 'node',
            target: 'node24',
            format: 'cjs',
            minify: true,
            sourcemap: false,
            external: ['@aws-sdk/*'],
            logLevel: 'error',
          });
          return true;
        },
      },
    },
  });
}
