/**
 * Writes the conformance vectors of this folder: one JSON file per case,
 * `{ "name", "hex", "value" | "error", "decodeOnly"?, "pythonEncodes"?, "repeat"? }`.
 * The bytes are `hex`, then `repeat.hex` `repeat.times` times. `value` is the
 * value in the JSON mapping of docs/errors.md, "Values as JSON"; the reference codec
 * decodes the bytes to it and, unless `decodeOnly`, encodes it back to the
 * same bytes. `error` is the `CodecError` code a reader must fail with.
 * `pythonEncodes: false` marks values Python has no type for (undefined, a
 * small bigint…): the Python package decodes them but writes them otherwise.
 *
 * The cases are written here by hand; the encodings of `encodes` cases come
 * from the reference codec and were checked against PROTOCOL.md. Both
 * tests/conformance_vectors_test.ts and python/tests/test_vectors.py read
 * the files, so the two implementations cannot drift apart.
 *
 *     deno run --allow-write tests/vectors/make.ts
 *
 * @module
 */

import { Codec, jsonToValue } from "../../mod.ts";
import type { JsonValue } from "../../src/codec/json_mapping.ts";

interface Vector {
  name: string;
  hex: string;
  value?: JsonValue;
  error?: string;
  decodeOnly?: boolean;
  pythonEncodes?: boolean;
  repeat?: { hex: string; times: number };
}

const codec = new Codec();
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

/** Cases whose bytes are what the reference codec writes. */
const encodes: [string, JsonValue, { pythonEncodes?: boolean }?][] = [
  ["nil", null],
  ["true", true],
  ["fixint", 127],
  ["uint8", 128],
  ["uint16", 65535],
  ["uint32", 4294967295],
  ["uint64-max-safe", 9007199254740991],
  ["negative-fixint", -32],
  ["int8", -33],
  ["int64-min-safe", -9007199254740991],
  ["float64", 0.5],
  ["negative-zero", { $number: "-0" }],
  ["nan", { $number: "NaN" }],
  ["infinity", { $number: "-Infinity" }],
  ["string", "héllo ☃"],
  ["empty-string", ""],
  ["array", [1, [2, []], "x"]],
  ["object", { a: 1, b: { c: [true, null] } }],
  ["object-proto-key", JSON.parse(`{"__proto__": 1}`)],
  ["error", {
    $error: { name: "RangeError", message: "out of range", limit: 3 },
  }],
  ["error-with-cause", {
    $error: {
      name: "Error",
      message: "outer",
      cause: { $error: { name: "TypeError", message: "inner" } },
    },
  }],
  ["bytes", { $bytes: "AAEC/w==" }],
  ["undefined", { $undefined: true }, { pythonEncodes: false }],
  ["array-hole", [1, { $hole: true }, 3], { pythonEncodes: false }],
  ["bigint-zero", { $bigint: "0" }, { pythonEncodes: false }],
  ["bigint-minus-one", { $bigint: "-1" }, { pythonEncodes: false }],
  ["bigint-128", { $bigint: "128" }, { pythonEncodes: false }],
  ["bigint-2-53", { $bigint: "9007199254740992" }],
  ["bigint-2-64", { $bigint: "18446744073709551616" }],
  ["bigint-minus-2-70", { $bigint: "-1180591620717411303424" }],
  ["map-number-keys", { $map: [[1, "one"], [2, "two"]] }],
  ["map-array-key", { $map: [[[1, 2], "pair"]] }],
  ["map-string-keys", { $map: [["a", 1]] }, { pythonEncodes: false }],
  ["set", { $set: [1, 2] }],
  // Python orders a set of strings by their salted hashes: it reads this one, and writes it in any order.
  ["set-mixed", { $set: [1, "a"] }, { pythonEncodes: false }],
  ["date-epoch", { $date: "1970-01-01T00:00:00.000Z" }],
  ["date-milliseconds", { $date: "2026-01-02T03:04:05.678Z" }],
  ["date-before-1970", { $date: "1960-06-01T12:00:00.500Z" }],
  ["date-after-2106", { $date: "2200-01-01T00:00:00.000Z" }],
  ["date-invalid", { $date: null }],
  ["regexp", { $regexp: "/a+b/gi" }],
  ["float64array", { $typed: { type: "Float64Array", bytes: "AAAAAAAA+D8=" } }],
  ["int16array", { $typed: { type: "Int16Array", bytes: "AQD//w==" } }],
  ["dataview", { $typed: { type: "DataView", bytes: "AQI=" } }],
  ["arraybuffer", { $arraybuffer: "AQID" }],
];

/** Bytes other writers may produce: a reader accepts them. */
const decodes: [string, string, JsonValue][] = [
  ["float32", "ca3fc00000", 1.5],
  ["int8-for-small", "d001", 1],
  ["uint64-beyond-2-53", "cf0020000000000000", { $bigint: "9007199254740992" }],
  ["int64-beyond-minus-2-53", "d3ffdfffffffffffff", {
    $bigint: "-9007199254740993",
  }],
  ["str8-short", "d90161", "a"],
  ["map-with-number-keys", "8101a161", { $map: [[1, "a"]] }],
  ["bigint-empty-payload", "c70002", { $bigint: "0" }],
  ["timestamp96-positive", "c70cff000000000000000000000001", {
    $date: "1970-01-01T00:00:01.000Z",
  }],
];

/** Bytes a reader refuses, with its `CodecError` code. */
const refuses: [string, string, string, { hex: string; times: number }?][] = [
  ["never-used-byte", "c1", "DECODE_FAILED"],
  ["truncated-array", "92c0", "DECODE_FAILED"],
  ["array-longer-than-bytes", "dd7fffffff", "DECODE_FAILED"],
  ["reserved-extension", "d40a00", "DECODE_FAILED"],
  ["unknown-user-extension", "d42000", "DECODE_FAILED"],
  ["undefined-not-zero", "d40001", "DECODE_FAILED"],
  ["typed-array-partial-element", "c7020601", "DECODE_FAILED"],
  ["typed-array-unknown-kind", "c701060b", "DECODE_FAILED"],
  [
    "timestamp-nanoseconds-too-large",
    "c70cff3b9aca000000000000000000",
    "DECODE_FAILED",
  ],
  ["set-payload-not-array", "d40401", "DECODE_FAILED"],
  ["regexp-payload-not-pair", "d40801", "DECODE_FAILED"],
  ["two-values", "c0c0", "DECODE_FAILED"],
  ["empty-maps-bomb", "dd00030d40", "DECODE_BUDGET", {
    hex: "80",
    times: 200_000,
  }],
];

const vectors: Vector[] = [
  ...encodes.map(([name, value, more]) => ({
    name,
    hex: hex(codec.encode(jsonToValue(value))),
    value,
    ...more,
  })),
  ...decodes.map(([name, bytes, value]) => ({
    name,
    hex: bytes,
    value,
    decodeOnly: true,
  })),
  ...refuses.map(([name, bytes, error, repeat]) => ({
    name,
    hex: bytes,
    error,
    ...(repeat ? { repeat } : {}),
  })),
];

const folder = new URL("./", import.meta.url);
for (const vector of vectors) {
  await Deno.writeTextFile(
    new URL(`${vector.name}.json`, folder),
    JSON.stringify(vector, null, 2) + "\n",
  );
}
console.log(`wrote ${vectors.length} vectors`);
