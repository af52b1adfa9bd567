import { createHash } from 'node:crypto';
import { CreateDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { type FunctionConfiguration, GetAliasCommand, ListVersionsByFunctionCommand, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import {
  DescribeEndpointCommand, DescribeEndpointConfigCommand, type DescribeEndpointConfigCommandOutput, DescribeModelCommand, ListEndpointConfigsCommand, UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { type Aws } from '../aws';
import { discoverStage } from '../discovery';
import { CliError } from '../errors';
import { type Io, iso } from '../output';
import { confirmChange } from './promote';

export type RollbackTarget = 'lambda' | 'endpoint';

export interface RollbackResult {
  readonly stage: string;
  readonly target: RollbackTarget;
  /** `function:alias` or the endpoint name. */
  readonly resource: string;
  readonly from: string;
  readonly to: string;
  readonly changed: boolean;
  readonly message: string;
  readonly notes: string[];
}

/** Endpoint configs examined, newest first, when looking for the previous one. */
const MAX_CANDIDATES = 50;

// ---- Lambda -------------------------------------------------------------------------------------------

/** The package a version serves (`MODEL_PACKAGE_ARN`, set by the model deployment handler), or '' for the image's own model. */
const packageOf = (v: FunctionConfiguration | undefined): string => v?.Environment?.Variables?.MODEL_PACKAGE_ARN ?? '';

async function planLambda(aws: Aws, functionName: string, aliasName: string, toVersion?: string, byPackage = false) {
  const alias = await aws.call('lambda:GetAlias', () => aws.lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: aliasName })));
  const current = alias.FunctionVersion ?? '$LATEST';
  const shifting = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).filter(([, w]) => w > 0);
  const from = [`version ${current}`, ...shifting.map(([v, w]) => `${Math.round(w * 100)}% to version ${v}`)].join(' + ');
  if (toVersion === undefined && shifting.length > 0) {
    // Mid-canary the alias still points at the old version; rolling back means dropping the new one's share.
    return { from, to: `version ${current} (100%)`, version: current, shifting };
  }
  const versions = await aws.paginate('lambda:ListVersionsByFunction',
    (Marker) => aws.lambda.send(new ListVersionsByFunctionCommand({ FunctionName: functionName, Marker, MaxItems: 50 })),
    (p) => p.Versions, (p) => p.NextMarker);
  const published = versions.filter((v): v is FunctionConfiguration & { Version: string } => !!v.Version && /^\d+$/.test(v.Version));
  let target: (typeof published)[number] | undefined;
  if (toVersion !== undefined) {
    target = published.find((v) => v.Version === toVersion);
    if (!target) throw new CliError('not-found', `${functionName} has no published version ${toVersion}; it has ${published.map((v) => v.Version).join(', ') || 'none'}.`);
  } else {
    if (!/^\d+$/.test(current)) throw new CliError('failed', `Alias ${aliasName} points at ${current}, not a published version; pass --to-version <n>.`);
    const older = published.filter((v) => Number(v.Version) < Number(current)).sort((a, b) => Number(b.Version) - Number(a.Version));
    const served = packageOf(published.find((v) => v.Version === current));
    // Promoted models: the previous approved package is the newest older version serving another package (a stack
    // deploy publishes versions around the same package). Otherwise the newest older version (one per code or config change).
    target = byPackage && served ? older.find((v) => packageOf(v) !== '' && packageOf(v) !== served) ?? older[0] : older[0];
    if (!target) throw new CliError('failed', `${functionName} has no published version older than ${current} to roll back to.`);
  }
  if (target.State && target.State !== 'Active' && target.State !== 'Inactive') {
    throw new CliError('failed', `${functionName} version ${target.Version} is ${target.State}${target.StateReason ? ` (${target.StateReason})` : ''}; it cannot take traffic.`);
  }
  const pkg = packageOf(target);
  return { from, to: `version ${target.Version} (100%)${pkg ? ` serving ${pkg}` : ''}`, version: target.Version, shifting, modified: target.LastModified, current };
}

