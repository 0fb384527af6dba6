/**
 * The decoder's cursor over its input: bounds-checked reads of bytes and
 * big-endian integers. Every read checks that its bytes are really there,
 * so nothing past the input is ever read and a length that lies fails at
 * once.
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";

// How the decoder reports bytes it refuses: one `CodecError` shape for
// every reason, so messages read alike wherever the check sits.

/**
 * Makes the error for input that is not valid.
 *
 * @param reason What is wrong, as a phrase (no capital, no full stop).
 * @returns A `CodecError` with code `DECODE_FAILED`.
 *
 * @example
 * ```ts
 * import { decodeError } from "./byte_reader.ts";
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

const EMPTY = new Uint8Array(0);

/**
 * A position in a byte array, and reads that move it. The decoder builds
 * on it; the fields are open to it so that the hot path stays a few
 * inlined loads.
 *
 * @example
 * ```ts
 * import { ByteReader } from "./byte_reader.ts";
 * import assert from "node:assert/strict";
 *
 * const reader = new ByteReader();
 * reader.reset(new Uint8Array([0x01, 0xff, 0xfe]));
 * assert.equal(reader.byte(), 1);
 * assert.equal(reader.int(2), -2);
 * assert.ok(reader.isAtEnd);
 * assert.throws(() => reader.byte(), /the bytes end early/);
 * ```
 */
export class ByteReader {
  /** The input. */
  bytes: Uint8Array = EMPTY;
  /** Made on first use, by the {@linkcode ByteReader.view} getter. */
  lazyView: DataView | undefined;
  /** Where the next read starts. */
  position = 0;
  /** Where reading must stop: the input's end, or an extension payload's. */
  end = 0;

  /**
   * Starts reading `bytes` from their first byte. A subclass of
   * `Uint8Array` (a Node `Buffer`, which NATS and `node:net` hand out) is
   * read through a plain `Uint8Array` over the same memory, so that every
   * binary decoded from it is a plain `Uint8Array` too, and a copy really
   * copies (`Buffer#slice` is a view).
   *
   * @param bytes The input.
   */
  reset(bytes: Uint8Array): void {
    this.bytes = Object.getPrototypeOf(bytes) === Uint8Array.prototype
      ? bytes
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.lazyView = undefined;
    this.position = 0;
    this.end = bytes.byteLength;
  }

  /** Whether every byte of the input has been read. */
  get isAtEnd(): boolean {
    return this.position === this.end;
  }

  /**
   * A DataView of the input, for floats and 64-bit integers. Made only
   * when needed: making one costs as much as reading a small message.
   */
  get view(): DataView {
    const bytes = this.bytes;
    return this.lazyView ??= new DataView(
      bytes.buffer,
      bytes.byteOffset,
      bytes.byteLength,
    );
  }

  /**
   * Reads one byte.
   *
   * @returns The byte.
   * @throws {CodecError} `DECODE_FAILED` at the end of the input.
   */
  byte(): number {
    if (this.position >= this.end) throw decodeError("the bytes end early");
    return this.bytes[this.position++];
  }

  /**
   * Skips `byteCount` bytes, checking they are there.
   *
   * @param byteCount How many.
   * @returns Where they start.
   * @throws {CodecError} `DECODE_FAILED` when fewer are left.
   */
  need(byteCount: number): number {
    const start = this.position;
    if (byteCount > this.end - start) throw decodeError("the bytes end early");
    this.position = start + byteCount;
    return start;
  }

  /**
   * Reads a big-endian unsigned integer.
   *
   * @param byteCount Its size.
   * @returns The integer.
   */
  uint(byteCount: 1 | 2 | 4): number {
    const at = this.need(byteCount);
    const bytes = this.bytes;
    if (byteCount === 1) return bytes[at];
    if (byteCount === 2) return (bytes[at] << 8) | bytes[at + 1];
    // Multiplied, not shifted: a shift by 24 would make it negative.
    return bytes[at] * 0x100_0000 +
      ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
  }

  /**
   * Reads a big-endian two's complement integer.
   *
   * @param byteCount Its size.
   * @returns The integer.
   */
  int(byteCount: 1 | 2 | 4): number {
    const at = this.need(byteCount);
    const bytes = this.bytes;
    if (byteCount === 1) return (bytes[at] << 24) >> 24;
    if (byteCount === 2) return ((bytes[at] << 24) >> 16) | bytes[at + 1];
    return (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) |
      bytes[at + 3];
  }

  /**
   * Checks a collection's claimed size: every item takes at least one
   * byte, so a count larger than what is left is a lie.
   *
   * @param count The claimed number of items.
   * @returns `count`.
   * @throws {CodecError} `DECODE_FAILED` when fewer bytes are left.
   */
  checkCount(count: number): number {
    if (count > this.end - this.position) {
      throw decodeError(
        `a collection claims ${count} items but only ${
          this.end - this.position
        } bytes are left`,
      );
    }
    return count;
  }
}
