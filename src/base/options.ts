/**
 * Checks of the options given to a server or a client, so a typo fails at
 * once with a clear message instead of misbehaving later.
 *
 * @module
 */

/**
 * Returns `value` when it is an integer from `min` to `max`.
 *
 * @throws The error `fail` makes, otherwise.
 */
export function checkIntegerOption(
  name: string,
  value: number,
  min: number,
  max: number,
  fail: (message: string) => Error,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw fail(
      `Option ${name} must be an integer from ${min} to ${max}; got ${
        typeof value === "string" ? `the string "${value}"` : String(value)
      }.`,
    );
  }
  return value;
}
