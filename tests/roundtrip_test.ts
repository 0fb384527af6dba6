/**
 * Rich data over a real connection: every value a handler receives and
 * returns comes back equal and of the same type.
 */

import assert from "node:assert/strict";
import { action, defineExtension, RemoteError } from "../mod.ts";
import { randomBytes, seededRandom, serve } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);
const describe = action("describe", (data: unknown) => ({
  type: Object.prototype.toString.call(data),
  isNegativeZero: Object.is(data, -0),
}));

const values: [string, unknown][] = [
  ["undefined", undefined],
  ["null", null],
  ["booleans", [true, false]],
  ["special numbers", [
    NaN,
    Infinity,
    -Infinity,
    -0,
    0,
    Number.MAX_SAFE_INTEGER,
    0.1,
  ]],
  ["any Unicode", "héllo 日本 😀 \u0000 \uffff"],
  ["bigints", [0n, -1n, 2n ** 64n, -(3n ** 200n)]],
  ["Date", new Date(1_700_000_000_123)],
  [
    "Map with keys of any type",
    new Map<unknown, unknown>([[1, "a"], [{ k: 1 }, [2]], [
      null,
      new Set([3]),
    ]]),
  ],
  ["Set", new Set(["a", 1, 2n])],
  ["typed arrays and ArrayBuffer", [
    new Uint8Array([1, 2]),
    new Float64Array([1.5]),
    new BigInt64Array([-1n]),
    new Uint8Array([9]).buffer,
  ]],
  ["arrays with holes and undefined", [1, , undefined, 3]],
  ["nested plain objects", { a: { b: { c: [{ d: undefined }] } } }],
  [
    "Errors with a cause",
    new RangeError("outer", { cause: new Error("inner") }),
  ],
];

for (const [name, value] of values) {
  Deno.test(`round trip: ${name} comes back equal and of the same type`, async () => {
    await using served = await serve([echo]);
    assert.deepStrictEqual(await served.client().runAction(echo, value), value);
  });
}

Deno.test("round trip: the handler receives -0 and undefined as such", async () => {
  await using served = await serve([describe]);
  const client = served.client();
  assert.deepStrictEqual(await client.runAction(describe, -0), {
    type: "[object Number]",
    isNegativeZero: true,
  });
  assert.deepStrictEqual(await client.runAction(describe), {
    type: "[object Undefined]",
    isNegativeZero: false,
  });
});

Deno.test("round trip: an 8 MiB binary travels as bytes, not base64", async () => {
  let receivedLength = 0;
  const store = action("store", (bytes: Uint8Array) => {
    receivedLength = bytes.byteLength;
    return bytes;
  });
  await using served = await serve([store], { maxFrameSize: 9 * 1024 * 1024 });
  const payload = new Uint8Array(8 * 1024 * 1024);
  for (let i = 0; i < payload.length; i += 4096) payload[i] = i % 251;
  const back = await served.client({ maxFrameSize: 9 * 1024 * 1024 }).runAction(
    store,
    payload,
  );
  assert.equal(receivedLength, payload.length);
  assert.ok(back instanceof Uint8Array);
  assert.deepStrictEqual(back, payload);
});

Deno.test("round trip: large messages in fragments arrive whole, and answers kept stay intact", async () => {
  await using served = await serve([echo]);
  // Bytes landing in the wrong message may leave a call unanswered.
  const client = served.client({ timeout: 10_000 });
  const MIB = 1024 * 1024;
  const random = seededRandom(7);
  // Fragmented (over 1.5 MiB), then one frame larger than a fragment's
  // that the caller keeps, then fragmented again: the fragments' frame
  // memory is reused, never that of an answer someone holds.
  const first = randomBytes(random, 5 * MIB + 3);
  const kept = randomBytes(random, 1.25 * MIB);
  const second = randomBytes(random, 3 * MIB + 17);
  assert.deepStrictEqual(await client.runAction(echo, first), first);
  const keptAnswer = await client.runAction(echo, kept);
  const answers = await Promise.all([
    client.runAction(echo, second),
    client.runAction(echo, first),
  ]);
  assert.deepStrictEqual(answers, [second, first]);
  assert.deepStrictEqual(keptAnswer, kept);
});

Deno.test("round trip: base64 would not fit where raw bytes do", async () => {
  // 6 MiB of bytes in frames of at most 6.1 MiB: base64 (8 MiB) could never pass.
  const size = 6 * 1024 * 1024;
  await using served = await serve([echo], { maxFrameSize: size + 100_000 });
  const client = served.client({ maxFrameSize: size + 100_000 });
  assert.equal(
    ((await client.runAction(echo, new Uint8Array(size))) as Uint8Array).length,
    size,
  );
});

class Temperature {
  constructor(readonly celsius: number, readonly sensor: string) {}
  get fahrenheit(): number {
    return this.celsius * 9 / 5 + 32;
  }
}
const temperature = defineExtension({
  type: 33,
  class: Temperature,
  encode: (t): [number, string] => [t.celsius, t.sensor],
  decode: ([celsius, sensor]) => new Temperature(celsius, sensor),
});

Deno.test("round trip: registered classes arrive as instances, in both directions", async () => {
  const warmer = action("warmer", (t: Temperature) => {
    assert.ok(t instanceof Temperature);
    return new Temperature(t.celsius + 1, t.sensor);
  });
  await using served = await serve([warmer], { extensions: [temperature] });
  const back = await served.client().runAction(
    warmer,
    new Temperature(20, "lab"),
  );
  assert.ok(back instanceof Temperature);
  assert.equal(back.fahrenheit, 69.8);
  assert.equal(back.sensor, "lab");
});

Deno.test("round trip: a class the server does not know fails that call as INVALID_REQUEST", async () => {
  await using served = await serve([echo]);
  const client = served.client({ extensions: [temperature] });
  await assert.rejects(
    client.runAction(echo, new Temperature(1, "x")),
    (e) =>
      e instanceof RemoteError && e.code === "INVALID_REQUEST" &&
      /extension type 33/.test(e.message),
  );
  assert.equal(
    await client.runAction(echo, "the connection lives"),
    "the connection lives",
  );
});
