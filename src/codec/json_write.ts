/**
 * Values to JSON (json_mapping.ts has the public entry): the same walk as
 * the encoder (encoder.ts), in the same order, writing tagged objects
 * (json_mapping.ts) where MessagePack would write an extension type.
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";
import {
  encodeBase64,
  extensionsByType,
  type JsonMappingOptions,
  type JsonValue,
  looksTagged,
  MAX_DEPTH,
  Tag,
} from "./json_mapping.ts";
import { errorFields } from "./encode_builtins.ts";
import {
  encodeExtension,
  type Extension,
  TYPED_ARRAY_KINDS,
} from "./extension.ts";
import { setOwn } from "./own_property.ts";

type JsonObject = { [key: string]: JsonValue };

/**
 * Writes one value as JSON; one writer per value, as it remembers the
 * objects it is inside of to refuse cycles.
 *
 * @example
 * ```ts
 * import { JsonWriter } from "./json_write.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(new JsonWriter([]).write(10n, 0), { $bigint: "10" });
 * ```
 */
export class JsonWriter {
  readonly #extensions: readonly Extension[];
  /** The objects the value being written sits in: meeting one again is a cycle. */
  readonly #ancestors = new Set<object>();

  /**
   * Creates a writer.
   *
   * @param extensions User extensions, checked by the caller.
   */
  constructor(extensions: readonly Extension[]) {
    this.#extensions = extensions;
  }

  /**
   * Writes any value.
   *
   * @param value The value.
   * @param depth How deep it sits.
   * @returns Its JSON.
   * @throws {CodecError} `ENCODE_FAILED` for functions, symbols, cycles
   * and values nested too deep.
   */
  write(value: unknown, depth: number): JsonValue {
    switch (typeof value) {
      case "string":
      case "boolean":
        return value;
      case "number":
        return writeNumber(value);
      case "undefined":
        return { [Tag.UNDEFINED]: true };
      case "bigint":
        return { [Tag.BIGINT]: value.toString() };
      case "object":
        if (value === null) return null;
        return this.#writeObject(value, depth);
      default:
        throw new CodecError(
          "ENCODE_FAILED",
          `Cannot write a ${typeof value} as JSON: isock sends data, not code. Send a value (or register an extension for a class).`,
        );
    }
  }

  #writeObject(value: object, depth: number): JsonValue {
    if (depth >= MAX_DEPTH) {
      throw new CodecError(
        "ENCODE_FAILED",
        `Cannot write a value nested deeper than ${MAX_DEPTH} levels as JSON: is it circular?`,
      );
    }
    if (this.#ancestors.has(value)) {
      throw new CodecError(
        "ENCODE_FAILED",
        "Cannot write a circular value as JSON: an object contains itself.",
      );
    }
    this.#ancestors.add(value);
    try {
      return this.#writeKnownObject(value, depth);
    } finally {
      this.#ancestors.delete(value);
    }
  }

  #writeKnownObject(value: object, depth: number): JsonValue {
    const constructor = value.constructor;
    if (constructor === Object) {
      return this.#writePlainObject(value as Record<string, unknown>, depth);
    }
    if (constructor === Array) return this.#writeArray(value as [], depth);
    if (constructor === Uint8Array) {
      return { [Tag.BYTES]: encodeBase64(value as Uint8Array) };
    }
    for (const extension of this.#extensions) {
      if (value instanceof extension.class) {
        return this.#writeExtension(extension, value, depth);
      }
    }
    if (Array.isArray(value)) return this.#writeArray(value, depth);
    if (value instanceof Uint8Array) {
      return { [Tag.BYTES]: encodeBase64(value) };
    }
    if (ArrayBuffer.isView(value)) return writeTypedArray(value);
    if (value instanceof Date) {
      const time = value.getTime();
      return { [Tag.DATE]: Number.isNaN(time) ? null : value.toISOString() };
    }
    if (value instanceof Map) return this.#writeMap(value, depth);
    if (value instanceof Set) {
      return {
        [Tag.SET]: Array.from(value, (item) => this.write(item, depth + 1)),
      };
    }
    if (value instanceof ArrayBuffer) {
      return { [Tag.ARRAY_BUFFER]: encodeBase64(new Uint8Array(value)) };
    }
    if (value instanceof Error) return this.#writeError(value, depth);
    if (value instanceof RegExp) {
      return { [Tag.REGEXP]: `/${value.source}/${value.flags}` };
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      return this.write(toJSON.call(value), depth + 1);
    }
    return this.#writePlainObject(value as Record<string, unknown>, depth);
  }

  /** Own enumerable string keys, as the encoder sends; escaped when the object would read as a tag. */
  #writePlainObject(value: Record<string, unknown>, depth: number): JsonObject {
    const keys = Object.keys(value);
    const json: JsonObject = {};
    if (looksTagged(keys)) {
      json[`$${keys[0]}`] = this.write(value[keys[0]], depth + 1);
      return json;
    }
    for (const key of keys) {
      setOwn(json, key, this.write(value[key], depth + 1));
    }
    return json;
  }

  #writeArray(value: readonly unknown[], depth: number): JsonValue[] {
    const json: JsonValue[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      json[i] = i in value
        ? this.write(value[i], depth + 1)
        : { [Tag.HOLE]: true };
    }
    return json;
  }

  #writeMap(value: Map<unknown, unknown>, depth: number): JsonObject {
    const entries: JsonValue[] = [];
    for (const [key, item] of value) {
      entries.push([this.write(key, depth + 1), this.write(item, depth + 1)]);
    }
    return { [Tag.MAP]: entries };
  }

  #writeError(value: Error, depth: number): JsonObject {
    const fields = errorFields(value, true);
    const json: JsonObject = {};
    for (const key of Object.keys(fields)) {
      setOwn(json, key, this.write(fields[key], depth + 1));
    }
    return { [Tag.ERROR]: json };
  }

  #writeExtension(
    extension: Extension,
    value: object,
    depth: number,
  ): JsonObject {
    const data = encodeExtension(extension, value);
    return {
      [Tag.EXTENSION]: {
        type: extension.type,
        value: this.write(data, depth + 1),
      },
    };
  }
}

