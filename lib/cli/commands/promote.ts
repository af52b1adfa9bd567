import { DescribeModelPackageCommand, ListModelPackagesCommand, type ModelPackageSummary, UpdateModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { type Aws } from '../aws';
import { CliError } from '../errors';
import { type Io, iso } from '../output';

export interface PromotionPlan {
  readonly group: string;
  readonly version: number;
  readonly arn: string;
  readonly currentStatus: string;
  /** The newest approved version before the change (what the approval deployment replaces). */
  readonly approvedVersion?: number;
  readonly created?: string;
  readonly description?: string;
  readonly images: string[];
  readonly modelData: string[];
  readonly metadata?: Record<string, string>;
}

export interface PromotionResult extends PromotionPlan {
  readonly changed: boolean;
  readonly newStatus: string;
  readonly message: string;
}

/** Every version of the group, newest first. */
async function listVersions(aws: Aws, group: string): Promise<ModelPackageSummary[]> {
  try {
    return await aws.paginate('sagemaker:ListModelPackages',
      (NextToken) => aws.sageMaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: group, SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 100, NextToken })),
      (p) => p.ModelPackageSummaryList, (p) => p.NextToken);
  } catch (err) {
    if (err instanceof CliError && err.kind === 'not-found') throw new CliError('not-found', `Model package group "${group}" does not exist in this account and region.`);
    throw err;
  }
}

/**
 * Picks the version to approve: `version`, or else the newest one pending manual approval, and describes it
 * and the currently approved version.
 */
export async function planPromotion(aws: Aws, group: string, version?: number): Promise<PromotionPlan> {
  const versions = await listVersions(aws, group);
  if (versions.length === 0) throw new CliError('not-found', `Model package group "${group}" has no model versions (or does not exist in this account and region).`);
  let target: ModelPackageSummary | undefined;
  if (version !== undefined) {
    target = versions.find((v) => v.ModelPackageVersion === version);
    if (!target) {
      const known = versions.map((v) => v.ModelPackageVersion).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
      throw new CliError('not-found', `Model package group "${group}" has no version ${version}; its versions are ${known.join(', ')}.`);
    }
  } else {
    target = versions.find((v) => v.ModelApprovalStatus === 'PendingManualApproval');
    if (!target && versions[0].ModelApprovalStatus === 'Approved') target = versions[0];
    if (!target) {
      throw new CliError('failed', `No version of "${group}" is pending approval; the newest is version ${versions[0].ModelPackageVersion} (${versions[0].ModelApprovalStatus}). Pass --version <n> to approve a specific one.`);
    }
  }
  const approved = versions.find((v) => v.ModelApprovalStatus === 'Approved' && v !== target);
  const d = await aws.call('sagemaker:DescribeModelPackage', () => aws.sageMaker.send(new DescribeModelPackageCommand({ ModelPackageName: target.ModelPackageArn })));
  const containers = d.InferenceSpecification?.Containers ?? [];
  return {
    group,
    version: target.ModelPackageVersion ?? 0,
    arn: target.ModelPackageArn ?? '',
    currentStatus: d.ModelApprovalStatus ?? target.ModelApprovalStatus ?? 'Unknown',
    approvedVersion: approved?.ModelPackageVersion,
    created: iso(d.CreationTime ?? target.CreationTime),
    description: d.ModelPackageDescription,
    images: containers.map((c) => c.Image).filter((x): x is string => !!x),
    modelData: containers.map((c) => c.ModelDataUrl ?? c.ModelDataSource?.S3DataSource?.S3Uri).filter((x): x is string => !!x),
    metadata: d.CustomerMetadataProperties,
  };
}

export function renderPlan(p: PromotionPlan): string {
  const lines = [
    `Model package ${p.group} version ${p.version}: ${p.currentStatus} -> Approved`,
    `  arn:        ${p.arn}`,
    `  created:    ${p.created ?? 'unknown'}`,
  ];
  if (p.description) lines.push(`  description: ${p.description}`);
  for (const i of p.images) lines.push(`  image:      ${i}`);
  for (const m of p.modelData) lines.push(`  model data: ${m}`);
  for (const [k, v] of Object.entries(p.metadata ?? {})) lines.push(`  ${k}: ${v}`);
  lines.push(p.approvedVersion !== undefined
    ? `  replaces:   version ${p.approvedVersion}, the approved version now deployed by the approval workflow`
    : '  replaces:   nothing (no version of this group is approved yet)');
  lines.push('  Approving starts the approval deployment to the stage\'s endpoints.');
  return lines.join('\n');
}

/** Asks before a change unless `--yes`; with no terminal to ask on, refuses rather than guess. */
export async function confirmChange(io: Io, yes: boolean, question: string, what: string): Promise<void> {
  if (yes) return;
  if (!io.interactive) throw new CliError('usage', `Refusing to ${what} without confirmation: stdin is not a terminal. Pass --yes to confirm (e.g. in CI).`);
  if (!(await io.confirm(question))) throw new CliError('declined', 'Not confirmed; nothing changed.');
}

/** Shows what approving will change, asks, then sets ModelApprovalStatus=Approved. */
export async function runPromote(aws: Aws, io: Io, options: { group: string; version?: number; yes: boolean; reason?: string }): Promise<PromotionResult> {
  const plan = await planPromotion(aws, options.group, options.version);
  if (plan.currentStatus === 'Approved') {
    return { ...plan, changed: false, newStatus: 'Approved', message: `${plan.group} version ${plan.version} is already approved; nothing to do.` };
  }
  io.err(renderPlan(plan));
  await confirmChange(io, options.yes, `Approve ${plan.group} version ${plan.version}?`, 'approve a model');
  await aws.call('sagemaker:UpdateModelPackage', () => aws.sageMaker.send(new UpdateModelPackageCommand({
    ModelPackageArn: plan.arn,
    ModelApprovalStatus: 'Approved',
    ApprovalDescription: options.reason ?? `Approved with cdk-mlops promote by ${process.env.GITHUB_ACTOR ?? process.env.USER ?? 'an operator'}`,
  })));
  return { ...plan, changed: true, newStatus: 'Approved', message: `Approved ${plan.group} version ${plan.version} (was ${plan.currentStatus}).` };
}
