import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type * as AwsModule from './aws';
import type { Aws, AwsOptions } from './aws';
import type * as CostModule from './commands/cost';
import type * as PromoteModule from './commands/promote';
import type * as RollbackModule from './commands/rollback';
import type { RollbackTarget } from './commands/rollback';
import type * as SmokeModule from './commands/smoke';
import type { SmokeTarget } from './commands/smoke';
import type * as StatusModule from './commands/status';
import { CliError, ExitCode } from './errors';
import { type Io } from './output';

type Options = NonNullable<ParseArgsConfig['options']>;

/*
 * The SDK clients and the commands load only when a command runs, so `--help` and usage errors answer in about
 * 0.1 s. `require`, not `import()`: the package is CommonJS and jest's transform would keep `import()` native.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const lazy = {
  aws: () => require('./aws') as typeof AwsModule,
  status: () => require('./commands/status') as typeof StatusModule,
  smoke: () => require('./commands/smoke') as typeof SmokeModule,
  promote: () => require('./commands/promote') as typeof PromoteModule,
  rollback: () => require('./commands/rollback') as typeof RollbackModule,
  cost: () => require('./commands/cost') as typeof CostModule,
};
/* eslint-enable @typescript-eslint/no-require-imports */

const GLOBAL_OPTIONS: Options = {
  region: { type: 'string' },
  profile: { type: 'string' },
  output: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
  prefix: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = `Global options:
  --region <name>          AWS region (default: AWS_REGION or the profile's region)
  --profile <name>         named AWS profile (default: AWS_PROFILE or the default chain)
  --output table|json      human table (default) or one JSON document on stdout; --json is short for json
  --prefix <prefix>        stack name prefix: stacks are <prefix>-<stage>-<Part> (default: mlops)
  -h, --help               help for the command`;

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: Options;
  readonly details: string;
}

const STAGE_HELP = '  --stage <name>           the stage to inspect (dev, staging, prod)';

