/**
 * The checks of authentication (PROTOCOL.md, "Authentication"): a server
 * checks the client's proof and credentials, a client checks the server's
 * proof. Each failure is an `UNAUTHORIZED` {@linkcode ClientError}.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import { type Authenticator, NONCE_LABELS, verify } from "../protocol/auth.ts";
import type { PeerAddress } from "../wire/transport.ts";

/**
 * Whether an authenticator makes a server require authentication.
 *
 * @param auth The authenticator.
 * @returns Whether it has a secret or a check.
 */
export function isAuthRequired(auth: Authenticator): boolean {
  return auth.key !== undefined || auth.authenticate !== undefined;
}

/**
 * Server: checks the client's proof of the shared secret and its credentials.
 *
 * @param auth The server's secret and check.
 * @param proof The client's proof, if it sent one.
 * @param credentials The client's credentials.
 * @param peer The client, for `authenticate`.
 * @param nonce The server's nonce.
 * @param peerNonce The client's nonce.
 * @returns Who the client is: what `authenticate` returned, or `undefined` without one.
 * @throws {ClientError} `UNAUTHORIZED` when the proof or the credentials are refused.
 */
export async function checkClient(
  auth: Authenticator,
  proof: Uint8Array | undefined,
  credentials: unknown,
  peer: PeerAddress,
  nonce: Uint8Array,
  peerNonce: Uint8Array,
): Promise<unknown> {
  const { key, authenticate } = auth;
  if (key !== undefined) {
    const isValid = proof !== undefined &&
      await verify(key, proof, NONCE_LABELS.client, nonce, peerNonce);
    if (proof === undefined) {
      throw unauthorized(
        "this server requires a shared secret, and the client has none (its secret option)",
      );
    }
    if (!isValid) throw unauthorized("the shared secret does not match");
  }
  if (authenticate === undefined) return undefined;
  let identity: unknown;
  try {
    identity = await authenticate(peer, credentials);
  } catch (error) {
    // Why is the server's business (its error event); the peer learns only that.
    throw unauthorized("the credentials were refused", error);
  }
  if (identity === false || identity === undefined || identity === null) {
    throw unauthorized("the credentials were refused");
  }
  return identity;
}

/**
 * Client: a server that claims to know the secret must prove it.
 *
 * @param auth The client's secret, if it has one.
 * @param proof The server's proof, if it sent one.
 * @param nonce The client's nonce.
 * @param peerNonce The server's nonce.
 * @throws {ClientError} `UNAUTHORIZED` when the proof is missing or wrong.
 */
export async function checkServer(
  auth: Authenticator,
  proof: Uint8Array | undefined,
  nonce: Uint8Array,
  peerNonce: Uint8Array,
): Promise<void> {
  if (auth.key === undefined) return;
  const isValid = proof !== undefined &&
    await verify(auth.key, proof, NONCE_LABELS.server, nonce, peerNonce);
  if (!isValid) {
    throw unauthorized(
      "the server did not prove that it knows the shared secret",
    );
  }
}

/**
 * The error of a failed authentication.
 *
 * @param reason Why, in a few words.
 * @param cause What was thrown, if anything.
 * @returns An `UNAUTHORIZED` error.
 */
export function unauthorized(reason: string, cause?: unknown): ClientError {
  return new ClientError(
    "UNAUTHORIZED",
    `Authentication failed: ${reason}.`,
    cause === undefined ? undefined : { cause },
  );
}
