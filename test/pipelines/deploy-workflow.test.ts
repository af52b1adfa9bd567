import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

interface Step { uses?: string; run?: string; name?: string; shell?: string; with?: Record<string, string | number> }
interface Job {
  needs?: string | string[];
  environment?: string;
  'timeout-minutes'?: number;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  permissions?: Record<string, string>;
  steps: Step[];
}
const root = path.join(__dirname, '..', '..');
const workflow = parse(fs.readFileSync(path.join(root, '.github', 'workflows', 'deploy.yml'), 'utf8')) as {
  on: Record<string, unknown>; permissions: Record<string, string>; concurrency?: unknown; jobs: Record<string, Job>;
};
const runs = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');
const creds = (job: Job) => job.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'))?.with ?? {};
const STAGES = ['dev', 'staging', 'prod'] as const;

describe('.github/workflows/deploy.yml', () => {
  test('runs on push to main; the default token only reads', () => {
    expect(workflow.on.push).toEqual({ branches: ['main'] });
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  test('order: tests and one synth → dev → diff staging → staging → diff prod → prod', () => {
    expect(workflow.jobs.dev).toMatchObject({ needs: 'test', environment: 'dev' });
    expect(workflow.jobs['diff-staging']).toMatchObject({ needs: 'dev' });
    expect(workflow.jobs.staging).toMatchObject({ needs: 'diff-staging', environment: 'staging' });
    expect(workflow.jobs['diff-prod']).toMatchObject({ needs: 'staging' });
    expect(workflow.jobs.prod).toMatchObject({ needs: 'diff-prod', environment: 'prod' });
  });

  test('the one synth uses the committed config, refuses a stage without its GitHub role, and uploads cdk.out', () => {
    const test = workflow.jobs.test;
    expect(runs(test)).toContain('npx cdk synth --quiet -c stage=all -c pipeline=false -c config=platform.yaml -c require-github-role=true');
    expect(fs.existsSync(path.join(root, 'platform.yaml'))).toBe(true);
    const upload = test.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.with).toMatchObject({ name: 'cdk-out', path: 'cdk.out', 'if-no-files-found': 'error' });
  });

  test('every job that synthesizes passes the config; every other AWS job deploys or diffs the tested assembly, never re-synthesizes', () => {
    for (const [id, job] of Object.entries(workflow.jobs)) {
      const cdk = runs(job).split('\n').filter((l) => /npx cdk /.test(l));
      for (const line of cdk) {
        if (/cdk synth/.test(line)) expect(line).toContain('-c config=platform.yaml');
        else expect(line).toMatch(/^npx cdk (deploy|diff) --app cdk\.out /);
      }
      if (id !== 'test') {
        expect(job.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))?.with).toEqual({ name: 'cdk-out', path: 'cdk.out' });
      }
    }
  });

  test.each(STAGES)('%s: OIDC deploy role (no keys) for 2 h within a 100-minute job, deploy of that stage, then status and smoke', (stage) => {
    const job = workflow.jobs[stage];
    expect(job.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
    expect(creds(job)).toMatchObject({ 'role-to-assume': '${{ secrets.AWS_DEPLOY_ROLE_ARN }}', 'role-duration-seconds': 7200 });
    expect(Object.keys(creds(job))).not.toContain('aws-access-key-id');
    expect(job['timeout-minutes']).toBe(100);
    expect(Number(creds(job)['role-duration-seconds']) / 60).toBeGreaterThan(job['timeout-minutes']!);
    const r = runs(job);
    expect(r).toContain(`npx cdk deploy --app cdk.out '${stage}/*' --require-approval never`);
    expect(r.indexOf('cdk deploy')).toBeLessThan(r.indexOf(`status --stage ${stage}`));
    expect(r).toContain(`smoke --stage ${stage}`);
  });

  test('per-environment concurrency, never cancelling: a prod run waiting for reviewers does not hold dev', () => {
    expect(workflow.concurrency).toBeUndefined();
    const groups = Object.entries(workflow.jobs).filter(([, j]) => j.concurrency).map(([id, j]) => [id, j.concurrency!.group, j.concurrency!['cancel-in-progress']]);
    expect(groups).toEqual([
      ['dev', 'deploy-dev', false], ['diff-staging', 'diff-staging', false], ['staging', 'deploy-staging', false],
      ['diff-prod', 'diff-prod', false], ['prod', 'deploy-prod', false],
    ]);
  });

  test.each(['staging', 'prod'])('before the %s approval: a template diff with the read-only diff role, in the job summary, failing on error', (stage) => {
    const job = workflow.jobs[`diff-${stage}`];
    expect(job.environment).toBeUndefined(); // runs before the reviewers are asked
    expect(creds(job)['role-to-assume']).toBe(`\${{ secrets.AWS_DIFF_ROLE_ARN_${stage.toUpperCase()} }}`);
    const diff = job.steps.find((s) => s.name === 'cdk diff')!;
    expect(diff.run).toContain(`npx cdk diff --app cdk.out '${stage}/*' --method=template`);
    expect(diff.run).toContain('$GITHUB_STEP_SUMMARY');
    expect(diff.shell).toBe('bash');
  });
});
