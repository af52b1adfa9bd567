// Regenerates the README's idle-cost table from the built-in dev, staging and prod stages (`npm run cost:readme`).
// The same estimate `cdk-mlops cost` prints; test/cost/stages.test.ts fails when the README is out of date.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCost } from '../lib/cli/commands/cost';
import { readmeCostTable, replaceReadmeCostTable } from '../lib/cost/render';

const root = path.join(__dirname, '..');
const readme = path.join(root, 'README.md');
const report = runCost({ stage: 'all', cwd: root });
fs.writeFileSync(readme, replaceReadmeCostTable(fs.readFileSync(readme, 'utf8'), readmeCostTable(report.stages)));
process.stdout.write(`README.md: ${report.stages.map((s) => `${s.name} $${s.monthlyUsd.toFixed(2)}`).join(', ')}\n`);
