/**
 * Every type the "Data types" table of docs/errors.md lists comes back equal and of the
 * same type, over a real connection.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, Codec, defineExtension, Server } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { HOST, serving } from "./support.ts";

class Point {
  constructor(readonly x: number, readonly y: number) {}
}
const pointExtension = defineExtension({
  type: 40,
  class: Point,
  encode: (point: Point) => [point.x, point.y],
  decode: ([x, y]: [number, number]) => new Point(x, y),
});

const echo = action("echo", (data: unknown) => data);

class HttpError extends Error {
  status = 404;
  override name = "HttpError";
}

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** Values whose round trip `deepStrictEqual` checks as they are. */
function plainValues(): [string, unknown][] {
  const withProto = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
  // deno-lint-ignore no-sparse-arrays
  const holes = [1, , 3];
  return [
    ["undefined", undefined],
    ["null", null],
    ["booleans", [true, false]],
    ["undefined in objects and arrays", { a: undefined, b: [undefined, 1] }],
    ["numbers", [0, 1, -1, 2 ** 53, 0.5, -1e300, 255, 65536, 2 ** 32]],
    ["NaN and infinities", [NaN, Infinity, -Infinity]],
    ["strings", ["", "plain", "ünïcødé ✓ 日本 🦕", "x".repeat(70_000)]],
    ["bigint", [0n, 1n, -1n, 128n, -(2n ** 200n), 2n ** 64n + 1n]],
    ["Date", new Date(1_700_000_000_123)],
    [
      "Map with keys of any type",
      new Map<unknown, unknown>([[1, "a"], ["b", 2n], [null, [1]]]),
    ],
    ["Set", new Set<unknown>([1, "two", 3n, null])],
    ["Uint8Array", bytes(100, 1)],
    ["large Uint8Array", bytes(100_000, 2)],
    ["Uint8Array sent in fragments", bytes(2 * 1024 * 1024, 4)],
    ["Int16Array", new Int16Array([1, -2, 32767])],
    ["Float64Array", new Float64Array([0.5, -1.25, NaN])],
    ["BigInt64Array", new BigInt64Array([1n, -(2n ** 63n)])],
    ["Uint8ClampedArray", new Uint8ClampedArray([0, 255])],
    ["ArrayBuffer", bytes(16, 3).buffer],
    ["arrays with holes", holes],
    ["nested objects", { a: { b: { c: [1, { d: "e" }] } } }],
    ["a key __proto__ is an own property", withProto],
    ["RegExp", /a+b/giu],
    ["your classes (extension)", new Point(1, 2)],
  ];
}

async function roundTrips(client: Client): Promise<void> {
  for (const [what, value] of plainValues()) {
    const back = await client.runAction(echo, value);
    assert.deepStrictEqual(back, value, what);
    if (value !== null && typeof value === "object") {
      assert.equal(
        Object.getPrototypeOf(back),
        Object.getPrototypeOf(value),
        `${what}: same type`,
      );
    }
  }

  const minusZero = await client.runAction(echo, -0);
  assert.ok(Object.is(minusZero, -0), "-0 stays -0");

  const invalid = await client.runAction(echo, new Date(NaN));
  assert.ok(
    invalid instanceof Date && Number.isNaN(invalid.getTime()),
    "invalid Date",
  );

  const view = new DataView(bytes(12, 4).buffer, 2, 8);
  const viewBack = await client.runAction(echo, view) as DataView;
  assert.ok(viewBack instanceof DataView, "DataView");
  assert.deepStrictEqual(
    new Uint8Array(viewBack.buffer, viewBack.byteOffset, viewBack.byteLength),
    new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
  );

  const withProto = await client.runAction(
    echo,
    JSON.parse('{"__proto__": {"x": 1}}'),
  ) as Record<string, unknown>;
  assert.equal(
    Object.getPrototypeOf(withProto),
    Object.prototype,
    "no prototype set",
  );
  assert.ok(Object.hasOwn(withProto, "__proto__"));

  const cause = new RangeError("inner");
  const error = new HttpError("not found", { cause });
  const errorBack = await client.runAction(echo, error) as HttpError;
  assert.ok(errorBack instanceof Error, "Error");
  assert.equal(errorBack.name, "HttpError");
  assert.equal(errorBack.message, "not found");
  assert.equal(errorBack.status, 404, "own fields");
  assert.equal(typeof errorBack.stack, "string");
  assert.ok(errorBack.cause instanceof RangeError, "cause");
  assert.equal((errorBack.cause as Error).message, "inner");

  const typeError = await client.runAction(echo, new TypeError("t"));
  assert.ok(typeError instanceof TypeError, "Error subclasses");

  const aggregate = await client.runAction(
    echo,
    new AggregateError([new Error("a"), new Error("b")], "both"),
  ) as AggregateError;
  assert.ok(aggregate instanceof AggregateError, "AggregateError");
  assert.deepEqual(aggregate.errors.map((e: Error) => e.message), ["a", "b"]);
}

export const dataCases: Case[] = [{
  name: "codec: every documented data type round-trips through a Codec",
  // deno-lint-ignore require-await
  run: async () => {
    const codec = new Codec({ extensions: [pointExtension] });
    for (const [what, value] of plainValues()) {
      const back = codec.decode(codec.encode(value));
      assert.deepStrictEqual(back, value, what);
    }
    assert.ok(Object.is(codec.decode(codec.encode(-0)), -0), "-0");
  },
}, {
  name: "data: every documented data type round-trips",
  run: () =>
    serving(
      new Server({ hostname: HOST, port: 0, extensions: [pointExtension] })
        .addAction(echo),
      async (port) => {
        const client = new Client({
          hostname: HOST,
          port,
          extensions: [pointExtension],
        });
        try {
          await roundTrips(client);
        } finally {
          await client.close();
        }
      },
    ),
}];
