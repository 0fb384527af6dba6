/**
 * The frames a transport has queued for writing: small ones copied, length
 * prefix and parts, into one append-only buffer as they are sent, large
 * parts kept as they are, so that a burst goes out in few writes without a
 * header allocated per frame or a join at the end.
 *
 * @module
 */

import { FRAME_HEADER_SIZE, writeLength } from "./framing.ts";
import { WRITE_ALONE_SIZE } from "./transport.ts";

/**
 * The buffer's first size (small: an idle connection keeps it), and the
 * most it grows to, or is kept at once written.
 */
const MIN_BATCH = 512;
const MAX_BATCH = 256 * 1024;

/**
 * Frames waiting to be written, in order.
 *
 * @example
 * ```ts
 * import { WriteBatch } from "./write_batch.ts";
 * import assert from "node:assert/strict";
 *
 * const batch = new WriteBatch();
 * batch.add([new Uint8Array([7]), new Uint8Array([8])]);
 * batch.add([new Uint8Array([9])]);
 * assert.deepEqual(batch.take(), [new Uint8Array([0, 0, 0, 2, 7, 8, 0, 0, 0, 1, 9])]);
 * ```
 */
export class WriteBatch {
  /** Chunks ready to write, in order; what follows them is in `#buffer`. */
  #chunks: Uint8Array[] = [];
  /**
   * Append-only: chunks taken are views of it, so it is filled from the
   * start again only once they are all written.
   */
  #buffer: Uint8Array = new Uint8Array(0);
  /** Where the next frame goes in `#buffer`. */
  #end = 0;
  /** Where the part of `#buffer` not yet in `#chunks` starts. */
  #start = 0;

  /** Whether nothing waits to be taken. */
  get isEmpty(): boolean {
    return this.#chunks.length === 0 && this.#end === this.#start;
  }

  /**
   * Queues a frame: its prefix and small parts are copied, parts of
   * `WRITE_ALONE_SIZE` or more are kept as they are (they must not change
   * until written).
   *
   * @param body The frame body, in parts.
   * @returns The frame's size, prefix included.
   */
  add(body: readonly Uint8Array[]): number {
    let length = 0;
    let room = FRAME_HEADER_SIZE;
    for (let i = 0; i < body.length; i++) {
      const size = body[i].byteLength;
      length += size;
      if (size < WRITE_ALONE_SIZE) room += size;
    }
    if (this.#end + room > this.#buffer.byteLength) this.#grow(room);
    const buffer = this.#buffer;
    let at = this.#end;
    writeLength(buffer, at, length);
    at += FRAME_HEADER_SIZE;
    for (let i = 0; i < body.length; i++) {
      const part = body[i];
      if (part.byteLength < WRITE_ALONE_SIZE) {
        buffer.set(part, at);
        at += part.byteLength;
      } else {
        this.#chunks.push(buffer.subarray(this.#start, at), part);
        this.#start = at;
      }
    }
    this.#end = at;
    return FRAME_HEADER_SIZE + length;
  }

  /**
   * Takes every chunk queued, for writing; they must be written before
   * {@linkcode WriteBatch.written} is called.
   *
   * @returns The chunks, in order.
   */
  take(): Uint8Array[] {
    this.#seal();
    const chunks = this.#chunks;
    this.#chunks = [];
    return chunks;
  }

  /** Every chunk taken so far is written: the buffer may be filled again. */
  written(): void {
    if (this.#end !== this.#start || this.#chunks.length > 0) return;
    if (this.#buffer.byteLength > MAX_BATCH) this.#buffer = new Uint8Array(0);
    this.#start = this.#end = 0;
  }

  /** Drops everything queued, and the buffer. */
  clear(): void {
    this.#chunks = [];
    this.#buffer = new Uint8Array(0);
    this.#start = this.#end = 0;
  }

  #seal(): void {
    if (this.#end > this.#start) {
      this.#chunks.push(this.#buffer.subarray(this.#start, this.#end));
      this.#start = this.#end;
    }
  }

  /** Moves on to a new buffer with room for `room` more bytes; the old one's views stay queued. */
  #grow(room: number): void {
    this.#seal();
    const size = Math.max(
      room,
      Math.min(MAX_BATCH, Math.max(MIN_BATCH, this.#buffer.byteLength * 2)),
    );
    this.#buffer = new Uint8Array(size);
    this.#start = this.#end = 0;
  }
}
