/**
 * The errors a call fails with on this side, without an answer: options
 * out of range, and a deadline that passed.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import { MAX_TIMEOUT } from "../base/timers.ts";
import { MAX_WINDOW } from "../protocol/message_type.ts";
import { safeString } from "../protocol/wire_error.ts";

/**
 * Checks a call's `timeout` option.
 *
 * @param timeout Milliseconds, 0 for none.
 * @returns The error when it is out of range, else `undefined`.
 *
 * @example
 * ```ts
 * import { invalidTimeout } from "./call_errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(invalidTimeout(1_000), undefined);
 * assert.equal(invalidTimeout(-1)?.code, "INVALID_OPTIONS");
 * ```
 */
export function invalidTimeout(timeout: number): ClientError | undefined {
  if (timeout >= 0 && timeout <= MAX_TIMEOUT) return undefined;
  return new ClientError(
    "INVALID_OPTIONS",
    `Option timeout must be a number of milliseconds from 0 to ${MAX_TIMEOUT}; got ${
      safeString(timeout)
    }.`,
  );
}

/**
 * Checks a streamed call's `window` option.
 *
 * @param window How many items the caller takes before granting more.
 * @returns The error when it is out of range, else `undefined`.
 */
export function invalidWindow(window: number): ClientError | undefined {
  if (Number.isInteger(window) && window >= 1 && window <= MAX_WINDOW) {
    return undefined;
  }
  return new ClientError(
    "INVALID_OPTIONS",
    `Option window must be an integer from 1 to ${MAX_WINDOW}; got ${
      safeString(window)
    }.`,
  );
}

/**
 * The error of a call whose deadline passed.
 *
 * @param action The action's name.
 * @param timeout The deadline, in milliseconds.
 * @param items How many stream items arrived before it.
 * @returns A `TIMEOUT` error.
 */
export function timedOut(
  action: string,
  timeout: number,
  items: number,
): ClientError {
  return new ClientError(
    "TIMEOUT",
    items > 0
      ? `The stream from "${action}" timed out after ${items} item${
        items === 1 ? "" : "s"
      }: its ${timeout} ms were up before it ended.`
      : `"${action}" did not answer within ${timeout} ms.`,
  );
}
