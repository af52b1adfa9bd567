/**
 * Model journey helpers: an EventBridge pattern matcher, a stateful stand-in for the SageMaker control plane
 * and runtime (what the handlers and the CLI call, with SageMaker's own error messages and state changes), and a
 * small interpreter for the AWS SDK Task states of a synthesized Step Functions definition.
 */
import {
  CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, CreateModelPackageCommand, DescribeEndpointCommand,
  DescribeEndpointConfigCommand, DescribeModelCommand, DescribeModelPackageCommand, ListEndpointConfigsCommand, ListModelPackagesCommand,
  SageMakerClient, SageMakerServiceException, UpdateEndpointCommand, UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand, InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CodeDeployClient, CodeDeployServiceException, CreateDeploymentCommand, GetDeploymentCommand, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import {
  GetAliasCommand, GetFunctionConfigurationCommand, InvokeCommand, LambdaClient, LambdaServiceException, ListVersionsByFunctionCommand, PublishVersionCommand,
  UpdateAliasCommand, UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { gzipSync } from 'node:zlib';

// ---- EventBridge patterns ---------------------------------------------------------------------------------

/**
 * Whether an event matches an EventBridge pattern: every pattern key must match; arrays list allowed values
 * (literals, `{prefix}`, `{exists}`, `{anything-but}`); an array in the event matches when any element does.
 */
export function matchesPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, rule]) => {
    const value = event[key];
    if (Array.isArray(rule)) return rule.some((r) => matchesValue(r, value));
    if (rule && typeof rule === 'object') return !!value && typeof value === 'object' && matchesPattern(rule as Record<string, unknown>, value as Record<string, unknown>);
    throw new Error(`Pattern field ${key} must be an array or an object, got ${JSON.stringify(rule)}`);
  });
}

function matchesValue(rule: unknown, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((v) => matchesValue(rule, v));
  if (rule && typeof rule === 'object') {
    const r = rule as Record<string, unknown>;
    if ('exists' in r) return (value !== undefined) === r.exists;
    if ('prefix' in r) return typeof value === 'string' && value.startsWith(String(r.prefix));
    if ('anything-but' in r) return ![r['anything-but']].flat().includes(value);
    throw new Error(`Unsupported pattern operator ${JSON.stringify(rule)}`);
  }
  return rule === value;
}

// ---- SageMaker -------------------------------------------------------------------------------------------

const notFound = (what: string) => new SageMakerServiceException({
  name: 'ValidationException', message: `Could not find ${what}.`, $fault: 'client', $metadata: { httpStatusCode: 400 },
});
const invalid = (message: string) => new SageMakerServiceException({
  name: 'ValidationException', message, $fault: 'client', $metadata: { httpStatusCode: 400 },
});

interface Package { arn: string; group: string; version: number; status: string; spec: any; metadata?: Record<string, string>; created: Date }
interface Endpoint { name: string; status: string; config: string; pending?: string; modified: Date }

/** A model package group's account (for ARNs); one world holds every account's SageMaker. */
export interface WorldOptions { readonly region: string; readonly accountOf: (groupOrEndpoint: string) => string }

/**
 * The SageMaker control plane and runtime as the journey sees them. Package approvals emit the "SageMaker Model
 * Package State Change" event SageMaker sends (shape of the AWS docs sample); endpoint updates stay `Updating`
 * until {@link SageMakerWorld.settle}; the runtime answers with the package the endpoint's model runs.
 */
export class SageMakerWorld {
  public readonly sm = mockClient(SageMakerClient);
  public readonly runtime = mockClient(SageMakerRuntimeClient);
  /** S3 as asynchronous inference uses it: requests in, answers out (`objects` by `s3://bucket/key`). */
  public readonly s3 = mockClient(S3Client);
  public readonly objects = new Map<string, string | Uint8Array>();
  public readonly events: Record<string, any>[] = [];
  public readonly packages = new Map<string, Package>();
  public readonly models = new Map<string, { containers: any[]; role: string; created: Date }>();
  public readonly configs = new Map<string, { variants: any[]; async?: any; created: Date }>();
  private readonly pendingAnswers: { location: string; body: string }[] = [];
  public readonly endpoints = new Map<string, Endpoint>();
  private clock = Date.parse('2026-12-01T09:00:00Z');

