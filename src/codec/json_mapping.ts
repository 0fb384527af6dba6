/**
 * isock's values as JSON and back, for people and tools that speak JSON:
 * the command line, a web dashboard, a log. One mapping, both ways: plain
 * JSON stays plain, and every other value isock carries becomes a tagged
 * object, `{"$date": "2026-01-02T03:04:05.000Z"}`, that maps back to the
 * same value. docs/errors.md, "Values as JSON", has the table; this file
 * the rules (the tags, the types, base64), json_write.ts (`valueToJson`) and
 * json_read.ts (`jsonToValue`) the two directions.
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";
import { checkExtensionType, type Extension } from "./extension.ts";

// What the JSON mapping is made of: the JSON value type,
// the tags that stand for values JSON has no type for, and the rules both
// directions share. docs/errors.md, "Values as JSON", has the table.
//
// A JSON object is a tagged value when it has exactly one key and that key
// starts with `$`: `{"$date": "2026-01-02T03:04:05.000Z"}`. A plain object
// of that shape is escaped by doubling the `$`: `{"$date": 1}` is written
// `{"$$date": 1}`. Every other object is a plain object.

/** Any value `JSON.parse` returns, and `JSON.stringify` writes back as it was. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Options of {@linkcode valueToJson} and {@linkcode jsonToValue}. */
export interface JsonMappingOptions {
  /**
   * User extensions, as given to the `Client`, `Server` or `Codec`: their
   * instances are written as `{"$ext": {"type": id, "value": …}}`.
   */
  extensions?: readonly Extension[];
}

/** The tags, each the one key of a tagged object. */
export const Tag = {
  UNDEFINED: "$undefined",
  HOLE: "$hole",
  NUMBER: "$number",
  BIGINT: "$bigint",
  DATE: "$date",
  BYTES: "$bytes",
  TYPED: "$typed",
  ARRAY_BUFFER: "$arraybuffer",
  MAP: "$map",
  SET: "$set",
  ERROR: "$error",
  REGEXP: "$regexp",
  EXTENSION: "$ext",
} as const;

/** How deep values may nest, as in the codec: one level per array, object, `Map`, `Set`, `Error` or extension. */
export const MAX_DEPTH = 512;

/**
 * Whether an object of these keys would read as a tagged value, and so is
 * escaped when it is a plain object.
 *
 * @param keys The object's own keys.
 * @returns `true` for exactly one key that starts with `$`.
 */
export function looksTagged(keys: readonly string[]): boolean {
  return keys.length === 1 && keys[0].startsWith("$");
}

/**
 * Checks the extensions and indexes them by type id.
 *
 * @param extensions The extensions from the options.
 * @returns Each extension by its type id.
 * @throws {CodecError} `INVALID_EXTENSION` for a type id out of range or used twice.
 */
export function extensionsByType(
  extensions: readonly Extension[] = [],
): Map<number, Extension> {
  const byType = new Map<number, Extension>();
  for (const extension of extensions) {
    checkExtensionType(extension.type);
    if (byType.has(extension.type)) {
      throw new CodecError(
        "INVALID_EXTENSION",
        `Extension type ${extension.type} is registered twice.`,
      );
    }
    byType.set(extension.type, extension);
  }
  return byType;
}

/**
 * The error for JSON that does not map to a value.
 *
 * @param reason What is wrong, completing "Invalid JSON value: ".
 * @param cause The error behind it, if any.
 * @returns A `CodecError` with code `INVALID_JSON`.
 */
export function invalidJson(reason: string, cause?: unknown): CodecError {
  return new CodecError(
    "INVALID_JSON",
    `Invalid JSON value: ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

// Base64 (RFC 4648, with padding) for the JSON mapping's binaries, through
// `btoa` and `atob`, which every runtime isock runs on has.

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
 * import { encodeBase64 } from "./json_mapping.ts";
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
 * import { decodeBase64 } from "./json_mapping.ts";
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
