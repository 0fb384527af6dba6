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
 * The message names that failure as isock first reported it (the
 * innermost `ClientError` of the cause chain: not a summary of several
 * servers that itself ends with a "Last failure").
 *
 * @param options The call's deadline.
 * @param cause Why the connection was not ready, when known.
 * @param servers How many servers the call could have gone to.
 * @returns The error.
 *
 * @example
 * ```ts
 * import { setupTimeout } from "./call_deadline.ts";
 * import { ClientError } from "../base/errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = setupTimeout({ timeout: 200 }, new Error("refused"));
 * assert.equal(error.code, "TIMEOUT");
 * assert.equal(error.wasRun, false);
 * assert.equal(
 *   error.message,
 *   "No connection to the server within the call's 200 ms. Last failure: refused",
 * );
 * const refused = new ClientError("CONNECT_FAILED", "Cannot connect to b:2");
 * const none = new ClientError("UNAVAILABLE", "None of the 2 servers…", { cause: refused });
 * assert.equal(
 *   setupTimeout({ timeout: 200 }, none, 2).message,
 *   "No connection to any of the 2 servers within the call's 200 ms. Last failure: Cannot connect to b:2",
 * );
 * ```
 */
export function setupTimeout(
  options: CallOptions,
  cause?: unknown,
  servers = 1,
): ClientError {
  const asked = (options as SessionCallOptions).askedTimeout ??
    options.timeout;
  const failure = innermostFailure(cause);
  return new ClientError(
    "TIMEOUT",
    `No connection to ${
      servers > 1 ? `any of the ${servers} servers` : "the server"
    } within the call's ${asked} ms.${
      failure === undefined ? "" : ` Last failure: ${failure.message}`
    }`,
    cause === undefined ? { wasRun: false } : { wasRun: false, cause },
  );
}

/**
 * The failure a message names: the innermost `ClientError` of the cause
 * chain (what the runtime threw is in its message already), or the error
 * itself.
 */
function innermostFailure(cause: unknown): Error | undefined {
  if (!(cause instanceof Error)) return undefined;
  let failure = cause;
  // Bounded: a cause chain could be circular.
  for (let depth = 0; depth < 16; depth++) {
    const inner: unknown = failure.cause;
    if (!(inner instanceof ClientError)) break;
    failure = inner;
  }
  return failure;
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
 * @param servers How many servers the call could have gone to, for the
 * message.
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
  servers = 1,
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
        reject(setupTimeout(options, undefined, servers));
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
            ? setupTimeout(options, error, servers)
            : error,
        );
      },
    );
  });
}
