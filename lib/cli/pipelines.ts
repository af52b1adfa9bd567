import { GetPipelineStateCommand, ListPipelineExecutionsCommand, type PipelineExecutionSummary, type StageState } from '@aws-sdk/client-codepipeline';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { infrastructurePipelineStackName } from '../naming';
import { type Aws } from './aws';
import { type Stage } from './discovery';
import { CliError } from './errors';
import { type Health, iso, worst } from './output';

/** Which of the platform's pipelines: the stage's model delivery pipeline or the infrastructure pipeline (CDK Pipelines). */
export type PipelineKind = 'model' | 'infrastructure';

export interface PipelineExecutionReport {
  readonly id: string;
  /** `InProgress`, `Succeeded`, `Failed`, `Stopped`, `Stopping`, `Superseded`, `Cancelled`. */
  readonly status: string;
  readonly started?: string;
  readonly updated?: string;
  /** What started it: `triggerType` (`Webhook`, `CloudWatchEvent`, `StartPipelineExecution`, …) and its detail (rule ARN, user). */
  readonly trigger?: { readonly type?: string; readonly detail?: string };
  /** Source revisions the execution runs (commit id or S3 object version). */
  readonly revisions: Array<{ readonly action?: string; readonly revision?: string; readonly summary?: string }>;
  /** Where a failed execution stopped, with the action's error. */
  readonly failure?: { readonly stage?: string; readonly action?: string; readonly message?: string };
}

export interface ApprovalReport {
  readonly stage: string;
  readonly action: string;
  /** When the approval started waiting. */
  readonly since?: string;
  /** CodePipeline rejects an approval nobody answers within 7 days. */
  readonly expires?: string;
  /** The console page that approves or rejects it (what the approval notification links to). */
  readonly link: string;
  readonly executionId?: string;
}

export interface PipelineReport {
  readonly name: string;
  readonly kind: PipelineKind;
  /** The stack whose output names it. */
  readonly stack: string;
  readonly health: Health;
  readonly consoleLink: string;
  /** The newest execution (running, queued or finished); null when it never ran. */
  readonly lastExecution: PipelineExecutionReport | null;
  /** The newest finished execution, when the newest one is still running. */
  readonly lastFinished?: PipelineExecutionReport;
  readonly pendingApprovals: ApprovalReport[];
  /** Stages whose inbound transition someone disabled (no execution enters them). */
  readonly disabledTransitions: Array<{ readonly stage: string; readonly reason?: string; readonly since?: string }>;
  readonly message?: string;
}

export interface PipelinesReport {
  readonly state: 'deployed';
  readonly health: Health;
  readonly pipelines: PipelineReport[];
}

export interface PipelineProblem {
  readonly resource: string;
  readonly health: Health;
  readonly message: string;
}

/** Executions read per pipeline: enough to find the newest finished one behind a few running or queued ones. */
const EXECUTIONS = 10;
const APPROVAL_TIMEOUT_MS = 7 * 24 * 3600 * 1000;
/** An approval this close to its 7-day timeout is a warning: it is rejected (and the execution fails) when it expires. */
const APPROVAL_EXPIRY_WARNING_MS = 24 * 3600 * 1000;
const FINISHED = new Set(['Succeeded', 'Failed', 'Stopped', 'Superseded', 'Cancelled']);

/** The console's host of a region's partition. */
function consoleHost(region: string | undefined): string {
  if (region?.startsWith('cn-')) return 'console.amazonaws.cn';
  if (region?.startsWith('us-gov-')) return 'console.amazonaws-us-gov.com';
  return 'console.aws.amazon.com';
}

/** The pipeline's console page (the `consoleLink` of CodePipeline's notifications). */
export function pipelineConsoleLink(region: string | undefined, name: string): string {
  return `https://${consoleHost(region)}/codepipeline/home?region=${region ?? ''}#/view/${encodeURIComponent(name)}`;
}

/** The page that approves or rejects one pending approval (the `approvalReviewLink` of approval notifications). */
export function approvalLink(region: string | undefined, name: string, stage: string, action: string, token: string): string {
  return `${pipelineConsoleLink(region, name)}/${encodeURIComponent(stage)}/${encodeURIComponent(action)}/approve/${encodeURIComponent(token)}`;
}

/** The pipelines `status` reports for a stage: its Delivery stack's model pipeline, and the infrastructure pipeline when its stack is in this account and region. */
async function stagePipelines(aws: Aws, stage: Stage): Promise<Array<{ name: string; kind: PipelineKind; stack: string }>> {
  const found: Array<{ name: string; kind: PipelineKind; stack: string }> = [];
  const delivery = stage.stacks.Delivery;
  if (delivery?.outputs.ModelPipelineName) found.push({ name: delivery.outputs.ModelPipelineName, kind: 'model', stack: delivery.name });
  const stackName = infrastructurePipelineStackName(stage.prefix);
  try {
    const out = await aws.call('cloudformation:DescribeStacks', () => aws.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName })));
    const s = out.Stacks?.[0];
    const name = s?.Outputs?.find((o) => o.OutputKey === 'PipelineName')?.OutputValue;
    if (name && !/^DELETE_/.test(s?.StackStatus ?? '')) found.push({ name, kind: 'infrastructure', stack: stackName });
  } catch (err) {
    // Route 2 (GitHub Actions) has no infrastructure pipeline; route 1 keeps it in a tooling account, often not this one.
    if (!(err instanceof CliError && /does not exist/.test(err.message))) throw err;
  }
  return found;
}

