import * as fs from 'node:fs';
import * as path from 'node:path';
import { type CfnTemplate, estimateIdleCost, type EstimateOptions, type IdleCostEstimate, type StackTemplate } from './estimate';

/*
 * Reads a cloud assembly (a `cdk.out` directory) as plain JSON, without loading the CDK, so the CLI can price
 * any app's synthesized output and the app can print its summary right after `app.synth()`.
 */

/** The stacks of one stage (a nested cloud assembly) or one top-level stack. */
export interface StackGroup {
  /** Stage name (`dev`, `Pipeline/Prod`) or, for a stack outside any stage, its artifact id. */
  readonly name: string;
  readonly stacks: readonly StackTemplate[];
}

type ArtifactMetadata = Record<string, ReadonlyArray<{ readonly type: string; readonly data?: unknown }>>;

interface ManifestArtifact {
  readonly type: string;
  readonly metadata?: ArtifactMetadata;
  readonly additionalMetadataFile?: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: { readonly templateFile?: string; readonly stackName?: string; readonly directoryName?: string; readonly displayName?: string };
}

function readJson<T>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}. Is it a cloud assembly (the output of cdk synth)?`);
  }
  return JSON.parse(text) as T;
}

/** `aws://123456789012/eu-west-1` → `eu-west-1`; undefined for environment-agnostic stacks. */
export function regionOfEnvironment(environment: string | undefined): string | undefined {
  const region = environment?.split('/')[3];
  return region && region !== 'unknown-region' ? region : undefined;
}

/** Logical id → construct path (`dev/Network/Vpc/NatGateway`), from a stack artifact's metadata. */
function constructPaths(dir: string, artifact: ManifestArtifact): Record<string, string> {
  const metadata: ArtifactMetadata = { ...artifact.metadata };
  if (artifact.additionalMetadataFile) {
    const file = path.join(dir, artifact.additionalMetadataFile);
    if (fs.existsSync(file)) Object.assign(metadata, readJson<ArtifactMetadata>(file));
  }
  return pathsOf(metadata);
}

/**
 * Construct paths of a template's resources from the `<id>.metadata.json` file CDK writes beside `<id>.template.json`
 * (empty when there is none), for validation plugins, which get template paths but not the manifest.
 */
export function constructPathsBeside(templatePath: string): Record<string, string> {
  const file = templatePath.replace(/\.template\.json$/, '.metadata.json');
  return file !== templatePath && fs.existsSync(file) ? pathsOf(readJson<ArtifactMetadata>(file)) : {};
}

function pathsOf(metadata: ArtifactMetadata): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const [constructPath, entries] of Object.entries(metadata)) {
    for (const entry of entries) {
      if (entry.type === 'aws:cdk:logicalId' && typeof entry.data === 'string') paths[entry.data] = constructPath.replace(/^\//, '').replace(/\/(Resource|Default)$/, '');
    }
  }
  return paths;
}

/**
 * Every stack of a cloud assembly, grouped by stage: one group per nested assembly (a CDK `Stage`), and one per
 * stack that is not in a stage. Groups come in manifest order, stages before the top-level stacks.
 */
export function readCloudAssembly(directory: string): StackGroup[] {
  const groups: StackGroup[] = [];
  const topLevel: StackGroup[] = [];
  const visit = (dir: string, stageName: string | undefined): void => {
    const manifest = readJson<{ artifacts?: Record<string, ManifestArtifact> }>(path.join(dir, 'manifest.json'));
    const stacks: StackTemplate[] = [];
    for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
      if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
        visit(path.join(dir, artifact.properties.directoryName), artifact.properties.displayName ?? id);
      } else if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) {
        const templatePath = path.join(dir, artifact.properties.templateFile);
        const stack: StackTemplate = {
          stackName: artifact.properties.stackName ?? id,
          template: readJson<CfnTemplate>(templatePath),
          region: regionOfEnvironment(artifact.environment),
          templatePath,
          paths: constructPaths(dir, artifact),
        };
        if (stageName === undefined) topLevel.push({ name: artifact.displayName ?? id, stacks: [stack] });
        else stacks.push(stack);
      }
    }
    if (stageName !== undefined && stacks.length > 0) groups.push({ name: stageName, stacks });
  };
  visit(directory, undefined);
  return [...groups, ...topLevel];
}

/** The idle estimate of each stage (and each top-level stack) of a cloud assembly. */
export function estimateCloudAssembly(directory: string, options: Omit<EstimateOptions, 'name'> = {}): IdleCostEstimate[] {
  return readCloudAssembly(directory).map((g) => estimateIdleCost(g.stacks, { ...options, name: g.name }));
}
