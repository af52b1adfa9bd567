import { DescribeImagesCommand, type ImageDetail } from '@aws-sdk/client-ecr';
import { DescribeClusterCommand, DescribeNodegroupCommand, ListNodegroupsCommand } from '@aws-sdk/client-eks';
import { GetAliasCommand, GetFunctionConfigurationCommand, GetProvisionedConcurrencyConfigCommand } from '@aws-sdk/client-lambda';
import { DescribeEndpointCommand, ListModelPackagesCommand } from '@aws-sdk/client-sagemaker';
import { type Aws, mapLimit } from '../aws';
import { type DeployedStack, discoverStage, type Stage } from '../discovery';
import { CliError } from '../errors';
import { type Health, iso, mark, shortTime, table, worst } from '../output';
import { type PipelineProblem, type PipelineReport, type PipelinesReport, pipelinesReport } from '../pipelines';

/** Parallel requests per component; enough for a full stage, well under the APIs' rate limits. */
const CONCURRENCY = 8;

export interface Problem {
  readonly component: 'stacks' | 'eks' | 'lambda' | 'sagemaker' | 'ecr' | 'pipelines';
  readonly resource: string;
  readonly health: Health;
  readonly message: string;
}

/** A component the stage does not deploy, or whose state could not be read. */
export type Unavailable = { readonly state: 'disabled' } | { readonly state: 'unreadable'; readonly health: 'error'; readonly message: string };

export interface StackReport { readonly name: string; readonly part: string; readonly status: string; readonly health: Health; readonly updated?: string; readonly reason?: string }

export interface NodegroupReport {
  readonly name: string;
  readonly status: string;
  readonly health: Health;
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  readonly instanceTypes: string[];
  readonly amiType?: string;
  readonly capacityType?: string;
  readonly gpu: boolean;
  readonly issues: string[];
}

export interface EksReport {
  readonly state: 'deployed';
  readonly health: Health;
  readonly cluster: { readonly name: string; readonly status: string; readonly version?: string; readonly platformVersion?: string; readonly issues: string[] };
  readonly nodegroups: NodegroupReport[];
  /** Desired nodes of GPU node groups (NVIDIA/Neuron AMIs or GPU instance families). */
  readonly gpuNodes: number;
}

export interface LambdaReport {
  readonly state: 'deployed';
  readonly health: Health;
  readonly functionName: string;
  readonly alias: string;
  readonly url?: string;
  readonly version: string;
  /** Share of traffic per version; two entries while a canary is shifting traffic. */
  readonly routing: Array<{ readonly version: string; readonly weight: number }>;
  readonly canary: boolean;
  /** The model package the alias's version serves (`MODEL_PACKAGE_ARN`, set by the model deployment handler), if any. */
  readonly modelPackageArn?: string;
  readonly function: { readonly state?: string; readonly stateReason?: string; readonly lastUpdateStatus?: string; readonly memoryMb?: number; readonly packageType?: string; readonly lastModified?: string };
  readonly provisionedConcurrency: null | { readonly status?: string; readonly requested?: number; readonly available?: number; readonly allocated?: number; readonly reason?: string };
}

export interface EndpointReport {
  readonly name: string;
  readonly status: string;
  readonly health: Health;
  readonly failureReason?: string;
  readonly config?: string;
  readonly created?: string;
  readonly lastModified?: string;
  readonly variants: Array<{ readonly name: string; readonly currentInstances?: number; readonly desiredInstances?: number; readonly currentWeight?: number; readonly desiredWeight?: number; readonly image?: string; readonly status: string[] }>;
  readonly pendingDeployment?: { readonly config?: string; readonly started?: string };
}

export interface ModelGroupReport {
  readonly name: string;
  readonly latestVersion?: number;
  readonly latestApprovalStatus?: string;
  readonly approvedVersion?: number;
}

export interface SageMakerReport {
  readonly state: 'deployed';
  readonly health: Health;
  readonly endpoints: EndpointReport[];
  readonly modelPackageGroups: ModelGroupReport[];
}

export interface RepositoryReport {
  readonly name: string;
  readonly repositoryName: string;
  readonly health: Health;
  readonly latestImage: null | {
    readonly tags: string[];
    readonly digest?: string;
    readonly pushedAt?: string;
    readonly sizeBytes?: number;
    readonly scanStatus?: string;
    readonly findings: Record<string, number>;
  };
  readonly message?: string;
}

