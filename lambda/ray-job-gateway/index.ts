/**
 * Ray job gateway: the in-VPC bridge between Step Functions / the CLI and the private EKS API. Step Functions' own
 * EKS integration needs a public API endpoint, so this function (in the cluster's subnets, allowed to the
 * endpoint by the cluster security group, mapped to the Ray namespace's `ray-user` group by an access entry) does
 * the Kubernetes calls with an IAM-derived bearer token (the `aws eks get-token` scheme: a presigned
 * sts:GetCallerIdentity URL naming the cluster).
 *
 * Actions (event `action`):
 * - `submit` {jobName, template, imageUri?}: creates the RayJob from `template` (a RayJob manifest rendered and
 *   validated at synth time, carried in the state machine definition) with this run's name, image and output
 *   location; an existing job of that name counts as submitted, so retries are safe.
 * - `status` {jobName}: KubeRay's jobDeploymentStatus / jobStatus, with `done` and `succeeded`.
 * - `metric` {jobName, metricName}: the metric from `<OUTPUT_PREFIX><jobName>/metrics.json`, written by the job.
 * - `serveSmoke` {service, routePrefix, payload?}: one request to a RayService through its internal load balancer
 *   (GET /metadata builds a sample when no payload is given), answered with the HTTP status and body.
 */
import { createHash, createHmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

export const logger = new Logger({ serviceName: 'ray-job-gateway' });
export const s3 = new S3Client({ maxAttempts: 5 });

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
};

export interface AwsCredentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

/** Lambda hands every function its role's credentials in the environment. */
const lambdaCredentials = (): AwsCredentials => ({
  accessKeyId: env('AWS_ACCESS_KEY_ID'), secretAccessKey: env('AWS_SECRET_ACCESS_KEY'), sessionToken: process.env.AWS_SESSION_TOKEN,
});

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const sha256Hex = (data: string) => createHash('sha256').update(data).digest('hex');
/** RFC 3986 encoding, as SigV4 wants it. */
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * A SigV4-presigned `GET https://sts.<region>.amazonaws.com/?Action=GetCallerIdentity` that also signs the
 * `x-k8s-aws-id` header (the cluster name), valid 60 s — what EKS's authenticator verifies.
 */
export function presignGetCallerIdentity(clusterName: string, region: string, credentials: AwsCredentials, now = new Date()): string {
  const host = `sts.${region}.amazonaws.com`;
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${region}/sts/aws4_request`;
  const signedHeaders = 'host;x-k8s-aws-id';
  const query: Record<string, string> = {
    'Action': 'GetCallerIdentity',
    'Version': '2011-06-15',
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': '60',
    'X-Amz-SignedHeaders': signedHeaders,
    ...(credentials.sessionToken ? { 'X-Amz-Security-Token': credentials.sessionToken } : {}),
  };
  const canonicalQuery = Object.keys(query).sort().map((k) => `${rfc3986(k)}=${rfc3986(query[k])}`).join('&');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${host}\nx-k8s-aws-id:${clusterName}\n`, signedHeaders, sha256Hex('')].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), 'sts'), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return `https://${host}/?${canonicalQuery}&X-Amz-Signature=${signature}`;
}

/** An EKS bearer token (`aws eks get-token`): `k8s-aws-v1.` + unpadded base64url of the presigned URL. */
export function eksToken(clusterName: string, region: string, credentials: AwsCredentials = lambdaCredentials(), now = new Date()): string {
  return `k8s-aws-v1.${Buffer.from(presignGetCallerIdentity(clusterName, region, credentials, now)).toString('base64url')}`;
}

export interface HttpAnswer { status: number; body: string }

/** One HTTPS call to the cluster API (its CA pinned), or a plain HTTP call to a load balancer inside the VPC. */
export type Requester = (url: string, init: { method: string; headers?: Record<string, string>; body?: string; ca?: Buffer }) => Promise<HttpAnswer>;

export const nodeRequest: Requester = (url, init) => new Promise((resolve, reject) => {
  const lib = url.startsWith('https:') ? https : http;
  const req = lib.request(url, { method: init.method, headers: init.headers, ca: init.ca, timeout: 20000 }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
  });
  req.on('timeout', () => req.destroy(new Error(`timeout calling ${url}`)));
  req.on('error', reject);
  if (init.body) req.write(init.body);
  req.end();
});

