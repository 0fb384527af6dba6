import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Codec, CodecError, defineExtension } from "../mod.ts";
import { concat } from "../src/base/bytes.ts";

const codec = new Codec();

function roundTrip<T>(value: T, using: Codec = codec): T {
  return using.decode(using.encode(value)) as T;
}

/** Values that must come back equal, of the same type (Object.is for numbers). */
const cases: [string, unknown][] = [
  ["undefined", undefined],
  ["null", null],
  ["true", true],
  ["false", false],
  ...[
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2 ** 32 - 1,
    2 ** 32,
    Number.MAX_SAFE_INTEGER,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2 ** 31),
    -(2 ** 31) - 1,
    Number.MIN_SAFE_INTEGER,
    2 ** 53 + 2,
    0.1,
    -1.5,
    Number.MIN_VALUE,
    Number.MAX_VALUE,
  ].map((n): [string, unknown] => [`number ${n}`, n]),
  ["-0", -0],
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
  ["empty string", ""],
  ["ascii", "hello"],
  ["31 bytes", "x".repeat(31)],
  ["32 bytes", "x".repeat(32)],
  ["accents", "héllo wörld"],
  ["CJK", "日本語のテキスト"],
  ["emoji (surrogate pairs)", "😀👍🏽 family: 👨‍👩‍👧"],
  ["long unicode", "é€😀".repeat(5000)],
  ["string over 64 KiB", "y".repeat(70_000)],
  ["bigint 0", 0n],
  ["bigint 1", 1n],
  ["bigint -1", -1n],
  ["bigint 127", 127n],
  ["bigint 128", 128n],
  ["bigint -128", -128n],
  ["bigint -129", -129n],
  ["bigint 2^64", 2n ** 64n],
  ["bigint -(2^63)", -(2n ** 63n)],
  ["bigint huge positive", 3n ** 1000n],
  ["bigint huge negative", -(7n ** 777n)],
  ["Date epoch", new Date(0)],
  ["Date with ms", new Date(1_234_567_890_123)],
  ["Date before 1970", new Date(-1)],
  ["Date far past", new Date(-8.64e15)],
  ["Date far future", new Date(8.64e15)],
  ["Invalid Date", new Date(NaN)],
  [
    "Map with mixed keys",
    new Map<unknown, unknown>([[1, "a"], ["b", 2], [{ k: 1 }, [1]], [
      null,
      undefined,
    ], [1n, new Date(5)]]),
  ],
  ["empty Map", new Map()],
  ["large Map", new Map(Array.from({ length: 300 }, (_, i) => [i, String(i)]))],
  ["Set", new Set([1, "a", null, undefined, 2n])],
  ["nested Map in Set", new Set([new Map([["x", new Set([1])]])])],
  ["Uint8Array", new Uint8Array([1, 2, 3])],
  ["empty Uint8Array", new Uint8Array(0)],
  ["Uint8ClampedArray", new Uint8ClampedArray([1, 255])],
  ["Int8Array", new Int8Array([-1, 5])],
  ["Int16Array", new Int16Array([1, -2, 300])],
  ["Uint16Array", new Uint16Array([65535])],
  ["Int32Array", new Int32Array([-5, 2 ** 31 - 1])],
  ["Uint32Array", new Uint32Array([2 ** 32 - 1])],
  ["Float32Array", new Float32Array([1.5, -0, NaN])],
  ["Float64Array", new Float64Array([Math.PI, -0, Infinity])],
  ["BigInt64Array", new BigInt64Array([-5n, 2n ** 62n])],
  ["BigUint64Array", new BigUint64Array([2n ** 64n - 1n])],
  ["ArrayBuffer", new Uint8Array([4, 5, 6]).buffer],
  ["DataView", new DataView(new Uint8Array([1, 2]).buffer)],
  ["array with holes", [1, , 3, , ,]],
  ["array of undefined", [undefined, undefined]],
  ["nested plain objects", { a: { b: { c: [1, { d: "e" }] } }, f: [] }],
  ["object with undefined values", { a: undefined, b: null }],
  [
    "object with many keys",
    Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])),
  ],
  ["array with many items", Array.from({ length: 70_000 }, (_, i) => i)],
  ["RegExp", /a+b?c/giu],
];

for (const [name, value] of cases) {
  Deno.test(`codec: ${name} round-trips`, () => {
    const back = roundTrip(value);
    assert.deepStrictEqual(back, value);
    if (typeof value === "number") assert.ok(Object.is(back, value));
  });
}

