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

/**
 * Makes the error for a user extension whose `decode` threw.
 *
 * @param type The extension's type id.
 * @param name The name of the class it decodes to.
 * @param error What `decode` threw; the error's cause.
 * @returns A `CodecError` with code `DECODE_FAILED`.
 */
export function extensionFailed(
  type: number,
  name: string,
  error: unknown,
): CodecError {
  return new CodecError(
    "DECODE_FAILED",
    `Extension ${type} (${name}) failed to decode a value: ${
      error instanceof Error ? error.message : String(error)
    }`,
    { cause: error },
  );
}