export interface EcrReport {
  readonly state: 'deployed';
  readonly health: Health;
  readonly repositories: RepositoryReport[];
}

export interface StatusReport {
  readonly stage: string;
  readonly prefix: string;
  readonly region?: string;
  readonly health: Health;
  readonly healthy: boolean;
  readonly stacks: StackReport[];
  readonly eks: EksReport | Unavailable;
  readonly lambda: LambdaReport | Unavailable;
  readonly sagemaker: SageMakerReport | Unavailable;
  readonly ecr: EcrReport | Unavailable;
  /** The stage's model delivery pipeline and the infrastructure pipeline where it runs in this account and region. */
  readonly pipelines: PipelinesReport | Unavailable;
  readonly problems: Problem[];
}

// ---------------------------------------------------------------------------------------------------------

function stackHealth(s: DeployedStack): Health {
  if (/FAILED$/.test(s.status) || s.status === 'ROLLBACK_COMPLETE' || s.status === 'ROLLBACK_IN_PROGRESS') return 'error';
  if (/IN_PROGRESS$/.test(s.status) || s.status === 'UPDATE_ROLLBACK_COMPLETE') return 'warn';
  return 'ok';
}

const GPU_AMI = /NVIDIA|GPU|NEURON/i;
const GPU_FAMILY = /^(p\d|g\d|gr\d|inf\d|trn\d|dl\d)/;

async function eksReport(aws: Aws, clusterName: string, problems: Problem[]): Promise<EksReport> {
  const [clusterOut, names] = await Promise.all([
    aws.call('eks:DescribeCluster', () => aws.eks.send(new DescribeClusterCommand({ name: clusterName }))).catch((err: unknown) => {
      throw err instanceof CliError && err.kind === 'not-found' ? new CliError('not-found', `cluster ${clusterName} is in the Training stack outputs but does not exist`) : err;
    }),
    aws.paginate('eks:ListNodegroups', (nextToken) => aws.eks.send(new ListNodegroupsCommand({ clusterName, nextToken })), (p) => p.nodegroups, (p) => p.nextToken),
  ]);
  const c = clusterOut.cluster ?? {};
  const clusterStatus = c.status ?? 'UNKNOWN';
  const clusterIssues = (c.health?.issues ?? []).map((i) => `${i.code}: ${i.message}`);
  let clusterHealth: Health = clusterStatus === 'ACTIVE' ? (clusterIssues.length ? 'warn' : 'ok') : ['CREATING', 'UPDATING', 'PENDING'].includes(clusterStatus) ? 'warn' : 'error';
  if (clusterHealth !== 'ok') problems.push({ component: 'eks', resource: `cluster ${clusterName}`, health: clusterHealth, message: [clusterStatus, ...clusterIssues].join('; ') });

  const nodegroups = await mapLimit(names, CONCURRENCY, async (name): Promise<NodegroupReport> => {
    const out = await aws.call('eks:DescribeNodegroup', () => aws.eks.send(new DescribeNodegroupCommand({ clusterName, nodegroupName: name })));
    const ng = out.nodegroup ?? {};
    const status = ng.status ?? 'UNKNOWN';
    const issues = (ng.health?.issues ?? []).map((i) => `${i.code}: ${i.message}`);
    const health: Health = status === 'ACTIVE' ? (issues.length ? 'warn' : 'ok') : ['CREATING', 'UPDATING'].includes(status) ? 'warn' : 'error';
    const instanceTypes = ng.instanceTypes ?? [];
    const gpu = GPU_AMI.test(ng.amiType ?? '') || instanceTypes.some((t) => GPU_FAMILY.test(t));
    if (health !== 'ok') problems.push({ component: 'eks', resource: `node group ${name}`, health, message: [status, ...issues].join('; ') });
    return {
      name, status, health, gpu, issues, instanceTypes,
      desired: ng.scalingConfig?.desiredSize ?? 0,
      min: ng.scalingConfig?.minSize ?? 0,
      max: ng.scalingConfig?.maxSize ?? 0,
      amiType: ng.amiType,
      capacityType: ng.capacityType,
    };
  });
  clusterHealth = worst(clusterHealth, ...nodegroups.map((n) => n.health));
  return {
    state: 'deployed',
    health: clusterHealth,
    cluster: { name: clusterName, status: clusterStatus, version: c.version, platformVersion: c.platformVersion, issues: clusterIssues },
    nodegroups,
    gpuNodes: nodegroups.filter((n) => n.gpu).reduce((sum, n) => sum + n.desired, 0),
  };
}