Deno.test("codec: -0 stays -0, and 0 stays a one-byte integer", () => {
  assert.ok(Object.is(roundTrip(-0), -0));
  assert.ok(Object.is(roundTrip(0), 0));
  assert.deepStrictEqual(codec.encode(0), new Uint8Array([0]));
  assert.deepStrictEqual(codec.encode([-0])[1], 0xcb);
});

Deno.test("codec: holes stay holes, and undefined stays undefined", () => {
  const back = roundTrip([1, , undefined]);
  assert.equal(back.length, 3);
  assert.equal(1 in back, false);
  assert.equal(2 in back, true);
  assert.equal(back[2], undefined);
  const object = roundTrip({ a: undefined });
  assert.ok(Object.hasOwn(object, "a"));
});

Deno.test("codec: Errors keep their class, message, stack and cause", () => {
  const cause = new RangeError("inner");
  const error = new TypeError("outer", { cause });
  const back = roundTrip(error);
  assert.ok(back instanceof TypeError);
  assert.equal(back.message, "outer");
  assert.equal(back.stack, error.stack);
  assert.ok(back.cause instanceof RangeError);
  assert.equal((back.cause as Error).message, "inner");
});

Deno.test("codec: custom error names and fields survive; AggregateError keeps its errors", () => {
  class DeviceError extends Error {
    code = "E_DEVICE";
    constructor(message: string) {
      super(message);
      this.name = "DeviceError";
    }
  }
  const back = roundTrip(new DeviceError("jammed")) as Error & { code: string };
  assert.equal(back.name, "DeviceError");
  assert.equal(back.message, "jammed");
  assert.equal(back.code, "E_DEVICE");
  const aggregate = roundTrip(
    new AggregateError([new Error("a"), new Error("b")], "both"),
  );
  assert.ok(aggregate instanceof AggregateError);
  assert.deepStrictEqual(aggregate.errors.map((e: Error) => e.message), [
    "a",
    "b",
  ]);
});

Deno.test("codec: a key named __proto__ is an own property, never the prototype", () => {
  const hostile = JSON.parse('{"__proto__": {"isAdmin": true}, "name": "x"}');
  const back = roundTrip(hostile) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.equal((back as { isAdmin?: boolean }).isAdmin, undefined);
  assert.deepStrictEqual(Object.keys(back), ["__proto__", "name"]);
  assert.equal(({} as { isAdmin?: boolean }).isAdmin, undefined);
});

Deno.test("codec: unregistered class instances travel as plain objects", () => {
  class Point {
    constructor(public x: number, public y: number) {}
  }
  const back = roundTrip(new Point(1, 2));
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepStrictEqual({ ...back }, { x: 1, y: 2 });
});

Deno.test("codec: objects with toJSON travel as what it returns", () => {
  assert.equal(
    roundTrip(new URL("https://example.com/a")),
    "https://example.com/a",
  );
});

class Point {
  constructor(readonly x: number, readonly y: number) {}
  get length(): number {
    return Math.hypot(this.x, this.y);
  }
}
const pointExtension = defineExtension({
  type: 40,
  class: Point,
  encode: (point) => [point.x, point.y],
  decode: ([x, y]) => new Point(x, y),
});

Deno.test("codec: a registered class arrives as an instance of that class", () => {
  const withPoints = new Codec({ extensions: [pointExtension] });
  const back = roundTrip(
    { at: new Point(3, 4), path: [new Point(0, 0)] },
    withPoints,
  );
  assert.ok(back.at instanceof Point);
  assert.equal(back.at.length, 5);
  assert.ok(back.path[0] instanceof Point);
});

Deno.test("codec: an unknown extension type fails to decode with a clear error", () => {
  const bytes = new Codec({ extensions: [pointExtension] }).encode(
    new Point(1, 2),
  );
  assert.throws(
    () => codec.decode(bytes),
    (error) =>
      error instanceof CodecError && error.code === "DECODE_FAILED" &&
      /unknown extension type 40/.test(error.message),
  );
});

Deno.test("codec: extension ids are checked", () => {
  for (const type of [0, 31, 128, 1.5]) {
    assert.throws(
      () =>
        defineExtension({
          type,
          class: Point,
          encode: () => 0,
          decode: () => new Point(0, 0),
        }),
      (error) =>
        error instanceof CodecError && error.code === "INVALID_EXTENSION",
    );
  }
  assert.throws(
    () => new Codec({ extensions: [pointExtension, { ...pointExtension }] }),
    (error) =>
      error instanceof CodecError && error.code === "INVALID_EXTENSION",
  );
});

