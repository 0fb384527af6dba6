/**
 * The MessagePack writer behind {@linkcode Codec}. It writes messages one
 * after another into an arena and returns each as a list of parts: views
 * of the arena, and large binaries as views of the caller's memory, so
 * they reach the socket without being copied (PROTOCOL.md, "Values").
 *
 * Callers keep the parts (the session queues them for writing), so bytes
 * handed out are never written over: the next message starts after them,
 * and a message that does not fit moves to a new arena, leaving the old
 * one to the parts that still use it.
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";
import {
  type Extension,
  ExtensionType,
  TYPED_ARRAY_KINDS,
} from "./extension.ts";

/** Binaries at least this long are sent from the caller's memory, not copied. */
export const EXTERNAL_BYTES_THRESHOLD = 64 * 1024;

/**
 * The size of a new arena. Allocating one costs about as much as zeroing
 * it (some µs), so a typical message of tens of bytes pays a few ns for
 * its share; a kept message pins at most this much.
 */
const ARENA_SIZE = 64 * 1024;
/** An arena grown past this is dropped after the message, so one big message does not pin memory. */
const RETAINED_ARENA_SIZE = 1024 * 1024;
/** Strings shorter than this are written by hand: cheaper than a call into TextEncoder. */
const SHORT_STRING_LENGTH = 64;
/** How much a str header can grow (1 byte to 5) once the UTF-8 length is known. */
const MAX_HEADER_GROWTH = 4;
/** Room a long string needs besides its bytes: the longest header, and room for it to grow into. */
const STRING_SLACK = 5 + MAX_HEADER_GROWTH;
const TWO_POW_32 = 0x1_0000_0000;
/** Fields that hold stack traces: an error's, and a `RemoteError`'s from its server. */
const STACK_FIELDS = new Set(["stack", "remoteStack"]);

/** Options of {@linkcode Encoder}. */
export interface EncoderOptions {
  /** User extensions, tried before the built-in types. */
  extensions?: readonly Extension[];
  /** How deep values may nest before encoding fails (guards against cycles). */
  maxDepth?: number;
  /**
   * Whether `Error`s are written with their stacks. When `false`, every
   * `Error`, wherever it sits in a value, goes without its `stack` (and a
   * `RemoteError` without the `remoteStack` of its server), and so do the
   * plain objects inside it, at any depth.
   *
   * @default {true}
   */
  stacks?: boolean;
}

/** Writes values as MessagePack with isock's extension types. */
export class Encoder {
  /** Where messages are written, one after another; allocated by the first write. */
  #arena: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(this.#arena.buffer);
  /** Where the bytes not yet handed out begin: nothing before may change. */
  #start = 0;
  #position = 0;
  /** The parts of the message so far, once a large binary has cut it. */
  #parts: Uint8Array[] | undefined;
  /** Inside an extension whose byte length is patched in afterwards, no part may be cut. */
  #patchDepth = 0;
  #isEncoding = false;
  /** Encodes for extensions that call back into the codec mid-value. */
  #nested: Encoder | undefined;
  readonly #extensions: readonly Extension[];
  readonly #maxDepth: number;
  readonly #hasStacks: boolean;
  /** How many errors the value being written sits in, counted while stacks are withheld. */
  #errorDepth = 0;
  readonly #textEncoder = new TextEncoder();

  /** @param options Extensions, the nesting limit and whether stacks go. */
  constructor(options: EncoderOptions = {}) {
    this.#extensions = options.extensions ?? [];
    this.#maxDepth = options.maxDepth ?? 512;
    this.#hasStacks = options.stacks ?? true;
  }

