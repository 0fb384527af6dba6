/**
 * How long a client waits between tries: exponential backoff with jitter,
 * and a wait that ends early when the client closes.
 *
 * @module
 */

import type { Deadline } from "../base/deadline.ts";
import { housekeeping } from "../base/timers.ts";

/** The waits between tries: doubling from `retryDelay`, capped, with jitter. */
export class Backoff {
  readonly #retryDelay: number;
  readonly #maxRetryDelay: number;
  readonly #random: () => number;

  /**
   * Creates a `Backoff`.
   *
   * @param retryDelay The wait after the first failed try, in milliseconds.
   * @param maxRetryDelay The longest wait, in milliseconds.
   * @param random A number from 0 (included) to 1 (excluded); a test's own
   * makes the jitter predictable.
   */
  constructor(
    retryDelay: number,
    maxRetryDelay: number,
    random: () => number = Math.random,
  ) {
    this.#retryDelay = retryDelay;
    this.#maxRetryDelay = maxRetryDelay;
    this.#random = random;
  }

  /**
   * The wait after failed try number `attempt` (from 1): the capped delay,
   * shortened by up to half at random so that many clients do not retry
   * in step.
   *
   * @param attempt How many tries failed so far.
   * @returns Milliseconds, from half the capped delay to all of it.
   *
   * @example
   * ```ts
   * import { Backoff } from "./backoff.ts";
   * import assert from "node:assert/strict";
   *
   * const backoff = new Backoff(100, 1_000, () => 0);
   * assert.equal(backoff.delay(1), 50);
   * assert.equal(backoff.delay(3), 200);
   * assert.equal(backoff.delay(10), 500);
   * ```
   */
  delay(attempt: number): number {
    const delay = Math.min(
      this.#maxRetryDelay,
      this.#retryDelay * 2 ** (attempt - 1),
    );
    return delay / 2 + this.#random() * delay / 2;
  }

  /**
   * Waits the backoff after failed try number `attempt`, or less: until a
   * call's deadline, or the close.
   *
   * @param attempt How many tries failed so far.
   * @param deadline The call's deadline, if a call waits.
   * @param closing Aborts when the client closes: the wait ends then.
   * @returns Resolves when the wait is over; never rejects.
   *
   * @example
   * ```ts
   * import { Backoff } from "./backoff.ts";
   * import { Deadline } from "../base/deadline.ts";
   * import assert from "node:assert/strict";
   *
   * const backoff = new Backoff(10_000, 10_000);
   * const started = performance.now();
   * await backoff.pause(1, Deadline.after(20), new AbortController().signal);
   * assert.ok(performance.now() - started < 5_000);
   * ```
   */
  pause(
    attempt: number,
    deadline: Deadline | undefined,
    closing: AbortSignal,
  ): Promise<void> {
    const wait = this.delay(attempt);
    return pause(
      deadline === undefined
        ? wait
        : Math.max(0, Math.min(wait, deadline.left())),
      closing,
    );
  }
}

/**
 * Waits, or stops waiting as soon as `signal` aborts (the client closed).
 *
 * @param milliseconds How long.
 * @param signal Ends the wait early.
 * @param isQuiet Whether the wait lets the process end meanwhile: for
 * work in the background that no caller waits for.
 * @returns Resolves after the wait, or at the abort; never rejects.
 */
export function pause(
  milliseconds: number,
  signal: AbortSignal,
  isQuiet = false,
): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, milliseconds);
    if (isQuiet) housekeeping(timer);
    signal.addEventListener("abort", done);
  });
}