Deno.test("codec: an extension that throws is reported with its type id", () => {
  const broken = new Codec({
    extensions: [defineExtension({
      type: 41,
      class: Point,
      encode: (): number => {
        throw new Error("cannot");
      },
      decode: () => new Point(0, 0),
    })],
  });
  assert.throws(
    () => broken.encode(new Point(1, 1)),
    (error) =>
      error instanceof CodecError && error.code === "ENCODE_FAILED" &&
      /41/.test(error.message),
  );
});

Deno.test("codec: functions, symbols and cycles cannot be encoded", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const value of [() => 1, Symbol("s"), { f: () => 1 }, cyclic]) {
    assert.throws(
      () => codec.encode(value),
      (error) => error instanceof CodecError && error.code === "ENCODE_FAILED",
    );
  }
});

Deno.test("codec: the encoder is reusable after a failure", () => {
  assert.throws(() => codec.encode({ a: [1, 2, () => 3] }));
  assert.deepStrictEqual(roundTrip({ a: [1, 2, 3] }), { a: [1, 2, 3] });
});

Deno.test("codec: binaries of 64 KiB and more are parts of their own, not copies", () => {
  const large = new Uint8Array(1 << 20);
  const parts = codec.encodeParts({ file: large, name: "a" });
  assert.equal(parts.length, 3);
  assert.equal(parts[1], large);
  const back = codec.decode(concat(parts)) as { file: Uint8Array };
  assert.deepStrictEqual(back.file, large);
});

Deno.test("codec: large binaries decode as views of the input, small ones as copies", () => {
  const encoded = codec.encode({
    large: new Uint8Array(8192),
    small: new Uint8Array(10),
  });
  const back = codec.decode(encoded) as {
    large: Uint8Array;
    small: Uint8Array;
  };
  assert.equal(back.large.buffer, encoded.buffer);
  assert.notEqual(back.small.buffer, encoded.buffer);
});

/** Malformed inputs: each must fail with DECODE_FAILED, never crash or hang. */
const malformed: [string, number[]][] = [
  ["empty input", []],
  ["reserved byte 0xc1", [0xc1]],
  ["truncated string", [0xa5, 0x61]],
  ["truncated float", [0xcb, 0, 0]],
  ["array claiming 4 billion items", [0xdd, 0xff, 0xff, 0xff, 0xff]],
  ["map claiming more entries than bytes", [0xdf, 0, 0, 1, 0, 1]],
  ["binary longer than input", [0xc6, 0, 0x10, 0, 0, 1]],
  ["trailing bytes", [0x01, 0x02]],
  ["extension longer than input", [0xc9, 0xff, 0xff, 0xff, 0xff, 3]],
  ["bad timestamp length", [0xc7, 3, 0xff, 0, 0, 0]],
  ["typed array of an unknown kind", [0xd5, 6, 99, 0]],
  ["typed array with a partial element", [0xc7, 4, 6, 7, 0, 0, 0]],
  ["Set without an array", [0xd4, 4, 1]],
  ["undefined with a body other than 00", [0xd4, 0, 1]],
  ["undefined with a longer body", [0xd5, 0, 0, 0]],
  ["an array hole with a body other than 00", [0xd4, 1, 0xff]],
  ["an array hole with an empty body", [0xc7, 0, 1]],
  ["an invalid Date with a body", [0xd4, 9, 0]],
  ["a timestamp 64 with a billion nanoseconds", [
    0xd7,
    0xff,
    0xee,
    0x6b,
    0x28,
    0x00,
    0,
    0,
    0,
    1,
  ]],
  ["a timestamp 96 with a billion nanoseconds", [
    0xc7,
    12,
    0xff,
    0x3b,
    0x9a,
    0xca,
    0x00,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
  ]],
  ["a timestamp 96 beyond the range of Date", [
    0xc7,
    12,
    0xff,
    0,
    0,
    0,
    0,
    0x7f,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
  ]],
];

for (const [name, bytes] of malformed) {
  Deno.test(`codec: ${name} fails to decode cleanly`, () => {
    assert.throws(
      () => codec.decode(new Uint8Array(bytes)),
      (error) => error instanceof CodecError && error.code === "DECODE_FAILED",
    );
  });
}

Deno.test("codec: nesting deeper than maxDepth fails to decode, without a stack overflow", () => {
  const deep = new Uint8Array(100_000).fill(0x91); // [[[[…
  assert.throws(
    () => codec.decode(deep),
    (error) =>
      error instanceof CodecError && error.code === "DECODE_FAILED" &&
      /deeper/.test(error.message),
  );
});

