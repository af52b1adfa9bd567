import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/** Validators of KubeRay v1.7.0 objects compiled from the CRD copies in test/fixtures/kuberay-crds (Apache-2.0). */
export type Schema = { properties: Record<string, Schema> } & Record<string, unknown>;

const CACHE = path.join(__dirname, '..', 'node_modules', '.cache', 'cdk-mlops-kuberay-crds');

/**
 * The v1 openAPIV3Schema of a KubeRay v1.7.0 CRD. Parsing the 1 MB YAML takes about half a second per CRD, so the
 * schema is kept as JSON under node_modules/.cache, keyed by the YAML's bytes (safe to delete).
 */
export function crdSchema(file: string): Schema {
  const yaml = fs.readFileSync(path.join(__dirname, 'fixtures/kuberay-crds', file));
  const cached = path.join(CACHE, `${file}-${crypto.createHash('sha256').update(yaml).digest('hex').slice(0, 16)}.json`);
  try {
    return JSON.parse(fs.readFileSync(cached, 'utf8')) as Schema;
  } catch {
    // not cached yet (or unreadable): parse the YAML
  }
  const crd = parse(yaml.toString('utf8'));
  const schema = crd.spec.versions.find((v: { name: string }) => v.name === 'v1').schema.openAPIV3Schema as Schema;
  try {
    fs.mkdirSync(CACHE, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(schema));
    fs.renameSync(tmp, cached);
  } catch {
    // a cache that cannot be written costs the next file a parse
  }
  return schema;
}

function translate(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(translate);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = translate(v);
  if (out['x-kubernetes-int-or-string'] === true) {
    delete out.anyOf;
    delete out.type;
    out.oneOf = [{ type: 'integer' }, { type: 'string' }];
  }
  return out;
}

export const withoutDescriptions = (schema: unknown) => JSON.stringify(schema, (k, v) => (k === 'description' ? undefined : v));

export const schemas = {
  RayCluster: crdSchema('ray.io_rayclusters.yaml'),
  RayJob: crdSchema('ray.io_rayjobs.yaml'),
  RayService: crdSchema('ray.io_rayservices.yaml'),
  RayCronJob: crdSchema('ray.io_raycronjobs.yaml'),
};
// RayJob.spec.rayClusterSpec and RayService.spec.rayClusterConfig are the RayCluster spec (asserted below):
// compile that large schema once and reference it, which keeps this file fast.
export const embedded = {
  job: schemas.RayJob.properties.spec.properties.rayClusterSpec,
  service: schemas.RayService.properties.spec.properties.rayClusterConfig,
};

function compileValidators(): Record<'RayCluster' | 'RayJob' | 'RayService' | 'RayCronJob', ValidateFunction> {
  // Ajv's code optimizer (a pass that drops redundant generated code) doubled the compile of these schemas
  // (measured 2.8 s → 1.3 s without it) for no difference in what they accept.
  const ajv = new Ajv({ strict: false, allErrors: true, code: { optimize: false } });
  // The OpenAPI number formats the CRDs use, checked for real rather than ignored.
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('byte', { type: 'string', validate: (s: string) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  ajv.addSchema(translate(schemas.RayCluster.properties.spec) as object, 'raycluster-spec');
  const ref = { $ref: 'raycluster-spec' };
  const swap = (schema: Schema, field: string): Schema => ({
    ...schema,
    properties: { ...schema.properties, spec: { ...schema.properties.spec, properties: { ...schema.properties.spec.properties, [field]: ref as unknown as Schema } } },
  });
  return {
    RayCluster: ajv.compile({ ...(translate(schemas.RayCluster) as object), properties: { ...(translate(schemas.RayCluster) as Schema).properties, spec: ref } }),
    RayJob: ajv.compile(translate(swap(schemas.RayJob, 'rayClusterSpec')) as object),
    RayService: ajv.compile(translate(swap(schemas.RayService, 'rayClusterConfig')) as object),
    // RayCronJob.spec.jobTemplate is the RayJob spec, whose rayClusterSpec is the RayCluster spec again.
    RayCronJob: ajv.compile(translate({
      ...schemas.RayCronJob,
      properties: {
        ...schemas.RayCronJob.properties,
        spec: {
          ...schemas.RayCronJob.properties.spec,
          properties: {
            ...schemas.RayCronJob.properties.spec.properties,
            jobTemplate: swap({ properties: { spec: schemas.RayCronJob.properties.spec.properties.jobTemplate } } as Schema, 'rayClusterSpec').properties.spec,
          },
        },
      },
    }) as object),
  };
}
export const validators = compileValidators();

export function expectValid(manifest: Record<string, unknown>): void {
  const validate = validators[manifest.kind as keyof typeof validators];
  const ok = validate(manifest);
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

