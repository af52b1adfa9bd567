import * as fs from 'node:fs';
import type {
  IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport,
} from 'aws-cdk-lib';
import { constructPathsBeside } from './assembly';
import { estimateIdleCost, type IdleCostEstimate, type StackTemplate } from './estimate';
import { dollars } from './render';
import { type PriceTable } from './prices';

export interface IdleCostBudgetProps {
  /** Monthly idle estimate (USD) above which synth fails. */
  readonly monthlyIdleUsd: number;
  /** What is priced, for the message (e.g. the stage name). @default 'the app' */
  readonly name?: string;
  /** The setting users change to raise the budget, named in the message. @default 'monthlyIdleUsd' */
  readonly settingName?: string;
  /** Items named in the failure. @default 3 */
  readonly biggestItems?: number;
  /** @default DEFAULT_PRICE_TABLE */
  readonly prices?: PriceTable;
}

/** The failure message when an estimate is above budget, naming the biggest items; undefined when within. */
export function budgetProblem(estimate: IdleCostEstimate, props: IdleCostBudgetProps): string | undefined {
  if (estimate.monthlyUsd <= props.monthlyIdleUsd) return undefined;
  const biggest = estimate.items.slice(0, props.biggestItems ?? 3)
    .map((i) => `${i.kind} ${i.path ?? `${i.stackName}/${i.logicalId}`} ${dollars(i.monthlyUsd)} (${i.detail})`);
  return `Idle cost estimate of ${props.name ?? 'the app'} is ${dollars(estimate.monthlyUsd)}/month, above ${props.settingName ?? 'monthlyIdleUsd'} `
    + `(${dollars(props.monthlyIdleUsd)}). Biggest items: ${biggest.join('; ')}. `
    + `Switch those off or shrink them, or raise ${props.settingName ?? 'monthlyIdleUsd'}; \`cdk-mlops cost\` lists every item.`;
}

/**
 * A validation plugin that fails synth when the idle estimate of the stacks it validates (those of the scope it is
 * added to with `Validations.of(scope).addPlugins(...)`) is above a monthly budget.
 */
export class IdleCostBudget implements IPolicyValidationPlugin {
  public readonly name = 'cdk-mlops-idle-cost';
  public readonly ruleIds = ['IdleCostBudget'];

  constructor(private readonly props: IdleCostBudgetProps) {
    if (!(props.monthlyIdleUsd > 0)) throw new Error(`IdleCostBudget: monthlyIdleUsd ${props.monthlyIdleUsd} — must be a number of dollars above 0`);
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const stacks: StackTemplate[] = context.stackTemplates.map((s) => ({
      stackName: s.stackConstructPath,
      template: JSON.parse(fs.readFileSync(s.templatePath, 'utf8')),
      region: s.region,
      templatePath: s.templatePath,
      paths: constructPathsBeside(s.templatePath),
    }));
    const estimate = estimateIdleCost(stacks, { name: this.props.name, prices: this.props.prices });
    const problem = budgetProblem(estimate, this.props);
    if (!problem) return { success: true, violations: [] };
    return {
      success: false,
      violations: [{
        ruleName: 'IdleCostBudget',
        description: problem,
        fix: `Raise ${this.props.settingName ?? 'monthlyIdleUsd'} or switch off the items named.`,
        // The biggest item only: the report repeats the description once per resource, and it names the others.
        violatingResources: estimate.items.slice(0, 1).map((i) => ({
          resourceLogicalId: i.logicalId,
          templatePath: i.templatePath ?? '',
          locations: [],
        })),
      }],
    };
  }
}