export interface GatewayDeps {
  request: Requester;
  token: () => Promise<string>;
}

const defaultDeps = (): GatewayDeps => ({
  request: nodeRequest,
  token: async () => eksToken(env('CLUSTER_NAME'), env('AWS_REGION')),
});

async function kube(deps: GatewayDeps, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  return deps.request(`${env('CLUSTER_ENDPOINT')}${path}`, {
    method,
    headers: { authorization: `Bearer ${await deps.token()}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    ca: Buffer.from(env('CLUSTER_CA'), 'base64'),
  });
}

const JOB_NAME = /^[a-z0-9]([-a-z0-9]{0,46}[a-z0-9])?$/;
/** Kubernetes names are lowercase; pipeline execution ids are already. */
const jobNameOf = (v: unknown): string => {
  const name = typeof v === 'string' ? v.toLowerCase() : '';
  if (!JOB_NAME.test(name)) throw new BadRequest(`jobName: ${JSON.stringify(v)} — must be 1-48 lowercase letters, digits and hyphens (KubeRay appends suffixes)`);
  return name;
};

export class BadRequest extends Error {}

// Kubernetes objects are deeply nested JSON read by field path; typing every level would not catch more.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = Record<string, any>;

/** The template with this run's name, image and output location; every Ray container gets JOB_NAME and OUTPUT_URI. */
export function renderJob(template: Manifest, jobName: string, imageUri: string | undefined, outputUri: string): Manifest {
  const job: Manifest = JSON.parse(JSON.stringify(template));
  job.metadata = { ...job.metadata, name: jobName };
  const spec = job.spec.rayClusterSpec;
  const pods = [spec.headGroupSpec.template.spec, ...spec.workerGroupSpecs.map((g: Manifest) => g.template.spec)];
  for (const pod of pods) {
    for (const c of pod.containers as Manifest[]) {
      if (c.name !== 'ray-head' && c.name !== 'ray-worker') continue;
      if (imageUri) c.image = imageUri;
      c.env = [...(c.env ?? []), { name: 'JOB_NAME', value: jobName }, { name: 'OUTPUT_URI', value: outputUri }];
    }
  }
  return job;
}

const outputUri = (jobName: string) => `s3://${env('ARTIFACTS_BUCKET')}/${env('OUTPUT_PREFIX')}${jobName}/`;
const jobsPath = () => `/apis/ray.io/v1/namespaces/${env('NAMESPACE')}/rayjobs`;

export async function submit(event: { jobName?: unknown; imageUri?: unknown; template?: unknown }, deps: GatewayDeps) {
  const jobName = jobNameOf(event.jobName);
  const t = event.template as Manifest | undefined;
  if (!t || t.kind !== 'RayJob' || !t.spec?.rayClusterSpec?.headGroupSpec) {
    throw new BadRequest('template: must be a ray.io/v1 RayJob manifest with a rayClusterSpec of its own');
  }
  if (event.imageUri !== undefined && (typeof event.imageUri !== 'string' || !/^[\w.\-/:@]+$/.test(event.imageUri))) {
    throw new BadRequest(`imageUri: ${JSON.stringify(event.imageUri)} — must be an image reference`);
  }
  const job = renderJob(t, jobName, event.imageUri as string | undefined, outputUri(jobName));
  const res = await kube(deps, 'POST', jobsPath(), job);
  if (res.status === 409) {
    logger.info('RayJob exists already; treating the retry as submitted', { jobName });
    return { jobName, submitted: true, existed: true, outputUri: outputUri(jobName) };
  }
  if (res.status !== 201 && res.status !== 200) throw new Error(`creating RayJob ${jobName} answered HTTP ${res.status}: ${res.body.slice(0, 500)}`);
  logger.info('RayJob created', { jobName });
  return { jobName, submitted: true, existed: false, outputUri: outputUri(jobName) };
}

/** Terminal states of KubeRay's RayJob (jobDeploymentStatus and Ray's jobStatus). */
const FAILED_DEPLOYMENT = new Set(['Failed', 'ValidationFailed']);

export async function status(event: { jobName?: unknown }, deps: GatewayDeps) {
  const jobName = jobNameOf(event.jobName);
  const res = await kube(deps, 'GET', `${jobsPath()}/${jobName}`);
  if (res.status === 404) throw new Error(`RayJob ${jobName} does not exist in namespace ${env('NAMESPACE')}`);
  if (res.status !== 200) throw new Error(`reading RayJob ${jobName} answered HTTP ${res.status}: ${res.body.slice(0, 500)}`);
  const s = (JSON.parse(res.body) as Manifest).status ?? {};
  const jobStatus = String(s.jobStatus ?? 'PENDING');
  const deployment = String(s.jobDeploymentStatus ?? 'Initializing');
  const succeeded = jobStatus === 'SUCCEEDED';
  const done = succeeded || jobStatus === 'FAILED' || jobStatus === 'STOPPED' || FAILED_DEPLOYMENT.has(deployment);
  return { jobName, jobStatus, jobDeploymentStatus: deployment, done, succeeded, message: String(s.message ?? s.reason ?? '') };
}

export async function metric(event: { jobName?: unknown; metricName?: unknown }) {
  const jobName = jobNameOf(event.jobName);
  if (typeof event.metricName !== 'string' || !event.metricName) throw new BadRequest(`metricName: ${JSON.stringify(event.metricName)} — must be a metric name`);
  const key = `${env('OUTPUT_PREFIX')}${jobName}/metrics.json`;
  const out = await s3.send(new GetObjectCommand({ Bucket: env('ARTIFACTS_BUCKET'), Key: key }));
  const metrics = JSON.parse(await out.Body!.transformToString()) as Record<string, unknown>;
  const value = metrics[event.metricName];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`s3://${env('ARTIFACTS_BUCKET')}/${key} has no numeric "${event.metricName}" (keys: ${Object.keys(metrics).join(', ') || 'none'})`);
  }
  return { jobName, metricName: event.metricName, value, modelDataUrl: `${outputUri(jobName)}model.tar.gz` };
}

export async function serveSmoke(event: { service?: unknown; routePrefix?: unknown; payload?: unknown }, deps: GatewayDeps) {
  if (typeof event.service !== 'string' || !/^[a-z0-9-]{1,63}$/.test(event.service)) throw new BadRequest(`service: ${JSON.stringify(event.service)} — must be a Kubernetes service name`);
  const route = typeof event.routePrefix === 'string' && event.routePrefix.startsWith('/') ? event.routePrefix.replace(/\/$/, '') : '';
  const res = await kube(deps, 'GET', `/api/v1/namespaces/${env('NAMESPACE')}/services/${event.service}`);
  if (res.status !== 200) throw new Error(`reading service ${event.service} answered HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  const svc = JSON.parse(res.body) as Manifest;
  const ingress = svc.status?.loadBalancer?.ingress?.[0];
  const host = ingress?.hostname ?? ingress?.ip;
  if (!host) throw new Error(`service ${event.service} has no load balancer address yet (type ${svc.spec?.type})`);
  const port = svc.spec?.ports?.[0]?.port ?? 8000;
  const base = `http://${host}:${port}${route}`;
  let payload = event.payload;
  if (payload === undefined) {
    const meta = await deps.request(`${base}/metadata`, { method: 'GET', headers: { accept: 'application/json' } });
    if (meta.status !== 200) return { url: `${base}/metadata`, statusCode: meta.status, body: meta.body.slice(0, 2000) };
    const inputs = (JSON.parse(meta.body) as { inputs?: { shape: (number | string)[] }[] }).inputs ?? [];
    const dims = (inputs[0]?.shape ?? [-1, 1]).slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const build = (rest: number[]): unknown => (rest.length === 0 ? 0 : Array.from({ length: rest[0] }, () => build(rest.slice(1))));
    payload = { instances: [build(dims)] };
  }
  const started = Date.now();
  const answer = await deps.request(`${base}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  return { url: `${base}/invocations`, statusCode: answer.status, body: answer.body.slice(0, 2000), latencyMs: Date.now() - started, payload };
}

export async function handler(event: Record<string, unknown>, _context?: unknown, deps: GatewayDeps = defaultDeps()) {
  switch (event.action) {
    case 'submit': return submit(event, deps);
    case 'status': return status(event, deps);
    case 'metric': return metric(event);
    case 'serveSmoke': return serveSmoke(event, deps);
    default: throw new BadRequest(`action: ${JSON.stringify(event.action)} — must be submit, status, metric or serveSmoke`);
  }
}
