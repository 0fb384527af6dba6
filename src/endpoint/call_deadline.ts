/**
 * Connecting for a call under the call's own deadline and signal: a server
 * that does not answer costs the caller no more than its timeout.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import type { CallOptions } from "../dispatch/call_options.ts";
import { abortedError } from "../session/call.ts";

/**
 * Waits for `promise` (a connection being made for a call), or fails the
 * call first with `TIMEOUT` when its deadline passes or `ABORTED` when its
 * signal aborts. What `promise` gives after that is not waited for.
 *
 * @param promise What the call waits for.
 * @param options The call's deadline and signal.
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
        reject(
          new ClientError(
            "TIMEOUT",
            `No connection to the server within the call's ${timeout} ms.`,
            { wasRun: false },
          ),
        );
      }, timeout);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error) => {
        done();
        reject(error);
      },
    );
  });
}