Deno.test("codec: values from other MessagePack writers decode sensibly", () => {
  // float32 1.5, uint64 2^63, int64 -(2^63), map with integer keys, str8
  assert.equal(codec.decode(new Uint8Array([0xca, 0x3f, 0xc0, 0, 0])), 1.5);
  assert.equal(
    codec.decode(new Uint8Array([0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0])),
    2n ** 63n,
  );
  assert.equal(
    codec.decode(new Uint8Array([0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0])),
    -(2n ** 63n),
  );
  assert.deepStrictEqual(
    codec.decode(new Uint8Array([0x82, 0x01, 0xa1, 0x61, 0x02, 0xa1, 0x62])),
    new Map([[1, "a"], [2, "b"]]),
  );
  assert.equal(codec.decode(new Uint8Array([0xd9, 2, 0x68, 0x69])), "hi");
});

// The fast paths: an arena shared by encodings, strings written by hand,
// for…in over objects, a cache of map keys, a DataView made on demand.

/** Values of many sizes and kinds, so that encodings end at many offsets of an arena. */
function variedValues(count: number): unknown[] {
  const values: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const text = i % 3 === 0
      ? "é".repeat(i % 700)
      : "a".repeat((i * 37) % 2500);
    switch (i % 6) {
      case 0:
        values.push([0, i, "echo", { id: i, name: text, tags: ["a", "b"] }]);
        break;
      case 1:
        values.push(
          new Map<unknown, unknown>([[i, text], ["set", new Set([i])]]),
        );
        break;
      case 2:
        values.push({ error: new RangeError(text), at: new Date(i) });
        break;
      case 3:
        values.push(text);
        break;
      case 4:
        values.push([i, 1.5, -i, 2n ** BigInt(i % 100), undefined, , text]);
        break;
      default:
        // A large binary: a part of its own in an object, copied in a Set.
        values.push(
          i % 60 === 5
            ? { file: new Uint8Array(70_000).fill(i), set: new Set([text]) }
            : new Set([new Uint8Array(i % 5000).fill(i), text]),
        );
    }
  }
  return values;
}

Deno.test("codec: encodings are never written over by later ones, across arenas", () => {
  const encoder = new Codec();
  const values = variedValues(1500);
  const kept = values.map((value) => encoder.encodeParts(value));
  let byteCount = 0;
  for (const [i, parts] of kept.entries()) {
    const bytes = concat(parts);
    byteCount += bytes.length;
    assert.deepStrictEqual(bytes, concat(new Codec().encodeParts(values[i])));
    assert.deepStrictEqual(codec.decode(bytes), values[i]);
  }
  assert.ok(byteCount > 20 * 64 * 1024, "the values fill many arenas");
});

Deno.test("codec: a failed encode leaves earlier encodings and the next one intact", () => {
  const encoder = new Codec();
  const before = encoder.encode({ a: "x".repeat(100) });
  const copy = before.slice();
  assert.throws(() => encoder.encode({ a: "y".repeat(500), f: () => 1 }));
  assert.throws(() =>
    encoder.encode([new Uint8Array(70_000), "z".repeat(90), Symbol("s")])
  );
  const after = encoder.encode({ b: 2 });
  assert.deepStrictEqual(before, copy);
  assert.deepStrictEqual(codec.decode(after), { b: 2 });
});

Deno.test("codec: an extension may encode and decode with its own codec mid-value", () => {
  class Sealed {
    constructor(readonly inner: unknown) {}
  }
  const sealing: Codec = new Codec({
    extensions: [defineExtension({
      type: 42,
      class: Sealed,
      encode: (sealed) => sealing.encode(sealed.inner),
      decode: (bytes: Uint8Array) => new Sealed(sealing.decode(bytes)),
    })],
  });
  const value = [1.5, new Sealed([2.5, new Sealed({ x: -0.25 })]), 3.5];
  const bytes = sealing.encode(value);
  assert.deepStrictEqual(sealing.decode(bytes), value);
  // Read at an odd offset too: numbers come from the right DataView.
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assert.deepStrictEqual(sealing.decode(shifted.subarray(3)), value);
});

/** The shortest str header for `byteLength` bytes of UTF-8 (PROTOCOL.md, "Values"). */
function strHeader(byteLength: number): number[] {
  if (byteLength < 32) return [0xa0 | byteLength];
  if (byteLength < 0x100) return [0xd9, byteLength];
  if (byteLength < 0x10000) return [0xda, byteLength >> 8, byteLength & 0xff];
  return [
    0xdb,
    ...[24, 16, 8, 0].map((shift) => (byteLength >>> shift) & 0xff),
  ];
}