type InferenceFunction = { functionName: string; aliasName: string; deployment?: { application: string; deploymentGroup: string } };

/**
 * A function model pipelines promote to: the alias goes back to the previous approved package through a new CodeDeploy
 * deployment on its deployment group (the canary and its alarm rollback apply, and CloudFormation keeps what it serves).
 */
async function rollbackThroughCodeDeploy(aws: Aws, io: Io, stageName: string, fn: Required<InferenceFunction>, o: { yes: boolean; toVersion?: string }): Promise<RollbackResult> {
  const resource = `${fn.functionName}:${fn.aliasName}`;
  const plan = await planLambda(aws, fn.functionName, fn.aliasName, o.toVersion, true);
  if (plan.shifting.length > 0 && o.toVersion === undefined) {
    throw new CliError('failed', `${resource} is shifting traffic (${plan.from}): a CodeDeploy deployment is running. Stop it with rollback: aws deploy stop-deployment --deployment-id <id> --auto-rollback-enabled (see aws deploy list-deployments --application-name ${fn.deployment.application} --deployment-group-name ${fn.deployment.deploymentGroup}).`);
  }
  if (plan.version === plan.current) {
    return { stage: stageName, target: 'lambda', resource, from: plan.from, to: plan.to, changed: false, message: `${resource} already serves ${plan.to}; nothing to do.`, notes: [] };
  }
  io.err(`Roll back ${resource}: ${plan.from} -> ${plan.to}${plan.modified ? ` (published ${plan.modified})` : ''}, through CodeDeploy ${fn.deployment.application}/${fn.deployment.deploymentGroup}`);
  await confirmChange(io, o.yes, `Shift ${resource} to ${plan.to}?`, 'roll back');
  const content = JSON.stringify({
    version: 0.0,
    Resources: [{ [fn.functionName.replace(/[^A-Za-z0-9]/g, '')]: { Type: 'AWS::Lambda::Function', Properties: { Name: fn.functionName, Alias: fn.aliasName, CurrentVersion: plan.current, TargetVersion: plan.version } } }],
  });
  const out = await aws.call('codedeploy:CreateDeployment', () => aws.codeDeploy.send(new CreateDeploymentCommand({
    applicationName: fn.deployment.application,
    deploymentGroupName: fn.deployment.deploymentGroup,
    description: `cdk-mlops rollback of ${resource}: version ${plan.current} -> ${plan.version}`,
    revision: { revisionType: 'AppSpecContent', appSpecContent: { content, sha256: createHash('sha256').update(content).digest('hex') } },
  })));
  return {
    stage: stageName, target: 'lambda', resource, from: plan.from, to: plan.to, changed: true,
    message: `CodeDeploy deployment ${out.deploymentId} shifts ${resource} to ${plan.to.replace(' (100%)', '')} (was ${plan.from}).`,
    notes: ['The deployment group\'s canary applies: watch it with aws deploy get-deployment; its alarms roll it back.',
      'A later `cdk deploy` keeps the package the alias serves (Custom::ServedModel).'],
  };
}

async function rollbackLambda(aws: Aws, io: Io, stageName: string, fn: InferenceFunction, o: { yes: boolean; toVersion?: string }): Promise<RollbackResult> {
  if (fn.deployment) return rollbackThroughCodeDeploy(aws, io, stageName, { ...fn, deployment: fn.deployment }, o);
  const resource = `${fn.functionName}:${fn.aliasName}`;
  const plan = await planLambda(aws, fn.functionName, fn.aliasName, o.toVersion);
  const notes = [
    'CodeDeploy manages this alias: if a deployment is in progress, stop it too (aws deploy stop-deployment --auto-rollback-enabled) or it will shift traffic again.',
    'The next `cdk deploy` of the Inference stack points the alias at the version in the template again.',
  ];
  if (plan.from === plan.to.replace(' (100%)', '')) {
    return { stage: stageName, target: 'lambda', resource, from: plan.from, to: plan.to, changed: false, message: `${resource} already serves ${plan.to}; nothing to do.`, notes: [] };
  }
  io.err(`Roll back ${resource}: ${plan.from} -> ${plan.to}${plan.modified ? ` (published ${plan.modified})` : ''}`);
  await confirmChange(io, o.yes, `Point ${resource} at ${plan.to}?`, 'roll back');
  await aws.call('lambda:UpdateAlias', () => aws.lambda.send(new UpdateAliasCommand({
    FunctionName: fn.functionName,
    Name: fn.aliasName,
    FunctionVersion: plan.version,
    RoutingConfig: { AdditionalVersionWeights: {} },
  })));
  return { stage: stageName, target: 'lambda', resource, from: plan.from, to: plan.to, changed: true, message: `Alias ${resource} now sends all traffic to ${plan.to.replace(' (100%)', '')} (was ${plan.from}).`, notes };
}

