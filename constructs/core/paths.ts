import * as fs from 'node:fs';
import * as path from 'node:path';

let cachedRoot: string | undefined;

/**
 * The package's root folder (holding `package.json` and `lambda/`), found from this file's location, so
 * asset paths work both from the sources (`constructs/core`) and from the compiled package (`dist/constructs/core`).
 */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'lambda'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cdk-mlops: cannot find the package root (package.json and lambda/) above ${__dirname}`);
    dir = parent;
  }
  cachedRoot = dir;
  return dir;
}

/** Absolute path of a file or folder under the package's `lambda/` folder (handler entries, model server). */
export function lambdaPath(...segments: string[]): string {
  return path.join(packageRoot(), 'lambda', ...segments);
}