  /**
   * Encodes one value.
   *
   * @returns The encoding in order, as parts: views of this encoder's
   * memory that later calls never write over, and views of binaries at
   * least {@linkcode EXTERNAL_BYTES_THRESHOLD} long (the caller's memory,
   * not copied).
   */
  encodeParts(value: unknown): Uint8Array[] {
    if (this.#isEncoding) {
      // An extension's encode() called back into this codec.
      this.#nested ??= new Encoder({
        extensions: this.#extensions,
        maxDepth: this.#maxDepth,
        stacks: this.#hasStacks,
      });
      return this.#nested.encodeParts(value);
    }
    this.#isEncoding = true;
    this.#patchDepth = 0;
    this.#parts = undefined;
    try {
      this.#writeValue(value, 0);
      return this.#finishParts();
    } catch (error) {
      // Nothing from #start on was handed out: the next message may reuse it.
      this.#position = this.#start;
      throw error;
    } finally {
      this.#parts = undefined;
      this.#isEncoding = false;
      if (this.#arena.length > RETAINED_ARENA_SIZE) this.#dropArena();
    }
  }

  /** Hands out the rest of the message and returns all of its parts. */
  #finishParts(): Uint8Array[] {
    const parts = this.#parts;
    if (parts === undefined) return [this.#handOut()];
    if (this.#position > this.#start) parts.push(this.#handOut());
    return parts;
  }

  /** Returns the bytes written since the last hand-out; they are never written again. */
  #handOut(): Uint8Array {
    const bytes = this.#arena.subarray(this.#start, this.#position);
    this.#start = this.#position;
    return bytes;
  }

  /**
   * Ends the current part, so that a large binary can follow as a part of
   * its own.
   *
   * @returns The message's parts so far.
   */
  #cut(): Uint8Array[] {
    const parts = this.#parts ??= [];
    if (this.#position > this.#start) parts.push(this.#handOut());
    return parts;
  }

  /** Makes room for `byteCount` more bytes. Call it before writing them. */
  #ensure(byteCount: number): void {
    if (this.#position + byteCount > this.#arena.length) {
      this.#moveToNewArena(byteCount);
    }
  }

  /**
   * Moves to a new arena with room for the bytes not yet handed out plus
   * `byteCount` more, and moves those bytes to its start. Views handed
   * out keep the old arena alive for as long as they need it.
   */
  #moveToNewArena(byteCount: number): void {
    const pending = this.#arena.subarray(this.#start, this.#position);
    // At least doubling what a message has written so far keeps one that
    // grows by many small writes linear.
    const arena = new Uint8Array(
      pending.length + byteCount + Math.max(ARENA_SIZE, pending.length),
    );
    arena.set(pending);
    this.#setArena(arena);
    this.#position = pending.length;
  }

  /** Lets go of the arena between messages; the next write allocates one. */
  #dropArena(): void {
    this.#setArena(new Uint8Array(0));
    this.#position = 0;
  }

  #setArena(arena: Uint8Array): void {
    this.#arena = arena;
    this.#view = new DataView(arena.buffer);
    this.#start = 0;
  }

  #writeValue(value: unknown, depth: number): void {
    switch (typeof value) {
      case "string":
        return this.#writeString(value);
      case "number":
        return this.#writeNumber(value);
      case "boolean":
        this.#ensure(1);
        this.#arena[this.#position++] = value ? 0xc3 : 0xc2;
        return;
      case "undefined":
        return this.#writeMarker(ExtensionType.UNDEFINED);
      case "bigint":
        return this.#writeBigInt(value);
      case "object":
        if (value === null) {
          this.#ensure(1);
          this.#arena[this.#position++] = 0xc0;
          return;
        }
        return this.#writeObject(value, depth);
      default:
        throw new CodecError(
          "ENCODE_FAILED",
          `Cannot encode a ${typeof value}: isock sends data, not code. Send a value (or register an extension for a class).`,
        );
    }
  }

  #writeNumber(value: number): void {
    this.#ensure(9);
    const buffer = this.#arena;
    if ((value >>> 0) === value) {
      if (value === 0 && 1 / value < 0) return this.#writeFloat64(value); // -0
      if (value < 0x80) {
        buffer[this.#position++] = value;
      } else if (value < 0x100) {
        buffer[this.#position++] = 0xcc;
        buffer[this.#position++] = value;
      } else if (value < 0x10000) {
        buffer[this.#position++] = 0xcd;
        buffer[this.#position++] = value >> 8;
        buffer[this.#position++] = value;
      } else {
        buffer[this.#position++] = 0xce;
        this.#view.setUint32(this.#position, value);
        this.#position += 4;
      }
    } else if ((value | 0) === value) {
      if (value >= -0x20) {
        buffer[this.#position++] = value & 0xff;
      } else if (value >= -0x80) {
        buffer[this.#position++] = 0xd0;
        buffer[this.#position++] = value;
      } else if (value >= -0x8000) {
        buffer[this.#position++] = 0xd1;
        this.#view.setInt16(this.#position, value);
        this.#position += 2;
      } else {
        buffer[this.#position++] = 0xd2;
        this.#view.setInt32(this.#position, value);
        this.#position += 4;
      }
    } else if (Number.isSafeInteger(value)) {
      const high = Math.floor(value / TWO_POW_32);
      buffer[this.#position++] = value > 0 ? 0xcf : 0xd3;
      this.#view.setInt32(this.#position, high);
      this.#view.setUint32(this.#position + 4, value - high * TWO_POW_32);
      this.#position += 8;
    } else {
      this.#writeFloat64(value);
    }
  }

  #writeFloat64(value: number): void {
    this.#arena[this.#position++] = 0xcb;
    this.#view.setFloat64(this.#position, value);
    this.#position += 8;
  }

  #writeString(value: string): void {
    if (value.length >= SHORT_STRING_LENGTH) {
      return this.#writeLongString(value);
    }
    // At most 3 bytes per UTF-16 unit, so a 1- or 2-byte header.
    this.#ensure(value.length * 3 + 2);
    if (!this.#writeAsciiString(value)) this.#writeShortUtf8String(value);
  }

  /**
   * Writes a short string whose units are all ASCII, the common case, with
   * no pass to measure it first.
   *
   * @returns Whether it did: false at the first unit that is not ASCII,
   * and the position unchanged.
   */
  #writeAsciiString(value: string): boolean {
    const length = value.length;
    const headerSize = stringHeaderSize(length);
    const buffer = this.#arena;
    let position = this.#position + headerSize;
    for (let i = 0; i < length; i++) {
      const unit = value.charCodeAt(i);
      if (unit >= 0x80) return false;
      buffer[position++] = unit;
    }
    this.#writeStringHeader(length, headerSize);
    this.#position = position;
    return true;
  }

  #writeShortUtf8String(value: string): void {
    const byteLength = utf8Length(value);
    this.#writeStringHeader(byteLength, stringHeaderSize(byteLength));
    this.#position += this.#writeShortUtf8(value, this.#position);
  }

  /**
   * Writes a long string with TextEncoder, behind a header sized for as
   * many bytes as units (right for ASCII); the bytes move in the rare case
   * that their UTF-8 needs a longer header.
   */
  #writeLongString(value: string): void {
    // Ask for room for ASCII only: reserving 3 bytes per unit would use up
    // arenas three times as fast. UTF-8 that turns out longer than the
    // arena's room goes on in a new one.
    this.#ensure(value.length + STRING_SLACK);
    // Relative to #start: the bytes may move to a new arena.
    const headerOffset = this.#position - this.#start;
    const reserved = stringHeaderSize(value.length);
    this.#position += reserved;
    const { read } = this.#writeUtf8(value);
    if (read < value.length) {
      this.#ensure((value.length - read) * 3 + MAX_HEADER_GROWTH);
      this.#writeUtf8(value.slice(read));
    }
    const headerStart = this.#start + headerOffset;
    const byteLength = this.#position - headerStart - reserved;
    const headerSize = stringHeaderSize(byteLength);
    if (headerSize !== reserved) {
      this.#arena.copyWithin(
        headerStart + headerSize,
        headerStart + reserved,
        this.#position,
      );
    }
    this.#position = headerStart;
    this.#writeStringHeader(byteLength, headerSize);
    this.#position += byteLength;
  }

  /**
   * Writes as much of `text` as fits, as UTF-8, keeping at the end the
   * room a string header may need to grow by.
   */
  #writeUtf8(text: string): TextEncoderEncodeIntoResult {
    const result = this.#textEncoder.encodeInto(
      text,
      this.#arena.subarray(
        this.#position,
        this.#arena.length - MAX_HEADER_GROWTH,
      ),
    );
    this.#position += result.written;
    return result;
  }

  #writeStringHeader(byteLength: number, headerSize: number): void {
    const buffer = this.#arena;
    switch (headerSize) {
      case 1:
        buffer[this.#position++] = 0xa0 | byteLength;
        return;
      case 2:
        buffer[this.#position++] = 0xd9;
        buffer[this.#position++] = byteLength;
        return;
      case 3:
        buffer[this.#position++] = 0xda;
        buffer[this.#position++] = byteLength >> 8;
        buffer[this.#position++] = byteLength;
        return;
      default:
        buffer[this.#position++] = 0xdb;
        this.#view.setUint32(this.#position, byteLength);
        this.#position += 4;
    }
  }

  /**
   * UTF-8 by hand: for short strings this beats a call into TextEncoder.
   * {@linkcode utf8Length} must count the same bytes.
   */
  #writeShortUtf8(value: string, at: number): number {
    const buffer = this.#arena;
    let position = at;
    for (let i = 0; i < value.length; i++) {
      const unit = value.charCodeAt(i);
      if (unit < 0x80) {
        buffer[position++] = unit;
      } else if (unit < 0x800) {
        buffer[position++] = 0xc0 | (unit >> 6);
        buffer[position++] = 0x80 | (unit & 0x3f);
      } else if (unit < 0xd800 || unit > 0xdfff) {
        buffer[position++] = 0xe0 | (unit >> 12);
        buffer[position++] = 0x80 | ((unit >> 6) & 0x3f);
        buffer[position++] = 0x80 | (unit & 0x3f);
      } else {
        const next = value.charCodeAt(i + 1);
        if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const codePoint = 0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00);
          buffer[position++] = 0xf0 | (codePoint >> 18);
          buffer[position++] = 0x80 | ((codePoint >> 12) & 0x3f);
          buffer[position++] = 0x80 | ((codePoint >> 6) & 0x3f);
          buffer[position++] = 0x80 | (codePoint & 0x3f);
          i++;
        } else {
          // A lone surrogate is not Unicode: send U+FFFD, as TextEncoder does.
          buffer[position++] = 0xef;
          buffer[position++] = 0xbf;
          buffer[position++] = 0xbd;
        }
      }
    }
    return position - at;
  }

  #writeObject(value: object, depth: number): void {
    if (depth >= this.#maxDepth) {
      throw new CodecError(
        "ENCODE_FAILED",
        `Cannot encode a value nested deeper than ${this.#maxDepth} levels: is it circular?`,
      );
    }
    const constructor = value.constructor;
    if (constructor === Object) {
      return this.#writePlainObject(value as Record<string, unknown>, depth);
    }
    if (constructor === Array) {
      return this.#writeArray(value as unknown[], depth);
    }
    if (constructor === Uint8Array) {
      return this.#writeBinary(value as Uint8Array);
    }
    for (const extension of this.#extensions) {
      if (value instanceof extension.class) {
        return this.#writeUserExtension(extension, value, depth);
      }
    }
    if (Array.isArray(value)) return this.#writeArray(value, depth);
    if (value instanceof Uint8Array) return this.#writeBinary(value);
    if (ArrayBuffer.isView(value)) return this.#writeTypedArray(value);
    if (value instanceof Date) return this.#writeDate(value);
    if (value instanceof Map) return this.#writeMap(value, depth);
    if (value instanceof Set) return this.#writeSet(value, depth);
    if (value instanceof ArrayBuffer) {
      this.#writeExtensionHeader(value.byteLength, ExtensionType.ARRAY_BUFFER);
      return this.#writeBytes(new Uint8Array(value));
    }
    if (value instanceof Error) return this.#writeError(value, depth);
    if (value instanceof RegExp) {
      return this.#writePatchedExtension(ExtensionType.REGEXP, () => {
        this.#writeArrayHeader(2);
        this.#writeString(value.source);
        this.#writeString(value.flags);
      });
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      return this.#writeValue(toJSON.call(value), depth + 1);
    }
    return this.#writePlainObject(value as Record<string, unknown>, depth);
  }

  /**
   * Writes an object's own enumerable string keys. `for…in` with
   * `hasOwnProperty` walks V8's enum cache without allocating, about three
   * times as fast as `Object.keys` on small objects; it takes two passes,
   * as the header needs the count first.
   */
  #writePlainObject(value: Record<string, unknown>, depth: number): void {
    if (this.#errorDepth > 0) {
      return this.#writeObjectWithoutStacks(value, depth);
    }
    const count = countOwnKeys(value);
    this.#writeMapHeader(count);
    let written = 0;
    for (const key in value) {
      if (!hasOwnProperty.call(value, key)) continue;
      this.#writeString(key);
      this.#writeValue(value[key], depth + 1);
      written++;
    }
    if (written !== count) {
      // A getter added or deleted keys: the header would not match.
      throw new CodecError(
        "ENCODE_FAILED",
        "Cannot encode an object whose keys change while it is read (a getter that adds or deletes properties?).",
      );
    }
  }

  #writeArray(value: readonly unknown[], depth: number): void {
    const length = value.length;
    this.#writeArrayHeader(length);
    for (let i = 0; i < length; i++) {
      const item = value[i];
      if (item === undefined && !(i in value)) {
        this.#writeMarker(ExtensionType.HOLE);
      } else {
        this.#writeValue(item, depth + 1);
      }
    }
  }

  #writeArrayHeader(length: number): void {
    this.#ensure(5);
    this.#writeCollectionHeader(length, 0x90, 0xdc);
  }

  #writeMapHeader(length: number): void {
    this.#ensure(5);
    this.#writeCollectionHeader(length, 0x80, 0xde);
  }

  /** Array and map headers differ only in their type bytes. */
  #writeCollectionHeader(length: number, fixType: number, type16: number) {
    const buffer = this.#arena;
    if (length < 0x10) {
      buffer[this.#position++] = fixType | length;
    } else if (length < 0x10000) {
      buffer[this.#position++] = type16;
      buffer[this.#position++] = length >> 8;
      buffer[this.#position++] = length;
    } else {
      buffer[this.#position++] = type16 + 1;
      this.#view.setUint32(this.#position, length);
      this.#position += 4;
    }
  }

  #writeBinary(value: Uint8Array): void {
    const length = value.byteLength;
    this.#ensure(5);
    const buffer = this.#arena;
    if (length < 0x100) {
      buffer[this.#position++] = 0xc4;
      buffer[this.#position++] = length;
    } else if (length < 0x10000) {
      buffer[this.#position++] = 0xc5;
      buffer[this.#position++] = length >> 8;
      buffer[this.#position++] = length;
    } else {
      buffer[this.#position++] = 0xc6;
      this.#view.setUint32(this.#position, length);
      this.#position += 4;
    }
    this.#writeBytes(value);
  }

  /** Copies small byte runs; hands large ones over as parts of their own. */
  #writeBytes(bytes: Uint8Array): void {
    if (
      bytes.byteLength >= EXTERNAL_BYTES_THRESHOLD && this.#patchDepth === 0
    ) {
      this.#cut().push(bytes);
      return;
    }
    this.#ensure(bytes.byteLength);
    this.#arena.set(bytes, this.#position);
    this.#position += bytes.byteLength;
  }

  #writeTypedArray(value: ArrayBufferView): void {
    const kind = TYPED_ARRAY_KINDS.findIndex((type) => value instanceof type);
    if (kind < 0) {
      throw new CodecError(
        "ENCODE_FAILED",
        `Cannot encode a ${value.constructor.name}: isock sends the typed arrays of ECMAScript and DataView.`,
      );
    }
    const bytes = new Uint8Array(
      value.buffer,
      value.byteOffset,
      value.byteLength,
    );
    this.#writeExtensionHeader(1 + bytes.byteLength, ExtensionType.TYPED_ARRAY);
    this.#ensure(1);
    this.#arena[this.#position++] = kind;
    this.#writeBytes(bytes);
  }

  /** A one-byte extension that stands for a value with no data. */
  #writeMarker(type: number): void {
    this.#ensure(3);
    this.#arena[this.#position++] = 0xd4;
    this.#arena[this.#position++] = type;
    this.#arena[this.#position++] = 0;
  }

  #writeExtensionHeader(length: number, type: number): void {
    this.#ensure(6);
    this.#putExtensionHeader(length, type);
  }

  /** Writes an extension header into room the caller has ensured. */
  #putExtensionHeader(length: number, type: number): void {
    const buffer = this.#arena;
    const fixType = FIXEXT_TYPES[length];
    if (fixType !== undefined) {
      buffer[this.#position++] = fixType;
    } else if (length < 0x100) {
      buffer[this.#position++] = 0xc7;
      buffer[this.#position++] = length;
    } else if (length < 0x10000) {
      buffer[this.#position++] = 0xc8;
      buffer[this.#position++] = length >> 8;
      buffer[this.#position++] = length;
    } else {
      buffer[this.#position++] = 0xc9;
      this.#view.setUint32(this.#position, length);
      this.#position += 4;
    }
    buffer[this.#position++] = type & 0xff;
  }

  /**
   * Writes an extension whose payload length is known only once written:
   * the payload goes after room for the shortest header, then moves if the
   * real header is longer.
   */
  #writePatchedExtension(type: number, writePayload: () => void): void {
    this.#ensure(3);
    // Relative to #start: the payload may move to a new arena, with the
    // header room before it. (No part is cut meanwhile, so #start stays.)
    const headerOffset = this.#position - this.#start;
    this.#position += 3;
    this.#patchDepth++;
    try {
      writePayload();
    } finally {
      this.#patchDepth--;
    }
    // Room for the longest header past the payload, before anything moves.
    this.#ensure(6);
    const headerStart = this.#start + headerOffset;
    const payloadStart = headerStart + 3;
    const length = this.#position - payloadStart;
    const headerSize = extensionHeaderSize(length);
    if (headerSize !== 3) {
      this.#arena.copyWithin(
        headerStart + headerSize,
        payloadStart,
        payloadStart + length,
      );
    }
    this.#position = headerStart;
    this.#putExtensionHeader(length, type);
    this.#position += length;
  }

  #writeUserExtension(
    extension: Extension,
    value: object,
    depth: number,
  ): void {
    let data: unknown;
    try {
      data = extension.encode(value);
    } catch (error) {
      throw new CodecError(
        "ENCODE_FAILED",
        `Extension ${extension.type} (${extension.class.name}) failed to encode a value: ${
          errorMessage(error)
        }`,
        { cause: error },
      );
    }
    this.#writePatchedExtension(
      extension.type,
      () => this.#writeValue(data, depth + 1),
    );
  }

  #writeMap(value: Map<unknown, unknown>, depth: number): void {
    this.#writePatchedExtension(ExtensionType.MAP, () => {
      this.#writeMapHeader(value.size);
      for (const [key, item] of value) {
        this.#writeValue(key, depth + 1);
        this.#writeValue(item, depth + 1);
      }
    });
  }

  #writeSet(value: Set<unknown>, depth: number): void {
    this.#writePatchedExtension(ExtensionType.SET, () => {
      this.#writeArrayHeader(value.size);
      for (const item of value) this.#writeValue(item, depth + 1);
    });
  }

  #writeError(value: Error, depth: number): void {
    const fields: Record<string, unknown> = {
      name: value.name,
      message: value.message,
    };
    if (this.#hasStacks && typeof value.stack === "string") {
      fields.stack = value.stack;
    }
    if ("cause" in value) fields.cause = value.cause;
    if (value instanceof AggregateError) fields.errors = value.errors;
    for (const key of Object.keys(value)) {
      if (!this.#hasStacks && STACK_FIELDS.has(key)) continue;
      if (!(key in fields)) {
        fields[key] = (value as unknown as Record<string, unknown>)[key];
      }
    }
    if (this.#hasStacks) {
      return this.#writePatchedExtension(
        ExtensionType.ERROR,
        () => this.#writePlainObject(fields, depth),
      );
    }
    // An error is an error report as a whole: the objects inside it (a
    // cause `{ message, stack }`, a field holding one) keep no stack either.
    this.#errorDepth++;
    try {
      this.#writePatchedExtension(
        ExtensionType.ERROR,
        () => this.#writePlainObject(fields, depth),
      );
    } finally {
      this.#errorDepth--;
    }
  }

  /** A plain object inside an error while stacks are withheld: its stack fields stay home. */
  #writeObjectWithoutStacks(
    value: Record<string, unknown>,
    depth: number,
  ): void {
    const keys = Object.keys(value).filter((key) => !STACK_FIELDS.has(key));
    this.#writeMapHeader(keys.length);
    for (const key of keys) {
      this.#writeString(key);
      this.#writeValue(value[key], depth + 1);
    }
  }

  #writeDate(value: Date): void {
    this.#ensure(18);
    const time = value.getTime();
    if (Number.isNaN(time)) {
      this.#writeExtensionHeader(0, ExtensionType.INVALID_DATE);
      return;
    }
    const seconds = Math.floor(time / 1000);
    const nanoseconds = (time - seconds * 1000) * 1_000_000;
    if (seconds >= 0 && seconds < 0x4_0000_0000) {
      if (nanoseconds === 0 && seconds < TWO_POW_32) {
        this.#writeExtensionHeader(4, ExtensionType.TIMESTAMP);
        this.#view.setUint32(this.#position, seconds);
        this.#position += 4;
      } else {
        // timestamp 64: 30 bits of nanoseconds, then 34 bits of seconds.
        this.#writeExtensionHeader(8, ExtensionType.TIMESTAMP);
        const high = nanoseconds * 4 + Math.floor(seconds / TWO_POW_32);
        this.#view.setUint32(this.#position, high);
        this.#view.setUint32(this.#position + 4, seconds >>> 0);
        this.#position += 8;
      }
    } else {
      this.#writeExtensionHeader(12, ExtensionType.TIMESTAMP);
      this.#view.setUint32(this.#position, nanoseconds);
      this.#view.setBigInt64(this.#position + 4, BigInt(seconds));
      this.#position += 12;
    }
  }

  #writeBigInt(value: bigint): void {
    const bytes = bigIntToBytes(value);
    this.#writeExtensionHeader(bytes.length, ExtensionType.BIGINT);
    this.#writeBytes(bytes);
  }
}