// ---- SageMaker endpoint ------------------------------------------------------------------------------

/** The models of a config and their execution roles; undefined when a model no longer exists. */
async function configSignature(aws: Aws, config: DescribeEndpointConfigCommandOutput): Promise<{ variants: string; roles: string; models: string } | undefined> {
  const variants = config.ProductionVariants ?? [];
  const roles: string[] = [];
  for (const v of variants) {
    if (!v.ModelName) return undefined;
    try {
      const m = await aws.call('sagemaker:DescribeModel', () => aws.sageMaker.send(new DescribeModelCommand({ ModelName: v.ModelName })));
      roles.push(m.ExecutionRoleArn ?? '');
    } catch (err) {
      if (err instanceof CliError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }
  return { variants: variants.map((v) => v.VariantName).sort().join(','), roles: [...new Set(roles)].sort().join(','), models: variants.map((v) => `${v.VariantName}=${v.ModelName}`).sort().join(',') };
}

const describeConfig = (aws: Aws, name: string) =>
  aws.call('sagemaker:DescribeEndpointConfig', () => aws.sageMaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name })));

/**
 * Finds the config the endpoint ran before its current one. SageMaker keeps no history on the endpoint, so
 * this takes the newest endpoint config created before the current one whose models still exist, have the
 * same variant names and run with the same execution role (each SageMakerEndpoint construct has its own role,
 * so the role ties configs to their endpoint), and run other models than the current one (a stack deploy makes a
 * new config around the version the endpoint serves: going back to the older config would change nothing).
 */
async function previousConfig(aws: Aws, current: DescribeEndpointConfigCommandOutput): Promise<string | undefined> {
  const signature = await configSignature(aws, current);
  if (!signature) throw new CliError('failed', `The current endpoint config ${current.EndpointConfigName} refers to a model that no longer exists; pass --to-config <name>.`);
  let token: string | undefined;
  let examined = 0;
  do {
    const page = await aws.call('sagemaker:ListEndpointConfigs', () => aws.sageMaker.send(new ListEndpointConfigsCommand({
      SortBy: 'CreationTime', SortOrder: 'Descending', CreationTimeBefore: current.CreationTime, MaxResults: 100, NextToken: token,
    })));
    for (const c of page.EndpointConfigs ?? []) {
      if (!c.EndpointConfigName || c.EndpointConfigName === current.EndpointConfigName) continue;
      if (++examined > MAX_CANDIDATES) return undefined;
      const candidate = await describeConfig(aws, c.EndpointConfigName);
      const s = await configSignature(aws, candidate);
      // A config running the same models (a stack deploy re-made the config around the served version) is not a rollback.
      if (s && s.variants === signature.variants && s.roles === signature.roles && s.models !== signature.models) return c.EndpointConfigName;
    }
    token = page.NextToken;
  } while (token);
  return undefined;
}

