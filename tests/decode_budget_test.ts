import assert from "node:assert/strict";
import { action, Client, Codec, CodecError } from "../mod.ts";
import { concat } from "../src/base/bytes.ts";
import { FrameDecoderStream } from "../src/wire/framing.ts";
import { type Message, outgoing } from "../src/protocol/message_table.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import { serve, wire } from "./helpers.ts";

const codec = new Codec();
const MiB = 1 << 20;

/** An array (`dd` header) of `byteLength / item.length` copies of `item`. */
function arrayOf(byteLength: number, item: readonly number[]): Uint8Array {
  const count = Math.floor(byteLength / item.length);
  const bytes = new Uint8Array(5 + count * item.length);
  new DataView(bytes.buffer).setUint32(1, count);
  bytes[0] = 0xdd;
  const pattern = new Uint8Array(item);
  for (let at = 5; at < bytes.length; at += item.length) {
    bytes.set(pattern, at);
  }
  return bytes;
}

function isBudgetError(error: unknown): boolean {
  return error instanceof CodecError && error.code === "DECODE_BUDGET";
}

/**
 * Few bytes that stand for a lot of memory or work. Each would take seconds
 * and hundreds of megabytes to build (the errors most of all: a captured
 * stack each); a budgeted decoder refuses them after one cheap walk.
 */
const hostile: [string, number[]][] = [
  ["errors of an empty map (d4 05 80)", [0xd4, 0x05, 0x80]],
  ["empty arrays", [0x90]],
  ["empty maps", [0x80]],
  ["empty binaries", [0xc4, 0x00]],
  ["empty Sets", [0xd4, 0x04, 0x90]],
  ["empty Maps", [0xd4, 0x03, 0x80]],
  ["empty typed arrays", [0xd4, 0x06, 0x00]],
  ["maps with an integer key", [0x81, 0x01, 0x01]],
];

for (const [name, item] of hostile) {
  Deno.test(`decode budget: 1 MiB of ${name} is refused with DECODE_BUDGET`, () => {
    assert.throws(() => codec.decode(arrayOf(MiB, item)), isBudgetError);
  });
}

Deno.test("decode budget: a hostile value nested in a map, or in an extension, is refused too", () => {
  const arrays = arrayOf(MiB, [0x90]);
  const inMap = concat([new Uint8Array([0x81, 0xa1, 0x61]), arrays]);
  assert.throws(() => codec.decode(inMap), isBudgetError);
  // A Set whose array holds the hostile items.
  const header = new Uint8Array([0xc9, 0, 0, 0, 0, 0x04]);
  new DataView(header.buffer).setUint32(1, arrays.length);
  assert.throws(() => codec.decode(concat([header, arrays])), isBudgetError);
});

Deno.test("decode budget: dense but ordinary data decodes", () => {
  // About 512 KiB each: dense shapes that real data has.
  const values: unknown[] = [
    new Array(MiB / 2).fill(7),
    Array.from({ length: MiB / 6 }, (_, i) => [i & 63, (i >> 6) & 63]),
    Array.from({ length: MiB / 8 }, (_, i) => ({ a: i & 127 })),
    Array.from({ length: MiB / 4 }, (_, i) => [i & 127]),
    Array.from({ length: MiB / 6 }, () => "ab"),
    Array.from({ length: MiB / 12 }, (_, i) => new Date(i * 1000)),
    Array.from({ length: MiB / 36 }, () => new Uint8Array(16)),
    Array.from({ length: MiB / 8 }, (_, i) => BigInt(i)),
    new Map(Array.from({ length: MiB / 8 }, (_, i) => [i, i])),
    new Set(Array.from({ length: MiB / 4 }, (_, i) => i)),
    Array.from({ length: 2_000 }, (_, i) => new Error(`failure ${i}`)),
  ];
  for (const [index, value] of values.entries()) {
    const bytes = codec.encode(value);
    assert.ok(bytes.length > 16 * 1024, "large enough to be measured");
    try {
      codec.decode(bytes);
    } catch (error) {
      throw new Error(`value ${index}: ${error}`);
    }
  }
});

