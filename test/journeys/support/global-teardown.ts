import * as fs from 'node:fs';

// Jest global teardown: every App synthesized without an explicit outdir leaves a `cdk.out*` folder in the temp
// directory (EKS apps copy the 30 MB kubectl layer into it), and tests make scratch folders there. global-setup.ts
// points the run's temp directory (TMPDIR, inherited by the workers) at a folder of its own; removing that folder
// cleans up after the run without touching what other processes keep in the system's temp directory.
export default function removeRunTempDir(): void {
  const dir = process.env.CDK_MLOPS_TEST_TMPDIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
