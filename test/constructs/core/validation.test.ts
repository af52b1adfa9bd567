import { inspect } from 'node:util';
import { PropsValidationError, PropsValidator } from '../../../constructs/core/validation';
import { newStack } from '../../helpers';

describe('PropsValidator', () => {
  const stack = newStack();
  let error: PropsValidationError;
  beforeAll(() => {
    try {
      new PropsValidator(stack, 'Example').check(false, 'size', 7, 'must be even').intRange('count', 0, 1, 3, 'items').throwIfInvalid();
    } catch (e) {
      error = e as PropsValidationError;
    }
  });

  test('throws once with every problem, naming prop, value and rule', () => {
    expect(error).toBeInstanceOf(PropsValidationError);
    expect(error.problems).toEqual(['size: 7 — must be even', 'count: 0 — must be a whole number between 1 and 3 items']);
    expect(error.message).toContain('Example at "Test" has invalid props:\n  - size: 7 — must be even');
  });

  test('prints the problems once: no problems array after the stack trace', () => {
    const printed = inspect(error);
    expect(printed.split('must be even').length - 1).toBe(1);
    expect(printed).not.toContain('problems:');
  });
});
