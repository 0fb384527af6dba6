/**
 * JSON to values (json_mapping.ts has the public entry): plain JSON as
 * itself, tagged objects (json_mapping.ts) as the values they stand for,
 * checked as strictly as the decoder checks its extension payloads.
 *
 * @module
 */

import {
  decodeBase64,
  extensionsByType,
  invalidJson,
  type JsonMappingOptions,
  type JsonValue,
  looksTagged,
  MAX_DEPTH,
  Tag,
} from "./json_mapping.ts";
import { toError } from "./decode_builtins.ts";
import { type Extension, TYPED_ARRAY_KINDS } from "./extension.ts";
import { setOwn } from "./own_property.ts";

/** What `{"$hole": true}` reads as, so the array around it can leave the hole. */
const HOLE: unique symbol = Symbol("hole");

const NUMBERS: Readonly<Record<string, number>> = {
  "NaN": NaN,
  "Infinity": Infinity,
  "-Infinity": -Infinity,
  "-0": -0,
};

const BIGINT = /^-?\d+$/;

/** The ECMAScript date time string format (ECMA-262, "Date Time String Format"), the one `Date.parse` must read. */
const DATE =
  /^(?:[+-]\d{6}|\d{4})(?:-\d{2}(?:-\d{2})?)?(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Reads one JSON value back into the value it stands for.
 *
 * @example
 * ```ts
 * import { JsonReader } from "./json_read.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new JsonReader(new Map()).read({ $bigint: "10" }, 0), 10n);
 * ```
 */
export class JsonReader {
  readonly #extensions: ReadonlyMap<number, Extension>;

  /**
   * Creates a reader.
   *
   * @param extensions User extensions by type id, checked by the caller.
   */
  constructor(extensions: ReadonlyMap<number, Extension>) {
    this.#extensions = extensions;
  }

  /**
   * Reads any JSON value.
   *
   * @param json The JSON value.
   * @param depth How deep it sits.
   * @returns The value.
   * @throws {CodecError} `INVALID_JSON` for a malformed tagged object, a
   * value that is not JSON, or one nested too deep.
   */
  read(json: unknown, depth: number): unknown {
    const value = this.#readItem(json, depth);
    if (value === HOLE) throw invalidJson(`${Tag.HOLE} outside an array`);
    return value;
  }

  #readItem(json: unknown, depth: number): unknown {
    switch (typeof json) {
      case "string":
      case "boolean":
      case "number":
        return json;
      case "object":
        if (json === null) return null;
        this.#checkDepth(depth);
        if (Array.isArray(json)) return this.#readArray(json, depth);
        if (isJsonObject(json)) return this.#readObject(json, depth);
    }
    throw invalidJson(`${describe(json)} is not JSON`);
  }

  #checkDepth(depth: number): void {
    if (depth >= MAX_DEPTH) {
      throw invalidJson(`values nest deeper than ${MAX_DEPTH} levels`);
    }
  }

  #readArray(json: readonly unknown[], depth: number): unknown[] {
    const value: unknown[] = new Array(json.length);
    for (let i = 0; i < json.length; i++) {
      const item = this.#readItem(json[i], depth + 1);
      if (item !== HOLE) value[i] = item;
    }
    return value;
  }

  #readObject(json: Record<string, unknown>, depth: number): unknown {
    const keys = Object.keys(json);
    if (looksTagged(keys)) {
      const key = keys[0];
      if (!key.startsWith("$$")) return this.#readTagged(key, json[key], depth);
      // An escaped plain object: `{"$$date": 1}` is `{ $date: 1 }`.
      return { [key.slice(1)]: this.read(json[key], depth + 1) };
    }
    const value: Record<string, unknown> = {};
    for (const key of keys) setOwn(value, key, this.read(json[key], depth + 1));
    return value;
  }

  #readTagged(tag: string, payload: unknown, depth: number): unknown {
    switch (tag) {
      case Tag.UNDEFINED:
        expectTrue(tag, payload);
        return undefined;
      case Tag.HOLE:
        expectTrue(tag, payload);
        return HOLE;
      case Tag.NUMBER:
        if (typeof payload === "string" && Object.hasOwn(NUMBERS, payload)) {
          return NUMBERS[payload];
        }
        throw invalidJson(
          `${tag} must be "NaN", "Infinity", "-Infinity" or "-0", not ${
            describe(payload)
          }`,
        );
      case Tag.BIGINT:
        if (typeof payload === "string" && BIGINT.test(payload)) {
          return BigInt(payload);
        }
        throw invalidJson(
          `${tag} must be a string of decimal digits, not ${describe(payload)}`,
        );
      case Tag.DATE:
        return readDate(payload);
      case Tag.BYTES:
        return readBytes(tag, payload);
      case Tag.ARRAY_BUFFER:
        return readBytes(tag, payload).buffer;
      case Tag.TYPED:
        return readTypedArray(payload);
      case Tag.REGEXP:
        return readRegExp(payload);
    }
    this.#checkDepth(depth);
    switch (tag) {
      case Tag.MAP:
        return this.#readMap(payload, depth);
      case Tag.SET:
        if (!Array.isArray(payload)) {
          throw invalidJson(
            `${tag} must hold an array, not ${describe(payload)}`,
          );
        }
        return new Set(payload.map((item) => this.read(item, depth + 1)));
      case Tag.ERROR:
        return this.#readError(payload, depth);
      case Tag.EXTENSION:
        return this.#readExtension(payload, depth);
    }
    throw invalidJson(
      `unknown tag ${
        JSON.stringify(tag)
      }: a plain object with one key starting with "$" is written with "$$" (${
        JSON.stringify("$" + tag)
      })`,
    );
  }

  #readMap(payload: unknown, depth: number): Map<unknown, unknown> {
    if (!Array.isArray(payload)) {
      throw invalidJson(
        `${Tag.MAP} must hold an array of [key, value] pairs, not ${
          describe(payload)
        }`,
      );
    }
    const map = new Map<unknown, unknown>();
    for (const entry of payload) {
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw invalidJson(
          `${Tag.MAP} entries must be [key, value] pairs, not ${
            describe(entry)
          }`,
        );
      }
      map.set(this.read(entry[0], depth + 1), this.read(entry[1], depth + 1));
    }
    return map;
  }

  #readError(payload: unknown, depth: number): Error {
    const fields = expectObject(Tag.ERROR, payload);
    const value: Record<string, unknown> = {};
    for (const key of Object.keys(fields)) {
      setOwn(value, key, this.read(fields[key], depth + 1));
    }
    for (const key of ["name", "message", "stack"]) {
      if (key in value && typeof value[key] !== "string") {
        throw invalidJson(
          `${Tag.ERROR}.${key} must be a string, not ${describe(fields[key])}`,
        );
      }
    }
    if ("errors" in value && !Array.isArray(value.errors)) {
      throw invalidJson(
        `${Tag.ERROR}.errors must be an array, not ${describe(fields.errors)}`,
      );
    }
    return toError(value);
  }

  #readExtension(payload: unknown, depth: number): unknown {
    const fields = expectObject(Tag.EXTENSION, payload);
    const keys = Object.keys(fields);
    if (
      keys.length !== 2 || typeof fields.type !== "number" ||
      !("value" in fields)
    ) {
      throw invalidJson(
        `${Tag.EXTENSION} must hold {"type": id, "value": data}, not ${
          describe(payload)
        }`,
      );
    }
    const extension = this.#extensions.get(fields.type);
    if (extension === undefined) {
      throw invalidJson(
        `unknown extension type ${fields.type}: pass the extension in options.extensions`,
      );
    }
    const data = this.read(fields.value, depth + 1);
    try {
      return extension.decode(data);
    } catch (error) {
      throw invalidJson(
        `extension ${extension.type} (${extension.class.name}) failed to decode a value: ${
          error instanceof Error ? error.message : String(error)
        }`,
        error,
      );
    }
  }
}

