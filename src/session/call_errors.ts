/**
 * The errors a call fails with on this side, without an answer: options
 * out of range, and a deadline that passed.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import { MAX_TIMEOUT } from "../base/timers.ts";
import type { CallOptions } from "../dispatch/peer.ts";
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
 * A call's options as a client hands them to its session: when connecting
 * (or an earlier try) took some of the deadline, `timeout` is what is
 * left, and `askedTimeout` what the caller asked for, which is what a
 * `TIMEOUT` error reports. Internal: not among the public `CallOptions`.
 */
export interface SessionCallOptions extends CallOptions {
  /** The timeout the caller asked for, in milliseconds, when `timeout` is less. */
  askedTimeout?: number;
}

/**
 * The error of a call whose deadline passed.
 *
 * @param action The action's name.
 * @param timeout The deadline, in milliseconds.
 * @param items How many stream items arrived before it.
 * @param options The call's options: their `askedTimeout`, when set, is
 * the deadline reported instead of `timeout`.
 * @returns A `TIMEOUT` error.
 *
 * @example
 * ```ts
 * import { timedOut } from "./call_errors.ts";
 * import assert from "node:assert/strict";
 *
 * // 489 ms were left after connecting; the caller asked for 500.
 * const error = timedOut("slow", 489, 0, { timeout: 489, askedTimeout: 500 });
 * assert.equal(error.message, `"slow" did not answer within 500 ms.`);
 * ```
 */
export function timedOut(
  action: string,
  timeout: number,
  items: number,
  options?: SessionCallOptions,
): ClientError {
  timeout = options?.askedTimeout ?? timeout;
  return new ClientError(
    "TIMEOUT",
    items > 0
      ? `The stream from "${action}" timed out after ${items} item${
        items === 1 ? "" : "s"
      }: its ${timeout} ms were up before it ended.`
      : `"${action}" did not answer within ${timeout} ms.`,
  );
}
