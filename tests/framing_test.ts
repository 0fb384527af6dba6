import assert from "node:assert/strict";
import {
  FrameDecoderStream,
  FrameEncoderStream,
  ProtocolError,
} from "../mod.ts";
import { concat } from "../src/base/bytes.ts";
import { FRAME_HEADER_SIZE, FrameDecoder } from "../src/wire/framing.ts";
import { randomBytes, seededRandom } from "./helpers.ts";

/** Runs chunks through a FrameDecoderStream and collects the frames. */
function decode(
  chunks: readonly Uint8Array[],
  options?: ConstructorParameters<typeof FrameDecoderStream>[0],
): Promise<Uint8Array[]> {
  return Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new FrameDecoderStream(options)),
  );
}

function encodeAll(bodies: readonly Uint8Array[]): Uint8Array {
  const encoder = new FrameEncoderStream();
  return concat(bodies.flatMap((body) => encoder.encode(body)));
}

/** Cuts `bytes` at the given offsets. */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

const bodies = [
  new Uint8Array([1, 2, 3]),
  new Uint8Array(0),
  new Uint8Array([9]),
  new Uint8Array(300).fill(5),
];

Deno.test("frames: a stream cut at any one place yields the same frames", async () => {
  const stream = encodeAll(bodies);
  for (let cut = 0; cut <= stream.length; cut++) {
    assert.deepStrictEqual(
      await decode(split(stream, [cut])),
      bodies,
      `cut at ${cut}`,
    );
  }
});

Deno.test("frames: a stream cut at any two places yields the same frames", async () => {
  const stream = encodeAll(bodies.slice(0, 3));
  for (let first = 0; first <= stream.length; first++) {
    for (let second = first; second <= stream.length; second++) {
      assert.deepStrictEqual(
        await decode(split(stream, [first, second])),
        bodies.slice(0, 3),
      );
    }
  }
});

Deno.test("frames: byte-by-byte and all-at-once give the same frames", async () => {
  const stream = encodeAll(bodies);
  const oneByteChunks = [...stream].map((byte) => new Uint8Array([byte]));
  assert.deepStrictEqual(await decode(oneByteChunks), bodies);
  assert.deepStrictEqual(await decode([stream]), bodies);
});

Deno.test("frames: seeded property test over random frames and random cuts", async () => {
  const seed = 20261125;
  const random = seededRandom(seed);
  for (let round = 0; round < 200; round++) {
    const count = Math.floor(random() * 8);
    const frames = Array.from(
      { length: count },
      () => randomBytes(random, Math.floor(random() ** 3 * 5000)),
    );
    const stream = encodeAll(frames);
    const cuts = Array.from(
      { length: Math.floor(random() * 10) },
      () => Math.floor(random() * (stream.length + 1)),
    );
    assert.deepStrictEqual(
      await decode(split(stream, cuts)),
      frames,
      `seed ${seed}, round ${round}`,
    );
  }
});

Deno.test("frames: a frame within one chunk is a view of it, not a copy", async () => {
  const stream = encodeAll([new Uint8Array([1, 2]), new Uint8Array([3])]);
  const [first, second] = await decode([stream]);
  assert.equal(first.buffer, stream.buffer);
  assert.equal(second.buffer, stream.buffer);
});

Deno.test("frames: a frame split across many chunks is gathered once, at its exact size", async () => {
  const body = randomBytes(seededRandom(7), 1 << 20);
  const stream = encodeAll([body]);
  const chunks = split(
    stream,
    Array.from({ length: 15 }, (_, i) => (i + 1) * 65536),
  );
  const [frame] = await decode(chunks);
  assert.deepStrictEqual(frame, body);
  assert.equal(frame.buffer.byteLength, body.length);
});

Deno.test("frames: a length over maxFrameSize errors before allocating", async () => {
  // A 4 GiB - 1 length with no body: if it allocated, it would not finish quickly.
  await assert.rejects(
    decode([new Uint8Array([0xff, 0xff, 0xff, 0xff])], { maxFrameSize: 1024 }),
    (error) =>
      error instanceof ProtocolError && error.code === "FRAME_TOO_LARGE" &&
      error.message.includes("4294967295"),
  );
  assert.deepStrictEqual(
    await decode([encodeAll([new Uint8Array(1024)])], { maxFrameSize: 1024 }),
    [new Uint8Array(1024)],
  );
});

Deno.test("frames: the first frame has its own, smaller limit", async () => {
  const stream = encodeAll([new Uint8Array(100), new Uint8Array(5000)]);
  assert.equal(
    (await decode([stream], { maxFirstFrameSize: 100 })).length,
    2,
  );
  await assert.rejects(
    decode([stream], { maxFirstFrameSize: 99 }),
    (error) =>
      error instanceof ProtocolError && error.code === "FRAME_TOO_LARGE",
  );
});

