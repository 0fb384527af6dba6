/**
 * The MessagePack reader behind {@linkcode Codec}. It trusts nothing: every
 * length is checked against the bytes that are really there before anything
 * is allocated, nesting is bounded, and a key named `__proto__` is an own
 * property, never a prototype.
 *
 * @module
 */

import { budgetFor, measureValue, UNMEASURED_BYTES } from "./decode_budget.ts";
import { CodecError } from "../base/errors.ts";
import {
  type Extension,
  ExtensionType,
  TYPED_ARRAY_KINDS,
} from "./extension.ts";

/** Binaries at least this long are returned as views of the frame, not copied. */
export const VIEW_BYTES_THRESHOLD = 4096;

const SHORT_STRING_LENGTH = 24;
/** The largest time a `Date` holds, in milliseconds either side of 1970. */
const MAX_DATE_TIME = 8.64e15;
const TWO_POW_32 = 0x1_0000_0000;
const EMPTY = new Uint8Array(0);

/** Stands for a missing element while a sparse array is read. */
const HOLE: unique symbol = Symbol("hole");

const ERROR_CLASSES: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/** Options of {@linkcode Decoder}. */
export interface DecoderOptions {
  /** User extensions, by their type ids. */
  extensions?: readonly Extension[];
  /** How deep values may nest before decoding fails (guards the stack). */
  maxDepth?: number;
}

/** Reads MessagePack with isock's extension types. */
export class Decoder {
  #bytes: Uint8Array = EMPTY;
  /** Made on first use, by the `#view` getter. */
  #lazyView: DataView | undefined;
  #position = 0;
  #end = 0;
  #copiesBinaries = false;
  readonly #extensions = new Map<number, Extension>();
  readonly #maxDepth: number;
  readonly #textDecoder = new TextDecoder();

  /** @param options Extensions and the nesting limit. */
  constructor(options: DecoderOptions = {}) {
    for (const extension of options.extensions ?? []) {
      this.#extensions.set(extension.type, extension);
    }
    this.#maxDepth = options.maxDepth ?? 512;
  }

  /**
   * Decodes exactly one value that fills `bytes`.
   *
   * @throws {CodecError} `DECODE_FAILED` when the bytes are not one valid
   * value, `DECODE_BUDGET` when building it would cost more memory than
   * its size allows (see decode_budget.ts).
   */
  decode(bytes: Uint8Array): unknown {
    this.open(bytes);
    const value = this.readValue();
    if (!this.isAtEnd) {
      throw decodeError(
        `${this.#end - this.#position} bytes follow the value`,
      );
    }
    return value;
  }

  /**
   * Starts reading `bytes` value by value (see {@linkcode readValue}).
   *
   * @param bytes The input.
   * @param isBorrowed Whether `bytes` will be reused once read: then large
   * binaries are copied out instead of returned as views.
   */
  open(bytes: Uint8Array, isBorrowed = false): void {
    this.#copiesBinaries = isBorrowed;
    this.#bytes = bytes;
    this.#lazyView = undefined;
    this.#position = 0;
    this.#end = bytes.byteLength;
  }

  /** Whether every byte given to {@linkcode open} has been read. */
  get isAtEnd(): boolean {
    return this.#position === this.#end;
  }

