/**
 * A connection attempt under a deadline: it fails with a `timeout` once
 * the time is up, or `interrupted` when its signal aborts, and cleans up
 * after an attempt that completes too late.
 *
 * @module
 */

import { SocketError } from "./net_errors.ts";

/** How long an attempt may take, and what stops it early. */
export interface Deadline {
  /** Milliseconds the attempt may take. */
  readonly timeout: number;
  /** Gives up at once when aborted (the client is closing). */
  readonly signal: AbortSignal;
}

/**
 * Races `promise` against the deadline and the signal.
 *
 * @param promise The attempt.
 * @param deadline How long it may take, and what stops it early.
 * @param message What a timeout says.
 * @param abandon Cleans up after the attempt once it lost the race.
 * @returns What the attempt gave.
 * @throws {SocketError} `timeout` or `interrupted` when the attempt lost.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  deadline: Deadline,
  message: string,
  abandon: () => void,
): Promise<T> {
  const { timeout, signal } = deadline;
  return new Promise<T>((resolve, reject) => {
    const fail = (error: Error) => {
      done();
      abandon();
      reject(error);
    };
    const onAbort = () =>
      fail(new SocketError("interrupted", "The client was closed."));
    const timer = setTimeout(
      () => fail(new SocketError("timeout", message)),
      timeout,
    );
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
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