async function lambdaReport(aws: Aws, inference: NonNullable<Stage['inference']>, problems: Problem[]): Promise<LambdaReport> {
  const { functionName, aliasName } = inference;
  const [alias, pc] = await Promise.all([
    aws.call('lambda:GetAlias', () => aws.lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: aliasName }))),
    aws.call('lambda:GetProvisionedConcurrencyConfig', () => aws.lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: functionName, Qualifier: aliasName })))
      .catch((err: unknown) => {
        if (err instanceof CliError && err.kind === 'not-found') return null; // none configured on the alias
        throw err;
      }),
  ]);
  const version = alias.FunctionVersion ?? '$LATEST';
  const extra = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).filter(([, w]) => w > 0);
  const extraWeight = extra.reduce((sum, [, w]) => sum + w, 0);
  const routing = [{ version, weight: round(1 - extraWeight) }, ...extra.map(([v, w]) => ({ version: v, weight: round(w) }))];
  const fn = await aws.call('lambda:GetFunctionConfiguration', () => aws.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: version })));

  const resource = `${functionName}:${aliasName}`;
  const healths: Health[] = [];
  const fnHealth: Health = fn.State === 'Failed' || fn.LastUpdateStatus === 'Failed' ? 'error' : fn.State === 'Active' && (fn.LastUpdateStatus ?? 'Successful') === 'Successful' ? 'ok' : 'warn';
  healths.push(fnHealth);
  if (fnHealth !== 'ok') {
    problems.push({ component: 'lambda', resource: `${functionName}:${version}`, health: fnHealth, message: `function state ${fn.State ?? 'unknown'}, last update ${fn.LastUpdateStatus ?? 'unknown'}${fn.StateReason ? ` (${fn.StateReason})` : ''}${fn.LastUpdateStatusReason ? ` (${fn.LastUpdateStatusReason})` : ''}` });
  }
  if (extra.length > 0) {
    healths.push('warn');
    problems.push({ component: 'lambda', resource, health: 'warn', message: `deployment in progress: ${routing.map((r) => `${Math.round(r.weight * 100)}% to version ${r.version}`).join(', ')}` });
  }
  if (pc) {
    const pcHealth: Health = pc.Status === 'READY' ? 'ok' : pc.Status === 'FAILED' ? 'error' : 'warn';
    healths.push(pcHealth);
    if (pcHealth !== 'ok') problems.push({ component: 'lambda', resource, health: pcHealth, message: `provisioned concurrency ${pc.Status}${pc.StatusReason ? `: ${pc.StatusReason}` : ''} (${pc.AllocatedProvisionedConcurrentExecutions ?? 0}/${pc.RequestedProvisionedConcurrentExecutions ?? 0} allocated)` });
  }
  return {
    state: 'deployed',
    health: worst(...healths),
    functionName,
    alias: aliasName,
    url: inference.url,
    version,
    routing,
    canary: extra.length > 0,
    ...(fn.Environment?.Variables?.MODEL_PACKAGE_ARN ? { modelPackageArn: fn.Environment.Variables.MODEL_PACKAGE_ARN } : {}),
    function: { state: fn.State, stateReason: fn.StateReason, lastUpdateStatus: fn.LastUpdateStatus, memoryMb: fn.MemorySize, packageType: fn.PackageType, lastModified: fn.LastModified },
    provisionedConcurrency: pc
      ? { status: pc.Status, requested: pc.RequestedProvisionedConcurrentExecutions, available: pc.AvailableProvisionedConcurrentExecutions, allocated: pc.AllocatedProvisionedConcurrentExecutions, reason: pc.StatusReason }
      : null,
  };
}

const round = (n: number): number => Math.round(n * 10000) / 10000;

const ENDPOINT_TRANSIENT = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting', 'UpdateRollbackFailed']);