  /**
   * Reads the next value. A large one is first measured against the decode
   * budget, so that a few bytes cannot make the decoder build gigabytes.
   *
   * @throws {CodecError} `DECODE_FAILED` for bytes that are not a valid
   * value, `DECODE_BUDGET` for a value that would cost too much to build.
   */
  readValue(): unknown {
    if (this.#end - this.#position > UNMEASURED_BYTES) this.#checkBudget();
    const value = this.#read(0);
    return value === HOLE ? undefined : value;
  }

  /**
   * Reads an array header and returns the number of items that follow.
   *
   * @throws {CodecError} `DECODE_FAILED` when the next value is not an array.
   */
  readArrayLength(): number {
    const byte = this.#byte();
    if ((byte & 0xf0) === 0x90) return this.#checkCount(byte & 0x0f);
    if (byte === 0xdc) return this.#checkCount(this.#uint(2));
    if (byte === 0xdd) return this.#checkCount(this.#uint(4));
    throw decodeError(`expected an array, found type byte 0x${hex(byte)}`);
  }

  /** Refuses the next value when building it would exceed its budget. */
  #checkBudget(): void {
    const start = this.#position;
    const { cost, end } = measureValue(
      this.#bytes,
      start,
      this.#end,
      budgetFor(this.#end - start),
    );
    const budget = budgetFor(end - start);
    if (cost > budget) {
      throw new CodecError(
        "DECODE_BUDGET",
        `Cannot decode: ${
          end - start
        } bytes of a value already stand for more than ${budget} units (about ${
          Math.ceil(budget * 8 / (1 << 20))
        } MiB of memory), the budget of that many bytes: too many small values (empty arrays or maps, errors, binaries…) for their size.`,
      );
    }
  }

  /**
   * A DataView of the input, for floats and 64-bit integers. Made only
   * when needed: making one costs as much as reading a small message.
   */
  get #view(): DataView {
    const bytes = this.#bytes;
    return this.#lazyView ??= new DataView(
      bytes.buffer,
      bytes.byteOffset,
      bytes.byteLength,
    );
  }

  #byte(): number {
    if (this.#position >= this.#end) throw decodeError("the bytes end early");
    return this.#bytes[this.#position++];
  }

  #need(byteCount: number): number {
    const start = this.#position;
    if (byteCount > this.#end - start) throw decodeError("the bytes end early");
    this.#position = start + byteCount;
    return start;
  }

  /** Reads a big-endian unsigned integer. */
  #uint(byteCount: 1 | 2 | 4): number {
    const at = this.#need(byteCount);
    const bytes = this.#bytes;
    if (byteCount === 1) return bytes[at];
    if (byteCount === 2) return (bytes[at] << 8) | bytes[at + 1];
    // Multiplied, not shifted: a shift by 24 would make it negative.
    return bytes[at] * 0x100_0000 +
      ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
  }

  /** Reads a big-endian two's complement integer. */
  #int(byteCount: 1 | 2 | 4): number {
    const at = this.#need(byteCount);
    const bytes = this.#bytes;
    if (byteCount === 1) return (bytes[at] << 24) >> 24;
    if (byteCount === 2) return ((bytes[at] << 24) >> 16) | bytes[at + 1];
    return (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) |
      bytes[at + 3];
  }

  /** Every item takes at least one byte: a count larger than what is left is a lie. */
  #checkCount(count: number): number {
    if (count > this.#end - this.#position) {
      throw decodeError(
        `a collection claims ${count} items but only ${
          this.#end - this.#position
        } bytes are left`,
      );
    }
    return count;
  }

  #read(depth: number): unknown {
    const byte = this.#byte();
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
        return this.#readBinary(this.#uint(1));
      case 0xc5:
        return this.#readBinary(this.#uint(2));
      case 0xc6:
        return this.#readBinary(this.#uint(4));
      case 0xc7:
        return this.#readExtension(this.#uint(1), depth);
      case 0xc8:
        return this.#readExtension(this.#uint(2), depth);
      case 0xc9:
        return this.#readExtension(this.#uint(4), depth);
      case 0xca:
        return this.#view.getFloat32(this.#need(4));
      case 0xcb:
        return this.#view.getFloat64(this.#need(8));
      case 0xcc:
        return this.#uint(1);
      case 0xcd:
        return this.#uint(2);
      case 0xce:
        return this.#uint(4);
      case 0xcf:
        return this.#readInt64(false);
      case 0xd0:
        return this.#int(1);
      case 0xd1:
        return this.#int(2);
      case 0xd2:
        return this.#int(4);
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
        return this.#readString(this.#uint(1));
      case 0xda:
        return this.#readString(this.#uint(2));
      case 0xdb:
        return this.#readString(this.#uint(4));
      case 0xdc:
        return this.#readArray(this.#uint(2), depth);
      case 0xdd:
        return this.#readArray(this.#uint(4), depth);
      case 0xde:
        return this.#readMap(this.#uint(2), depth);
      case 0xdf:
        return this.#readMap(this.#uint(4), depth);
      default:
        throw decodeError("type byte 0xc1 is never used by MessagePack");
    }
  }

  /** 64-bit integers beyond 2^53 come from other languages: they become bigints. */
  #readInt64(isSigned: boolean): number | bigint {
    const at = this.#need(8);
    const high = isSigned ? this.#view.getInt32(at) : this.#view.getUint32(at);
    const value = high * TWO_POW_32 + this.#view.getUint32(at + 4);
    if (Number.isSafeInteger(value)) return value;
    return isSigned ? this.#view.getBigInt64(at) : this.#view.getBigUint64(at);
  }

  #readString(byteLength: number): string {
    const start = this.#need(byteLength);
    const bytes = this.#bytes;
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
    return this.#textDecoder.decode(
      bytes.subarray(start, start + byteLength),
    );
  }

  #readBinary(byteLength: number): Uint8Array {
    const start = this.#need(byteLength);
    const end = start + byteLength;
    return byteLength >= VIEW_BYTES_THRESHOLD && !this.#copiesBinaries
      ? this.#bytes.subarray(start, end)
      : this.#bytes.slice(start, end);
  }

  #readArray(length: number, depth: number): unknown[] {
    this.#checkCount(length);
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
    this.#checkCount(length * 2);
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

  /** Reads a map key: short strings through {@linkcode keyCache}, anything else as any value. */
  #readKey(depth: number): unknown {
    const position = this.#position;
    if (position < this.#end) {
      const byte = this.#bytes[position];
      if ((byte & 0xe0) === 0xa0) {
        this.#position = position + 1;
        return this.#readCachedKey(byte & 0x1f);
      }
    }
    return this.#readItem(depth);
  }

  /** Reads the bytes of a fixstr map key. */
  #readCachedKey(byteLength: number): string {
    const start = this.#need(byteLength);
    const end = start + byteLength;
    const bytes = this.#bytes;
    let hash = byteLength;
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      if (byte >= 0x80) {
        return this.#textDecoder.decode(bytes.subarray(start, end));
      }
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
    const type = this.#int(1);
    const start = this.#need(length);
    const end = start + length;
    switch (type) {
      case ExtensionType.UNDEFINED:
        this.#expectMarker(start, length, "undefined");
        return undefined;
      case ExtensionType.HOLE:
        this.#expectMarker(start, length, "an array hole");
        return HOLE;
      case ExtensionType.TIMESTAMP:
        return this.#readTimestamp(start, length);
      case ExtensionType.INVALID_DATE:
        if (length !== 0) {
          throw decodeError(
            `an invalid Date with a payload of ${length} bytes`,
          );
        }
        return new Date(NaN);
      case ExtensionType.BIGINT:
        return bytesToBigInt(this.#bytes.subarray(start, end));
      case ExtensionType.ARRAY_BUFFER:
        return this.#bytes.slice(start, end).buffer;
      case ExtensionType.TYPED_ARRAY:
        return this.#readTypedArray(start, end);
    }
    this.#checkDepth(depth);
    // The payload is MessagePack too: read it within its own bounds.
    const payload = this.#readPayload(start, end, depth);
    switch (type) {
      case ExtensionType.MAP:
        return toMap(payload);
      case ExtensionType.SET:
        if (!Array.isArray(payload)) {
          throw decodeError("a Set must hold an array");
        }
        return new Set(payload);
      case ExtensionType.ERROR:
        return toError(payload);
      case ExtensionType.REGEXP:
        return toRegExp(payload);
    }
    return this.#decodeUserExtension(type, payload);
  }

  #readPayload(start: number, end: number, depth: number): unknown {
    const outerEnd = this.#end;
    this.#position = start;
    this.#end = end;
    const value = this.#readItem(depth);
    if (this.#position !== end) {
      throw decodeError("an extension payload holds more than one value");
    }
    this.#end = outerEnd;
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
    const bytes = this.#bytes, view = this.#lazyView;
    const position = this.#position, end = this.#end;
    try {
      return extension.decode(payload);
    } catch (error) {
      throw new CodecError(
        "DECODE_FAILED",
        `Extension ${type} (${extension.class.name}) failed to decode a value: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    } finally {
      this.#bytes = bytes;
      this.#lazyView = view;
      this.#position = position;
      this.#end = end;
    }
  }

  /** Checks the payload of a marker extension: exactly one zero byte. */
  #expectMarker(start: number, length: number, what: string): void {
    if (length !== 1 || this.#bytes[start] !== 0) {
      throw decodeError(
        `${what} must be written d4 ${hex(this.#bytes[start - 1])} 00`,
      );
    }
  }

  #readTimestamp(start: number, length: number): Date {
    const view = this.#view;
    let seconds: number;
    let nanoseconds: number;
    if (length === 4) {
      seconds = view.getUint32(start);
      nanoseconds = 0;
    } else if (length === 8) {
      const high = view.getUint32(start);
      nanoseconds = high >>> 2;
      seconds = (high & 0x3) * TWO_POW_32 + view.getUint32(start + 4);
    } else if (length === 12) {
      nanoseconds = view.getUint32(start);
      seconds = Number(view.getBigInt64(start + 4));
    } else {
      throw decodeError(`a timestamp of ${length} bytes`);
    }
    if (nanoseconds >= 1_000_000_000) {
      throw decodeError(`a timestamp with ${nanoseconds} nanoseconds`);
    }
    const time = seconds * 1000 + Math.floor(nanoseconds / 1_000_000);
    // Beyond Date's range: an invalid date travels as extension 9 instead.
    if (!(Math.abs(time) <= MAX_DATE_TIME)) {
      throw decodeError(`a timestamp of ${seconds} seconds, beyond a Date`);
    }
    return new Date(time);
  }

  #readTypedArray(start: number, end: number): ArrayBufferView {
    if (start === end) throw decodeError("a typed array without its kind");
    const Kind = TYPED_ARRAY_KINDS[this.#bytes[start]];
    if (Kind === undefined) {
      throw decodeError(`unknown typed array kind ${this.#bytes[start]}`);
    }
    // A copy: the frame's offset rarely fits the element alignment.
    const buffer = this.#bytes.slice(start + 1, end).buffer;
    if (Kind === DataView) return new DataView(buffer);
    const elementSize = (Kind as { BYTES_PER_ELEMENT: number })
      .BYTES_PER_ELEMENT;
    if (buffer.byteLength % elementSize !== 0) {
      throw decodeError(
        `${buffer.byteLength} bytes do not make a whole ${Kind.name}`,
      );
    }
    return new (Kind as Int8ArrayConstructor)(buffer);
  }
}

