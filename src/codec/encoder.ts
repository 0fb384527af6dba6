/**
 * The encoder behind {@linkcode Codec}: what a value is made of, and how
 * each part is written. MessagePack's own types and the arena come from
 * {@linkcode MessagePackWriter} (msgpack_writer.ts);
 * isock's built-in extension types from encode_builtins.ts; user
 * extensions are tried before them. Each message is returned as a list of
 * parts: views of the arena, and large binaries as views of the caller's
 * memory, so they reach the socket without being copied (PROTOCOL.md,
 * "Values").
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";
import {
  errorFields,
  STACK_FIELDS,
  writeArrayBuffer,
  writeBigInt,
  writeDate,
  writeMap,
  writeRegExp,
  writeSet,
  writeTypedArray,
} from "./encode_builtins.ts";
import { encodeExtension, type Extension, ExtensionType } from "./extension.ts";
import { MessagePackWriter } from "./msgpack_writer.ts";

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

/**
 * Writes values as MessagePack with isock's extension types.
 *
 * @example
 * ```ts
 * import { Encoder } from "./encoder.ts";
 * import assert from "node:assert/strict";
 *
 * const parts = new Encoder().encodeParts([1, "a"]);
 * assert.deepEqual(parts, [new Uint8Array([0x92, 0x01, 0xa1, 0x61])]);
 * ```
 */
export class Encoder extends MessagePackWriter {
  #isEncoding = false;
  /** Encodes for extensions that call back into the codec mid-value. */
  #nested: Encoder | undefined;
  readonly #extensions: readonly Extension[];
  readonly #maxDepth: number;
  readonly #hasStacks: boolean;
  /** How many errors the value being written sits in, counted while stacks are withheld. */
  #errorDepth = 0;

  /**
   * Creates an encoder.
   *
   * @param options Extensions, the nesting limit and whether stacks go.
   */
  constructor(options: EncoderOptions = {}) {
    super();
    this.#extensions = options.extensions ?? [];
    this.#maxDepth = options.maxDepth ?? 512;
    this.#hasStacks = options.stacks ?? true;
  }

  /**
   * Encodes one value.
   *
   * @param value Anything isock can send.
   * @returns The encoding in order, as parts: views of this encoder's
   * memory that later calls never write over, and views of binaries at
   * least {@linkcode EXTERNAL_BYTES_THRESHOLD} long (the caller's memory,
   * not copied).
   * @throws {CodecError} `ENCODE_FAILED` for functions, symbols and cycles.
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
    this.beginMessage();
    try {
      this.writeValue(value, 0);
      return this.finishParts();
    } catch (error) {
      this.abandonMessage();
      throw error;
    } finally {
      this.#isEncoding = false;
      this.endMessage();
    }
  }

  /**
   * Writes any value.
   *
   * @param value The value.
   * @param depth How deep it sits.
   */
  writeValue(value: unknown, depth: number): void {
    switch (typeof value) {
      case "string":
        return this.writeString(value);
      case "number":
        return this.writeNumber(value);
      case "boolean":
        this.ensure(1);
        this.arena[this.position++] = value ? 0xc3 : 0xc2;
        return;
      case "undefined":
        return this.writeMarker(ExtensionType.UNDEFINED);
      case "bigint":
        return writeBigInt(this, value);
      case "object":
        if (value === null) {
          this.ensure(1);
          this.arena[this.position++] = 0xc0;
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
      return this.writeBinary(value as Uint8Array);
    }
    for (const extension of this.#extensions) {
      if (value instanceof extension.class) {
        return this.#writeUserExtension(extension, value, depth);
      }
    }
    if (Array.isArray(value)) return this.#writeArray(value, depth);
    if (value instanceof Uint8Array) return this.writeBinary(value);
    if (ArrayBuffer.isView(value)) return writeTypedArray(this, value);
    if (value instanceof Date) return writeDate(this, value);
    if (value instanceof Map) return writeMap(this, value, depth);
    if (value instanceof Set) return writeSet(this, value, depth);
    if (value instanceof ArrayBuffer) return writeArrayBuffer(this, value);
    if (value instanceof Error) return this.#writeError(value, depth);
    if (value instanceof RegExp) return writeRegExp(this, value);
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      return this.writeValue(toJSON.call(value), depth + 1);
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
    this.writeMapHeader(count);
    let written = 0;
    for (const key in value) {
      if (!hasOwnProperty.call(value, key)) continue;
      this.writeString(key);
      this.writeValue(value[key], depth + 1);
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
    this.writeArrayHeader(length);
    for (let i = 0; i < length; i++) {
      const item = value[i];
      if (item === undefined && !(i in value)) {
        this.writeMarker(ExtensionType.HOLE);
      } else {
        this.writeValue(item, depth + 1);
      }
    }
  }

  #writeUserExtension(
    extension: Extension,
    value: object,
    depth: number,
  ): void {
    const data = encodeExtension(extension, value);
    this.writePatchedExtension(
      extension.type,
      () => this.writeValue(data, depth + 1),
    );
  }

  #writeError(value: Error, depth: number): void {
    const fields = errorFields(value, this.#hasStacks);
    if (this.#hasStacks) {
      return this.writePatchedExtension(
        ExtensionType.ERROR,
        () => this.#writePlainObject(fields, depth),
      );
    }
    // An error is an error report as a whole: the objects inside it (a
    // cause `{ message, stack }`, a field holding one) keep no stack either.
    this.#errorDepth++;
    try {
      this.writePatchedExtension(
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
    this.writeMapHeader(keys.length);
    for (const key of keys) {
      this.writeString(key);
      this.writeValue(value[key], depth + 1);
    }
  }
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