Deno.test("decode budget: however large the frame, one message builds at most MAX_BUDGET values; binaries and strings are not limited by it", () => {
  // Below the cap, 2 million small integers decode: the baseline.
  const twoMillion = arrayOf(2 * MiB, [0x07]);
  const twelveMillion = arrayOf(12 * MiB, [0x07]);
  // Each timing is the fastest of three runs, so a pause of a loaded
  // machine in one run does not decide the comparison.
  const fastest = (run: () => void) => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      run();
      best = Math.min(best, performance.now() - started);
    }
    return best;
  };
  const baseline = fastest(() =>
    assert.equal((codec.decode(twoMillion) as number[]).length, 2 * MiB)
  );
  // 12 million of them: ordinary bytes, but seconds of decoding. The
  // refusal stops its walk at the cap, so it costs less than building the
  // baseline's 2 million values, not what building 12 million would.
  const refusal = fastest(() =>
    assert.throws(() => codec.decode(twelveMillion), isBudgetError)
  );
  assert.ok(
    refusal < 2 * baseline,
    `refused in ${refusal.toFixed(1)} ms; 2 Mi values decode in ${
      baseline.toFixed(1)
    } ms`,
  );
  // A binary or a string of that size is one value: it decodes.
  const binary = new Uint8Array(12 * MiB);
  assert.equal(
    (codec.decode(codec.encode(binary)) as Uint8Array).length,
    12 * MiB,
  );
  const text = "x".repeat(12 * MiB);
  assert.equal((codec.decode(codec.encode(text)) as string).length, 12 * MiB);
});

Deno.test("bigints: a 16 MiB bigint encodes in about what decoding it takes", () => {
  const big = (1n << BigInt(8 * 16 * MiB - 2)) + 987_654_321n;
  let started = performance.now();
  const parts = codec.encode(big);
  const encodeTime = performance.now() - started;
  started = performance.now();
  assert.equal(codec.decode(parts), big);
  const decodeTime = performance.now() - started;
  assert.ok(
    encodeTime < 4 * decodeTime + 50,
    `encode ${encodeTime.toFixed(0)} ms, decode ${decodeTime.toFixed(0)} ms`,
  );
});

Deno.test("decode budget: a small message is never refused, whatever it holds", () => {
  const value = codec.decode(arrayOf(8 * 1024 - 5, [0xd4, 0x05, 0x80]));
  assert.ok(Array.isArray(value) && value[0] instanceof Error);
});

Deno.test("bigints of any size decode exactly", () => {
  const values = [
    0n,
    -1n,
    127n,
    -128n,
    2n ** 47n,
    -(2n ** 47n),
    2n ** 63n - 1n,
    -(2n ** 63n),
    2n ** 64n + 3n,
    -(2n ** 64n) - 3n,
    (1n << 800_000n) - 12345n,
    -(1n << 800_000n) + 12345n,
  ];
  for (const value of values) {
    assert.equal(codec.decode(codec.encode(value)), value);
  }
});

Deno.test("bigints: 16 MiB of digits decode in about what a 16 MiB string does", () => {
  const length = 16 * MiB;
  const bytes = new Uint8Array(6 + length).fill(0x5a);
  bytes.set([0xc9, 0, 0, 0, 0, 0x02]);
  new DataView(bytes.buffer).setUint32(1, length);
  const text = new Uint8Array(5 + length).fill(0x61);
  text.set([0xdb, 0, 0, 0, 0]);
  new DataView(text.buffer).setUint32(1, length);
  let start = performance.now();
  codec.decode(text);
  const stringTime = performance.now() - start;
  start = performance.now();
  const value = codec.decode(bytes) as bigint;
  const bigintTime = performance.now() - start;
  assert.equal(value % 256n, 0x5an);
  // Before, the digits went through a string built two characters at a
  // time: ~40 times as long as the string. A generous bound, not a timing.
  assert.ok(
    bigintTime < 20 * stringTime + 500,
    `bigint ${bigintTime} ms, string ${stringTime} ms`,
  );
});

