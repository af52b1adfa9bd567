import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash, createHmac } from 'node:crypto';
import {
  eksToken, type GatewayDeps, handler, presignGetCallerIdentity, type Requester,
} from '../../../lambda/ray-job-gateway';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'token/with+chars=' };
const when = new Date('2026-12-01T22:30:00.000Z');

/** An independent SigV4 implementation (the one the AWS SDK itself uses) as the reference. */
class Sha256 {
  private readonly h;
  constructor(secret?: unknown) { this.h = secret ? createHmac('sha256', secret as string) : createHash('sha256'); }
  update(d: string | Uint8Array) { this.h.update(d); }
  async digest() { return new Uint8Array(this.h.digest()); }
}

const template = {
  apiVersion: 'ray.io/v1', kind: 'RayJob', metadata: { name: 'placeholder', namespace: 'ray' },
  spec: {
    entrypoint: 'python train.py',
    rayClusterSpec: {
      headGroupSpec: { template: { spec: { containers: [{ name: 'ray-head', image: 'rayproject/ray:2.57.0-py311' }, { name: 'dashboard-publisher', image: 'rayproject/ray:2.57.0-py311' }] } } },
      workerGroupSpecs: [{ groupName: 'gpu', template: { spec: { containers: [{ name: 'ray-worker', image: 'rayproject/ray:2.57.0-py311-gpu', env: [{ name: 'A', value: '1' }] }] } } }],
    },
  },
};

beforeAll(() => {
  Object.assign(process.env, {
    CLUSTER_NAME: 'mlops-dev-training', CLUSTER_ENDPOINT: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', CLUSTER_CA: Buffer.from('ca').toString('base64'),
    AWS_REGION: 'eu-west-1', NAMESPACE: 'ray', ARTIFACTS_BUCKET: 'artifacts-bucket', OUTPUT_PREFIX: 'ray-jobs/'
  });
});

function fakeApi(answers: Record<string, { status: number; body?: unknown }>) {
  const calls: { url: string; method: string; headers?: Record<string, string>; body?: any }[] = [];
  const request: Requester = async (url, init) => {
    calls.push({ url, method: init.method, headers: init.headers, body: init.body ? JSON.parse(init.body) : undefined });
    const a = answers[`${init.method} ${url}`];
    if (!a) return { status: 599, body: `unexpected ${init.method} ${url}` };
    return { status: a.status, body: typeof a.body === 'string' ? a.body : JSON.stringify(a.body ?? {}) };
  };
  const deps: GatewayDeps = { request, token: async () => 'k8s-aws-v1.test' };
  return { calls, deps };
}

