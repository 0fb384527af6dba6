import assert from "node:assert/strict";
import { concat } from "../../src/base/bytes.ts";
import { FrameDecoder } from "../../src/wire/framing.ts";
import { WRITE_ALONE_SIZE } from "../../src/wire/transport.ts";
import { WriteBatch } from "../../src/wire/write_batch.ts";
import { randomBytes, seededRandom } from "../helpers.ts";

/** The frame bodies in written chunks. */
function framesOf(chunks: readonly Uint8Array[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const decoder = new FrameDecoder();
  decoder.push(concat([new Uint8Array(0), ...chunks]), (body) => {
    frames.push(body.slice());
  });
  assert.ok(decoder.isBetweenFrames);
  return frames;
}

Deno.test("write batch: frames of small and large parts come out in order, large parts uncopied", () => {
  const random = seededRandom(1);
  const large = randomBytes(random, WRITE_ALONE_SIZE + 5);
  const bodies = [
    [randomBytes(random, 10)],
    [randomBytes(random, 3), large, randomBytes(random, 7)],
    [randomBytes(random, 2000)],
    [large, large],
    [],
  ];
  const batch = new WriteBatch();
  let size = 0;
  for (const body of bodies) size += batch.add(body);
  const chunks = batch.take();
  assert.equal(size, chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  assert.ok(chunks.includes(large));
  assert.deepStrictEqual(
    framesOf(chunks),
    bodies.map((body) => concat([new Uint8Array(0), ...body])),
  );
  assert.ok(batch.isEmpty);
});

Deno.test("write batch: chunks taken stay intact while more is added, until written", () => {
  const random = seededRandom(2);
  const batch = new WriteBatch();
  const first = [randomBytes(random, 100)];
  batch.add(first);
  const taken = batch.take();
  const copies = taken.map((chunk) => chunk.slice());
  // Added while the first chunk is being written, past the buffer's size.
  const later = Array.from({ length: 50 }, () => [randomBytes(random, 300)]);
  for (const body of later) batch.add(body);
  assert.deepStrictEqual(taken, copies);
  // Written: the buffer is filled again from its start, but only once what
  // was added since is taken and written too.
  batch.written();
  assert.deepStrictEqual(taken, copies);
  const rest = batch.take();
  assert.deepStrictEqual(
    framesOf([...taken, ...rest]),
    [first, ...later].map((body) => body[0]),
  );
  batch.written();
  batch.add([new Uint8Array([1, 2, 3])]);
  const again = batch.take();
  assert.equal(again[0].buffer, rest.at(-1)!.buffer);
  assert.deepStrictEqual(framesOf(again), [new Uint8Array([1, 2, 3])]);
});