  constructor(private readonly options: WorldOptions, private readonly sampleEvent: Record<string, any>) {
    const { sm } = this;
    sm.on(CreateModelPackageCommand).callsFake((i) => {
      // A group of another account is named by its ARN; the version is created in that account.
      const byArn = /^arn:aws[a-z-]*:sagemaker:[^:]+:(\d{12}):model-package-group\/(.+)$/.exec(i.ModelPackageGroupName);
      const group = byArn ? byArn[2] : i.ModelPackageGroupName;
      const version = [...this.packages.values()].filter((p) => p.group === group).length + 1;
      const arn = `arn:aws:sagemaker:${options.region}:${byArn ? byArn[1] : options.accountOf(group)}:model-package/${group.toLowerCase()}/${version}`;
      const p: Package = { arn, group, version, status: i.ModelApprovalStatus ?? 'PendingManualApproval', spec: i.InferenceSpecification, metadata: i.CustomerMetadataProperties, created: this.now() };
      this.packages.set(arn, p);
      if (p.status === 'Approved') this.emit(p);
      return { ModelPackageArn: arn };
    });
    sm.on(DescribeModelPackageCommand).callsFake((i) => {
      const p = this.packages.get(i.ModelPackageName);
      if (!p) throw notFound(`model package ${i.ModelPackageName}`);
      return { ModelPackageArn: p.arn, ModelPackageGroupName: p.group, ModelPackageVersion: p.version, ModelApprovalStatus: p.status, InferenceSpecification: p.spec, CustomerMetadataProperties: p.metadata, CreationTime: p.created };
    });
    sm.on(UpdateModelPackageCommand).callsFake((i) => {
      const p = this.packages.get(i.ModelPackageArn);
      if (!p) throw notFound(`model package ${i.ModelPackageArn}`);
      const was = p.status;
      p.status = i.ModelApprovalStatus ?? p.status;
      if (p.status === 'Approved' && was !== 'Approved') this.emit(p);
      return { ModelPackageArn: p.arn };
    });
    sm.on(ListModelPackagesCommand).callsFake((i) => ({
      ModelPackageSummaryList: [...this.packages.values()].filter((p) => p.group === i.ModelPackageGroupName && (!i.ModelApprovalStatus || p.status === i.ModelApprovalStatus))
        .sort((a, b) => b.version - a.version)
        .map((p) => ({ ModelPackageArn: p.arn, ModelPackageGroupName: p.group, ModelPackageVersion: p.version, ModelApprovalStatus: p.status, CreationTime: p.created })),
    }));
    sm.on(CreateModelCommand).callsFake((i) => {
      if (this.models.has(i.ModelName)) throw invalid(`Cannot create already existing model "${i.ModelName}".`);
      for (const c of i.Containers ?? []) if (c.ModelPackageName && !this.packages.has(c.ModelPackageName)) throw notFound(`model package ${c.ModelPackageName}`);
      this.models.set(i.ModelName, { containers: i.Containers ?? [i.PrimaryContainer], role: i.ExecutionRoleArn, created: this.now() });
      return { ModelArn: `arn:aws:sagemaker:::model/${i.ModelName}` };
    });
    sm.on(DescribeModelCommand).callsFake((i) => {
      const m = this.models.get(i.ModelName);
      if (!m) throw notFound(`model "${i.ModelName}"`);
      return { ModelName: i.ModelName, Containers: m.containers, PrimaryContainer: m.containers.length === 1 ? m.containers[0] : undefined, ExecutionRoleArn: m.role };
    });
    sm.on(CreateEndpointConfigCommand).callsFake((i) => {
      if (this.configs.has(i.EndpointConfigName)) throw invalid(`Cannot create already existing endpoint configuration "${i.EndpointConfigName}".`);
      for (const v of i.ProductionVariants ?? []) if (!this.models.has(v.ModelName)) throw notFound(`model "${v.ModelName}"`);
      this.configs.set(i.EndpointConfigName, { variants: i.ProductionVariants, async: i.AsyncInferenceConfig, created: this.now() });
      return { EndpointConfigArn: 'arn' };
    });
    sm.on(DescribeEndpointConfigCommand).callsFake((i) => {
      const c = this.configs.get(i.EndpointConfigName);
      if (!c) throw notFound(`endpoint configuration "${i.EndpointConfigName}"`);
      return { EndpointConfigName: i.EndpointConfigName, ProductionVariants: c.variants, AsyncInferenceConfig: c.async, CreationTime: c.created };
    });
    sm.on(ListEndpointConfigsCommand).callsFake((i) => ({
      EndpointConfigs: [...this.configs.entries()].filter(([, c]) => !i.CreationTimeBefore || c.created < i.CreationTimeBefore)
        .sort(([, a], [, b]) => b.created.getTime() - a.created.getTime())
        .map(([name, c]) => ({ EndpointConfigName: name, CreationTime: c.created })),
    }));
    sm.on(DescribeEndpointCommand).callsFake((i) => {
      const e = this.endpoints.get(i.EndpointName);
      if (!e) throw notFound(`endpoint "${i.EndpointName}"`);
      return { EndpointName: e.name, EndpointStatus: e.status, EndpointConfigName: e.config, LastModifiedTime: e.modified, ...(e.pending ? { PendingDeploymentSummary: { EndpointConfigName: e.pending } } : {}) };
    });
    sm.on(UpdateEndpointCommand).callsFake((i) => {
      const e = this.endpoints.get(i.EndpointName);
      if (!e) throw notFound(`endpoint "${i.EndpointName}"`);
      if (e.status !== 'InService') throw invalid(`Cannot update in-progress endpoint "${i.EndpointName}".`);
      if (!this.configs.has(i.EndpointConfigName)) throw notFound(`endpoint configuration "${i.EndpointConfigName}"`);
      Object.assign(e, { status: 'Updating', pending: i.EndpointConfigName, modified: this.now() });
      return { EndpointArn: 'arn' };
    });
    sm.on(CreateEndpointCommand).callsFake((i) => {
      if (this.endpoints.has(i.EndpointName)) throw invalid(`Cannot create already existing endpoint "${i.EndpointName}".`);
      this.endpoints.set(i.EndpointName, { name: i.EndpointName, status: 'Creating', config: i.EndpointConfigName, modified: this.now() });
      return { EndpointArn: 'arn' };
    });
    this.s3.on(PutObjectCommand).callsFake((i) => { this.objects.set(`s3://${i.Bucket}/${i.Key}`, i.Body instanceof Uint8Array ? i.Body : String(i.Body)); return {}; });
    this.s3.on(GetObjectCommand).callsFake((i) => {
      const body = this.objects.get(`s3://${i.Bucket}/${i.Key}`);
      if (body === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      return { Body: { transformToString: async () => new TextDecoder().decode(bytes), transformToByteArray: async () => bytes } as never };
    });
    // HeadObject of a missing key: 404 NotFound (the caller may list the prefix).
    this.s3.on(HeadObjectCommand).callsFake((i) => {
      if (!this.objects.has(`s3://${i.Bucket}/${i.Key}`)) throw Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
      return {};
    });
    // Asynchronous inference: the request is read from S3; the answer is written under the config's output path on settle().
    this.runtime.on(InvokeEndpointAsyncCommand).callsFake((i) => {
      const e = this.endpoints.get(i.EndpointName);
      if (!e || e.status === 'Creating') throw notFound(`endpoint "${i.EndpointName}"`);
      const output = this.configs.get(e.config)?.async?.OutputConfig?.S3OutputPath;
      if (!output) throw invalid(`Endpoint ${i.EndpointName} is not an asynchronous endpoint.`);
      const body = this.objects.get(i.InputLocation);
      if (body === undefined) throw invalid(`Could not read the input ${i.InputLocation}.`);
      const id = i.InferenceId ?? `inference-${this.objects.size}`;
      const OutputLocation = `${output}/${id}.out`;
      const rows = (JSON.parse(String(body)) as { instances: unknown[] }).instances;
      this.pendingAnswers.push({ location: OutputLocation, body: JSON.stringify({ predictions: rows.map(() => [0.25, 0.75]) }) });
      return { InferenceId: id, OutputLocation, FailureLocation: `${output.replace(/output$/, 'failures')}/${id}-error.out` };
    });
    this.runtime.on(InvokeEndpointCommand).callsFake((i) => {
      const e = this.endpoints.get(i.EndpointName);
      if (!e || e.status === 'Creating') throw notFound(`endpoint "${i.EndpointName}"`);
      if (this.configs.get(e.config)?.async) throw invalid(`Endpoint ${i.EndpointName} is an asynchronous endpoint; use InvokeEndpointAsync.`);
      const body = typeof i.Body === 'string' ? i.Body : new TextDecoder().decode(i.Body);
      const rows = (JSON.parse(body) as { instances: unknown[] }).instances;
      return { Body: new TextEncoder().encode(JSON.stringify({ predictions: rows.map(() => [0.25, 0.75]) })) as never, ContentType: 'application/json' };
    });
  }

  /** CloudFormation creating a template's model (kept when it exists: an unchanged resource is not touched). */
  public cloudFormationModel(name: string, container: Record<string, unknown>, role: string): void {
    if (!this.models.has(name)) this.models.set(name, { containers: [container], role, created: this.now() });
  }

  /** CloudFormation creating a template's endpoint config (its models must exist, as SageMaker checks). */
  public cloudFormationConfig(name: string, variants: any[], asyncConfig?: any): void {
    if (this.configs.has(name)) return;
    for (const v of variants) if (!this.models.has(v.ModelName)) throw notFound(`model "${v.ModelName}"`);
    this.configs.set(name, { variants, async: asyncConfig, created: this.now() });
  }

  /** CloudFormation creating the endpoint (InService), or updating it to another config (Updating until settled). */
  public cloudFormationEndpoint(name: string, configName: string): 'created' | 'updated' | 'unchanged' {
    const e = this.endpoints.get(name);
    if (!e) {
      this.endpoints.set(name, { name, status: 'InService', config: configName, modified: this.now() });
      return 'created';
    }
    if (e.config === configName) return 'unchanged';
    if (e.status !== 'InService') throw invalid(`Cannot update in-progress endpoint "${name}".`);
    Object.assign(e, { status: 'Updating', pending: configName, modified: this.now() });
    return 'updated';
  }

  /** Pending endpoint updates and creations finish; queued asynchronous requests are answered. */
  public settle(): void {
    for (const a of this.pendingAnswers.splice(0)) this.objects.set(a.location, a.body);
    for (const e of this.endpoints.values()) {
      if (e.pending) e.config = e.pending;
      Object.assign(e, { status: 'InService', pending: undefined });
    }
  }

  /** The package (ARN) each model of the endpoint's current config runs, or the image for a model without one. */
  public served(endpointName: string): string[] {
    const e = this.endpoints.get(endpointName);
    if (!e) return [];
    return this.configs.get(e.config)!.variants.flatMap((v) => this.models.get(v.ModelName)!.containers.map((c) => c.ModelPackageName ?? c.Image));
  }

  /** Takes the events emitted so far. */
  public drain(): Record<string, any>[] {
    return this.events.splice(0);
  }

  private emit(p: Package): void {
    const s = this.sampleEvent;
    this.events.push({
      ...s,
      id: `event-${this.events.length + 1}-${p.version}`,
      account: p.arn.split(':')[4],
      region: this.options.region,
      time: this.now().toISOString(),
      resources: [p.arn],
      detail: { ...s.detail, ModelPackageGroupName: p.group, ModelPackageVersion: p.version, ModelPackageArn: p.arn, ModelApprovalStatus: p.status, InferenceSpecification: p.spec, CreationTime: p.created.getTime() },
    });
  }

  private now(): Date {
    this.clock += 60_000;
    return new Date(this.clock);
  }
}

export /** A ustar archive as `tar czf` writes it: 512-byte headers (octal size, checksum), data padded to 512 bytes. */
function tarGz(files: Record<string, Uint8Array | string>): Uint8Array {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    header.write(`${header.reduce((a, b) => a + b, 0).toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return gzipSync(Buffer.concat([...blocks, Buffer.alloc(1024)]));
}

// ---- Lambda and CodeDeploy -------------------------------------------------------------------------------

const lambdaError = (name: string, message: string, status = 400) => new LambdaServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: status } });
const deployError = (name: string, message: string) => new CodeDeployServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });

interface FunctionState {
  latest: { env: Record<string, string>; revision: number; publishedAs?: string };
  versions: Map<string, { env: Record<string, string>; description?: string }>;
  aliases: Map<string, { version: string; weights: Record<string, number> }>;
  /** Answers of `$LATEST` stay InProgress for this many reads after an update (Lambda applies updates asynchronously). */
  pendingReads: number;
}

/**
 * Lambda and CodeDeploy as the Lambda serving path sees them: functions with `$LATEST`, immutable published versions
 * (PublishVersion with RevisionId checks, no new version for an unchanged `$LATEST`), aliases with weighted routing, and
 * CodeDeploy deployments that validate the AppSpec against the group's alias and shift it (10 % until {@link settle},
 * or back on {@link failDeployments}). Invoking an alias answers with the package its version names (`MODEL_PACKAGE_ARN`).
 */
export class LambdaWorld {
  public readonly lambda = mockClient(LambdaClient);
  public readonly codedeploy = mockClient(CodeDeployClient);
  public readonly functions = new Map<string, FunctionState>();
  /** `application/group` → the function and alias it shifts. */
  public readonly groups = new Map<string, { functionName: string; alias: string }>();
  public readonly deployments: { id: string; group: string; functionName: string; alias: string; current: string; target: string; status: 'InProgress' | 'Succeeded' | 'Stopped'; description?: string }[] = [];

  constructor() {
    const fn = (name: string) => {
      const f = this.functions.get(name.split(':')[0]);
      if (!f) throw lambdaError('ResourceNotFoundException', `Function not found: ${name}`, 404);
      return f;
    };
    const configuration = (name: string, version: string, env: Record<string, string>, extra: Record<string, unknown> = {}) => ({
      FunctionName: name, Version: version, Environment: { Variables: { ...env } }, ...extra,
    });
    this.lambda.on(GetAliasCommand).callsFake((i) => {
      const a = fn(i.FunctionName).aliases.get(i.Name);
      if (!a) throw lambdaError('ResourceNotFoundException', `Alias not found: ${i.FunctionName}:${i.Name}`, 404);
      return { Name: i.Name, FunctionVersion: a.version, ...(Object.keys(a.weights).length ? { RoutingConfig: { AdditionalVersionWeights: { ...a.weights } } } : {}) };
    });
    this.lambda.on(GetFunctionConfigurationCommand).callsFake((i) => {
      const f = fn(i.FunctionName);
      const q = i.Qualifier ?? '$LATEST';
      if (q === '$LATEST') {
        const status = f.pendingReads > 0 ? 'InProgress' : 'Successful';
        if (f.pendingReads > 0) f.pendingReads--;
        return configuration(i.FunctionName, '$LATEST', f.latest.env, { RevisionId: `rev-${f.latest.revision}`, LastUpdateStatus: status });
      }
      const alias = f.aliases.get(q);
      const v = f.versions.get(alias ? alias.version : q);
      if (!v) throw lambdaError('ResourceNotFoundException', `Function not found: ${i.FunctionName}:${q}`, 404);
      return configuration(i.FunctionName, alias ? alias.version : q, v.env, { LastUpdateStatus: 'Successful' });
    });
    this.lambda.on(UpdateFunctionConfigurationCommand).callsFake((i) => {
      const f = fn(i.FunctionName);
      if (i.RevisionId && i.RevisionId !== `rev-${f.latest.revision}`) throw lambdaError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id.');
      f.latest = { env: { ...(i.Environment?.Variables ?? {}) }, revision: f.latest.revision + 1 };
      f.pendingReads = 1;
      return configuration(i.FunctionName, '$LATEST', f.latest.env, { RevisionId: `rev-${f.latest.revision}`, LastUpdateStatus: 'InProgress' });
    });
    this.lambda.on(PublishVersionCommand).callsFake((i) => {
      const f = fn(i.FunctionName);
      if (i.RevisionId && i.RevisionId !== `rev-${f.latest.revision}`) throw lambdaError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id.');
      if (f.pendingReads > 0) throw lambdaError('ResourceConflictException', 'The operation cannot be performed at this time. An update is in progress for resource.', 409);
      return configuration(i.FunctionName, this.publish(i.FunctionName, i.Description), f.latest.env);
    });
    this.lambda.on(ListVersionsByFunctionCommand).callsFake((i) => {
      const f = fn(i.FunctionName);
      return { Versions: [configuration(i.FunctionName, '$LATEST', f.latest.env), ...[...f.versions].map(([v, c]) => configuration(i.FunctionName, v, c.env, { Description: c.description, State: 'Active' }))] };
    });
    this.lambda.on(UpdateAliasCommand).callsFake((i) => {
      const a = fn(i.FunctionName).aliases.get(i.Name);
      if (!a) throw lambdaError('ResourceNotFoundException', `Alias not found: ${i.FunctionName}:${i.Name}`, 404);
      Object.assign(a, { version: i.FunctionVersion ?? a.version, weights: { ...(i.RoutingConfig?.AdditionalVersionWeights ?? a.weights) } });
      return { Name: i.Name, FunctionVersion: a.version };
    });
    this.lambda.on(InvokeCommand).callsFake((i) => {
      const [name, q] = i.FunctionName.split(':');
      const f = fn(name);
      const alias = q ? f.aliases.get(q) : undefined;
      const env = (alias ? f.versions.get(alias.version)?.env : f.latest.env) ?? {};
      const rows = (JSON.parse(new TextDecoder().decode(i.Payload as Uint8Array)) as { instances: unknown[] }).instances;
      return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify({ predictions: rows.map(() => [0.5, 0.5]), modelPackageArn: env.MODEL_PACKAGE_ARN })) as never };
    });
    this.codedeploy.on(CreateDeploymentCommand).callsFake((i) => {
      const group = `${i.applicationName}/${i.deploymentGroupName}`;
      const g = this.groups.get(group);
      if (!g) throw deployError('DeploymentGroupDoesNotExistException', `No Deployment Group found for name: ${i.deploymentGroupName}`);
      if (this.deployments.some((d) => d.group === group && d.status === 'InProgress')) throw deployError('DeploymentLimitExceededException', `The Deployment Group ${i.deploymentGroupName} already has an active Deployment.`);
      const content = i.revision?.appSpecContent?.content;
      if (i.revision?.revisionType !== 'AppSpecContent' || !content) throw deployError('InvalidRevisionException', 'An AppSpec content revision is required for a Lambda deployment.');
      const resources = (JSON.parse(content) as { Resources: Record<string, { Type: string; Properties: Record<string, string> }>[] }).Resources.flatMap((r) => Object.values(r));
      if (resources.length !== 1 || resources[0].Type !== 'AWS::Lambda::Function') throw deployError('InvalidRevisionException', 'The AppSpec must name one AWS::Lambda::Function.');
      const p = resources[0].Properties;
      if (p.Name !== g.functionName || p.Alias !== g.alias) throw deployError('InvalidRevisionException', `The AppSpec names ${p.Name}:${p.Alias}, the group shifts ${g.functionName}:${g.alias}.`);
      const f = fn(p.Name);
      const a = f.aliases.get(p.Alias)!;
      if (a.version !== p.CurrentVersion) throw deployError('InvalidRevisionException', `The alias ${p.Alias} points at version ${a.version}, not CurrentVersion ${p.CurrentVersion}.`);
      if (!f.versions.has(p.TargetVersion)) throw deployError('InvalidRevisionException', `Version ${p.TargetVersion} of ${p.Name} does not exist.`);
      const id = `d-${String(this.deployments.length + 1).padStart(9, '0')}`;
      this.deployments.push({ id, group, functionName: p.Name, alias: p.Alias, current: p.CurrentVersion, target: p.TargetVersion, status: 'InProgress', description: i.description });
      a.weights = { [p.TargetVersion]: 0.1 };
      return { deploymentId: id };
    });
    this.codedeploy.on(GetDeploymentCommand).callsFake((i) => {
      const d = this.deployments.find((x) => x.id === i.deploymentId);
      if (!d) throw deployError('DeploymentDoesNotExistException', `Deployment ${i.deploymentId} does not exist.`);
      return { deploymentInfo: { deploymentId: d.id, status: d.status, description: d.description, ...(d.status === 'Stopped' ? { errorInformation: { code: 'ALARM_ACTIVE', message: 'One or more alarms have been activated' } } : {}) } };
    });
    this.codedeploy.on(ListDeploymentsCommand).callsFake((i) => ({
      deployments: this.deployments.filter((d) => d.group === `${i.applicationName}/${i.deploymentGroupName}` && (!i.includeOnlyStatuses || i.includeOnlyStatuses.includes(d.status))).map((d) => d.id).reverse(),
    }));
  }

  /** CloudFormation creating a function (with its template environment), its first version and alias, and the deployment group. */
  public cloudFormationCreate(o: { functionName: string; alias: string; env: Record<string, string>; application: string; deploymentGroup: string }): string {
    this.functions.set(o.functionName, { latest: { env: { ...o.env }, revision: 1 }, versions: new Map(), aliases: new Map(), pendingReads: 0 });
    const version = this.publish(o.functionName, 'created by CloudFormation');
    this.functions.get(o.functionName)!.aliases.set(o.alias, { version, weights: {} });
    this.groups.set(`${o.application}/${o.deploymentGroup}`, { functionName: o.functionName, alias: o.alias });
    return version;
  }

  /**
   * CloudFormation updating the function to a changed template: `$LATEST` gets the template's environment, its new
   * Version resource is published, and the alias (UpdatePolicy CodeDeployLambdaAliasUpdate) shifts to it through a
   * CodeDeploy deployment from the version the alias has now.
   */
  public cloudFormationUpdate(o: { functionName: string; alias: string; env: Record<string, string>; application: string; deploymentGroup: string }): { version: string; deploymentId?: string } {
    const f = this.functions.get(o.functionName)!;
    f.latest = { env: { ...o.env }, revision: f.latest.revision + 1 };
    const version = this.publish(o.functionName, 'published by CloudFormation');
    const a = f.aliases.get(o.alias)!;
    if (a.version === version) return { version };
    const content = JSON.stringify({ version: 0.0, Resources: [{ fn: { Type: 'AWS::Lambda::Function', Properties: { Name: o.functionName, Alias: o.alias, CurrentVersion: a.version, TargetVersion: version } } }] });
    return { version, ...this.startDeployment(o, content) };
  }

  /** Deployments in progress finish: their aliases point at the target, with no weights. */
  public settle(): void {
    for (const d of this.deployments.filter((x) => x.status === 'InProgress')) {
      Object.assign(this.functions.get(d.functionName)!.aliases.get(d.alias)!, { version: d.target, weights: {} });
      d.status = 'Succeeded';
    }
  }

  /** Deployments in progress roll back (their alarms fired): aliases stay on their current version. */
  public failDeployments(): void {
    for (const d of this.deployments.filter((x) => x.status === 'InProgress')) {
      Object.assign(this.functions.get(d.functionName)!.aliases.get(d.alias)!, { version: d.current, weights: {} });
      d.status = 'Stopped';
    }
  }

  /** The package and model object the alias's version names. */
  public served(functionName: string, alias: string): { version: string; modelPackageArn: string; key: string } {
    const f = this.functions.get(functionName)!;
    const a = f.aliases.get(alias)!;
    const env = f.versions.get(a.version)!.env;
    return { version: a.version, modelPackageArn: env.MODEL_PACKAGE_ARN ?? '', key: env.MODEL_S3_KEY ?? '' };
  }

  public restore(): void {
    this.lambda.restore();
    this.codedeploy.restore();
  }

  private startDeployment(o: { application: string; deploymentGroup: string }, content: string): { deploymentId?: string } {
    const group = `${o.application}/${o.deploymentGroup}`;
    const g = this.groups.get(group)!;
    const p = (JSON.parse(content) as { Resources: { fn: { Properties: Record<string, string> } }[] }).Resources[0].fn.Properties;
    const id = `d-${String(this.deployments.length + 1).padStart(9, '0')}`;
    this.deployments.push({ id, group, functionName: g.functionName, alias: g.alias, current: p.CurrentVersion, target: p.TargetVersion, status: 'InProgress', description: 'CloudFormation alias update' });
    this.functions.get(g.functionName)!.aliases.get(g.alias)!.weights = { [p.TargetVersion]: 0.1 };
    return { deploymentId: id };
  }

  /** PublishVersion: `$LATEST` unchanged since its last publication returns that version. */
  private publish(name: string, description?: string): string {
    const f = this.functions.get(name)!;
    if (f.latest.publishedAs) return f.latest.publishedAs;
    const version = String(f.versions.size + 1);
    f.versions.set(version, { env: { ...f.latest.env }, description });
    f.latest.publishedAs = version;
    return version;
  }
}

// ---- Step Functions ---------------------------------------------------------------------------------------

/** JSONPath as the definitions here use it: `$.a.b`, `$.a['b-c']` and one filter `[?(@.Key == 'value')]` (which maps the rest over the matches). */
const get = (doc: any, path: string): any => {
  if (path === '$') return doc;
  const filter = /^(.*?)\[\?\(@\.(\w+) == '([^']*)'\)\](.*)$/.exec(path);
  if (filter) {
    const list = get(doc, filter[1]) as any[];
    return (list ?? []).filter((x) => x[filter[2]] === filter[3]).map((x) => (filter[4] ? get(x, `$${filter[4]}`) : x));
  }
  const keys = [...path.replace(/^\$/, '').matchAll(/\.(\w+)|\['([^']+)'\]/g)].map((m) => m[1] ?? m[2]);
  return keys.reduce((o, k) => (o === undefined ? undefined : o[k]), doc);
};

function evaluate(expr: string, doc: any): any {
  const item = /^States\.ArrayGetItem\((.+),\s*(\d+)\)$/.exec(expr);
  if (item) return (evaluate(item[1], doc) as any[])[Number(item[2])];
  const format = /^States\.Format\('(.*)',\s*(.+)\)$/.exec(expr);
  if (format) {
    const args = format[2].split(/,\s*(?=\$)/).map((a) => get(doc, a.trim()));
    let i = 0;
    return format[1].replace(/\{\}/g, () => String(args[i++]));
  }
  return get(doc, expr);
}

function render(template: any, doc: any): any {
  if (Array.isArray(template)) return template.map((t) => render(t, doc));
  if (!template || typeof template !== 'object') return template;
  return Object.fromEntries(Object.entries(template).map(([k, v]) => (k.endsWith('.$') ? [k.slice(0, -2), evaluate(v as string, doc)] : [k, render(v, doc)])));
}

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Runs a synthesized state machine whose states are `aws-sdk:<service>:<action>` Tasks (and Pass/Succeed),
 * calling `clients[service]` with the SDK command of the action, with Parameters, ResultSelector and ResultPath
 * applied as Step Functions does. Returns the final state's output; a failed call fails the execution.
 */
export async function runStateMachine(definition: { StartAt: string; States: Record<string, any> }, input: any,
  clients: Record<string, { send: (command: any) => Promise<any> }>, commands: Record<string, new (input: any) => any>): Promise<any> {
  let doc = input;
  let name: string | undefined = definition.StartAt;
  while (name) {
    const state: any = definition.States[name];
    if (!state) throw new Error(`No state ${name}`);
    if (state.Type === 'Succeed') break;
    if (state.Type !== 'Task') throw new Error(`State ${name}: only Task states are interpreted, got ${state.Type}`);
    const m = /^arn:aws:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$/.exec(state.Resource);
    if (!m) throw new Error(`State ${name}: not an AWS SDK integration: ${state.Resource}`);
    const Command = commands[`${upperFirst(m[2])}Command`];
    if (!Command) throw new Error(`State ${name}: no SDK command for ${m[2]}`);
    const result = await clients[m[1]].send(new Command(render(state.Parameters ?? {}, doc)));
    const selected = state.ResultSelector ? render(state.ResultSelector, result) : result;
    if (state.ResultPath === null) {
      // DISCARD: the input passes through.
    } else if (state.ResultPath === undefined || state.ResultPath === '$') {
      doc = selected;
    } else {
      doc = { ...doc, [state.ResultPath.replace(/^\$\./, '')]: selected };
    }
    name = state.End ? undefined : state.Next;
  }
  return doc;
}
