/**
 * Connecting for a call under the call's own deadline and signal: a server
 * that does not answer costs the caller no more than its timeout, and a
 * call whose deadline passes while its connection is still being set up
 * (the TCP connect, the TLS handshake, the hello and authentication, or a
 * wait between tries) fails with `TIMEOUT`, never run.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import type { CallOptions } from "../dispatch/peer.ts";
import {
  abortedError,
  type SessionCallOptions,
} from "../session/outgoing_calls.ts";

/**
 * How early a failure to connect may come and still count as cut by the
 * deadline, in milliseconds: timers run on a millisecond clock, and an
 * attempt's own timeout set to the call's (`handshakeTimeout` equal to
 * `timeout`, as the command line sets them) fires in the same instant.
 */
const CLOCK_SLACK = 1;

/**
 * Whether a call's deadline has passed (or is less than a clock tick
 * away): a failure to connect now was cut by the deadline.
 *
 * @param options The call's deadline.
 * @param started When the wait started (`performance.now()`).
 * @returns `false` without a deadline.
 *
 * @example
 * ```ts
 * import { isPastDeadline } from "./call_deadline.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isPastDeadline({ timeout: 50 }, performance.now() - 60), true);
 * assert.equal(isPastDeadline({ timeout: 50 }, performance.now()), false);
 * assert.equal(isPastDeadline(undefined, 0), false);
 * ```
 */
export function isPastDeadline(
  options: CallOptions | undefined,
  started: number,
): boolean {
  const timeout = options?.timeout;
  return !!timeout && performance.now() - started >= timeout - CLOCK_SLACK;
}

/**
 * The error of a call whose deadline passed before its connection was set
 * up: `TIMEOUT`, never run, with the last failure to connect as its cause.
 *
 * @param options The call's deadline.
 * @param cause Why the connection was not ready, when known.
 * @returns The error.
 *
 * @example
 * ```ts
 * import { setupTimeout } from "./call_deadline.ts";
 * import assert from "node:assert/strict";
 *
 * const error = setupTimeout({ timeout: 200 }, new Error("refused"));
 * assert.equal(error.code, "TIMEOUT");
 * assert.equal(error.wasRun, false);
 * ```
 */
export function setupTimeout(
  options: CallOptions,
  cause?: unknown,
): ClientError {
  const asked = (options as SessionCallOptions).askedTimeout ??
    options.timeout;
  return new ClientError(
    "TIMEOUT",
    `No connection to the server within the call's ${asked} ms.${
      cause instanceof Error ? ` Last failure: ${cause.message}` : ""
    }`,
    cause === undefined ? { wasRun: false } : { wasRun: false, cause },
  );
}

/**
 * Whether a failure is one to connect, which a deadline passing at the
 * same time cut: not an answer (a refused certificate or secret), nor the
 * client's own close.
 */
function isSetupFailure(error: unknown): boolean {
  return error instanceof ClientError &&
    (error.code === "CONNECT_FAILED" || error.code === "UNAVAILABLE");
}

/**
 * Waits for `promise` (a connection being made for a call), or fails the
 * call first with `TIMEOUT` when its deadline passes or `ABORTED` when its
 * signal aborts. What `promise` gives after that is not waited for. A
 * failure to connect that comes as the deadline passes is a `TIMEOUT`
 * too: the deadline is what ended the wait.
 *
 * @param promise What the call waits for.
 * @param options The call's deadline and signal.
 * @param started When the wait started (`performance.now()`): before the
 * connecting began, so that an attempt timed out with the same length as
 * the deadline counts as cut by it.
 * @returns What `promise` gave, if it came first.
 *
 * @example
 * ```ts
 * import { withinCall } from "./call_deadline.ts";
 * import assert from "node:assert/strict";
 *
 * const never = new Promise<never>(() => {});
 * await assert.rejects(
 *   withinCall(never, { timeout: 5 }),
 *   (error: Error & { code?: string }) => error.code === "TIMEOUT",
 * );
 * assert.equal(await withinCall(Promise.resolve(1), { timeout: 5 }), 1);
 * ```
 */
export function withinCall<T>(
  promise: Promise<T>,
  options: CallOptions,
  started: number = performance.now(),
): Promise<T> {
  const { timeout, signal } = options;
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      done();
      reject(abortedError(signal!));
    };
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    if (timeout) {
      timer = setTimeout(() => {
        done();
        reject(setupTimeout(options));
      }, Math.max(0, timeout - (performance.now() - started)));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error) => {
        done();
        reject(
          isSetupFailure(error) && isPastDeadline(options, started)
            ? setupTimeout(options, error)
            : error,
        );
      },
    );
  });
}