async function endpointReport(aws: Aws, name: string, problems: Problem[]): Promise<EndpointReport> {
  let e;
  try {
    e = await aws.call('sagemaker:DescribeEndpoint', () => aws.sageMaker.send(new DescribeEndpointCommand({ EndpointName: name })));
  } catch (err) {
    if (err instanceof CliError && err.kind === 'not-found') {
      problems.push({ component: 'sagemaker', resource: `endpoint ${name}`, health: 'error', message: 'listed in the SageMaker stack outputs but does not exist' });
      return { name, status: 'NotFound', health: 'error', variants: [] };
    }
    throw err;
  }
  const status = e.EndpointStatus ?? 'Unknown';
  let health: Health = status === 'InService' ? 'ok' : status === 'UpdateRollbackFailed' || !ENDPOINT_TRANSIENT.has(status) ? 'error' : 'warn';
  const variants = (e.ProductionVariants ?? []).map((v) => ({
    name: v.VariantName ?? '',
    currentInstances: v.CurrentInstanceCount,
    desiredInstances: v.DesiredInstanceCount,
    currentWeight: v.CurrentWeight,
    desiredWeight: v.DesiredWeight,
    image: v.DeployedImages?.[0]?.ResolvedImage ?? v.DeployedImages?.[0]?.SpecifiedImage,
    status: (v.VariantStatus ?? []).map((s) => `${s.Status}${s.StatusMessage ? `: ${s.StatusMessage}` : ''}`),
  }));
  if (health !== 'ok') {
    problems.push({ component: 'sagemaker', resource: `endpoint ${name}`, health, message: `${status}${e.FailureReason ? `: ${e.FailureReason}` : ''}` });
  } else {
    const short = variants.filter((v) => v.desiredInstances !== undefined && (v.currentInstances ?? 0) < v.desiredInstances);
    if (short.length > 0) {
      health = 'warn';
      problems.push({ component: 'sagemaker', resource: `endpoint ${name}`, health, message: short.map((v) => `variant ${v.name} has ${v.currentInstances ?? 0} of ${v.desiredInstances} instances`).join('; ') });
    }
  }
  return {
    name, status, health, variants,
    failureReason: e.FailureReason,
    config: e.EndpointConfigName,
    created: iso(e.CreationTime),
    lastModified: iso(e.LastModifiedTime),
    pendingDeployment: e.PendingDeploymentSummary ? { config: e.PendingDeploymentSummary.EndpointConfigName, started: iso(e.PendingDeploymentSummary.StartTime) } : undefined,
  };
}

async function modelGroupReport(aws: Aws, name: string): Promise<ModelGroupReport> {
  // Newest first, one each: the latest version and the latest approved one.
  const [latest, approved] = await Promise.all([
    aws.call('sagemaker:ListModelPackages', () => aws.sageMaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: name, SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 1 }))),
    aws.call('sagemaker:ListModelPackages', () => aws.sageMaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: name, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 1 }))),
  ]);
  const l = latest.ModelPackageSummaryList?.[0];
  return { name, latestVersion: l?.ModelPackageVersion, latestApprovalStatus: l?.ModelApprovalStatus, approvedVersion: approved.ModelPackageSummaryList?.[0]?.ModelPackageVersion };
}

async function sageMakerReport(aws: Aws, stage: Stage, problems: Problem[]): Promise<SageMakerReport> {
  const [endpoints, modelPackageGroups] = await Promise.all([
    mapLimit(stage.endpointNames, CONCURRENCY, (n) => endpointReport(aws, n, problems)),
    mapLimit(stage.modelPackageGroupNames, CONCURRENCY, (n) => modelGroupReport(aws, n)),
  ]);
  return { state: 'deployed', health: worst(...endpoints.map((e) => e.health)), endpoints, modelPackageGroups };
}

/** The most recently pushed image of a repository (every page is read: ECR does not sort). */
async function latestImage(aws: Aws, registryId: string, repositoryName: string): Promise<ImageDetail | undefined> {
  const images = await aws.paginate('ecr:DescribeImages',
    (nextToken) => aws.ecr.send(new DescribeImagesCommand({ registryId, repositoryName, nextToken, maxResults: 1000 })),
    (p) => p.imageDetails, (p) => p.nextToken);
  return images.reduce<ImageDetail | undefined>((best, i) => (!best || (i.imagePushedAt?.getTime() ?? 0) > (best.imagePushedAt?.getTime() ?? 0) ? i : best), undefined);
}

