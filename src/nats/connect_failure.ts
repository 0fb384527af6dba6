/**
 * The `CONNECT_FAILED` error for a NATS connection that could not be
 * opened, with a hint that fits the cause: a refused or unreachable
 * address asks whether a nats-server runs there; a refusal of the
 * credentials says to check them (a running server would otherwise be
 * suspected of not running).
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";

/** How the NATS client names a refusal of the credentials. */
const AUTH_REFUSED =
  /authori[sz]ation|authentication|user authentication expired/i;

/**
 * The error a bus gives when its connection cannot be opened.
 *
 * @example
 * ```ts
 * import { connectFailure } from "./connect_failure.ts";
 * import assert from "node:assert/strict";
 *
 * const error = connectFailure(
 *   ["127.0.0.1:4222"],
 *   Object.assign(new Error("Authorization Violation"), {
 *     name: "AuthorizationError",
 *   }),
 * );
 * assert.equal(error.code, "CONNECT_FAILED");
 * assert.match(error.message, /credentials/);
 * ```
 *
 * @param servers Where the bus tried to connect.
 * @param cause What the NATS client threw.
 * @returns A `ClientError` `CONNECT_FAILED` with the cause attached.
 */
export function connectFailure(
  servers: readonly string[],
  cause: unknown,
): ClientError {
  const { name = "", message = String(cause) } = cause instanceof Error
    ? cause
    : {};
  const hint = name === "AuthorizationError" ||
      name === "UserAuthenticationExpiredError" || AUTH_REFUSED.test(message)
    ? "The NATS server refused the credentials: check user/pass, token or authenticator."
    : "Is a nats-server running there?";
  return new ClientError(
    "CONNECT_FAILED",
    `Cannot connect to NATS at ${servers.join(", ")}: ${message}. ${hint}`,
    { cause },
  );
}