Deno.test("frames: a stream that ends inside a frame is an error", async () => {
  const stream = encodeAll([new Uint8Array(10)]);
  for (const end of [2, 4, 9]) {
    await assert.rejects(
      decode([stream.subarray(0, end)]),
      (error) => error instanceof ProtocolError && error.code === "PROTOCOL",
    );
  }
});

Deno.test("frames: the encoder prefixes the length and joins small parts", () => {
  const encoder = new FrameEncoderStream();
  assert.deepStrictEqual(
    encoder.encode([new Uint8Array([1]), new Uint8Array([2, 3])]),
    [new Uint8Array([0, 0, 0, 3, 1, 2, 3])],
  );
});

Deno.test("frames: the encoder passes large parts on without copying them", () => {
  const large = new Uint8Array(1 << 20);
  const chunks = new FrameEncoderStream().encode([
    new Uint8Array([0xc6, 0, 0x10, 0, 0]),
    large,
    new Uint8Array([7]),
  ]);
  assert.equal(chunks.length, 3);
  assert.equal(chunks[1], large);
  assert.deepStrictEqual(
    chunks[0],
    new Uint8Array([0, 0x10, 0, 6, 0xc6, 0, 0x10, 0, 0]),
  );
});

Deno.test("frames: the encoder refuses a body over its limit", () => {
  assert.throws(
    () => new FrameEncoderStream({ maxFrameSize: 4 }).encode(new Uint8Array(5)),
    (error) =>
      error instanceof ProtocolError && error.code === "FRAME_TOO_LARGE",
  );
});

Deno.test("frames: invalid limits are refused", () => {
  assert.throws(() => new FrameDecoderStream({ maxFrameSize: 0 }), RangeError);
  assert.throws(
    () => new FrameDecoderStream({ maxFrameSize: 2 ** 32 }),
    RangeError,
  );
});

Deno.test("frames: a gathered frame given back is reused for the next one, whole and at its exact size", () => {
  const decoder = new FrameDecoder();
  const frames: Uint8Array[] = [];
  // The receiver is done with every gathered frame once it has a copy.
  const take = (body: Uint8Array, isView: boolean) => {
    frames.push(body.slice());
    return !isView;
  };
  const first = randomBytes(seededRandom(1), 5000);
  const second = randomBytes(seededRandom(2), 3000);
  const bytes = encodeAll([first, second]);
  // Each frame split in two, so that each is gathered.
  const cut = FRAME_HEADER_SIZE + first.length;
  for (const chunk of split(bytes, [100, cut, cut + 100])) {
    decoder.push(chunk, take);
  }
  assert.deepStrictEqual(frames, [first, second]);
  // The second went into the first's memory: nothing new was allocated.
  const seen: Uint8Array[] = [];
  const keep = (body: Uint8Array) => void seen.push(body);
  const third = randomBytes(seededRandom(3), 4000);
  decoder.push(encodeAll([third]).subarray(0, 10), take);
  decoder.push(encodeAll([third]).subarray(10), (body, isView) => {
    keep(body);
    return take(body, isView);
  });
  assert.equal(seen[0].byteLength, 4000);
  assert.equal(seen[0].buffer.byteLength, 5000);
  assert.deepStrictEqual(frames[2], third);
});

Deno.test("frames: a gathered frame kept by its receiver is never reused", () => {
  const decoder = new FrameDecoder();
  const kept: Uint8Array[] = [];
  const bodies = [4000, 3000, 2000].map((length, i) =>
    randomBytes(seededRandom(10 + i), length)
  );
  for (const body of bodies) {
    const bytes = encodeAll([body]);
    for (const chunk of split(bytes, [50])) {
      decoder.push(chunk, (frame) => void kept.push(frame));
    }
  }
  assert.deepStrictEqual(kept, bodies);
  assert.equal(new Set(kept.map((frame) => frame.buffer)).size, 3);
});

Deno.test("frames: the spare memory is let go once a frame fits in a read", () => {
  const decoder = new FrameDecoder();
  const gathered: Uint8Array[] = [];
  const push = (body: Uint8Array, isWhole: boolean) => {
    const bytes = encodeAll([body]);
    const chunks = isWhole ? [bytes] : split(bytes, [50]);
    for (const chunk of chunks) {
      decoder.push(chunk, (frame, isView) => {
        if (!isView) gathered.push(frame);
        return !isView;
      });
    }
  };
  push(new Uint8Array(4000), false);
  push(new Uint8Array(10), true);
  push(new Uint8Array(3000), false);
  assert.notEqual(gathered[1].buffer, gathered[0].buffer);
});
