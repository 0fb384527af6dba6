/**
 * The codec: MessagePack with extension types, so that `undefined`, `-0`,
 * `bigint`, `Date`, `Map`, `Set`, typed arrays, sparse arrays, `Error`s and
 * your own classes come back as they left. PROTOCOL.md, "Values", is the
 * byte-level description. With it, the mapping between isock values and
 * JSON (`jsonToValue`, `valueToJson`) the command line uses.
 *
 * @module
 */

import { concat } from "./src/base/bytes.ts";
import { Decoder } from "./src/codec/decoder.ts";
import { Encoder } from "./src/codec/encoder.ts";
import {
  checkExtensions,
  defineExtension,
  type Extension,
} from "./src/codec/extension.ts";

export { checkExtensions, defineExtension, type Extension };
export type {
  JsonMappingOptions,
  JsonValue,
} from "./src/codec/json_mapping.ts";
export { jsonToValue } from "./src/codec/json_read.ts";
export { valueToJson } from "./src/codec/json_write.ts";

/** Options of {@linkcode Codec}. */
export interface CodecOptions {
  /**
   * Your classes that travel as themselves. Both peers must register the
   * same extensions.
   *
   * @default {[]}
   */
  extensions?: readonly Extension[];
  /**
   * How deep values may nest. Encoding a deeper value (a cycle, say) and
   * decoding one both fail with a {@linkcode CodecError}.
   *
   * @default {512}
   */
  maxDepth?: number;
}

/**
 * Encodes values to MessagePack bytes and back. A {@linkcode Server} and a
 * {@linkcode Client} each make one from their `extensions` option; use one
 * directly to check that your values round-trip.
 *
 * @example Round-trip rich data
 * ```ts
 * import { Codec } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const codec = new Codec();
 * const value = {
 *   when: new Date(0),
 *   tags: new Set(["a", "b"]),
 *   scores: new Map([[1n, -0]]),
 *   missing: undefined,
 * };
 * assert.deepStrictEqual(codec.decode(codec.encode(value)), value);
 * ```
 */
export class Codec {
  readonly #encoder: Encoder;
  readonly #decoder: Decoder;
  /** The extensions this codec was made with. */
  readonly extensions: readonly Extension[];

  /**
   * Creates a `Codec`.
   *
   * @param options Extensions and the nesting limit.
   * @throws {CodecError} `INVALID_EXTENSION` for a bad or repeated type id.
   */
  constructor(options: CodecOptions = {}) {
    this.extensions = checkExtensions(options.extensions ?? []);
    this.#encoder = new Encoder({ ...options, extensions: this.extensions });
    this.#decoder = new Decoder({ ...options, extensions: this.extensions });
  }

  /**
   * Encodes a value into one buffer.
   *
   * @param value Anything isock can send.
   * @returns The MessagePack bytes. Later calls never write over them, but
   * they may be a view that shares its `ArrayBuffer` with other encodings:
   * `slice()` them before transferring or keeping their `.buffer`.
   * @throws {CodecError} `ENCODE_FAILED` for functions, symbols and cycles.
   */
  encode(value: unknown): Uint8Array {
    return concat(this.#encoder.encodeParts(value));
  }

  /**
   * Encodes a value as parts to be written one after another. Binaries of
   * 64 KiB and more are views of the caller's memory, not copies, so they
   * must not change until written; the other parts are views that later
   * calls never write over (see {@linkcode Codec.encode}).
   *
   * @param value Anything isock can send.
   * @returns The parts, in order.
   * @throws {CodecError} `ENCODE_FAILED` for functions, symbols and cycles.
   */
  encodeParts(value: unknown): Uint8Array[] {
    return this.#encoder.encodeParts(value);
  }

  /**
   * Decodes one value. Binaries of 4 KiB and more are views of `bytes`.
   * What the value costs to build is bounded by its size (PROTOCOL.md,
   * "Decode budget"): megabytes of empty arrays, say, are refused.
   *
   * @param bytes Exactly one encoded value.
   * @returns The value.
   * @throws {CodecError} `DECODE_FAILED` when `bytes` are not one valid
   * value, `DECODE_BUDGET` when building it would cost more memory than
   * its size allows.
   */
  decode(bytes: Uint8Array): unknown {
    return this.#decoder.decode(bytes);
  }
}