/** How many map keys {@linkcode keyCache} holds; a power of two. */
const KEY_CACHE_SIZE = 4096;

/**
 * Map keys read recently, ASCII fixstr only, by a hash of their bytes.
 * Objects of one shape repeat their keys, and a key found here is the
 * same string as last time: no new string is built, and V8 stores the
 * property by the identity of an already internalized name instead of
 * hashing a fresh string on every store. Shared by every decoder (strings
 * are immutable); keys whose hashes collide take turns in a slot.
 */
const keyCache: (string | undefined)[] = new Array(KEY_CACHE_SIZE).fill(
  undefined,
);

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

function setOwn(
  object: Record<string, unknown>,
  key: string,
  value: unknown,
): void {
  if (key === "__proto__") {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}

function toMap(payload: unknown): Map<unknown, unknown> {
  if (payload instanceof Map) return payload;
  if (
    payload !== null && typeof payload === "object" && !Array.isArray(payload)
  ) {
    return new Map(Object.entries(payload));
  }
  throw decodeError("a Map must hold a map");
}

function toRegExp(payload: unknown): RegExp {
  if (
    !Array.isArray(payload) || typeof payload[0] !== "string" ||
    typeof payload[1] !== "string"
  ) {
    throw decodeError("a RegExp must hold [source, flags]");
  }
  try {
    return new RegExp(payload[0], payload[1]);
  } catch (error) {
    throw new CodecError("DECODE_FAILED", `Invalid RegExp: ${error}`, {
      cause: error,
    });
  }
}

const ERROR_FIELDS = new Set(["name", "message", "stack", "cause", "errors"]);

/**
 * Builds a decoded `Error`. It is made with `Error.stackTraceLimit` at 0:
 * its stack is the one that came over the wire, and capturing a local one
 * would cost a kilobyte and microseconds for three bytes of input. Other
 * fields become own properties, except names the error inherits
 * (`toString`, `constructor`…): a peer must not be able to make
 * `String(error)` throw in the code that receives it.
 */
function toError(payload: unknown): Error {
  if (
    payload === null || typeof payload !== "object" || Array.isArray(payload)
  ) {
    throw decodeError("an Error must hold a map");
  }
  const fields = payload as Record<string, unknown>;
  const name = typeof fields.name === "string" ? fields.name : "Error";
  const message = typeof fields.message === "string" ? fields.message : "";
  const error = withoutStackTrace(() => {
    const options = "cause" in fields ? { cause: fields.cause } : undefined;
    return name === "AggregateError"
      ? new AggregateError(
        Array.isArray(fields.errors) ? fields.errors : [],
        message,
        options,
      )
      : new (Object.hasOwn(ERROR_CLASSES, name) ? ERROR_CLASSES[name] : Error)(
        message,
        options,
      );
  });
  if (error.name !== name) error.name = name;
  // Assigned, not defined: redefining V8's own `stack` property turns the
  // error into a slow dictionary object three times the size.
  error.stack = typeof fields.stack === "string" ? fields.stack : undefined;
  for (const key of Object.keys(fields)) {
    if (!ERROR_FIELDS.has(key) && !(key in error)) {
      Object.defineProperty(error, key, {
        value: fields[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return error;
}

/** Runs `make` with V8's stack capture off, when the runtime lets us turn it off. */
function withoutStackTrace<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 0;
  } catch {
    // Frozen by the application (a hardened realm): capture as usual.
    return make();
  }
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
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
 * @throws {CodecError} `DECODE_FAILED` beyond the largest bigint V8 holds.
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

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function decodeError(reason: string): CodecError {
  return new CodecError("DECODE_FAILED", `Cannot decode: ${reason}.`);
}