describe('EKS token', () => {
  test('the presigned GetCallerIdentity URL matches the AWS SDK\'s SigV4 presigner, header and all', async () => {
    const reference = await new SignatureV4({ credentials: creds, region: 'eu-west-1', service: 'sts', sha256: Sha256 as never }).presign({
      method: 'GET', protocol: 'https:', hostname: 'sts.eu-west-1.amazonaws.com', path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: 'sts.eu-west-1.amazonaws.com', 'x-k8s-aws-id': 'mlops-dev-training' },
    }, { expiresIn: 60, signingDate: when });
    const ours = new URL(presignGetCallerIdentity('mlops-dev-training', 'eu-west-1', creds, when));
    expect(ours.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(Object.fromEntries(ours.searchParams)).toEqual(reference.query);
    expect(ours.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
  });

  test('the token is k8s-aws-v1. plus unpadded base64url of that URL', () => {
    const token = eksToken('mlops-dev-training', 'eu-west-1', creds, when);
    expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    expect(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString()).toBe(presignGetCallerIdentity('mlops-dev-training', 'eu-west-1', creds, when));
  });
});

describe('RayJob submit and status through the private API', () => {
  const jobs = 'https://ABC.gr7.eu-west-1.eks.amazonaws.com/apis/ray.io/v1/namespaces/ray/rayjobs';

  test('submit creates the RayJob named after the run, with the pipeline image and OUTPUT_URI on Ray containers only', async () => {
    const { calls, deps } = fakeApi({ [`POST ${jobs}`]: { status: 201 } });
    const out = await handler({ action: 'submit', template, jobName: 'mlops-dev-1a2b', imageUri: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/training:abc' }, undefined, deps);
    expect(out).toEqual({ jobName: 'mlops-dev-1a2b', submitted: true, existed: false, outputUri: 's3://artifacts-bucket/ray-jobs/mlops-dev-1a2b/' });
    expect(calls[0].headers!.authorization).toBe('Bearer k8s-aws-v1.test');
    const job = calls[0].body;
    expect(job.metadata.name).toBe('mlops-dev-1a2b');
    const head = job.spec.rayClusterSpec.headGroupSpec.template.spec.containers;
    expect(head[0]).toMatchObject({ image: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/training:abc', env: [{ name: 'JOB_NAME', value: 'mlops-dev-1a2b' }, { name: 'OUTPUT_URI', value: 's3://artifacts-bucket/ray-jobs/mlops-dev-1a2b/' }] });
    expect(head[1].image).toBe('rayproject/ray:2.57.0-py311');
    expect(job.spec.rayClusterSpec.workerGroupSpecs[0].template.spec.containers[0].env).toHaveLength(3);
  });

  test('a retry after the job was created counts as submitted; other API errors fail loudly', async () => {
    expect(await handler({ action: 'submit', template, jobName: 'run-1' }, undefined, fakeApi({ [`POST ${jobs}`]: { status: 409 } }).deps)).toMatchObject({ existed: true });
    await expect(handler({ action: 'submit', template, jobName: 'run-1' }, undefined, fakeApi({ [`POST ${jobs}`]: { status: 403, body: 'forbidden: User cannot create rayjobs' } }).deps))
      .rejects.toThrow(/creating RayJob run-1 answered HTTP 403: forbidden/);
    await expect(handler({ action: 'submit', template, jobName: 'Bad_Name!' }, undefined, fakeApi({}).deps)).rejects.toThrow(/jobName: "Bad_Name!" — must be 1-48 lowercase/);
    await expect(handler({ action: 'submit', template: { kind: 'RayCluster' }, jobName: 'run-1' }, undefined, fakeApi({}).deps)).rejects.toThrow(/template: must be a ray.io\/v1 RayJob manifest/);
  });

  test.each([
    [{ jobDeploymentStatus: 'Running', jobStatus: 'RUNNING' }, false, false],
    [{ jobDeploymentStatus: 'Complete', jobStatus: 'SUCCEEDED' }, true, true],
    [{ jobDeploymentStatus: 'Failed', jobStatus: 'FAILED', message: 'OOM' }, true, false],
    [{ jobDeploymentStatus: 'ValidationFailed' }, true, false],
    [undefined, false, false],
  ])('status %j → done %s, succeeded %s', async (status, done, succeeded) => {
    const { deps } = fakeApi({ [`GET ${jobs}/run-1`]: { status: 200, body: { status } } });
    expect(await handler({ action: 'status', jobName: 'run-1' }, undefined, deps)).toMatchObject({ done, succeeded });
  });
});

describe('metric', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  test('reads the job\'s metrics.json and names the model artifact', async () => {
    s3.on(GetObjectCommand, { Bucket: 'artifacts-bucket', Key: 'ray-jobs/run-1/metrics.json' })
      .resolves({ Body: { transformToString: async () => '{"validation:accuracy": 0.91}' } as never });
    expect(await handler({ action: 'metric', jobName: 'run-1', metricName: 'validation:accuracy' }))
      .toEqual({ jobName: 'run-1', metricName: 'validation:accuracy', value: 0.91, modelDataUrl: 's3://artifacts-bucket/ray-jobs/run-1/model.tar.gz' });
    await expect(handler({ action: 'metric', jobName: 'run-1', metricName: 'loss' })).rejects.toThrow(/has no numeric "loss" \(keys: validation:accuracy\)/);
  });
});

describe('serveSmoke', () => {
  const svc = 'https://ABC.gr7.eu-west-1.eks.amazonaws.com/api/v1/namespaces/ray/services/reference-model-serve-svc';
  const lb = 'http://internal-abc.elb.eu-west-1.amazonaws.com:8000/reference-model';
  test('finds the internal NLB, builds a sample from /metadata and posts it to /invocations', async () => {
    const { calls, deps } = fakeApi({
      [`GET ${svc}`]: { status: 200, body: { spec: { type: 'LoadBalancer', ports: [{ port: 8000 }] }, status: { loadBalancer: { ingress: [{ hostname: 'internal-abc.elb.eu-west-1.amazonaws.com' }] } } } },
      [`GET ${lb}/metadata`]: { status: 200, body: { inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 4] }] } },
      [`POST ${lb}/invocations`]: { status: 200, body: { predictions: [[0.2, 0.3, 0.5]] } },
    });
    const out = await handler({ action: 'serveSmoke', service: 'reference-model-serve-svc', routePrefix: '/reference-model' }, undefined, deps) as any;
    expect(out).toMatchObject({ statusCode: 200, payload: { instances: [[0, 0, 0, 0]] } });
    expect(JSON.parse(out.body)).toEqual({ predictions: [[0.2, 0.3, 0.5]] });
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([`GET ${svc}`, `GET ${lb}/metadata`, `POST ${lb}/invocations`]);
  });
  test('no load balancer address yet is an error naming the service', async () => {
    const { deps } = fakeApi({ [`GET ${svc}`]: { status: 200, body: { spec: { type: 'LoadBalancer' }, status: {} } } });
    await expect(handler({ action: 'serveSmoke', service: 'reference-model-serve-svc' }, undefined, deps)).rejects.toThrow(/reference-model-serve-svc has no load balancer address yet/);
  });
});
