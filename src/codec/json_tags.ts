/**
 * What the JSON mapping (json_mapping.ts) is made of: the JSON value type,
 * the tags that stand for values JSON has no type for, and the rules both
 * directions share. docs/errors.md, "Values as JSON", has the table.
 *
 * A JSON object is a tagged value when it has exactly one key and that key
 * starts with `$`: `{"$date": "2026-01-02T03:04:05.000Z"}`. A plain object
 * of that shape is escaped by doubling the `$`: `{"$date": 1}` is written
 * `{"$$date": 1}`. Every other object is a plain object.
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";
import { checkExtensionType, type Extension } from "./extension.ts";

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
