/**
 * How a `bigint` travels (extension type 2, `ExtensionType.BIGINT`): two's
 * complement, big-endian, in the fewest bytes that keep the sign. Both
 * directions take time linear in the length.
 *
 * @module
 */

import { decodeError, hex } from "./byte_reader.ts";

/**
 * Writes a bigint as bytes.
 *
 * @param value The bigint.
 * @returns Its two's complement, big-endian, in the fewest bytes that keep the sign.
 *
 * @example
 * ```ts
 * import { bigIntToBytes } from "./bigint_bytes.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(bigIntToBytes(-129n), new Uint8Array([0xff, 0x7f]));
 * ```
 */
export function bigIntToBytes(value: bigint): Uint8Array {
  const isNegative = value < 0n;
  // For a negative n, the bits of ~n = -n - 1 are those of n inverted.
  let hex = (isNegative ? -value - 1n : value).toString(16);
  if (hex.length % 2 === 1) hex = "0" + hex;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = "00" + hex;
  const bytes = new Uint8Array(hex.length / 2);
  const flip = isNegative ? 0xff : 0;
  // Two hex digits a byte, read by character code: linear, no substrings.
  for (let i = 0, at = 0; i < bytes.length; i++, at += 2) {
    const byte = (nibble(hex.charCodeAt(at)) << 4) |
      nibble(hex.charCodeAt(at + 1));
    bytes[i] = byte ^ flip;
  }
  return bytes;
}

/** The value of one lowercase hex digit, from its character code. */
function nibble(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

/** The longest bigint V8 makes, in bytes (2^30 bits). */
const MAX_BIGINT_BYTES = 1 << 27;

/** Each byte's two hex digits, as ASCII: bigints read in one pass, no string built digit by digit. */
const HEX_DIGITS = new Uint8Array(512);
for (let byte = 0; byte < 256; byte++) {
  HEX_DIGITS[2 * byte] = hex(byte).charCodeAt(0);
  HEX_DIGITS[2 * byte + 1] = hex(byte).charCodeAt(1);
}

const hexDecoder = new TextDecoder();

/**
 * Reads two's complement, big-endian bytes of any length, in time linear
 * in their length.
 *
 * @param bytes The bytes; none is 0n.
 * @returns The bigint.
 * @throws {CodecError} `DECODE_FAILED` beyond the largest bigint V8 holds.
 *
 * @example
 * ```ts
 * import { bytesToBigInt } from "./bigint_bytes.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(bytesToBigInt(new Uint8Array([0xff, 0x7f])), -129n);
 * ```
 */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  const length = bytes.length;
  if (length === 0) return 0n;
  if (length <= 6) {
    // A safe integer: read as a number, the sign from the top bit.
    let value = 0;
    for (let i = 0; i < length; i++) value = value * 256 + bytes[i];
    if ((bytes[0] & 0x80) !== 0) value -= 2 ** (8 * length);
    return BigInt(value);
  }
  if (length > MAX_BIGINT_BYTES) {
    throw decodeError(`a bigint of ${length} bytes`);
  }
  // "0x" then two hex digits a byte, decoded to a string in one call.
  const digits = new Uint8Array(2 + 2 * length);
  digits[0] = 0x30;
  digits[1] = 0x78;
  for (let i = 0; i < length; i++) {
    const at = 2 * bytes[i];
    digits[2 + 2 * i] = HEX_DIGITS[at];
    digits[3 + 2 * i] = HEX_DIGITS[at + 1];
  }
  const magnitude = BigInt(hexDecoder.decode(digits));
  return (bytes[0] & 0x80) !== 0
    ? magnitude - (1n << BigInt(8 * length))
    : magnitude;
}
