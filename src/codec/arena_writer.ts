/**
 * The encoder's memory: messages are written one after another into an
 * arena and handed out as views of it, so bytes handed out are never
 * written over. The next message starts after them, and a message that
 * does not fit moves to a new arena, leaving the old one to the views that
 * still use it. Large binaries are handed out as views of the caller's
 * memory, parts of their own (PROTOCOL.md, "Values").
 *
 * @module
 */

/** Binaries at least this long are sent from the caller's memory, not copied. */
export const EXTERNAL_BYTES_THRESHOLD = 64 * 1024;

/**
 * The size of a new arena. Allocating one costs about as much as zeroing
 * it (some µs), so a typical message of tens of bytes pays a few ns for
 * its share; a kept message pins at most this much.
 */
const ARENA_SIZE = 64 * 1024;
/** An arena grown past this is dropped after the message, so one big message does not pin memory. */
const RETAINED_ARENA_SIZE = 1024 * 1024;

/**
 * Bytes written into an arena and handed out as parts. The writers built
 * on it ({@linkcode MessagePackWriter}, the encoder) write straight into
 * {@linkcode ArenaWriter.arena} at {@linkcode ArenaWriter.position} after
 * calling {@linkcode ArenaWriter.ensure}: the fields are open to them so
 * that the hot path stays a few inlined stores.
 *
 * @example Write two bytes and hand them out
 * ```ts
 * import { ArenaWriter } from "./arena_writer.ts";
 * import assert from "node:assert/strict";
 *
 * const writer = new ArenaWriter();
 * writer.beginMessage();
 * writer.ensure(2);
 * writer.arena[writer.position++] = 0x92;
 * writer.arena[writer.position++] = 0xc0;
 * const parts = writer.finishParts();
 * writer.endMessage();
 * assert.deepEqual(parts, [new Uint8Array([0x92, 0xc0])]);
 * ```
 */
export class ArenaWriter {
  /** Where messages are written, one after another; allocated by the first write. */
  arena: Uint8Array = new Uint8Array(0);
  /** A view of {@linkcode ArenaWriter.arena}, for multi-byte numbers. */
  view: DataView = new DataView(this.arena.buffer);
  /** Where the bytes not yet handed out begin: nothing before may change. */
  start = 0;
  /** Where the next byte goes. */
  position = 0;
  /** The parts of the message so far, once a large binary has cut it. */
  parts: Uint8Array[] | undefined;
  /** Inside an extension whose byte length is patched in afterwards, no part may be cut. */
  patchDepth = 0;

  /** Starts a message: no parts cut yet, no patch pending. */
  beginMessage(): void {
    this.patchDepth = 0;
    this.parts = undefined;
  }

  /**
   * Hands out the rest of the message.
   *
   * @returns All of the message's parts, in order.
   */
  finishParts(): Uint8Array[] {
    const parts = this.parts;
    if (parts === undefined) return [this.handOut()];
    if (this.position > this.start) parts.push(this.handOut());
    return parts;
  }

  /** Forgets a message that failed: nothing from `start` on was handed out, so the next may reuse it. */
  abandonMessage(): void {
    this.position = this.start;
  }

  /** Ends a message, handed out or abandoned; lets go of an arena grown too large. */
  endMessage(): void {
    this.parts = undefined;
    if (this.arena.length > RETAINED_ARENA_SIZE) this.#dropArena();
  }

  /**
   * Returns the bytes written since the last hand-out; they are never
   * written again.
   *
   * @returns A view of the arena.
   */
  handOut(): Uint8Array {
    const bytes = this.arena.subarray(this.start, this.position);
    this.start = this.position;
    return bytes;
  }

  /**
   * Ends the current part, so that a large binary can follow as a part of
   * its own.
   *
   * @returns The message's parts so far.
   */
  cut(): Uint8Array[] {
    const parts = this.parts ??= [];
    if (this.position > this.start) parts.push(this.handOut());
    return parts;
  }

  /**
   * Makes room for `byteCount` more bytes. Call it before writing them.
   *
   * @param byteCount How many bytes will be written.
   */
  ensure(byteCount: number): void {
    if (this.position + byteCount > this.arena.length) {
      this.#moveToNewArena(byteCount);
    }
  }

  /**
   * Copies small byte runs; hands large ones over as parts of their own
   * (except inside a patched extension, whose bytes must stay together).
   *
   * @param bytes The bytes to write.
   */
  writeBytes(bytes: Uint8Array): void {
    if (
      bytes.byteLength >= EXTERNAL_BYTES_THRESHOLD && this.patchDepth === 0
    ) {
      this.cut().push(bytes);
      return;
    }
    this.ensure(bytes.byteLength);
    this.arena.set(bytes, this.position);
    this.position += bytes.byteLength;
  }

  /**
   * Moves to a new arena with room for the bytes not yet handed out plus
   * `byteCount` more, and moves those bytes to its start. Views handed
   * out keep the old arena alive for as long as they need it.
   */
  #moveToNewArena(byteCount: number): void {
    const pending = this.arena.subarray(this.start, this.position);
    // At least doubling what a message has written so far keeps one that
    // grows by many small writes linear.
    const arena = new Uint8Array(
      pending.length + byteCount + Math.max(ARENA_SIZE, pending.length),
    );
    arena.set(pending);
    this.#setArena(arena);
    this.position = pending.length;
  }

  /** Lets go of the arena between messages; the next write allocates one. */
  #dropArena(): void {
    this.#setArena(new Uint8Array(0));
    this.position = 0;
  }

  #setArena(arena: Uint8Array): void {
    this.arena = arena;
    this.view = new DataView(arena.buffer);
    this.start = 0;
  }
}
