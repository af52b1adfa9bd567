import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Jest global teardown: every App synthesized without an explicit outdir leaves a `cdk.out*` folder in the temp
// directory (EKS apps copy the 30 MB kubectl layer into it). Remove the ones this run created, so repeated runs
// do not fill the disk.
export default function removeSynthFolders(): void {
  const started = Number(process.env.CDK_MLOPS_TEST_STARTED ?? Date.now());
  const tmp = os.tmpdir();
  for (const name of fs.readdirSync(tmp)) {
    if (!name.startsWith('cdk.out') && !name.startsWith('cdk-mlops-')) continue;
    const dir = path.join(tmp, name);
    try {
      if (fs.statSync(dir).birthtimeMs >= started - 1000) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Already gone, or not ours to remove.
    }
  }
}
