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

/** Computes a proof: HMAC-SHA256 over the label and the two nonces, in order. */
export async function prove(
  key: CryptoKey,
  label: Uint8Array,
  first: Uint8Array,
  second: Uint8Array,
): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", key, joined(label, first, second)),
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
    joined(label, first, second),
  );
}

function joined(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(
    parts.reduce((length, part) => length + part.length, 0),
  );
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