Deno.test("codec: strings are written as TextEncoder's UTF-8 behind the shortest header", () => {
  const strings = [
    "",
    "x".repeat(31),
    "x".repeat(32),
    "x".repeat(63),
    "x".repeat(64),
    "x".repeat(255),
    "x".repeat(256),
    "é".repeat(15), // 30 bytes: fixstr
    "é".repeat(16), // 16 units, 32 bytes: str8
    "é".repeat(100), // 200 bytes: str8
    "é".repeat(200), // 200 units, 400 bytes: str16
    "€".repeat(30_000), // 30,000 units, 90,000 bytes: str32
    "é".repeat(100_000), // more than a new arena has room for
    "😀".repeat(20),
    "a😀b".repeat(40),
    "\ud800", // lone surrogates become U+FFFD, as with TextEncoder
    "a\udc00b",
    "\udc00\ud800",
    "😀".slice(0, 1).repeat(100),
  ];
  const textEncoder = new TextEncoder();
  for (const text of strings) {
    const utf8 = textEncoder.encode(text);
    assert.deepStrictEqual(
      new Codec().encode(text),
      new Uint8Array([...strHeader(utf8.length), ...utf8]),
      `${text.slice(0, 10)}… (${text.length} units)`,
    );
  }
});

Deno.test("codec: objects send their own enumerable keys, in order", () => {
  const inheriting = Object.create({ inherited: 1 });
  inheriting.own = 2;
  assert.deepStrictEqual(roundTrip(inheriting), { own: 2 });
  const ordered = roundTrip({ b: 1, 2: 2, a: 3, 1: 4 });
  assert.deepStrictEqual(Object.keys(ordered), ["1", "2", "b", "a"]);
  const polluted = Object.prototype as Record<string, unknown>;
  polluted.polluted = true;
  try {
    assert.deepStrictEqual(Object.keys(roundTrip({ a: 1 })), ["a"]);
  } finally {
    delete polluted.polluted;
  }
});

Deno.test("codec: an object whose getter adds or deletes keys fails to encode", () => {
  const shrinking = {
    get first() {
      delete (this as { second?: number }).second;
      return 1;
    },
    second: 2,
  };
  assert.throws(
    () => codec.encode(shrinking),
    (error) => error instanceof CodecError && error.code === "ENCODE_FAILED",
  );
  assert.deepStrictEqual(roundTrip({ ok: true }), { ok: true });
});

Deno.test("codec: map keys decode right however they meet in the key cache", () => {
  // More keys than the cache has slots, so that many share one.
  const keys = Array.from({ length: 10_000 }, (_, i) => `k${i.toString(36)}`);
  keys.push(
    "",
    "x".repeat(31), // the longest fixstr
    "x".repeat(32),
    "abcdefgh",
    "abcdXfgh", // differs in the middle only
    "héllo",
    "日本",
    "😀",
    "__proto__",
  );
  const object: Record<string, number> = {};
  keys.forEach((key, i) =>
    Object.defineProperty(object, key, {
      value: i,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  );
  const reversed = Object.fromEntries(Object.entries(object).reverse());
  for (const value of [object, reversed, object, reversed]) {
    const back = roundTrip(value);
    assert.deepStrictEqual(Object.entries(back), Object.entries(value));
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
  }
});

Deno.test("codec: decoding a Node Buffer gives plain Uint8Arrays, views of its bytes only", () => {
  const value = {
    small: new Uint8Array([1, 2, 3]),
    large: new Uint8Array(10_000).fill(7),
    nested: [new Uint8Array([4])],
    buffer: new Uint8Array([5, 6]).buffer,
  };
  const encoded = codec.encode(value);
  const offset = Buffer.concat([Buffer.from([0xaa]), Buffer.from(encoded)])
    .subarray(1);
  for (const input of [Buffer.from(encoded), offset]) {
    const back = codec.decode(input) as typeof value;
    assert.deepStrictEqual(back, value);
    for (const bytes of [back.small, back.large, back.nested[0]]) {
      assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
    }
    assert.equal(back.buffer.byteLength, 2);
  }
  // A Buffer in a larger pool (as Node makes small ones): a small binary
  // decoded from it is a copy of its own bytes, not a view of the pool.
  const one = codec.encode(new Uint8Array([9]));
  const pool = new Uint8Array(64);
  pool.set(one, 8);
  const pooled = Buffer.from(pool.buffer, 8, one.length);
  const small = codec.decode(pooled) as Uint8Array;
  assert.deepStrictEqual(small, new Uint8Array([9]));
  assert.equal(small.buffer.byteLength, 1);
});
