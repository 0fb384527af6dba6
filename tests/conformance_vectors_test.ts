/**
 * The conformance vectors (tests/vectors/*.json), checked against the
 * reference codec. python/tests/test_vectors.py checks the same files
 * against the Python package, so the two encoders cannot drift apart.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Codec, CodecError, jsonToValue } from "../mod.ts";
import type { JsonValue } from "../src/codec/json_mapping.ts";

interface Vector {
  name: string;
  hex: string;
  value?: JsonValue;
  error?: string;
  decodeOnly?: boolean;
  repeat?: { hex: string; times: number };
}

const folder = new URL("./vectors/", import.meta.url);
const vectors: Vector[] = [];
for await (const entry of Deno.readDir(folder)) {
  if (entry.name.endsWith(".json")) {
    vectors.push(
      JSON.parse(await Deno.readTextFile(new URL(entry.name, folder))),
    );
  }
}
vectors.sort((a, b) => a.name.localeCompare(b.name));

function bytesOf(vector: Vector): Uint8Array {
  const text = vector.hex +
    (vector.repeat ? vector.repeat.hex.repeat(vector.repeat.times) : "");
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

Deno.test("conformance vectors: there is one per extension type and edge case", () => {
  assert.ok(vectors.length >= 60, `${vectors.length} vectors`);
  for (
    const type of [
      "undefined",
      "array-hole",
      "bigint-2-64",
      "map-number-keys",
      "set",
      "error",
      "float64array",
      "arraybuffer",
      "regexp",
      "date-invalid",
      "date-epoch",
    ]
  ) {
    assert.ok(vectors.some((vector) => vector.name === type), type);
  }
});

for (const vector of vectors) {
  Deno.test(`conformance vector ${vector.name}`, () => {
    const codec = new Codec();
    const bytes = bytesOf(vector);
    if (vector.error) {
      assert.throws(
        () => codec.decode(bytes),
        (error: unknown) =>
          error instanceof CodecError && error.code === vector.error,
      );
      return;
    }
    const expected = jsonToValue(vector.value as JsonValue);
    assert.deepStrictEqual(codec.decode(bytes), expected);
    if (!vector.decodeOnly) {
      assert.equal(hex(codec.encode(expected)), vector.hex);
    }
  });
}