async function repositoryReport(aws: Aws, repo: Stage['repositories'][number], problems: Problem[]): Promise<RepositoryReport> {
  const base = { name: repo.name, repositoryName: repo.repositoryName };
  let image: ImageDetail | undefined;
  try {
    image = await latestImage(aws, repo.registryId, repo.repositoryName);
  } catch (err) {
    if (err instanceof CliError && err.kind === 'not-found') {
      problems.push({ component: 'ecr', resource: repo.repositoryName, health: 'error', message: 'listed in the Data stack outputs but the repository does not exist' });
      return { ...base, health: 'error', latestImage: null, message: 'repository not found' };
    }
    throw err;
  }
  if (!image) return { ...base, health: 'ok', latestImage: null, message: 'no images pushed yet' };
  const findings = { ...(image.imageScanFindingsSummary?.findingSeverityCounts ?? {}) } as Record<string, number>;
  const scanStatus = image.imageScanStatus?.status;
  const tag = image.imageTags?.[0] ?? image.imageDigest?.slice(0, 19) ?? 'untagged';
  let health: Health = 'ok';
  let message: string | undefined;
  if ((findings.CRITICAL ?? 0) > 0) {
    health = 'error';
    message = `${findings.CRITICAL} critical${findings.HIGH ? ` and ${findings.HIGH} high` : ''} vulnerabilities in ${repo.repositoryName}:${tag}`;
  } else if ((findings.HIGH ?? 0) > 0) {
    health = 'warn';
    message = `${findings.HIGH} high-severity vulnerabilities in ${repo.repositoryName}:${tag}`;
  } else if (scanStatus === 'FAILED' || scanStatus === 'UNSUPPORTED_IMAGE' || scanStatus === 'SCAN_ELIGIBILITY_EXPIRED') {
    health = 'warn';
    message = `image scan ${scanStatus}${image.imageScanStatus?.description ? `: ${image.imageScanStatus.description}` : ''}`;
  }
  if (message) problems.push({ component: 'ecr', resource: repo.repositoryName, health, message });
  return {
    ...base,
    health,
    message,
    latestImage: { tags: image.imageTags ?? [], digest: image.imageDigest, pushedAt: iso(image.imagePushedAt), sizeBytes: image.imageSizeInBytes, scanStatus, findings },
  };
}

async function ecrReport(aws: Aws, stage: Stage, problems: Problem[]): Promise<EcrReport> {
  const repositories = await mapLimit(stage.repositories, CONCURRENCY, (r) => repositoryReport(aws, r, problems));
  return { state: 'deployed', health: worst(...repositories.map((r) => r.health)), repositories };
}

/** Runs a component's checks; an AWS refusal there (access denied, throttled) marks it unreadable instead of aborting the rest. */
async function guarded<R>(component: Problem['component'], resource: string, problems: Problem[], run: () => Promise<R>): Promise<R | Unavailable> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof CliError) || err.kind === 'no-credentials' || err.kind === 'no-region') throw err;
    problems.push({ component, resource, health: 'error', message: err.message });
    return { state: 'unreadable', health: 'error', message: err.message };
  }
}

/** Discovers the stage and checks every deployed component concurrently. */
export async function collectStatus(aws: Aws, prefix: string, stageName: string): Promise<StatusReport> {
  const stage = await discoverStage(aws, prefix, stageName);
  const problems: Problem[] = [];
  const stacks = Object.values(stage.stacks).map((s): StackReport => {
    const health = stackHealth(s);
    if (health !== 'ok') problems.push({ component: 'stacks', resource: s.name, health, message: `${s.status}${s.statusReason ? `: ${s.statusReason}` : ''}` });
    return { name: s.name, part: s.part, status: s.status, health, updated: s.lastUpdated, reason: s.statusReason };
  });
  const disabled: Unavailable = { state: 'disabled' };
  const [eks, lambda, sagemaker, ecr, pipelines] = await Promise.all([
    stage.clusterName ? guarded('eks', `cluster ${stage.clusterName}`, problems, () => eksReport(aws, stage.clusterName!, problems)) : disabled,
    stage.inference ? guarded('lambda', stage.inference.functionName, problems, () => lambdaReport(aws, stage.inference!, problems)) : disabled,
    stage.stacks.SageMaker ? guarded('sagemaker', 'endpoints', problems, () => sageMakerReport(aws, stage, problems)) : disabled,
    stage.repositories.length > 0 ? guarded('ecr', 'repositories', problems, () => ecrReport(aws, stage, problems)) : disabled,
    guarded('pipelines', 'pipelines', problems, async () => {
      const found: PipelineProblem[] = [];
      const report = await pipelinesReport(aws, stage, found);
      problems.push(...found.map((p) => ({ component: 'pipelines' as const, ...p })));
      return report ?? disabled;
    }),
  ]);
  const health = worst(...problems.map((p) => p.health));
  const order: Record<Problem['component'], number> = { stacks: 0, eks: 1, lambda: 2, sagemaker: 3, ecr: 4, pipelines: 5 };
  problems.sort((a, b) => order[a.component] - order[b.component] || a.resource.localeCompare(b.resource));
  return { stage: stageName, prefix, region: stage.region, health, healthy: health !== 'error', stacks, eks, lambda, sagemaker, ecr, pipelines, problems };
}

