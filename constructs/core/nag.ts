import {
  type IPolicyValidationContext, type IPolicyValidationPlugin, type PolicyValidationPluginReport, Stack, Validations,
} from 'aws-cdk-lib';
import { type NagPack } from 'cdk-nag';
import { Construct, type IConstruct } from 'constructs';

/** Rule ids of the optional compliance packs (NIST 800-53 R5 and HIPAA) for the same check. */
export function compliancePackIds(rule: string): string[] {
  return [`NIST.800.53.R5-${rule}`, `HIPAA.Security-${rule}`];
}

/**
 * Acknowledges cdk-nag findings on exactly one construct (and its children) with the reason a reviewer
 * reads. Ids are exact, e.g. `AwsSolutions-IAM5[Action::s3:*]`. The one place the project records
 * acknowledgements: audit them with `git grep "acknowledge"`. Reserve it for resources aws-cdk-lib
 * generates, or for a rule the AWS service itself cannot satisfy.
 */
export function acknowledge(construct: IConstruct, ids: readonly string[], reason: string): void {
  for (const id of ids) Validations.of(construct).acknowledge({ id, reason });
}

interface PendingWildcard {
  readonly owner: IConstruct;
  readonly resources: readonly string[];
  readonly reason: string;
}
const pendingByRoot = new WeakMap<IConstruct, PendingWildcard[]>();

/**
 * Records that `principal`'s policies name `resources` that must contain a wildcard (S3 object ARNs such as
 * `bucket/*`, or `*` for actions without resource-level permissions). cdk-nag's IAM5 finding id embeds the
 * resource as resolved in the principal's stack (a `Fn::ImportValue` across stacks), which is only known at
 * validation time; {@link applyPendingAcknowledgements} turns the record into exact acknowledgements then.
 * Principals that are not constructs (service or account principals) need nothing.
 */
export function acknowledgeResourceWildcards(principal: unknown, resources: readonly string[], reason: string): void {
  if (!Construct.isConstruct(principal)) return;
  const root = principal.node.root;
  const list = pendingByRoot.get(root) ?? [];
  list.push({ owner: principal, resources, reason });
  pendingByRoot.set(root, list);
}

/** cdk-nag's rendering of a CloudFormation value inside a finding id (its `flattenCfnReference`). */
function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const o = node as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (o['Fn::Sub']) return flatten(o['Fn::Sub']);
  if (o['Fn::GetAtt']) {
    const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (o['Fn::ImportValue']) return flatten(o['Fn::ImportValue']);
  if (o.Ref) return `<${flatten(o.Ref)}>`;
  return JSON.stringify(node);
}

/** Turns the records of {@link acknowledgeResourceWildcards} under `scope` into exact IAM5 acknowledgements. */
export function applyPendingAcknowledgements(scope: IConstruct): void {
  const prefix = `${scope.node.path}/`;
  for (const entry of pendingByRoot.get(scope.node.root) ?? []) {
    if (scope.node.path !== '' && !entry.owner.node.path.startsWith(prefix)) continue;
    const stack = Stack.of(entry.owner);
    for (const resource of entry.resources) {
      const id = `AwsSolutions-IAM5[Resource::${flatten(stack.resolve(resource))}]`;
      Validations.of(entry.owner).acknowledge({ id, reason: entry.reason });
    }
  }
}

/**
 * Runs one cdk-nag pack on one scope (a Stage or the App) after applying the pending acknowledgements.
 * cdk-nag 3's own `validate` walks the whole app, so a pack registered on each stage would check (and report)
 * every stage once per stage, and a prod-only pack would judge dev too.
 */
export class ScopedNagPlugin implements IPolicyValidationPlugin {
  public readonly name: string;

  constructor(
    private readonly scope: IConstruct,
    public readonly pack: NagPack,
  ) {
    this.name = pack.readPackName;
  }

  validate(_context: IPolicyValidationContext): PolicyValidationPluginReport {
    applyPendingAcknowledgements(this.scope);
    return this.pack.validateScope(this.scope);
  }
}