/** A JSON object: what `JSON.parse` makes, or an object literal (not a `Date` or a class instance). */
function isJsonObject(json: object): json is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(json);
  return prototype === Object.prototype || prototype === null;
}

function expectTrue(tag: string, payload: unknown): void {
  if (payload !== true) {
    throw invalidJson(`${tag} must be true, not ${describe(payload)}`);
  }
}

function expectObject(tag: string, payload: unknown): Record<string, unknown> {
  if (
    payload === null || typeof payload !== "object" || Array.isArray(payload) ||
    !isJsonObject(payload)
  ) {
    throw invalidJson(`${tag} must hold an object, not ${describe(payload)}`);
  }
  return payload as Record<string, unknown>;
}

function readDate(payload: unknown): Date {
  if (payload === null) return new Date(NaN);
  if (typeof payload === "string" && DATE.test(payload)) {
    const date = new Date(payload);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw invalidJson(
    `${Tag.DATE} must be an ISO 8601 date such as "2026-01-02T03:04:05.000Z" (or null for an invalid Date), not ${
      describe(payload)
    }`,
  );
}

function readBytes(tag: string, payload: unknown): Uint8Array<ArrayBuffer> {
  const bytes = typeof payload === "string" ? decodeBase64(payload) : undefined;
  if (bytes === undefined) {
    throw invalidJson(`${tag} must be padded base64, not ${describe(payload)}`);
  }
  return bytes as Uint8Array<ArrayBuffer>;
}

function readTypedArray(payload: unknown): ArrayBufferView {
  const fields = expectObject(Tag.TYPED, payload);
  const Kind = TYPED_ARRAY_KINDS.find((kind) => kind.name === fields.type);
  if (Kind === undefined || Object.keys(fields).length !== 2) {
    throw invalidJson(
      `${Tag.TYPED} must hold {"type": a typed array class or "DataView", "bytes": base64}, not ${
        describe(payload)
      }`,
    );
  }
  const { buffer } = readBytes(`${Tag.TYPED}.bytes`, fields.bytes);
  if (Kind === DataView) return new DataView(buffer);
  const size = (Kind as Int8ArrayConstructor).BYTES_PER_ELEMENT;
  if (buffer.byteLength % size !== 0) {
    throw invalidJson(
      `${buffer.byteLength} bytes do not make a whole ${Kind.name}`,
    );
  }
  return new (Kind as Int8ArrayConstructor)(buffer);
}

function readRegExp(payload: unknown): RegExp {
  const end = typeof payload === "string" ? payload.lastIndexOf("/") : -1;
  if (typeof payload !== "string" || !payload.startsWith("/") || end < 1) {
    throw invalidJson(
      `${Tag.REGEXP} must be "/source/flags", not ${describe(payload)}`,
    );
  }
  try {
    return new RegExp(payload.slice(1, end), payload.slice(end + 1));
  } catch (error) {
    throw invalidJson(
      `${Tag.REGEXP} ${JSON.stringify(payload)}: ${error}`,
      error,
    );
  }
}

/** A short description of a value for an error message, never the whole of a long one. */
function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(
        value.length > 40 ? `${value.slice(0, 40)}...` : value,
      );
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) return `an array of ${value.length} items`;
      if (isJsonObject(value)) {
        const keys = Object.keys(value);
        return keys.length === 0
          ? "an empty object"
          : `an object with keys ${
            keys.slice(0, 3).map((key) => JSON.stringify(key)).join(", ")
          }${keys.length > 3 ? ", ..." : ""}`;
      }
      return `a ${value.constructor?.name ?? "object"}`;
    default:
      return `a ${typeof value}`;
  }
}

