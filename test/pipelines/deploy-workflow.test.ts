import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

interface Job {
  needs?: string | string[];
  environment?: string;
  permissions?: Record<string, string>;
  steps: { uses?: string; run?: string; with?: Record<string, string> }[];
}
const workflow = parse(fs.readFileSync(path.join(__dirname, '..', '..', '.github', 'workflows', 'deploy.yml'), 'utf8')) as {
  on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job>;
};

describe('.github/workflows/deploy.yml', () => {
  test('runs on push to main; the default token only reads', () => {
    expect(workflow.on.push).toEqual({ branches: ['main'] });
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  test('tests and synth first, then dev → staging → prod, each in its GitHub environment', () => {
    expect(workflow.jobs.test.steps.map((s) => s.run).filter(Boolean)).toEqual(['npm ci', 'npm test', 'npx cdk synth --quiet -c stage=all -c pipeline=false']);
    expect(workflow.jobs.dev).toMatchObject({ needs: 'test', environment: 'dev' });
    expect(workflow.jobs.staging).toMatchObject({ needs: 'dev', environment: 'staging' });
    expect(workflow.jobs.prod).toMatchObject({ needs: 'staging', environment: 'prod' });
  });

  test.each(['dev', 'staging', 'prod'])('%s: OIDC role (id-token: write, no keys), cdk deploy of that stage, then status and smoke', (stage) => {
    const job = workflow.jobs[stage];
    expect(job.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
    const creds = job.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials'))!;
    expect(creds.with!['role-to-assume']).toBe('${{ secrets.AWS_DEPLOY_ROLE_ARN }}');
    expect(Object.keys(creds.with!)).not.toContain('aws-access-key-id');
    const runs = job.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toContain(`npx cdk deploy '${stage}/*' -c stage=${stage} -c pipeline=false --require-approval never`);
    expect(runs.indexOf('cdk deploy')).toBeLessThan(runs.indexOf(`status --stage ${stage}`));
    expect(runs).toContain(`smoke --stage ${stage}`);
  });
});
