import { Token } from 'aws-cdk-lib';
import { type IConstruct } from 'constructs';

// jsii cannot model a subclass of JavaScript's `Error` (it is a variable, not a class, in the standard library's
// types), so, as aws-cdk-lib does for its `ValidationError`, the error class derives from an unexported base and is
// hidden from jsii: TypeScript consumers import `PropsValidationError`, Python sees a `RuntimeError` with the same
// message.
abstract class ConstructPropsError extends Error {}

/**
 * Thrown at synth time when a construct's props are invalid. The message names each prop, value and rule.
 * @internal
 */
export class PropsValidationError extends ConstructPropsError {
  /** One entry per invalid prop. */
  declare public readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[]) {
    super(message);
    this.name = 'PropsValidationError';
    // Not enumerable, so Node prints the message once, not the problems again as an array after the stack trace.
    Object.defineProperty(this, 'problems', { value: problems, enumerable: false });
  }
}

/** @internal A single-problem {@link PropsValidationError}, for misuse found outside a props check (a wrong call or wiring). */
export function propsError(message: string): PropsValidationError {
  return new PropsValidationError(message, [message]);
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) || (v && typeof v === 'object') ? JSON.stringify(v) : String(v));

/**
 * @internal
 * Collects every prop problem of a construct, then throws once with all of them. Values that are
 * unresolved tokens are skipped: they can only be checked at deploy time.
 */
export class PropsValidator {
  private readonly problems: string[] = [];

  constructor(
    private readonly scope: IConstruct,
    private readonly constructName: string,
  ) {}

  /** Records a problem unless `ok` holds. */
  check(ok: boolean, prop: string, value: unknown, allowed: string): this {
    if (!ok && !Token.isUnresolved(value)) this.problems.push(`${prop}: ${show(value)} — ${allowed}`);
    return this;
  }

  /** Checks an optional integer lies in [min, max]. */
  intRange(prop: string, value: number | undefined, min: number, max: number, unit = ''): this {
    if (value === undefined || Token.isUnresolved(value)) return this;
    const suffix = unit ? ` ${unit}` : '';
    return this.check(Number.isInteger(value) && value >= min && value <= max, prop, value, `must be a whole number between ${min} and ${max}${suffix}`);
  }

  /** Throws a PropsValidationError listing every problem, if any. */
  throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    throw new PropsValidationError(
      `${this.constructName} at "${this.scope.node.path}" has invalid props:\n${this.problems.map((p) => `  - ${p}`).join('\n')}`,
      this.problems,
    );
  }
}
