import { type ModelPackageSummary } from '@aws-sdk/client-sagemaker';
import { awsError, cli, DescribeModelPackageCommand, GROUP, ListModelPackagesCommand, mocks, resetMocks, UpdateModelPackageCommand } from './fixtures';

const arn = (v: number): string => `arn:aws:sagemaker:eu-west-1:123456789012:model-package/${GROUP}/${v}`;
const pkg = (v: number, status: string): ModelPackageSummary => ({
  ModelPackageGroupName: GROUP, ModelPackageVersion: v, ModelPackageArn: arn(v), ModelApprovalStatus: status as never, ModelPackageStatus: 'Completed', CreationTime: new Date(`2026-11-${10 + v}T00:00:00Z`),
});

/** Versions 1-5 newest first over two pages: 5 pending, 4 rejected, 3 approved, 2 and 1 approved earlier. */
function group(statuses: Record<number, string> = { 5: 'PendingManualApproval', 4: 'Rejected', 3: 'Approved', 2: 'Approved', 1: 'Approved' }): void {
  const all = Object.entries(statuses).map(([v, s]) => pkg(Number(v), s)).sort((a, b) => b.ModelPackageVersion! - a.ModelPackageVersion!);
  mocks.sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: all.slice(0, 3), NextToken: 'p2' });
  mocks.sm.on(ListModelPackagesCommand, { NextToken: 'p2' }).resolves({ ModelPackageSummaryList: all.slice(3) });
  mocks.sm.on(DescribeModelPackageCommand).callsFake((input: { ModelPackageName: string }) => {
    const v = Number(input.ModelPackageName.split('/').pop());
    return {
      ModelPackageArn: arn(v), ModelPackageName: GROUP, ModelPackageVersion: v, ModelApprovalStatus: statuses[v], CreationTime: new Date('2026-11-15T00:00:00Z'),
      ModelPackageDescription: `trained on run ${v}`,
      InferenceSpecification: { Containers: [{ Image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-dev-inference:v${v}`, ModelDataUrl: `s3://mlops-dev-artifacts/models/${v}/model.tar.gz` }], SupportedContentTypes: [], SupportedResponseMIMETypes: [] },
      CustomerMetadataProperties: { accuracy: '0.97' },
    };
  });
  mocks.sm.on(UpdateModelPackageCommand).resolves({ ModelPackageArn: 'x' });
}

beforeEach(() => resetMocks());

describe('promote', () => {
  test('approves the newest pending version with --yes after showing the change', async () => {
    group();
    const r = await cli(['promote', '--model', GROUP, '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      group: GROUP, version: 5, arn: arn(5), currentStatus: 'PendingManualApproval', newStatus: 'Approved', changed: true, approvedVersion: 3,
      images: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-dev-inference:v5'], modelData: ['s3://mlops-dev-artifacts/models/5/model.tar.gz'], metadata: { accuracy: '0.97' },
    });
    expect(r.stderr).toContain(`Model package ${GROUP} version 5: PendingManualApproval -> Approved`);
    expect(r.stderr).toContain('replaces:   version 3');
    const calls = mocks.sm.commandCalls(UpdateModelPackageCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toMatchObject({ ModelPackageArn: arn(5), ModelApprovalStatus: 'Approved', ApprovalDescription: expect.stringContaining('cdk-mlops promote') });
  });

  test('--version on the second page, with --reason', async () => {
    group();
    const r = await cli(['promote', '--model', GROUP, '--version', '4', '--yes', '--reason', 'rejected by mistake']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Approved ${GROUP} version 4 (was Rejected).`);
    expect(mocks.sm.commandCalls(UpdateModelPackageCommand)[0].args[0].input).toEqual({ ModelPackageArn: arn(4), ModelApprovalStatus: 'Approved', ApprovalDescription: 'rejected by mistake' });
    expect(mocks.sm.commandCalls(ListModelPackagesCommand)).toHaveLength(2);
  });

  test('without --yes and without a terminal (CI): refuses, exit 2, nothing changed', async () => {
    group();
    const r = await cli(['promote', '--model', GROUP]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Refusing to approve a model without confirmation: stdin is not a terminal. Pass --yes');
    expect(mocks.sm.commandCalls(UpdateModelPackageCommand)).toHaveLength(0);
  });

  test('interactive: asks, and a "no" changes nothing (exit 1)', async () => {
    group();
    const r = await cli(['promote', '--model', GROUP], { interactive: true, answer: false });
    expect(r.asked).toEqual([`Approve ${GROUP} version 5?`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: Not confirmed; nothing changed.');
    expect(mocks.sm.commandCalls(UpdateModelPackageCommand)).toHaveLength(0);
  });

  test('interactive: a "yes" approves', async () => {
    group();
    const r = await cli(['promote', '--model', GROUP], { interactive: true, answer: true });
    expect(r.code).toBe(0);
    expect(mocks.sm.commandCalls(UpdateModelPackageCommand)).toHaveLength(1);
  });

  test('already approved: nothing to do, exit 0', async () => {
    group();
    const r = await cli(['promote', '--model', GROUP, '--version', '3', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ changed: false, message: `${GROUP} version 3 is already approved; nothing to do.` });
    expect(mocks.sm.commandCalls(UpdateModelPackageCommand)).toHaveLength(0);
  });

  test('nothing pending and the newest is not approved: asks for --version', async () => {
    group({ 2: 'Rejected', 1: 'Approved' });
    const r = await cli(['promote', '--model', GROUP, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: No version of "${GROUP}" is pending approval; the newest is version 2 (Rejected). Pass --version <n> to approve a specific one.`);
  });

  test('unknown version: exit 3 listing the versions', async () => {
    group();
    const r = await cli(['promote', '--model', GROUP, '--version', '9', '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`error: Model package group "${GROUP}" has no version 9; its versions are 1, 2, 3, 4, 5.`);
  });

  test('unknown group: exit 3', async () => {
    mocks.sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    const r = await cli(['promote', '--model', 'nope', '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Model package group "nope" has no model versions');
  });

  test('access denied on the update: exit 4 naming sagemaker:UpdateModelPackage', async () => {
    group();
    mocks.sm.on(UpdateModelPackageCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform this action', 400));
    const r = await cli(['promote', '--model', GROUP, '--yes', '--json']);
    expect(r.code).toBe(4);
    expect(r.json.error).toMatchObject({ kind: 'access-denied', action: 'sagemaker:UpdateModelPackage' });
  });

  test('throttled then ok: listing is retried', async () => {
    group();
    mocks.sm.on(ListModelPackagesCommand, { NextToken: undefined }).rejectsOnce(awsError('ThrottlingException', 'Rate exceeded')).resolves({ ModelPackageSummaryList: [pkg(5, 'PendingManualApproval')] });
    const r = await cli(['promote', '--model', GROUP, '--yes']);
    expect(r.code).toBe(0);
    expect(mocks.sm.commandCalls(UpdateModelPackageCommand)).toHaveLength(1);
  });

  test('bad arguments are usage errors before any AWS call', async () => {
    expect((await cli(['promote'])).stderr).toBe('error: promote needs --model; see `cdk-mlops promote --help`.');
    const bad = await cli(['promote', '--model', GROUP, '--version', 'latest']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('error: --version "latest" is not allowed: a model package version number (1, 2, ...).');
    expect(mocks.sm.calls()).toHaveLength(0);
  });
});