function executionOf(e: PipelineExecutionSummary, states: StageState[]): PipelineExecutionReport {
  const id = e.pipelineExecutionId ?? '';
  let failure: PipelineExecutionReport['failure'];
  if (e.status === 'Failed') {
    const stage = states.find((s) => s.latestExecution?.pipelineExecutionId === id && s.latestExecution.status === 'Failed');
    const action = stage?.actionStates?.find((a) => a.latestExecution?.status === 'Failed');
    failure = { stage: stage?.stageName, action: action?.actionName, message: action?.latestExecution?.errorDetails?.message ?? action?.latestExecution?.summary ?? e.statusSummary };
  }
  return {
    id,
    status: e.status ?? 'Unknown',
    started: iso(e.startTime),
    updated: iso(e.lastUpdateTime),
    trigger: e.trigger ? { type: e.trigger.triggerType, detail: e.trigger.triggerDetail } : undefined,
    revisions: (e.sourceRevisions ?? []).map((r) => ({ action: r.actionName, revision: r.revisionId, summary: r.revisionSummary })),
    failure,
  };
}

async function pipelineReport(aws: Aws, region: string | undefined, p: { name: string; kind: PipelineKind; stack: string }, problems: PipelineProblem[], now: number): Promise<PipelineReport> {
  const consoleLink = pipelineConsoleLink(region, p.name);
  const resource = `${p.kind === 'model' ? 'model pipeline' : 'infrastructure pipeline'} ${p.name}`;
  let state, executions;
  try {
    [state, executions] = await Promise.all([
      aws.call('codepipeline:GetPipelineState', () => aws.codePipeline.send(new GetPipelineStateCommand({ name: p.name }))),
      aws.call('codepipeline:ListPipelineExecutions', () => aws.codePipeline.send(new ListPipelineExecutionsCommand({ pipelineName: p.name, maxResults: EXECUTIONS }))),
    ]);
  } catch (err) {
    if (err instanceof CliError && err.kind === 'not-found') {
      const message = `named in the ${p.stack} stack outputs but does not exist`;
      problems.push({ resource, health: 'error', message });
      return { ...p, health: 'error', consoleLink, lastExecution: null, pendingApprovals: [], disabledTransitions: [], message };
    }
    throw err;
  }
  const stages = state.stageStates ?? [];
  const summaries = executions.pipelineExecutionSummaries ?? [];
  const latest = summaries[0] ? executionOf(summaries[0], stages) : null;
  const finished = latest && !FINISHED.has(latest.status) ? summaries.find((e) => FINISHED.has(e.status ?? '')) : undefined;
  const lastFinished = finished ? executionOf(finished, stages) : undefined;

  const healths: Health[] = [];
  const result = lastFinished ?? latest;
  if (result?.status === 'Failed') {
    // A failed run is a delivery result (a model below its evaluation threshold, a failed deploy), reported without failing the stage's health.
    healths.push('warn');
    const where = result.failure?.stage ? ` at ${result.failure.stage}${result.failure.action ? `/${result.failure.action}` : ''}` : '';
    problems.push({ resource, health: 'warn', message: `${lastFinished ? 'last finished' : 'last'} execution ${result.id} failed${where}${result.failure?.message ? `: ${result.failure.message}` : ''}` });
  }

  const pendingApprovals: ApprovalReport[] = [];
  const disabledTransitions: PipelineReport['disabledTransitions'] = [];
  for (const s of stages) {
    const stageName = s.stageName ?? '';
    if (s.inboundTransitionState && s.inboundTransitionState.enabled === false) {
      const t = s.inboundTransitionState;
      disabledTransitions.push({ stage: stageName, reason: t.disabledReason, since: iso(t.lastChangedAt) });
      healths.push('warn');
      problems.push({ resource, health: 'warn', message: `transition into stage ${stageName} is disabled${t.disabledReason ? `: ${t.disabledReason}` : ''}${t.lastChangedBy ? ` (by ${t.lastChangedBy})` : ''}` });
    }
    for (const a of s.actionStates ?? []) {
      const x = a.latestExecution;
      // Only approval actions carry a token, and only while they wait for an answer.
      if (x?.status !== 'InProgress' || !x.token) continue;
      const since = iso(x.lastStatusChange);
      const expiresAt = x.lastStatusChange ? new Date(x.lastStatusChange).getTime() + APPROVAL_TIMEOUT_MS : undefined;
      const action = a.actionName ?? '';
      pendingApprovals.push({
        stage: stageName, action, since, expires: expiresAt ? new Date(expiresAt).toISOString() : undefined,
        link: approvalLink(region, p.name, stageName, action, x.token), executionId: s.latestExecution?.pipelineExecutionId,
      });
      if (expiresAt !== undefined && expiresAt - now < APPROVAL_EXPIRY_WARNING_MS) {
        healths.push('warn');
        problems.push({ resource, health: 'warn', message: `approval ${stageName}/${action} expires ${new Date(expiresAt).toISOString()} (rejected when nobody answers within 7 days)` });
      }
    }
  }
  return { ...p, health: worst(...healths), consoleLink, lastExecution: latest, lastFinished, pendingApprovals, disabledTransitions };
}

/** Reads the stage's pipelines; undefined when it has none (no model pipeline, no infrastructure pipeline in this account and region). */
export async function pipelinesReport(aws: Aws, stage: Stage, problems: PipelineProblem[], now = Date.now()): Promise<PipelinesReport | undefined> {
  const found = await stagePipelines(aws, stage);
  if (found.length === 0) return undefined;
  const pipelines = await Promise.all(found.map((p) => pipelineReport(aws, stage.region, p, problems, now)));
  return { state: 'deployed', health: worst(...pipelines.map((p) => p.health)), pipelines };
}