const COMMANDS: Record<string, Command> = {
  status: {
    summary: 'Health of a stage: stacks, EKS, Lambda inference, SageMaker endpoints, ECR images, pipelines',
    usage: 'cdk-mlops status --stage <name> [global options]',
    options: { stage: { type: 'string' } },
    details: `${STAGE_HELP}

Reads the stage's CloudFormation stack outputs, then concurrently: the EKS cluster and its node groups
(status, desired/min/max, GPU nodes), the Lambda inference alias (traffic per version, state, provisioned
concurrency), each SageMaker endpoint (status, variants, instances, last deployment) and model package group,
and the latest image of each ECR repository with its scan findings by severity; the stage's pipelines (its
model delivery pipeline, and the infrastructure pipeline when it runs in this account and region): the last
execution (status, start, trigger, where a failed one stopped) and every pending manual approval with its link.
Exit 0 when healthy (warnings such as a canary in progress or a failed pipeline run included), 1 when anything fails, 3 when the
stage is not deployed, 4 when AWS refuses (credentials, permissions, throttling).`,
  },
  smoke: {
    summary: 'Invoke the deployed model(s) once and check the answer',
    usage: 'cdk-mlops smoke --stage <name> [--payload <file.json>] [--target all|lambda|endpoint|ray] [global options]',
    options: { stage: { type: 'string' }, payload: { type: 'string' }, target: { type: 'string' } },
    details: `${STAGE_HELP}
  --payload <file.json>    request body to send, e.g. {"instances": [[0.1, 0.2, 0.3, 0.4]]}
                           (default: built from the Lambda model server's GET /metadata)
  --target all|lambda|endpoint|ray   which deployed models to call (default: all)

Invokes the Lambda inference alias (as an HTTP API request to POST /invocations), every SageMaker endpoint
(InvokeEndpoint) and every Ray Serve app (through the in-VPC Ray job gateway, which calls its internal load
balancer) and checks each answer is {"predictions": [...]} with one prediction per example.
Exit 0 when every call passes, 1 when one fails, 3 when the stage deploys no model.`,
  },
  promote: {
    summary: 'Approve a model package version (starts the approval deployment)',
    usage: 'cdk-mlops promote --model <group> [--version <n>] [--yes] [--reason <text>] [global options]',
    options: { model: { type: 'string' }, version: { type: 'string' }, yes: { type: 'boolean', short: 'y' }, reason: { type: 'string' } },
    details: `  --model <group>          model package group name
  --version <n>            version to approve (default: the newest one pending manual approval)
  -y, --yes                do not ask for confirmation (required when stdin is not a terminal, e.g. CI)
  --reason <text>          approval description recorded on the model package

Shows the version, its image and model data, and the approved version it replaces, asks, then sets
ModelApprovalStatus=Approved. Already approved: nothing to do, exit 0.`,
  },
  rollback: {
    summary: 'Point the Lambda alias or a SageMaker endpoint back at what it ran before',
    usage: 'cdk-mlops rollback --stage <name> --target lambda|endpoint [--endpoint <name>] [--to-version <n>|--to-config <name>] [--yes] [global options]',
    options: {
      stage: { type: 'string' }, target: { type: 'string' }, endpoint: { type: 'string' }, 'to-version': { type: 'string' }, 'to-config': { type: 'string' }, yes: { type: 'boolean', short: 'y' },
    },
    details: `${STAGE_HELP}
  --target lambda|endpoint what to roll back
  --endpoint <name>        the endpoint, when the stage has several
  --to-version <n>         Lambda: this published version (default: mid-canary, drop the new version's share;
                           otherwise the newest published version older than the alias's)
  --to-config <name>       endpoint: this endpoint config (default: the newest older config of the same
                           endpoint whose models still exist — see lib/cli/README.md)
  -y, --yes                do not ask for confirmation (required when stdin is not a terminal, e.g. CI)`,
  },
  cost: {
    summary: 'Monthly idle-cost estimate per stage from its synthesized templates (no AWS calls)',
    usage: 'cdk-mlops cost [--stage <name>|all] [--config <file>] [--assembly <cdk.out>] [--prices <file.json>] [global options]',
    options: { stage: { type: 'string' }, config: { type: 'string' }, assembly: { type: 'string' }, prices: { type: 'string' } },
    details: `  --stage <name>|all       stage(s) to price: dev, staging, prod, a comma-separated list or all (default: dev;
                           with --assembly: every stage in it)
  --config <file>          JSON/YAML config merged over the built-in defaults, as \`-c config=<file>\` (loads the CDK
                           and synthesizes the stages in a temporary directory)
  --assembly <dir>         price an existing cloud assembly instead, e.g. cdk.out of any CDK app (no CDK loaded)
  --prices <file.json>     a price table of the same shape as lib/cost/prices.ts instead of the built-in one

Prints, per stage, what its resources that bill by the hour or month cost while idle: per stack, per resource kind
and per resource, with the assumptions; resources billed by use (S3, logs, invocations, pipeline and training
runs) and resources the price table cannot price are listed apart, never counted as $0.
Exit 0, or 1 when a stage's estimate is above its budget.monthlyIdleUsd.`,
  },
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `cdk-mlops — operate a deployed cdk-mlops platform

Usage: cdk-mlops <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n')}

${GLOBAL_HELP}

Run \`cdk-mlops <command> --help\` for a command's options. Exit codes: 0 ok, 1 unhealthy or failed,
2 usage error, 3 stage or resource not deployed, 4 AWS refused (credentials, permissions, throttling).`;
}

const commandHelp = (c: Command): string => `${c.summary}\n\nUsage: ${c.usage}\n\nOptions:\n${c.details}\n\n${GLOBAL_HELP}`;

export interface RunDeps {
  readonly io: Io;
  /** @default real AWS clients */
  readonly createAws?: (options: AwsOptions) => Aws;
}

function required(values: Record<string, unknown>, name: string, command: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw new CliError('usage', `${command} needs --${name}; see \`cdk-mlops ${command} --help\`.`);
  return v;
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new CliError('usage', `--${name} ${value === undefined ? 'is required' : `"${String(value)}" is not allowed`}: use ${allowed.join(' or ')}.`);
  }
  return value as T;
}

const NAME = /^[a-z][a-z0-9-]{0,30}$/;

