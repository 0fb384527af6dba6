/**
 * The codec's smaller pieces alone: the arena that hands out bytes, the
 * bounds-checked byte reader, UTF-8 by hand, bigint bytes and the map key
 * cache.
 */

import assert from "node:assert/strict";
import {
  ArenaWriter,
  EXTERNAL_BYTES_THRESHOLD,
} from "../../src/codec/msgpack_writer.ts";
import { bigIntToBytes, bytesToBigInt } from "../../src/codec/bigint_bytes.ts";
import { ByteReader } from "../../src/codec/byte_reader.ts";
import { cachedAsciiKey } from "../../src/codec/decoder.ts";
import { utf8Length, writeUtf8Units } from "../../src/codec/utf8.ts";

function writeMessage(writer: ArenaWriter, bytes: Uint8Array): Uint8Array[] {
  writer.beginMessage();
  writer.writeBytes(bytes);
  const parts = writer.finishParts();
  writer.endMessage();
  return parts;
}

Deno.test("arena: bytes handed out are never written over by later messages", () => {
  const writer = new ArenaWriter();
  const first = writeMessage(writer, new Uint8Array([1, 2, 3]));
  const kept = first[0].slice();
  // Enough later messages to move to new arenas several times.
  for (let i = 0; i < 200; i++) {
    writeMessage(writer, new Uint8Array(1000).fill(i));
  }
  assert.deepEqual(first, [kept]);
});

Deno.test("arena: a large binary is its own part, the caller's memory; inside a patch it is copied", () => {
  const writer = new ArenaWriter();
  const large = new Uint8Array(EXTERNAL_BYTES_THRESHOLD);
  writer.beginMessage();
  writer.writeBytes(new Uint8Array([7]));
  writer.writeBytes(large);
  writer.writeBytes(new Uint8Array([8]));
  const parts = writer.finishParts();
  writer.endMessage();
  assert.equal(parts.length, 3);
  assert.equal(parts[1], large);

  writer.beginMessage();
  writer.patchDepth++;
  writer.writeBytes(large);
  writer.patchDepth--;
  const patched = writer.finishParts();
  writer.endMessage();
  assert.equal(patched.length, 1);
  assert.notEqual(patched[0].buffer, large.buffer);
});

Deno.test("arena: an abandoned message leaves nothing behind", () => {
  const writer = new ArenaWriter();
  writer.beginMessage();
  writer.writeBytes(new Uint8Array([1, 2]));
  writer.abandonMessage();
  writer.endMessage();
  assert.deepEqual(writeMessage(writer, new Uint8Array([3])), [
    new Uint8Array([3]),
  ]);
});

Deno.test("byte reader: every read checks the bytes are there", () => {
  const reader = new ByteReader();
  reader.reset(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x80]));
  assert.equal(reader.uint(4), 0xffff_ffff);
  assert.equal(reader.int(1), -128);
  assert.ok(reader.isAtEnd);
  reader.reset(new Uint8Array([0x01]));
  assert.throws(() => reader.uint(2), { code: "DECODE_FAILED" });
  assert.throws(() => reader.checkCount(2), { code: "DECODE_FAILED" });
  assert.equal(reader.checkCount(1), 1);
});

Deno.test("utf8: by hand, the same bytes as TextEncoder, lone surrogates included", () => {
  const samples = [
    "",
    "ascii",
    "é",
    "€uro",
    "😀",
    "a\ud800b",
    "\udc00",
    "\ud83d",
    "x\u07ff\u0800\uffff",
  ];
  for (const sample of samples) {
    const expected = new TextEncoder().encode(sample);
    const buffer = new Uint8Array(sample.length * 3);
    assert.equal(utf8Length(sample), expected.length, sample);
    const count = writeUtf8Units(buffer, sample, 0);
    assert.deepEqual(buffer.subarray(0, count), expected, sample);
  }
});

Deno.test("bigint bytes: round trip at every sign and size boundary", () => {
  const values = [0n, 1n, -1n, 127n, 128n, -128n, -129n, 255n, 256n];
  for (let bits = 40n; bits <= 200n; bits += 8n) {
    values.push(2n ** bits, -(2n ** bits), 2n ** bits - 1n, -(2n ** bits) + 1n);
  }
  for (const value of values) {
    const bytes = bigIntToBytes(value);
    assert.equal(bytesToBigInt(bytes), value, `${value}`);
    // The fewest bytes: dropping the first would change the value.
    if (bytes.length > 1) {
      assert.notEqual(bytesToBigInt(bytes.subarray(1)), value, `${value}`);
    }
  }
});

Deno.test("key cache: the same key comes back as the same string; collisions take turns", () => {
  const encoder = new TextEncoder();
  const first = cachedAsciiKey(encoder.encode("price"), 0, 5);
  const again = cachedAsciiKey(encoder.encode("xprice"), 1, 6);
  assert.equal(first, "price");
  assert.equal(again, "price");
  for (let i = 0; i < 10_000; i++) {
    const key = `k${i}`;
    assert.equal(cachedAsciiKey(encoder.encode(key), 0, key.length), key);
  }
  assert.equal(cachedAsciiKey(new Uint8Array([0x61, 0xc3]), 0, 2), undefined);
});
