/**
 * Authentication during the hello (PROTOCOL.md, "Authentication"): a shared
 * secret checked by challenge and response, never sent; and credentials
 * checked by a function of the server's.
 *
 * Each hello carries a random nonce. The client proves it knows the secret
 * with HMAC-SHA256(secret, "isock client" ‖ server nonce ‖ client nonce);
 * the server answers with HMAC-SHA256(secret, "isock server" ‖ client
 * nonce ‖ server nonce), so the client knows it reached a server that holds
 * the secret too. Fresh nonces make every proof good for one connection only.
 *
 * @module
 */

import type { PeerAddress } from "../wire/transport.ts";
import { concat } from "../base/bytes.ts";
import { ClientError } from "../base/errors.ts";

/** Checks a client's credentials; returns who it is, or throws (or returns `false`) to refuse it. */
export type Authenticate = (
  peer: PeerAddress,
  credentials: unknown,
) => unknown | Promise<unknown>;

/** How one side of a connection authenticates. */
export interface Authenticator {
  /** The HMAC key made from the shared secret. */
  key?: CryptoKey;
  /** Client: what it sends to the server's `authenticate`. */
  credentials?: unknown;
  /** Server: checks the client's credentials. */
  authenticate?: Authenticate;
}

const encoder = new TextEncoder();

/** The labels that make a client's proof useless as a server's, and back. */
export const NONCE_LABELS = {
  client: encoder.encode("isock client"),
  server: encoder.encode("isock server"),
} as const;

/**
 * Makes the HMAC-SHA256 key for a shared secret.
 *
 * @param secret The secret, as text (UTF-8) or bytes.
 * @returns A key that signs and verifies only.
 */
export function importSecret(secret: string | Uint8Array): Promise<CryptoKey> {
  const bytes = typeof secret === "string" ? encoder.encode(secret) : secret;
  return crypto.subtle.importKey(
    "raw",
    new Uint8Array(bytes),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** The bytes a proof signs: the label and the two nonces, in order. */
function signed(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return concat(parts) as Uint8Array<ArrayBuffer>;
}

/** Computes a proof: HMAC-SHA256 over the label and the two nonces, in order. */
export async function prove(
  key: CryptoKey,
  label: Uint8Array,
  first: Uint8Array,
  second: Uint8Array,
): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", key, signed([label, first, second])),
  );
}

/**
 * Checks a proof. WebCrypto's HMAC verification compares in constant time,
 * so a wrong proof reveals nothing about the right one.
 */
export function verify(
  key: CryptoKey,
  proof: Uint8Array,
  label: Uint8Array,
  first: Uint8Array,
  second: Uint8Array,
): Promise<boolean> {
  return crypto.subtle.verify(
    "HMAC",
    key,
    new Uint8Array(proof),
    signed([label, first, second]),
  );
}

// The checks of authentication (PROTOCOL.md, "Authentication"): a server
// checks the client's proof and credentials, a client checks the server's
// proof. Each failure is an `UNAUTHORIZED` {@linkcode ClientError}.

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
