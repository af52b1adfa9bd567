import { DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { type Aws } from './aws';
import { CliError } from './errors';

/** The platform's stacks the CLI reads, by the `<Part>` of their `<prefix>-<stage>-<Part>` name. */
export const STACK_PARTS = ['Network', 'Data', 'Alerts', 'Training', 'Inference', 'SageMaker', 'Delivery', 'Monitoring', 'Experiments'] as const;
export type StackPart = (typeof STACK_PARTS)[number];
/** Without these the stage is not deployed; the others are optional components. */
const REQUIRED_PARTS: readonly StackPart[] = ['Network', 'Data'];

export interface DeployedStack {
  readonly name: string;
  readonly part: StackPart;
  readonly status: string;
  readonly statusReason?: string;
  readonly lastUpdated?: string;
  readonly outputs: Readonly<Record<string, string>>;
}

/** What `status`, `smoke` and `rollback` know about a stage after reading its stacks' outputs. */
export interface Stage {
  readonly prefix: string;
  readonly stage: string;
  readonly region?: string;
  /** Deployed stacks by part; a missing optional part means that component is off. */
  readonly stacks: Partial<Record<StackPart, DeployedStack>>;
  readonly clusterName?: string;
  /** Ray Serve apps and the in-VPC gateway that reaches their internal load balancers (Training stack, Ray on). */
  readonly rayServe?: { readonly gatewayFunction: string; readonly services: ReadonlyArray<{ readonly service: string; readonly routePrefix: string }> };
  /**
   * The Lambda inference function; `deployment` (CodeDeploy application and group) when model pipelines promote to it,
   * so `rollback` shifts the alias through the same canary.
   */
  readonly inference?: {
    readonly functionName: string; readonly aliasName: string; readonly url?: string;
    readonly deployment?: { readonly application: string; readonly deploymentGroup: string };
    readonly modelPackageGroupName?: string;
  };
  readonly endpointNames: readonly string[];
  readonly modelPackageGroupNames: readonly string[];
  /** ECR repositories from the Data stack's `<name>RepositoryUri` outputs. */
  readonly repositories: ReadonlyArray<{ readonly name: string; readonly repositoryName: string; readonly registryId: string; readonly uri: string }>;
}

/** Stack states in which no deployment has left the stack usable. */
const STACK_GONE = new Set(['DELETE_COMPLETE', 'DELETE_IN_PROGRESS', 'REVIEW_IN_PROGRESS']);

/** A comma-separated output; the stacks write `none` for an empty list (CloudFormation outputs cannot be empty). */
const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter((s) => s && s !== 'none');

/** Parses `123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-dev-training` into registry and repository. */
export function parseRepositoryUri(uri: string): { registryId: string; repositoryName: string } | undefined {
  const m = /^(\d{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/(.+)$/.exec(uri);
  return m ? { registryId: m[1], repositoryName: m[2] } : undefined;
}

async function describeStack(aws: Aws, name: string): Promise<Stack | undefined> {
  try {
    const out = await aws.call('cloudformation:DescribeStacks', () => aws.cloudFormation.send(new DescribeStacksCommand({ StackName: name })));
    return out.Stacks?.[0];
  } catch (err) {
    // CloudFormation answers a missing stack with ValidationError "Stack with id <name> does not exist".
    if (err instanceof CliError && /does not exist/.test(err.message)) return undefined;
    throw err;
  }
}

/**
 * Reads the stage's stacks (concurrently) and their outputs. Throws a `not-deployed` CliError when the
 * Network or Data stack is missing.
 */
export async function discoverStage(aws: Aws, prefix: string, stage: string): Promise<Stage> {
  const names = STACK_PARTS.map((part) => `${prefix}-${stage}-${part}`);
  const found = await Promise.all(names.map((n) => describeStack(aws, n)));
  const region = await aws.region();
  const stacks: Partial<Record<StackPart, DeployedStack>> = {};
  found.forEach((s, i) => {
    if (!s || STACK_GONE.has(s.StackStatus ?? '')) return;
    const outputs: Record<string, string> = {};
    for (const o of s.Outputs ?? []) if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
    stacks[STACK_PARTS[i]] = {
      name: names[i],
      part: STACK_PARTS[i],
      status: s.StackStatus ?? 'UNKNOWN',
      statusReason: s.StackStatusReason,
      lastUpdated: (s.LastUpdatedTime ?? s.CreationTime)?.toISOString(),
      outputs,
    };
  });
  const missing = REQUIRED_PARTS.filter((p) => !stacks[p]);
  if (missing.length > 0) {
    throw new CliError('not-deployed',
      `Stage "${stage}" is not deployed${region ? ` in ${region}` : ''}: stack${missing.length > 1 ? 's' : ''} ${missing.map((p) => `${prefix}-${stage}-${p}`).join(', ')} not found. `
      + `Deploy it with \`npx cdk deploy --all -c stage=${stage}\`, or check --stage, --prefix and --region.`);
  }

  const inf = stacks.Inference?.outputs;
  const repositories: Array<Stage['repositories'][number]> = [];
  for (const [key, uri] of Object.entries(stacks.Data?.outputs ?? {})) {
    const m = /^(.+)RepositoryUri$/.exec(key);
    const parsed = m ? parseRepositoryUri(uri) : undefined;
    if (m && parsed) repositories.push({ name: m[1], uri, ...parsed });
  }
  return {
    prefix,
    stage,
    region,
    stacks,
    clusterName: stacks.Training?.outputs.ClusterName,
    rayServe: rayServeOf(stacks.Training?.outputs),
    inference: inf?.InferenceFunctionName
      ? {
        functionName: inf.InferenceFunctionName, aliasName: inf.InferenceAliasName ?? 'live', url: /^https:\/\//.test(inf.InferenceUrl ?? '') ? inf.InferenceUrl : undefined,
        ...(inf.InferenceDeploymentApplication && inf.InferenceDeploymentGroup
          ? { deployment: { application: inf.InferenceDeploymentApplication, deploymentGroup: inf.InferenceDeploymentGroup } } : {}),
        ...(inf.InferenceModelPackageGroupName ? { modelPackageGroupName: inf.InferenceModelPackageGroupName } : {}),
      }
      : undefined,
    endpointNames: list(stacks.SageMaker?.outputs.EndpointNames),
    // The Lambda inference function's group (when promoted to) is one of the stage's groups too: `promote` approves in it.
    modelPackageGroupNames: [...list(stacks.SageMaker?.outputs.ModelPackageGroupNames), ...(inf?.InferenceModelPackageGroupName ? [inf.InferenceModelPackageGroupName] : [])],
    repositories: repositories.sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** `RayServeServices` is `<service>=<route prefix>,...` (or `none`); without the gateway nothing can reach them. */
function rayServeOf(outputs: Readonly<Record<string, string>> | undefined): Stage['rayServe'] {
  const gatewayFunction = outputs?.RayJobGatewayFunction;
  const services = list(outputs?.RayServeServices).map((entry) => {
    const [service, routePrefix] = entry.split('=');
    return { service, routePrefix: routePrefix ?? '/' };
  });
  return gatewayFunction && services.length > 0 ? { gatewayFunction, services } : undefined;
}
