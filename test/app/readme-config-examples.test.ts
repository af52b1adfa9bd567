import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { loadStageConfig, STAGE_NAMES } from '../../lib/config';
import { platformConfig } from '../../lib/config/schema';
import { synthesizeConfig } from '../journeys/support';

/**
 * Every platform config example in the README and the domain READMEs synthesizes, every stage, with the cdk-nag
 * gate on (the packs the example asks for included) and zero unacknowledged findings. An example is a fenced
 * `yaml` block whose top-level keys are all platform config keys (or `stages`); other YAML (workflow steps,
 * manifests) is not a platform config. Each example is synthesized once through the journeys' cached synth (the
 * real app entry, `-c stage=<stages> -c config=<the example>` as the README's deploy lines select stages; built-in
 * CloudFormation validation off). Only the stages whose config the example changes are built: a stage it leaves at
 * its built-in defaults is the default platform, which test/app/platform.test.ts synthesizes.
 */
const ROOT = path.join(__dirname, '..', '..');
const DOCS = [
  'README.md',
  ...fs.readdirSync(path.join(ROOT, 'constructs')).map((d) => path.join('constructs', d, 'README.md')),
  'pipelines/README.md',
  'lib/cli/README.md',
].filter((f) => fs.existsSync(path.join(ROOT, f)));
const CONFIG_KEYS = new Set([...Object.keys(platformConfig.shape), 'stages']);

interface Example { readonly where: string; readonly config: Record<string, unknown> }

function examples(): { configs: Example[]; others: string[] } {
  const configs: Example[] = [];
  const others: string[] = [];
  for (const doc of DOCS) {
    const lines = fs.readFileSync(path.join(ROOT, doc), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^```ya?ml\s*$/.test(lines[i])) continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
      const where = `${doc}:${start}`;
      const value: unknown = parse(lines.slice(start, end).join('\n'));
      const isConfig = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).every((k) => CONFIG_KEYS.has(k));
      if (isConfig) configs.push({ where, config: value as Record<string, unknown> });
      else others.push(where);
      i = end;
    }
  }
  return { configs, others };
}

const found = examples();

test('the examples are found: the README\'s platform.yaml and budget, the GPU boxes\' and the serving config', () => {
  const where = found.configs.map((e) => e.where.replace(/:\d+$/, ''));
  expect(where.filter((w) => w === 'README.md')).toHaveLength(2);
  expect(where).toEqual(expect.arrayContaining(['constructs/compute/README.md', 'constructs/serving/README.md']));
  expect(found.configs.find((e) => e.where.startsWith('README.md'))?.config).toMatchObject({ nag: { packs: ['NIST80053R5'] } });
  // YAML that is not a platform config (the CLI's GitHub workflow steps) is left alone.
  expect(found.others).toEqual(expect.arrayContaining([expect.stringMatching(/^lib\/cli\/README\.md:/)]));
});

/** The stages whose validated config the example changes (loading it also reports config errors). */
function changedStages(example: Example): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-readme-'));
  const file = path.join(dir, 'platform.yaml');
  fs.writeFileSync(file, stringify(example.config));
  try {
    return STAGE_NAMES.filter((stage) => JSON.stringify(loadStageConfig({ stage, file })) !== JSON.stringify(loadStageConfig({ stage })));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(found.configs.map((e) => [e.where, e] as const))('%s', (where, example) => {
  test('synthesizes every stage it changes with the nag gate on and no unacknowledged finding', () => {
    const stages = changedStages(example);
    expect(stages.length).toBeGreaterThan(0);
    const platform = synthesizeConfig(`readme-${where}`, example.config, { stage: stages.join(','), pipeline: false });
    for (const stage of stages) expect(platform.stageStacks(stage).length).toBeGreaterThan(0);
    expect(platform.validationFailures).toEqual([]);
  });
});
