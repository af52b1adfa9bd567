import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleSource } from '../../../constructs/core/handler-code';

describe('handler bundles from source are cached until an input changes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-handler-code-'));
  const src = path.join(dir, 'src');
  const cache = path.join(dir, 'cache');
  const write = (file: string, text: string, mtime: number) => {
    fs.writeFileSync(path.join(src, file), text);
    fs.utimesSync(path.join(src, file), mtime, mtime); // seconds in the past: recorded as built
  };
  const past = Date.now() / 1000 - 60;
  beforeAll(() => {
    fs.mkdirSync(src, { recursive: true });
    write('index.ts', "import { greeting } from './shared';\nexport const handler = async () => greeting('world');\n", past);
    write('shared.ts', 'export const greeting = (who: string) => `hello ${who}`;\n', past);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the first build writes a content-addressed bundle and a stamp of every input esbuild read', () => {
    const out = bundleSource(path.join(src, 'index.ts'), cache);
    expect(fs.readFileSync(path.join(out, 'index.js'), 'utf8')).toContain('hello');
    const stamp = JSON.parse(fs.readFileSync(path.join(cache, 'stamp.json'), 'utf8')) as { inputs: { file: string }[]; output: string };
    expect(stamp.inputs.map((i) => path.basename(i.file)).sort()).toEqual(['index.ts', 'shared.ts']);
    expect(path.basename(out)).toBe(stamp.output);
  });

  test('unchanged inputs reuse the bundle without building (no new folder)', () => {
    const first = bundleSource(path.join(src, 'index.ts'), cache);
    const folders = fs.readdirSync(cache).sort();
    expect(bundleSource(path.join(src, 'index.ts'), cache)).toBe(first);
    expect(fs.readdirSync(cache).sort()).toEqual(folders);
  });

  test('an edited import (not only the entry) produces a new bundle with the new code', () => {
    const before = bundleSource(path.join(src, 'index.ts'), cache);
    write('shared.ts', 'export const greeting = (who: string) => `goodbye ${who}`;\n', past + 1);
    const after = bundleSource(path.join(src, 'index.ts'), cache);
    expect(after).not.toBe(before);
    expect(fs.readFileSync(path.join(after, 'index.js'), 'utf8')).toContain('goodbye');
    expect(fs.readdirSync(cache).filter((f) => f.startsWith('tmp-'))).toEqual([]);
  });
});