// ---------------------------------------------------------------------------------------------------------

const yesNo = (b: boolean): string => (b ? 'yes' : '');
const pct = (w: number | undefined): string => (w === undefined ? '' : `${Math.round(w * 100)}%`);
const unavailable = (title: string, c: Unavailable, color: boolean): string =>
  c.state === 'disabled' ? `${title}: not deployed (disabled in this stage)` : `${title}: ${mark('error', color)} could not be read: ${c.message}`;

/** The human-readable report: one section per component, then the problems. */
export function renderStatus(r: StatusReport, color: boolean): string {
  const out: string[] = [];
  const count = (h: Health): number => r.problems.filter((p) => p.health === h).length;
  out.push(`Stage ${r.stage} (prefix ${r.prefix}${r.region ? `, ${r.region}` : ''}): ${mark(r.health, color)}${r.problems.length ? ` (${count('error')} failing, ${count('warn')} warning${count('warn') === 1 ? '' : 's'})` : ''}`);

  out.push('', table(['STACK', 'STATUS', 'UPDATED', 'HEALTH'], r.stacks.map((s) => [s.name, s.status, shortTime(s.updated), mark(s.health, color)])));

  out.push('');
  if (r.eks.state === 'deployed') {
    const c = r.eks.cluster;
    out.push(`EKS cluster ${c.name}: ${c.status}, Kubernetes ${c.version ?? '?'}${c.platformVersion ? ` (${c.platformVersion})` : ''}, GPU nodes (desired): ${r.eks.gpuNodes}`);
    out.push(table(['NODE GROUP', 'STATUS', 'DESIRED', 'MIN', 'MAX', 'INSTANCE TYPES', 'CAPACITY', 'GPU', 'HEALTH'],
      r.eks.nodegroups.map((n) => [n.name, n.status, String(n.desired), String(n.min), String(n.max), n.instanceTypes.join(','), n.capacityType ?? '', yesNo(n.gpu), mark(n.health, color)])));
  } else out.push(unavailable('EKS', r.eks, color));

  out.push('');
  if (r.lambda.state === 'deployed') {
    const l = r.lambda;
    const pc = l.provisionedConcurrency;
    out.push(`Lambda inference ${l.functionName}, alias ${l.alias}${l.url ? ` (${l.url})` : ''}`);
    if (l.modelPackageArn) out.push(`  version ${l.version} serves model package ${l.modelPackageArn}`);
    out.push(table(['VERSION', 'TRAFFIC', 'STATE', 'LAST UPDATE', 'MEMORY', 'PROVISIONED', 'HEALTH'], l.routing.map((v, i) => [
      v.version, pct(v.weight),
      i === 0 ? l.function.state ?? '' : '', i === 0 ? l.function.lastUpdateStatus ?? '' : '', i === 0 && l.function.memoryMb ? `${l.function.memoryMb} MB` : '',
      i === 0 ? (pc ? `${pc.status} ${pc.allocated ?? 0}/${pc.requested ?? 0}` : 'none') : '',
      i === 0 ? mark(l.health, color) : '',
    ])));
  } else out.push(unavailable('Lambda inference', r.lambda, color));

  out.push('');
  if (r.sagemaker.state === 'deployed') {
    out.push('SageMaker endpoints');
    const rows: string[][] = [];
    for (const e of r.sagemaker.endpoints) {
      const vs = e.variants.length ? e.variants : [undefined];
      vs.forEach((v, i) => rows.push([
        i === 0 ? e.name : '', i === 0 ? e.status : '', v?.name ?? '',
        v ? `${v.currentInstances ?? '-'}/${v.desiredInstances ?? '-'}` : '', v ? pct(v.currentWeight !== undefined ? v.currentWeight / totalWeight(e) : undefined) : '',
        i === 0 ? shortTime(e.lastModified) : '', i === 0 ? mark(e.health, color) : '',
      ]));
    }
    out.push(table(['ENDPOINT', 'STATUS', 'VARIANT', 'INSTANCES', 'TRAFFIC', 'LAST DEPLOYED', 'HEALTH'], rows));
    if (r.sagemaker.modelPackageGroups.length) {
      out.push('', table(['MODEL GROUP', 'LATEST', 'LATEST STATUS', 'APPROVED'], r.sagemaker.modelPackageGroups.map((g) => [
        g.name, g.latestVersion === undefined ? 'none' : String(g.latestVersion), g.latestApprovalStatus ?? '', g.approvedVersion === undefined ? 'none' : String(g.approvedVersion),
      ])));
    }
  } else out.push(unavailable('SageMaker endpoints', r.sagemaker, color));

  out.push('');
  if (r.ecr.state === 'deployed') {
    out.push('ECR repositories');
    out.push(table(['REPOSITORY', 'LATEST IMAGE', 'PUSHED', 'SCAN', 'CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'HEALTH'], r.ecr.repositories.map((x) => {
      const i = x.latestImage;
      if (!i) return [x.repositoryName, x.message ?? 'none', '', '', '', '', '', '', mark(x.health, color)];
      const f = (s: string): string => String(i.findings[s] ?? 0);
      return [x.repositoryName, i.tags[0] ?? i.digest?.slice(0, 19) ?? '', shortTime(i.pushedAt), i.scanStatus ?? '', f('CRITICAL'), f('HIGH'), f('MEDIUM'), f('LOW'), mark(x.health, color)];
    })));
  } else out.push(unavailable('ECR repositories', r.ecr, color));

  out.push('');
  if (r.pipelines.state === 'deployed') renderPipelines(r.pipelines.pipelines, color, out);
  else if (r.pipelines.state === 'disabled') out.push('Pipelines: none in this stage (no model pipeline here, no infrastructure pipeline in this account and region)');
  else out.push(unavailable('Pipelines', r.pipelines, color));

  if (r.problems.length) {
    out.push('', 'Problems');
    for (const p of r.problems) out.push(`  ${mark(p.health, color)} ${p.component} ${p.resource}: ${p.message}`);
  }
  return out.join('\n');
}

