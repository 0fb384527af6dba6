/**
 * The decoder behind {@linkcode Codec}. It trusts nothing: every length is
 * checked against the bytes that are really there before anything is
 * allocated (byte_reader.ts), a large value is measured against the decode
 * budget first (decode_budget.ts), nesting is bounded, and a key named
 * `__proto__` is an own property, never a prototype. isock's built-in
 * extension types are read by decode_builtins.ts; user extensions by
 * their type ids.
 *
 * @module
 */

import { bytesToBigInt } from "./bigint_bytes.ts";
import {
  ByteReader,
  decodeError,
  extensionFailed,
  hex,
} from "./byte_reader.ts";
import { checkBudget, UNMEASURED_BYTES } from "./decode_budget.ts";
import {
  expectMarker,
  readInvalidDate,
  readTimestamp,
  readTypedArray,
  toError,
  toMap,
  toRegExp,
  toSet,
} from "./decode_builtins.ts";
import { type Extension, ExtensionType } from "./extension.ts";
import { setOwn } from "./own_property.ts";

// Map keys read recently, so that objects of one shape do not build their
// keys again. A key found here is the same string as last time: no new
// string is built, and V8 stores the property by the identity of an
// already internalized name instead of hashing a fresh string on every
// store. Shared by every decoder (strings are immutable); keys whose
// hashes collide take turns in a slot.

/** How many map keys the cache holds; a power of two. */
const KEY_CACHE_SIZE = 4096;

/** The cached keys, ASCII fixstr only, by a hash of their bytes. */
const keyCache: (string | undefined)[] = new Array(KEY_CACHE_SIZE).fill(
  undefined,
);

/**
 * Returns the ASCII key that `bytes[start, end)` encode, from the cache
 * when it is there (and puts it there when not).
 *
 * @param bytes The input.
 * @param start Where the key's bytes start.
 * @param end Where they end; at most 31 bytes (a fixstr).
 * @returns The key, or `undefined` when a byte is not ASCII (the caller
 * decodes it as UTF-8).
 *
 * @example
 * ```ts
 * import { cachedAsciiKey } from "./decoder.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("name");
 * assert.equal(cachedAsciiKey(bytes, 0, 4), "name");
 * assert.equal(cachedAsciiKey(new Uint8Array([0xc3, 0xa9]), 0, 2), undefined);
 * ```
 */
export function cachedAsciiKey(
  bytes: Uint8Array,
  start: number,
  end: number,
): string | undefined {
  let hash = end - start;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte >= 0x80) return undefined;
    hash = (hash * 31 + byte) | 0;
  }
  const slot = hash & (KEY_CACHE_SIZE - 1);
  const cached = keyCache[slot];
  if (cached !== undefined && isAscii(cached, bytes, start, end)) {
    return cached;
  }
  const key = readAscii(bytes, start, end);
  keyCache[slot] = key;
  return key;
}

/** Whether `text`, all ASCII, is the string that `bytes[start, end)` encode. */
function isAscii(
  text: string,
  bytes: Uint8Array,
  start: number,
  end: number,
): boolean {
  if (text.length !== end - start) return false;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i - start) !== bytes[i]) return false;
  }
  return true;
}

