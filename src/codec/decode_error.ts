/**
 * How the decoder reports bytes it refuses: one `CodecError` shape for
 * every reason, so messages read alike wherever the check sits.
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";

/**
 * Makes the error for input that is not valid.
 *
 * @param reason What is wrong, as a phrase (no capital, no full stop).
 * @returns A `CodecError` with code `DECODE_FAILED`.
 *
 * @example
 * ```ts
 * import { decodeError } from "./decode_error.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(decodeError("the bytes end early").message, "Cannot decode: the bytes end early.");
 * ```
 */
export function decodeError(reason: string): CodecError {
  return new CodecError("DECODE_FAILED", `Cannot decode: ${reason}.`);
}

/**
 * Formats a byte as two hex digits.
 *
 * @param byte From 0 to 255.
 * @returns Its two lower-case hex digits.
 */
export function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
