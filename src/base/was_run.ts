/**
 * Retry safety as data on the error: whether the action ran, for each
 * code of the errors a call can fail with. `false` is safe to send again,
 * `"maybe"` only for idempotent actions, `true` never.
 *
 * @module
 */

import type { ClientErrorCode, RemoteErrorCode } from "./error_codes.ts";

/** Codes of `ClientError` that leave it unknown whether the call ran. */
const MAYBE_RUN: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>([
  "CONNECTION_CLOSED",
  "TIMEOUT",
  "ABORTED",
  "PROTOCOL",
  "NOT_RESENDABLE",
]);

/**
 * Whether a call that failed on this side with `code` may have run.
 *
 * @param code The `ClientError` code.
 * @returns `false` when the request never reached a handler, else `"maybe"`.
 */
export function clientWasRun(code: ClientErrorCode): false | "maybe" {
  return MAYBE_RUN.has(code) ? "maybe" : false;
}

/** Codes of `RemoteError` the server sends after the handler ran. */
const HANDLER_RAN: ReadonlySet<RemoteErrorCode> = new Set<RemoteErrorCode>([
  "ACTION_FAILED",
  "FRAME_TOO_LARGE",
]);

/**
 * Whether a call the server answered with an error `code` ran.
 *
 * @param code The `RemoteError` code.
 * @returns `true` when the handler ran, `"maybe"` when unknown, else `false`.
 */
export function remoteWasRun(code: RemoteErrorCode): boolean | "maybe" {
  if (HANDLER_RAN.has(code)) return true;
  return code === "PROTOCOL" ? "maybe" : false;
}

/**
 * Sets `wasRun` as a non-enumerable field: errors passed on by a handler
 * travel with their own enumerable fields, and this one is about the
 * caller's call, not theirs.
 *
 * @param error The error.
 * @param wasRun Whether the call ran.
 */
export function defineWasRun(error: Error, wasRun: boolean | "maybe"): void {
  Object.defineProperty(error, "wasRun", {
    value: wasRun,
    enumerable: false,
    writable: false,
    configurable: true,
  });
}