/** Builds the string of ASCII bytes; for short runs this beats TextDecoder. */
function readAscii(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

/** Binaries at least this long are returned as views of the frame, not copied. */
export const VIEW_BYTES_THRESHOLD = 4096;

const SHORT_STRING_LENGTH = 24;
const TWO_POW_32 = 0x1_0000_0000;

/** Stands for a missing element while a sparse array is read. */
const HOLE: unique symbol = Symbol("hole");

/** Options of {@linkcode Decoder}. */
export interface DecoderOptions {
  /** User extensions, by their type ids. */
  extensions?: readonly Extension[];
  /** How deep values may nest before decoding fails (guards the stack). */
  maxDepth?: number;
}

/**
 * Reads MessagePack with isock's extension types.
 *
 * @example
 * ```ts
 * import { Decoder } from "./decoder.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(new Decoder().decode(new Uint8Array([0x92, 0x01, 0xa1, 0x61])), [1, "a"]);
 * ```
 */
export class Decoder extends ByteReader {
  #copiesBinaries = false;
  readonly #extensions = new Map<number, Extension>();
  readonly #maxDepth: number;
  readonly #textDecoder = new TextDecoder();

  /**
   * Creates a decoder.
   *
   * @param options Extensions and the nesting limit.
   */
  constructor(options: DecoderOptions = {}) {
    super();
    for (const extension of options.extensions ?? []) {
      this.#extensions.set(extension.type, extension);
    }
    this.#maxDepth = options.maxDepth ?? 512;
  }

  /**
   * Decodes exactly one value that fills `bytes`.
   *
   * @param bytes The input.
   * @returns The value.
   * @throws {CodecError} `DECODE_FAILED` when the bytes are not one valid
   * value, `DECODE_BUDGET` when building it would cost more memory than
   * its size allows (see decode_budget.ts).
   */
  decode(bytes: Uint8Array): unknown {
    this.open(bytes);
    const value = this.readValue();
    if (!this.isAtEnd) {
      throw decodeError(`${this.end - this.position} bytes follow the value`);
    }
    return value;
  }

  /**
   * Starts reading `bytes` value by value (see {@linkcode Decoder.readValue}).
   *
   * @param bytes The input.
   * @param isBorrowed Whether `bytes` will be reused once read: then large
   * binaries are copied out instead of returned as views.
   */
  open(bytes: Uint8Array, isBorrowed = false): void {
    this.#copiesBinaries = isBorrowed;
    this.reset(bytes);
  }

  /**
   * Reads the next value. A large one is first measured against the decode
   * budget, so that a few bytes cannot make the decoder build gigabytes.
   *
   * @returns The value.
   * @throws {CodecError} `DECODE_FAILED` for bytes that are not a valid
   * value, `DECODE_BUDGET` for a value that would cost too much to build.
   */
  readValue(): unknown {
    if (this.end - this.position > UNMEASURED_BYTES) {
      checkBudget(this.bytes, this.position, this.end);
    }
    const value = this.#read(0);
    return value === HOLE ? undefined : value;
  }

  /**
   * Reads an array header.
   *
   * @returns The number of items that follow.
   * @throws {CodecError} `DECODE_FAILED` when the next value is not an array.
   */
  readArrayLength(): number {
    const byte = this.byte();
    if ((byte & 0xf0) === 0x90) return this.checkCount(byte & 0x0f);
    if (byte === 0xdc) return this.checkCount(this.uint(2));
    if (byte === 0xdd) return this.checkCount(this.uint(4));
    throw decodeError(`expected an array, found type byte 0x${hex(byte)}`);
  }

  #read(depth: number): unknown {
    const byte = this.byte();
    if (byte < 0x80) return byte;
    if (byte < 0x90) return this.#readMap(byte & 0x0f, depth);
    if (byte < 0xa0) return this.#readArray(byte & 0x0f, depth);
    if (byte < 0xc0) return this.#readString(byte & 0x1f);
    if (byte >= 0xe0) return byte - 0x100;
    switch (byte) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.#readBinary(this.uint(1));
      case 0xc5:
        return this.#readBinary(this.uint(2));
      case 0xc6:
        return this.#readBinary(this.uint(4));
      case 0xc7:
        return this.#readExtension(this.uint(1), depth);
      case 0xc8:
        return this.#readExtension(this.uint(2), depth);
      case 0xc9:
        return this.#readExtension(this.uint(4), depth);
      case 0xca:
        return this.view.getFloat32(this.need(4));
      case 0xcb:
        return this.view.getFloat64(this.need(8));
      case 0xcc:
        return this.uint(1);
      case 0xcd:
        return this.uint(2);
      case 0xce:
        return this.uint(4);
      case 0xcf:
        return this.#readInt64(false);
      case 0xd0:
        return this.int(1);
      case 0xd1:
        return this.int(2);
      case 0xd2:
        return this.int(4);
      case 0xd3:
        return this.#readInt64(true);
      case 0xd4:
        return this.#readExtension(1, depth);
      case 0xd5:
        return this.#readExtension(2, depth);
      case 0xd6:
        return this.#readExtension(4, depth);
      case 0xd7:
        return this.#readExtension(8, depth);
      case 0xd8:
        return this.#readExtension(16, depth);
      case 0xd9:
        return this.#readString(this.uint(1));
      case 0xda:
        return this.#readString(this.uint(2));
      case 0xdb:
        return this.#readString(this.uint(4));
      case 0xdc:
        return this.#readArray(this.uint(2), depth);
      case 0xdd:
        return this.#readArray(this.uint(4), depth);
      case 0xde:
        return this.#readMap(this.uint(2), depth);
      case 0xdf:
        return this.#readMap(this.uint(4), depth);
      default:
        throw decodeError("type byte 0xc1 is never used by MessagePack");
    }
  }

  /** 64-bit integers beyond 2^53 come from other languages: they become bigints. */
  #readInt64(isSigned: boolean): number | bigint {
    const at = this.need(8);
    const view = this.view;
    const high = isSigned ? view.getInt32(at) : view.getUint32(at);
    const value = high * TWO_POW_32 + view.getUint32(at + 4);
    if (Number.isSafeInteger(value)) return value;
    return isSigned ? view.getBigInt64(at) : view.getBigUint64(at);
  }

  #readString(byteLength: number): string {
    const start = this.need(byteLength);
    const bytes = this.bytes;
    if (byteLength < SHORT_STRING_LENGTH) {
      // ASCII by hand: for short strings this beats a call into TextDecoder.
      let text = "";
      let i = start;
      const end = start + byteLength;
      for (; i < end; i++) {
        const byte = bytes[i];
        if (byte >= 0x80) break;
        text += String.fromCharCode(byte);
      }
      if (i === end) return text;
    }
    return this.#textDecoder.decode(bytes.subarray(start, start + byteLength));
  }

  #readBinary(byteLength: number): Uint8Array {
    const start = this.need(byteLength);
    const end = start + byteLength;
    return byteLength >= VIEW_BYTES_THRESHOLD && !this.#copiesBinaries
      ? this.bytes.subarray(start, end)
      : this.bytes.slice(start, end);
  }

  #readArray(length: number, depth: number): unknown[] {
    this.checkCount(length);
    this.#checkDepth(depth);
    const array = new Array(length);
    for (let i = 0; i < length; i++) {
      const item = this.#read(depth + 1);
      if (item !== HOLE) array[i] = item;
    }
    return array;
  }

  #readMap(
    length: number,
    depth: number,
  ): Record<string, unknown> | Map<unknown, unknown> {
    this.checkCount(length * 2);
    this.#checkDepth(depth);
    const object: Record<string, unknown> = {};
    for (let i = 0; i < length; i++) {
      const key = this.#readKey(depth);
      if (typeof key !== "string") {
        // Keys that are not strings (from another language) need a Map.
        return this.#continueAsMap(object, key, i, length, depth);
      }
      setOwn(object, key, this.#readItem(depth));
    }
    return object;
  }

  /** Reads a map key: short strings through the key cache, anything else as any value. */
  #readKey(depth: number): unknown {
    const position = this.position;
    if (position < this.end) {
      const byte = this.bytes[position];
      if ((byte & 0xe0) === 0xa0) {
        this.position = position + 1;
        const byteLength = byte & 0x1f;
        const start = this.need(byteLength);
        return cachedAsciiKey(this.bytes, start, start + byteLength) ??
          this.#textDecoder.decode(
            this.bytes.subarray(start, start + byteLength),
          );
      }
    }
    return this.#readItem(depth);
  }

  #continueAsMap(
    object: Record<string, unknown>,
    key: unknown,
    index: number,
    length: number,
    depth: number,
  ): Map<unknown, unknown> {
    const map = new Map<unknown, unknown>(Object.entries(object));
    map.set(key, this.#readItem(depth));
    for (let i = index + 1; i < length; i++) {
      map.set(this.#readItem(depth), this.#readItem(depth));
    }
    return map;
  }

  #readItem(depth: number): unknown {
    const value = this.#read(depth + 1);
    return value === HOLE ? undefined : value;
  }

  #checkDepth(depth: number): void {
    if (depth >= this.#maxDepth) {
      throw decodeError(`values nest deeper than ${this.#maxDepth} levels`);
    }
  }

  #readExtension(length: number, depth: number): unknown {
    const type = this.int(1);
    const start = this.need(length);
    const end = start + length;
    switch (type) {
      case ExtensionType.UNDEFINED:
        expectMarker(this.bytes, start, length, "undefined");
        return undefined;
      case ExtensionType.HOLE:
        expectMarker(this.bytes, start, length, "an array hole");
        return HOLE;
      case ExtensionType.TIMESTAMP:
        return readTimestamp(this.view, start, length);
      case ExtensionType.INVALID_DATE:
        return readInvalidDate(length);
      case ExtensionType.BIGINT:
        return bytesToBigInt(this.bytes.subarray(start, end));
      case ExtensionType.ARRAY_BUFFER:
        return this.bytes.slice(start, end).buffer;
      case ExtensionType.TYPED_ARRAY:
        return readTypedArray(this.bytes, start, end);
    }
    this.#checkDepth(depth);
    // The payload is MessagePack too: read it within its own bounds.
    const payload = this.#readPayload(start, end, depth);
    switch (type) {
      case ExtensionType.MAP:
        return toMap(payload);
      case ExtensionType.SET:
        return toSet(payload);
      case ExtensionType.ERROR:
        return toError(payload);
      case ExtensionType.REGEXP:
        return toRegExp(payload);
    }
    return this.#decodeUserExtension(type, payload);
  }

  #readPayload(start: number, end: number, depth: number): unknown {
    const outerEnd = this.end;
    this.position = start;
    this.end = end;
    const value = this.#readItem(depth);
    if (this.position !== end) {
      throw decodeError("an extension payload holds more than one value");
    }
    this.end = outerEnd;
    return value;
  }

  #decodeUserExtension(type: number, payload: unknown): unknown {
    const extension = this.#extensions.get(type);
    if (extension === undefined) {
      throw decodeError(
        `unknown extension type ${type}: register the same extensions on both sides`,
      );
    }
    // decode() may call back into this codec: keep the reader's place.
    const bytes = this.bytes, view = this.lazyView;
    const position = this.position, end = this.end;
    try {
      return extension.decode(payload);
    } catch (error) {
      throw extensionFailed(type, extension.class.name, error);
    } finally {
      this.bytes = bytes;
      this.lazyView = view;
      this.position = position;
      this.end = end;
    }
  }
}
