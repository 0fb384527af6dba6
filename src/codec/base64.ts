/**
 * Base64 (RFC 4648, with padding) for the JSON mapping's binaries, through
 * `btoa` and `atob`, which every runtime isock runs on has.
 *
 * @module
 */

/** Bytes per `String.fromCharCode` call: well under any engine's argument limit. */
const CHUNK = 0x8000;

/** Canonical base64: whole groups of four, padding only at the end. */
const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Writes bytes as base64.
 *
 * @param bytes The bytes.
 * @returns Their base64, padded.
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "./base64.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodeBase64(new Uint8Array([1, 2, 3, 4])), "AQIDBA==");
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  const chunks: string[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) {
    chunks.push(String.fromCharCode(...bytes.subarray(i, i + CHUNK)));
  }
  return btoa(chunks.join(""));
}

/**
 * Reads base64, strictly: `atob` alone would also take whitespace and
 * missing padding, and a value read back must be the one written.
 *
 * @param text Padded base64.
 * @returns The bytes, or `undefined` when `text` is not canonical base64.
 *
 * @example
 * ```ts
 * import { decodeBase64 } from "./base64.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(decodeBase64("AQIDBA=="), new Uint8Array([1, 2, 3, 4]));
 * assert.equal(decodeBase64("AQIDBA"), undefined);
 * ```
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