const FIXEXT_TYPES: Readonly<Record<number, number>> = {
  1: 0xd4,
  2: 0xd5,
  4: 0xd6,
  8: 0xd7,
  16: 0xd8,
};

function stringHeaderSize(byteLength: number): number {
  if (byteLength < 0x20) return 1;
  if (byteLength < 0x100) return 2;
  if (byteLength < 0x10000) return 3;
  return 5;
}

const hasOwnProperty = Object.prototype.hasOwnProperty;

/** How many keys `for…in` meets that are `value`'s own (not inherited). */
function countOwnKeys(value: object): number {
  let count = 0;
  for (const key in value) {
    if (hasOwnProperty.call(value, key)) count++;
  }
  return count;
}

/** The UTF-8 length of `value`, as {@linkcode Encoder} writes it. */
function utf8Length(value: string): number {
  let byteLength = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) {
      byteLength += 1;
    } else if (unit < 0x800) {
      byteLength += 2;
    } else if (unit < 0xd800 || unit > 0xdbff) {
      // Not a high surrogate; a lone low surrogate becomes U+FFFD, 3 bytes.
      byteLength += 3;
    } else {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        byteLength += 4;
        i++;
      } else {
        byteLength += 3;
      }
    }
  }
  return byteLength;
}

function extensionHeaderSize(length: number): number {
  if (FIXEXT_TYPES[length] !== undefined) return 2;
  if (length < 0x100) return 3;
  if (length < 0x10000) return 4;
  return 6;
}

/** Two's complement, big-endian, in the fewest bytes that keep the sign. */
export function bigIntToBytes(value: bigint): Uint8Array {
  const isNegative = value < 0n;
  // For a negative n, the bits of ~n = -n - 1 are those of n inverted.
  let hex = (isNegative ? -value - 1n : value).toString(16);
  if (hex.length % 2 === 1) hex = "0" + hex;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = "00" + hex;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    const byte = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    bytes[i] = isNegative ? ~byte : byte;
  }
  return bytes;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
