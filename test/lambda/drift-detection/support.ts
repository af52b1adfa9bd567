import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

/** Deterministic random numbers (mulberry32), so fixtures and drift figures are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller). */
export function normal(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Training-like rows: 4 features, N(0,1) each, plus `shift[i]` added to feature i. */
export function rows(n: number, seed: number, shift: number[] = [0, 0, 0, 0]): number[][] {
  const z = normal(rng(seed));
  return Array.from({ length: n }, () => shift.map((s) => Math.round((z() + s) * 1000) / 1000));
}

/**
 * A stateful S3 stub: objects live in a map; ListObjectsV2 honours Prefix and Delimiter, GetObject streams the
 * body, PutObject stores it (with the SSE settings, so tests can assert encryption).
 */
export function s3Store(client: S3Client) {
  const objects = new Map<string, { body: string; sse?: string; kmsKeyId?: string }>();
  const mock = mockClient(client);
  mock.on(ListObjectsV2Command).callsFake((input: { Bucket: string; Prefix?: string; Delimiter?: string }) => {
    const prefix = `${input.Bucket}/${input.Prefix ?? ''}`;
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(input.Bucket.length + 1));
    if (!input.Delimiter) return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
    const direct: string[] = [];
    const common = new Set<string>();
    for (const k of keys) {
      const rest = k.slice((input.Prefix ?? '').length);
      const i = rest.indexOf(input.Delimiter);
      if (i < 0) direct.push(k);
      else common.add(`${input.Prefix ?? ''}${rest.slice(0, i + 1)}`);
    }
    return { Contents: direct.map((Key) => ({ Key })), CommonPrefixes: [...common].map((Prefix) => ({ Prefix })), IsTruncated: false };
  });
  mock.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const o = objects.get(`${input.Bucket}/${input.Key}`);
    if (!o) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: { transformToString: async () => o.body } };
  });
  mock.on(PutObjectCommand).callsFake((input: { Bucket: string; Key: string; Body: string; ServerSideEncryption?: string; SSEKMSKeyId?: string }) => {
    objects.set(`${input.Bucket}/${input.Key}`, { body: String(input.Body), sse: input.ServerSideEncryption, kmsKeyId: input.SSEKMSKeyId });
    return {};
  });
  return {
    mock,
    objects,
    put: (bucket: string, key: string, body: string) => objects.set(`${bucket}/${key}`, { body }),
    get: (bucket: string, key: string) => objects.get(`${bucket}/${key}`),
    keys: (bucket: string, prefix = '') => [...objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => k.slice(bucket.length + 1)),
  };
}

/** Lines as SageMaker data capture writes them for a JSON endpoint (one request of one instance per line). */
export function sageMakerCaptureLines(instances: number[][], start: Date, predictionsOf: (r: number[]) => number[]): string[] {
  return instances.map((r, i) => JSON.stringify({
    captureData: {
      endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: JSON.stringify({ instances: [r] }), encoding: 'JSON' },
      endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: JSON.stringify({ predictions: [predictionsOf(r)] }), encoding: 'JSON' },
    },
    eventMetadata: { eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, inferenceId: String(i), inferenceTime: new Date(start.getTime() + i * 1000).toISOString().replace(/\.\d+Z$/, 'Z') },
    eventVersion: '0',
  }));
}

/** Softmax of the reference classifier's logits (the weights of test/lambda/model-server/fixtures.ts). */
export function classify(r: number[]): number[] {
  const w = [[1, 0, -1], [0, 2, 0], [-0.5, 0.5, 1.5], [0.25, -0.25, 0]];
  const b = [0.5, -0.5, 0];
  const logits = b.map((bias, j) => bias + r.slice(0, 4).reduce((s, x, i) => s + x * w[i][j], 0));
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const sum = e.reduce((a, c) => a + c, 0);
  return e.map((x) => Math.round((x / sum) * 1e6) / 1e6);
}

export const argmax = (p: number[]) => p.indexOf(Math.max(...p));