const totalWeight = (e: EndpointReport): number => e.variants.reduce((s, v) => s + (v.currentWeight ?? 0), 0) || 1;

const execution = (e: PipelineReport['lastExecution'] | undefined): string[] => {
  if (!e) return ['never ran', '', ''];
  const where = e.failure?.stage ? ` at ${e.failure.stage}${e.failure.action ? `/${e.failure.action}` : ''}` : '';
  return [`${e.status}${where}`, e.id.slice(0, 8), shortTime(e.started)];
};
const trigger = (e: PipelineReport['lastExecution'] | undefined): string => [e?.trigger?.type, e?.trigger?.detail].filter(Boolean).join(' ');

/** One row per pipeline (and its last finished run while one is running), then every pending approval with its link. */
function renderPipelines(pipelines: PipelineReport[], color: boolean, out: string[]): void {
  out.push('Pipelines');
  const rows: string[][] = [];
  for (const p of pipelines) {
    rows.push([p.name, p.kind === 'model' ? 'model delivery' : 'infrastructure', ...(p.message ? [p.message, '', ''] : execution(p.lastExecution)), mark(p.health, color), trigger(p.lastExecution)]);
    if (p.lastFinished) rows.push(['', '  last finished', ...execution(p.lastFinished), '', trigger(p.lastFinished)]);
  }
  out.push(table(['PIPELINE', 'KIND', 'LAST EXECUTION', 'ID', 'STARTED', 'HEALTH', 'TRIGGER'], rows));
  const approvals = pipelines.flatMap((p) => p.pendingApprovals.map((a) => ({ p, a })));
  if (approvals.length) {
    out.push('', 'Pending approvals');
    for (const { p, a } of approvals) {
      out.push(`  ${p.name} ${a.stage}/${a.action}: waiting since ${shortTime(a.since) || '?'}${a.expires ? `, expires ${shortTime(a.expires)}` : ''}`, `    ${a.link}`);
    }
  }
}