/** Finite numbers as themselves; what JSON cannot hold (or `JSON.stringify` would turn into `0`) tagged. */
function writeNumber(value: number): JsonValue {
  if (Number.isFinite(value) && !Object.is(value, -0)) return value;
  return { [Tag.NUMBER]: Object.is(value, -0) ? "-0" : String(value) };
}

/** A typed array other than `Uint8Array`, or a `DataView`: its class name and its bytes. */
function writeTypedArray(value: ArrayBufferView): JsonValue {
  const kind = TYPED_ARRAY_KINDS.find((type) => value instanceof type);
  if (kind === undefined) {
    throw new CodecError(
      "ENCODE_FAILED",
      `Cannot write a ${value.constructor.name} as JSON: isock sends the typed arrays of ECMAScript and DataView.`,
    );
  }
  const bytes = new Uint8Array(
    value.buffer,
    value.byteOffset,
    value.byteLength,
  );
  return { [Tag.TYPED]: { type: kind.name, bytes: encodeBase64(bytes) } };
}

/**
 * Turns a value isock can send into JSON that {@linkcode jsonToValue}
 * turns back into an equal value of the same type. Strings, finite
 * numbers, booleans, `null`, arrays and plain objects stay as they are;
 * `undefined`, `NaN`, `±Infinity`, `-0`, `bigint`, `Date`, binaries, `Map`,
 * `Set`, `Error`, `RegExp`, array holes and extension instances become
 * tagged objects; a plain object with one key starting with `$` is escaped
 * (`{"$$key": …}`). The result is ready for `JSON.stringify`.
 *
 * @param value Anything isock can send.
 * @param options `extensions`: the user extensions to write as `{"$ext": …}`.
 * @returns The value as JSON.
 * @throws {CodecError} `ENCODE_FAILED` for functions, symbols, circular
 * values and values nested deeper than 512 levels, as the codec;
 * `INVALID_EXTENSION` for a bad or repeated extension type id.
 *
 * @example Rich values as JSON
 * ```ts
 * import { valueToJson } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const json = valueToJson({
 *   when: new Date(Date.UTC(2026, 0, 2)),
 *   count: 10n,
 *   tags: new Set(["a"]),
 *   plain: [1, "two", null],
 * });
 * assert.equal(
 *   JSON.stringify(json),
 *   '{"when":{"$date":"2026-01-02T00:00:00.000Z"},"count":{"$bigint":"10"},' +
 *     '"tags":{"$set":["a"]},"plain":[1,"two",null]}',
 * );
 * ```
 */
export function valueToJson(
  value: unknown,
  options: JsonMappingOptions = {},
): JsonValue {
  const extensions = options.extensions ?? [];
  extensionsByType(extensions);
  return new JsonWriter(extensions).write(value, 0);
}
