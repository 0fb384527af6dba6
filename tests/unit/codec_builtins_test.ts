/**
 * isock's built-in extension types, each side alone: the exact bytes each
 * value is written as (PROTOCOL.md, "Extension types"), that they read
 * back as the same value, and that each reader refuses a bad payload with
 * `DECODE_FAILED`.
 */

import assert from "node:assert/strict";
import { Decoder } from "../../src/codec/decoder.ts";
import { Encoder } from "../../src/codec/encoder.ts";
import { errorFields } from "../../src/codec/encode_builtins.ts";
import {
  readTimestamp,
  readTypedArray,
  toError,
  toMap,
  toRegExp,
  toSet,
} from "../../src/codec/decode_builtins.ts";
import { concat } from "../../src/base/bytes.ts";

function encode(value: unknown): Uint8Array {
  return concat(new Encoder().encodeParts(value));
}

function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join(
    " ",
  );
}

function bytesOf(hex: string): Uint8Array {
  return new Uint8Array(hex.split(" ").map((pair) => parseInt(pair, 16)));
}

/** Each built-in value, and its bytes as the protocol spells them. */
const WRITTEN: readonly { name: string; value: unknown; hex: string }[] = [
  { name: "undefined", value: undefined, hex: "d4 00 00" },
  { name: "a hole", value: [1, , 3], hex: "93 01 d4 01 00 03" },
  {
    name: "Date, timestamp 32",
    value: new Date(1000),
    hex: "d6 ff 00 00 00 01",
  },
  {
    name: "Date, timestamp 64 (milliseconds)",
    value: new Date(1500),
    hex: "d7 ff 77 35 94 00 00 00 00 01",
  },
  {
    name: "Date, timestamp 96 (before 1970)",
    value: new Date(-1000),
    hex: "c7 0c ff 00 00 00 00 ff ff ff ff ff ff ff ff",
  },
  { name: "invalid Date", value: new Date(NaN), hex: "c7 00 09" },
  { name: "bigint 0", value: 0n, hex: "d4 02 00" },
  { name: "bigint -129", value: -129n, hex: "d5 02 ff 7f" },
  {
    name: "bigint 2^63",
    value: 2n ** 63n,
    hex: "c7 09 02 00 80 00 00 00 00 00 00 00",
  },
  { name: "Map", value: new Map([[1, "a"]]), hex: "d6 03 81 01 a1 61" },
  { name: "Set", value: new Set([true]), hex: "d5 04 91 c3" },
  { name: "RegExp", value: /a+/g, hex: "c7 06 08 92 a2 61 2b a1 67" },
  {
    name: "Int16Array",
    value: new Int16Array([1, -1]),
    hex: "c7 05 06 02 01 00 ff ff",
  },
  {
    name: "DataView",
    value: new DataView(new ArrayBuffer(1)),
    hex: "d5 06 0a 00",
  },
  {
    name: "ArrayBuffer",
    value: new Uint8Array([9, 8]).buffer,
    hex: "d5 07 09 08",
  },
];

for (const { name, value, hex } of WRITTEN) {
  Deno.test(`built-ins: ${name} is written as ${hex} and read back`, () => {
    const bytes = encode(value);
    assert.equal(hexOf(bytes), hex);
    assert.deepStrictEqual(new Decoder().decode(bytes), value);
  });
}

Deno.test("built-ins: an Error goes as its fields, stacks only when allowed", () => {
  const error = Object.assign(new TypeError("bad"), { code: "E1" });
  const withStack = errorFields(error, true);
  assert.equal(withStack.stack, error.stack);
  assert.deepEqual(errorFields(error, false), {
    name: "TypeError",
    message: "bad",
    code: "E1",
  });
  const back = new Decoder().decode(encode(error)) as TypeError;
  assert.ok(back instanceof TypeError);
  assert.equal(back.stack, error.stack);
  assert.equal((back as unknown as { code: string }).code, "E1");
});

/** Each reader, and payloads it must refuse. */
const REFUSED: readonly { name: string; read: () => unknown }[] = [
  {
    name: "a timestamp of 5 bytes",
    read: () => readTimestamp(new DataView(new ArrayBuffer(5)), 0, 5),
  },
  {
    name: "a timestamp with a second's worth of nanoseconds",
    read: () =>
      readTimestamp(
        new DataView(bytesOf("ee 6b 28 00 00 00 00 00").buffer),
        0,
        8,
      ),
  },
  {
    name: "a timestamp beyond a Date",
    read: () =>
      readTimestamp(
        new DataView(bytesOf("00 00 00 00 7f ff ff ff ff ff ff ff").buffer),
        0,
        12,
      ),
  },
  {
    name: "an invalid Date with a payload",
    read: () => new Decoder().decode(bytesOf("d4 09 00")),
  },
  {
    name: "undefined with a payload of 1",
    read: () => new Decoder().decode(bytesOf("d4 00 01")),
  },
  {
    name: "a hole of 2 bytes",
    read: () => new Decoder().decode(bytesOf("d5 01 00 00")),
  },
  {
    name: "a typed array without its kind",
    read: () => readTypedArray(new Uint8Array(0), 0, 0),
  },
  {
    name: "a typed array of kind 11",
    read: () => readTypedArray(bytesOf("0b 00"), 0, 2),
  },
  {
    name: "half an Int16Array",
    read: () => readTypedArray(bytesOf("02 00"), 0, 2),
  },
  { name: "a Map of an array", read: () => toMap([1]) },
  { name: "a Set of a map", read: () => toSet({}) },
  { name: "a RegExp of one string", read: () => toRegExp(["a"]) },
  { name: "a RegExp this runtime refuses", read: () => toRegExp(["(", ""]) },
  { name: "an Error of a string", read: () => toError("boom") },
];

for (const { name, read } of REFUSED) {
  Deno.test(`built-ins: ${name} is refused with DECODE_FAILED`, () => {
    assert.throws(read, { name: "CodecError", code: "DECODE_FAILED" });
  });
}

Deno.test("built-ins: a Map payload with keys that are not strings stays a Map", () => {
  const map = new Map<unknown, unknown>([[1, 2]]);
  assert.equal(toMap(map), map);
  assert.deepStrictEqual(toMap({ a: 1 }), new Map([["a", 1]]));
});

Deno.test("built-ins: an Error's fields never shadow what it inherits", () => {
  const error = toError({
    name: "Custom",
    message: "m",
    toString: 5,
    extra: 1,
  });
  assert.equal(String(error), "Custom: m");
  assert.equal((error as unknown as { extra: number }).extra, 1);
  assert.equal(error.stack, undefined);
});