/**
 * Turns JSON back into the value it stands for: the inverse of
 * {@linkcode valueToJson}. Plain JSON maps to itself (a key `__proto__`
 * stays an own property); tagged objects map to their values, checked
 * strictly.
 *
 * @param json A JSON value, as `JSON.parse` returns it.
 * @param options `extensions`: the user extensions that read `{"$ext": …}`.
 * @returns The value.
 * @throws {CodecError} `INVALID_JSON` for a malformed or unknown tagged
 * object, an extension type not in `options.extensions` (or whose `decode`
 * throws), something that is not JSON, or values nested deeper than 512
 * levels; `INVALID_EXTENSION` for a bad or repeated extension type id.
 *
 * @example JSON back to values
 * ```ts
 * import { CodecError, jsonToValue } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const value = jsonToValue(
 *   JSON.parse('{"at": {"$date": "2026-01-02T00:00:00.000Z"}, "ids": {"$map": [[1, "a"]]}}'),
 * );
 * assert.deepEqual(value, {
 *   at: new Date(Date.UTC(2026, 0, 2)),
 *   ids: new Map([[1, "a"]]),
 * });
 * assert.throws(
 *   () => jsonToValue({ $bigint: "ten" }),
 *   (error) => error instanceof CodecError && error.code === "INVALID_JSON",
 * );
 * ```
 *
 * @example Extension classes, both ways
 * ```ts
 * import { defineExtension, jsonToValue, valueToJson } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * class Point {
 *   constructor(readonly x: number, readonly y: number) {}
 * }
 * const point = defineExtension({
 *   type: 40,
 *   class: Point,
 *   encode: (p) => [p.x, p.y],
 *   decode: ([x, y]) => new Point(x, y),
 * });
 *
 * const json = valueToJson(new Point(1, 2), { extensions: [point] });
 * assert.deepEqual(json, { $ext: { type: 40, value: [1, 2] } });
 * const back = jsonToValue(json, { extensions: [point] });
 * assert.ok(back instanceof Point);
 * ```
 */
export function jsonToValue(
  json: JsonValue,
  options: JsonMappingOptions = {},
): unknown {
  return new JsonReader(extensionsByType(options.extensions)).read(json, 0);
}