Deno.test("errors from the wire: no local stack, no fields that shadow Error's methods", () => {
  const limit = Error.stackTraceLimit;
  const bytes = codec.encode({
    name: "TypeError",
    message: "bad",
    toString: 1,
    valueOf: 1,
    constructor: 1,
    code: "E_BAD",
  });
  // The same map, as an Error (extension 5) instead of a plain map.
  const header = new Uint8Array([0xc7, bytes.length, 0x05]);
  const error = codec.decode(concat([header, bytes])) as Error & {
    code: string;
  };
  assert.ok(error instanceof TypeError);
  assert.equal(String(error), "TypeError: bad");
  assert.equal(`${error}`, "TypeError: bad");
  assert.equal(error.code, "E_BAD");
  assert.equal(Object.hasOwn(error, "toString"), false);
  assert.equal(Object.hasOwn(error, "valueOf"), false);
  assert.equal(error.stack, undefined);
  assert.equal(Error.stackTraceLimit, limit);
  const sent = new Error("with its stack");
  assert.equal((codec.decode(codec.encode(sent)) as Error).stack, sent.stack);
});

/** Writes every byte (`conn.write` may write only some). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}

/** Reads frames from a raw connection until `done` says stop (or 10 s pass). */
async function readMessages(
  conn: Deno.Conn,
  done: (messages: Message[]) => boolean,
): Promise<Message[]> {
  const messages: Message[] = [];
  const timer = setTimeout(() => conn.close(), 10_000);
  try {
    const frames = conn.readable.pipeThrough(new FrameDecoderStream());
    let isHello = true;
    for await (const frame of frames) {
      if (isHello) {
        isHello = false;
        continue;
      }
      messages.push(wire.codec.decode(frame));
      if (done(messages)) break;
    }
  } catch {
    // Closed by the timer.
  } finally {
    clearTimeout(timer);
  }
  // Leaving the loop cancelled the readable, which closed conn.
  return messages;
}

Deno.test("decode budget: a request whose data is hostile fails INVALID_REQUEST; its connection and other clients go on", async () => {
  const echo = action("echo", (data: unknown) => data);
  await using served = await serve([echo]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  // [REQUEST, 1, "echo", <4 MiB of empty maps>], then a good request.
  const head = concat(wire.codec.encodeRaw([MessageType.REQUEST, 1, "echo"]));
  head[0] = 0x94;
  const hostileRequest = wire.frame(concat([head, arrayOf(4 * MiB, [0x80])]));
  const goodRequest = wire.message([MessageType.REQUEST, 2, "echo", "fine"]);
  await writeAll(conn, concat([wire.hello(), hostileRequest, goodRequest]));
  const messages = await readMessages(
    conn,
    (messages) =>
      messages.some((message) => message.type === MessageType.RESULT),
  );
  const failed = messages.find((message) => message.type === MessageType.ERROR);
  assert.ok(failed?.type === MessageType.ERROR, "the hostile request failed");
  assert.equal(failed.id, 1);
  assert.equal(failed.error.code, "INVALID_REQUEST");
  const result = messages.find((message) =>
    message.type === MessageType.RESULT
  );
  assert.ok(result?.type === MessageType.RESULT, "the connection lives");
  assert.equal(result.value, "fine");
  assert.equal(
    await served.client().runAction(echo, "still here"),
    "still here",
  );
});

Deno.test("decode budget: a server that answers with a hostile result fails that call only", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    const requests: number[] = [];
    const frames = conn.readable.pipeThrough(new FrameDecoderStream());
    let isHello = true;
    for await (const frame of frames) {
      if (isHello) {
        isHello = false;
        await conn.write(wire.hello());
        continue;
      }
      const message = wire.codec.decode(frame);
      if (message.type !== MessageType.REQUEST) continue;
      requests.push(message.id);
      if (requests.length === 1) {
        const head = concat(
          wire.codec.encode(outgoing.result(message.id, null)),
        );
        await writeAll(
          conn,
          wire.frame(
            concat([head.subarray(0, -1), arrayOf(MiB, [0xd4, 0x05, 0x80])]),
          ),
        );
      } else {
        await conn.write(
          wire.message([MessageType.RESULT, message.id, "fine"]),
        );
        break; // Leaving the loop cancels the readable, which closes conn.
      }
    }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  const client = new Client({ hostname: "127.0.0.1", port, retry: 1 });
  try {
    await assert.rejects(client.runAction("anything"), isBudgetError);
    assert.equal(await client.runAction("again"), "fine");
  } finally {
    await client.close();
    await serving;
    listener.close();
  }
});