function readPayload(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError('usage', `--payload ${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError('usage', `--payload ${file}: not valid JSON (${(err as Error).message}); expected e.g. {"instances": [[0.1, 0.2]]}.`);
  }
}

/** Runs one CLI invocation and returns its exit code; never throws. */
export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const { io } = deps;
  const name = argv[0];
  let json = argv.includes('--json') || argv.some((a, i) => (a === '--output' || a === '-o') && argv[i + 1] === 'json') || argv.includes('--output=json');
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.out(mainHelp());
      return name === undefined ? ExitCode.Usage : ExitCode.Ok;
    }
    const command = COMMANDS[name];
    if (!command) throw new CliError('usage', `Unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}; see \`cdk-mlops --help\`.`);
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({ args: argv.slice(1), options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: false }) as { values: Record<string, string | boolean | undefined> });
    } catch (err) {
      throw new CliError('usage', `${(err as Error).message.split('\n')[0]}; see \`cdk-mlops ${name} --help\`.`);
    }
    if (values.help) {
      io.out(commandHelp(command));
      return ExitCode.Ok;
    }
    const output = values.json ? 'json' : oneOf(values.output, 'output', ['table', 'json'] as const, 'table');
    json = output === 'json';
    const prefix = typeof values.prefix === 'string' ? values.prefix : 'mlops';
    if (!/^[a-z][a-z0-9-]{1,18}[a-z0-9]$/.test(prefix)) throw new CliError('usage', `--prefix "${prefix}" is not allowed: 3-20 lowercase letters, digits and hyphens, starting with a letter.`);
    const stage = (): string => {
      const s = required(values, 'stage', name);
      if (!NAME.test(s)) throw new CliError('usage', `--stage "${s}" is not allowed: a stage name such as dev, staging or prod (lowercase letters, digits, hyphens).`);
      return s;
    };
    // Validate every argument before any AWS call.
    const region = values.region as string | undefined;
    if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new CliError('usage', `--region "${region}" is not an AWS region name such as eu-west-1.`);
    const awsOptions: AwsOptions = { region, profile: values.profile as string | undefined };
    const aws = (): Aws => (deps.createAws ? deps.createAws(awsOptions) : new (lazy.aws().Aws)(awsOptions));
    const print = (value: unknown, human: () => string): void => io.out(json ? JSON.stringify(value, null, 2) : human());

    switch (name) {
      case 'status': {
        const s = stage();
        const { collectStatus, renderStatus } = lazy.status();
        const report = await collectStatus(aws(), prefix, s);
        print(report, () => renderStatus(report, io.color));
        return report.healthy ? ExitCode.Ok : ExitCode.Failed;
      }
      case 'smoke': {
        const s = stage();
        const target = oneOf<SmokeTarget>(values.target, 'target', ['all', 'lambda', 'endpoint', 'ray'], 'all');
        const payload = typeof values.payload === 'string' ? readPayload(values.payload) : undefined;
        const { runSmoke, renderSmoke } = lazy.smoke();
        const report = await runSmoke(aws(), prefix, s, target, payload);
        print(report, () => renderSmoke(report, io.color));
        return report.passed ? ExitCode.Ok : ExitCode.Failed;
      }
      case 'promote': {
        const group = required(values, 'model', name);
        let version: number | undefined;
        if (values.version !== undefined) {
          version = Number(values.version);
          if (!Number.isInteger(version) || version < 1) throw new CliError('usage', `--version "${String(values.version)}" is not allowed: a model package version number (1, 2, ...).`);
        }
        const { runPromote } = lazy.promote();
        const result = await runPromote(aws(), io, { group, version, yes: values.yes === true, reason: values.reason as string | undefined });
        print(result, () => result.message);
        return ExitCode.Ok;
      }
      case 'rollback': {
        const s = stage();
        const target = oneOf<RollbackTarget>(values.target, 'target', ['lambda', 'endpoint']);
        const toVersion = values['to-version'] as string | undefined;
        const toConfig = values['to-config'] as string | undefined;
        if (toVersion !== undefined && (target !== 'lambda' || !/^\d+$/.test(toVersion))) {
          throw new CliError('usage', `--to-version "${toVersion}" is not allowed: a published version number, with --target lambda.`);
        }
        if ((toConfig !== undefined || values.endpoint !== undefined) && target !== 'endpoint') {
          throw new CliError('usage', `--${toConfig !== undefined ? 'to-config' : 'endpoint'} is only allowed with --target endpoint.`);
        }
        const { runRollback, renderRollback } = lazy.rollback();
        const result = await runRollback(aws(), io, prefix, s, target, { yes: values.yes === true, endpoint: values.endpoint as string | undefined, toVersion, toConfig });
        print(result, () => renderRollback(result));
        return ExitCode.Ok;
      }
      case 'cost': {
        const { runCost, renderCost } = lazy.cost();
        const str = (key: string): string | undefined => (typeof values[key] === 'string' ? values[key] as string : undefined);
        const report = runCost({ stage: str('stage'), config: str('config'), assembly: str('assembly'), prices: str('prices') });
        print(report, () => renderCost(report));
        return report.stages.some((s) => s.overBudget) ? ExitCode.Failed : ExitCode.Ok;
      }
      default:
        throw new CliError('usage', `Unknown command "${name}".`);
    }
  } catch (err) {
    const e = err instanceof CliError ? err : new CliError('failed', `Unexpected error: ${(err as Error)?.message ?? String(err)}`);
    if (json) io.out(JSON.stringify({ error: { kind: e.kind, message: e.message, ...(e.action ? { action: e.action } : {}) } }, null, 2));
    io.err(`error: ${e.message}`);
    if (!(err instanceof CliError) && process.env.CDK_MLOPS_DEBUG) io.err(String((err as Error)?.stack));
    return e.exitCode;
  }
}