async function rollbackEndpoint(aws: Aws, io: Io, stageName: string, endpoints: readonly string[], o: { yes: boolean; endpoint?: string; toConfig?: string }): Promise<RollbackResult> {
  if (endpoints.length === 0) throw new CliError('not-deployed', `Stage "${stageName}" deploys no SageMaker endpoint (no SageMaker stack or no EndpointNames output).`);
  if (o.endpoint !== undefined && !endpoints.includes(o.endpoint)) {
    throw new CliError('usage', `--endpoint ${o.endpoint} is not an endpoint of stage "${stageName}"; it has ${endpoints.join(', ')}.`);
  }
  if (o.endpoint === undefined && endpoints.length > 1) throw new CliError('usage', `Stage "${stageName}" has several endpoints; choose one with --endpoint: ${endpoints.join(', ')}.`);
  const name = o.endpoint ?? endpoints[0];
  const e = await aws.call('sagemaker:DescribeEndpoint', () => aws.sageMaker.send(new DescribeEndpointCommand({ EndpointName: name })));
  if (e.EndpointStatus !== 'InService') {
    throw new CliError('failed', `Endpoint ${name} is ${e.EndpointStatus}; SageMaker only updates an InService endpoint. ${e.EndpointStatus === 'Updating' || e.EndpointStatus === 'RollingBack' ? 'A deployment is running (its guardrails roll back on alarms); wait for it to finish.' : e.FailureReason ?? ''}`.trim());
  }
  const currentName = e.EndpointConfigName ?? '';
  let target = o.toConfig;
  if (target !== undefined) {
    await describeConfig(aws, target).catch((err: unknown) => {
      throw err instanceof CliError && err.kind === 'not-found' ? new CliError('not-found', `Endpoint config ${target} does not exist.`) : err;
    });
  } else {
    target = await previousConfig(aws, await describeConfig(aws, currentName));
    if (!target) {
      throw new CliError('failed', `Found no earlier endpoint config of ${name} whose models still exist (checked the newest ${MAX_CANDIDATES} older configs); pass --to-config <name>.`);
    }
  }
  if (target === currentName) {
    return { stage: stageName, target: 'endpoint', resource: name, from: currentName, to: target, changed: false, message: `Endpoint ${name} already uses ${target}; nothing to do.`, notes: [] };
  }
  io.err(`Roll back endpoint ${name}: config ${currentName} -> ${target}${e.LastModifiedTime ? ` (current since ${iso(e.LastModifiedTime)})` : ''}`);
  await confirmChange(io, o.yes, `Update ${name} to ${target}?`, 'roll back');
  // Without the deployment guardrails: their rollback alarms are likely firing now, and would undo this update.
  await aws.call('sagemaker:UpdateEndpoint', () => aws.sageMaker.send(new UpdateEndpointCommand({ EndpointName: name, EndpointConfigName: target, RetainDeploymentConfig: false })));
  return {
    stage: stageName, target: 'endpoint', resource: name, from: currentName, to: target, changed: true,
    message: `Endpoint ${name} is updating from ${currentName} to ${target}; it stays InService and serves the old config until the new one is ready. Follow it with \`cdk-mlops status\`.`,
    notes: [
      'The update runs without the blue/green rollback alarms; the next deploy or model approval restores them.',
      'The next model approval replaces this config; a `cdk deploy` of the SageMaker stack keeps the model it now serves.',
    ],
  };
}

/** Points the stage's Lambda alias or SageMaker endpoint back at what it ran before, after confirmation. */
export async function runRollback(aws: Aws, io: Io, prefix: string, stageName: string, target: RollbackTarget,
  o: { yes: boolean; endpoint?: string; toVersion?: string; toConfig?: string }): Promise<RollbackResult> {
  const stage = await discoverStage(aws, prefix, stageName);
  if (target === 'lambda') {
    if (!stage.inference) throw new CliError('not-deployed', `Stage "${stageName}" deploys no Lambda inference (stack ${prefix}-${stageName}-Inference not found).`);
    return rollbackLambda(aws, io, stageName, stage.inference, o);
  }
  return rollbackEndpoint(aws, io, stageName, stage.endpointNames, o);
}

export function renderRollback(r: RollbackResult): string {
  return [r.message, ...r.notes.map((n) => `  note: ${n}`)].join('\n');
}
