/**
 * isock's values as JSON and back, for people and tools that speak JSON:
 * the command line, a web dashboard, a log. One mapping, both ways: plain
 * JSON stays plain, and every other value isock carries becomes a tagged
 * object, `{"$date": "2026-01-02T03:04:05.000Z"}`, that maps back to the
 * same value. docs/errors.md, "Values as JSON", has the table; json_tags.ts the
 * rules, json_write.ts and json_read.ts the two directions.
 *
 * @module
 */

import { JsonReader } from "./json_read.ts";
import {
  extensionsByType,
  type JsonMappingOptions,
  type JsonValue,
} from "./json_tags.ts";
import { JsonWriter } from "./json_write.ts";

export type { JsonMappingOptions, JsonValue } from "./json_tags.ts";

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
