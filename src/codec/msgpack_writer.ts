/**
 * MessagePack's own types, written into the encoder's arena: numbers,
 * strings, binaries, and the headers of arrays, maps and extensions
 * (including extensions whose length is known only once written). What a
 * value is made of is the encoder's business; this file knows the bytes.
 *
 * @module
 */

import { utf8Length, writeUtf8Units } from "./utf8.ts";

// The encoder's memory: messages are written one after another into an
// arena and handed out as views of it, so bytes handed out are never
// written over. The next message starts after them, and a message that
// does not fit moves to a new arena, leaving the old one to the views that
// still use it. Large binaries are handed out as views of the caller's
// memory, parts of their own (PROTOCOL.md, "Values").

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
 * import { ArenaWriter } from "./msgpack_writer.ts";
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

/** Strings shorter than this are written by hand: cheaper than a call into TextEncoder. */
const SHORT_STRING_LENGTH = 64;
/** How much a str header can grow (1 byte to 5) once the UTF-8 length is known. */
const MAX_HEADER_GROWTH = 4;
/** Room a long string needs besides its bytes: the longest header, and room for it to grow into. */
const STRING_SLACK = 5 + MAX_HEADER_GROWTH;
/** 2^32, to split numbers into 32-bit halves. */
export const TWO_POW_32 = 0x1_0000_0000;

/**
 * Writes MessagePack's types. Subclasses say how a whole value is written
 * ({@linkcode MessagePackWriter.writeValue}), which the extensions that
 * hold values (`Map`, `Set`…) call back into.
 */
export abstract class MessagePackWriter extends ArenaWriter {
  readonly #textEncoder = new TextEncoder();

  /**
   * Writes any value.
   *
   * @param value The value.
   * @param depth How deep it sits (its container's depth plus one).
   */
  abstract writeValue(value: unknown, depth: number): void;

  /**
   * Writes a number in the fewest bytes that keep it exactly (`-0` as a
   * float).
   *
   * @param value The number.
   */
  writeNumber(value: number): void {
    this.ensure(9);
    const buffer = this.arena;
    if ((value >>> 0) === value) {
      if (value === 0 && 1 / value < 0) return this.#writeFloat64(value); // -0
      if (value < 0x80) {
        buffer[this.position++] = value;
      } else if (value < 0x100) {
        buffer[this.position++] = 0xcc;
        buffer[this.position++] = value;
      } else if (value < 0x10000) {
        buffer[this.position++] = 0xcd;
        buffer[this.position++] = value >> 8;
        buffer[this.position++] = value;
      } else {
        buffer[this.position++] = 0xce;
        this.view.setUint32(this.position, value);
        this.position += 4;
      }
    } else if ((value | 0) === value) {
      if (value >= -0x20) {
        buffer[this.position++] = value & 0xff;
      } else if (value >= -0x80) {
        buffer[this.position++] = 0xd0;
        buffer[this.position++] = value;
      } else if (value >= -0x8000) {
        buffer[this.position++] = 0xd1;
        this.view.setInt16(this.position, value);
        this.position += 2;
      } else {
        buffer[this.position++] = 0xd2;
        this.view.setInt32(this.position, value);
        this.position += 4;
      }
    } else if (Number.isSafeInteger(value)) {
      const high = Math.floor(value / TWO_POW_32);
      buffer[this.position++] = value > 0 ? 0xcf : 0xd3;
      this.view.setInt32(this.position, high);
      this.view.setUint32(this.position + 4, value - high * TWO_POW_32);
      this.position += 8;
    } else {
      this.#writeFloat64(value);
    }
  }

  #writeFloat64(value: number): void {
    this.arena[this.position++] = 0xcb;
    this.view.setFloat64(this.position, value);
    this.position += 8;
  }

  /**
   * Writes a string as UTF-8.
   *
   * @param value The string.
   */
  writeString(value: string): void {
    if (value.length >= SHORT_STRING_LENGTH) {
      return this.#writeLongString(value);
    }
    // At most 3 bytes per UTF-16 unit, so a 1- or 2-byte header.
    this.ensure(value.length * 3 + 2);
    if (!this.#writeAsciiString(value)) this.#writeShortUtf8String(value);
  }

  /**
   * Writes a short string whose units are all ASCII, the common case, with
   * no pass to measure it first.
   *
   * @returns Whether it did: false at the first unit that is not ASCII,
   * and the position unchanged.
   */
  #writeAsciiString(value: string): boolean {
    const length = value.length;
    const headerSize = stringHeaderSize(length);
    const buffer = this.arena;
    let position = this.position + headerSize;
    for (let i = 0; i < length; i++) {
      const unit = value.charCodeAt(i);
      if (unit >= 0x80) return false;
      buffer[position++] = unit;
    }
    this.#writeStringHeader(length, headerSize);
    this.position = position;
    return true;
  }

  #writeShortUtf8String(value: string): void {
    const byteLength = utf8Length(value);
    this.#writeStringHeader(byteLength, stringHeaderSize(byteLength));
    this.position += writeUtf8Units(this.arena, value, this.position);
  }

  /**
   * Writes a long string with TextEncoder, behind a header sized for as
   * many bytes as units (right for ASCII); the bytes move in the rare case
   * that their UTF-8 needs a longer header.
   */
  #writeLongString(value: string): void {
    // Ask for room for ASCII only: reserving 3 bytes per unit would use up
    // arenas three times as fast. UTF-8 that turns out longer than the
    // arena's room goes on in a new one.
    this.ensure(value.length + STRING_SLACK);
    // Relative to start: the bytes may move to a new arena.
    const headerOffset = this.position - this.start;
    const reserved = stringHeaderSize(value.length);
    this.position += reserved;
    const { read } = this.#writeUtf8(value);
    if (read < value.length) {
      this.ensure((value.length - read) * 3 + MAX_HEADER_GROWTH);
      this.#writeUtf8(value.slice(read));
    }
    const headerStart = this.start + headerOffset;
    const byteLength = this.position - headerStart - reserved;
    const headerSize = stringHeaderSize(byteLength);
    if (headerSize !== reserved) {
      this.arena.copyWithin(
        headerStart + headerSize,
        headerStart + reserved,
        this.position,
      );
    }
    this.position = headerStart;
    this.#writeStringHeader(byteLength, headerSize);
    this.position += byteLength;
  }

  /**
   * Writes as much of `text` as fits, as UTF-8, keeping at the end the
   * room a string header may need to grow by.
   */
  #writeUtf8(text: string): TextEncoderEncodeIntoResult {
    const result = this.#textEncoder.encodeInto(
      text,
      this.arena.subarray(this.position, this.arena.length - MAX_HEADER_GROWTH),
    );
    this.position += result.written;
    return result;
  }

  #writeStringHeader(byteLength: number, headerSize: number): void {
    const buffer = this.arena;
    switch (headerSize) {
      case 1:
        buffer[this.position++] = 0xa0 | byteLength;
        return;
      case 2:
        buffer[this.position++] = 0xd9;
        buffer[this.position++] = byteLength;
        return;
      case 3:
        buffer[this.position++] = 0xda;
        buffer[this.position++] = byteLength >> 8;
        buffer[this.position++] = byteLength;
        return;
      default:
        buffer[this.position++] = 0xdb;
        this.view.setUint32(this.position, byteLength);
        this.position += 4;
    }
  }

  /**
   * Writes an array header.
   *
   * @param length How many items follow.
   */
  writeArrayHeader(length: number): void {
    this.ensure(5);
    this.#writeCollectionHeader(length, 0x90, 0xdc);
  }

  /**
   * Writes a map header.
   *
   * @param length How many key-value pairs follow.
   */
  writeMapHeader(length: number): void {
    this.ensure(5);
    this.#writeCollectionHeader(length, 0x80, 0xde);
  }

  /** Array and map headers differ only in their type bytes. */
  #writeCollectionHeader(length: number, fixType: number, type16: number) {
    const buffer = this.arena;
    if (length < 0x10) {
      buffer[this.position++] = fixType | length;
    } else if (length < 0x10000) {
      buffer[this.position++] = type16;
      buffer[this.position++] = length >> 8;
      buffer[this.position++] = length;
    } else {
      buffer[this.position++] = type16 + 1;
      this.view.setUint32(this.position, length);
      this.position += 4;
    }
  }

  /**
   * Writes a binary: large ones go as views of the caller's memory.
   *
   * @param value The bytes.
   */
  writeBinary(value: Uint8Array): void {
    const length = value.byteLength;
    this.ensure(5);
    const buffer = this.arena;
    if (length < 0x100) {
      buffer[this.position++] = 0xc4;
      buffer[this.position++] = length;
    } else if (length < 0x10000) {
      buffer[this.position++] = 0xc5;
      buffer[this.position++] = length >> 8;
      buffer[this.position++] = length;
    } else {
      buffer[this.position++] = 0xc6;
      this.view.setUint32(this.position, length);
      this.position += 4;
    }
    this.writeBytes(value);
  }

  /**
   * Writes a one-byte extension that stands for a value with no data.
   *
   * @param type The extension type.
   */
  writeMarker(type: number): void {
    this.ensure(3);
    this.arena[this.position++] = 0xd4;
    this.arena[this.position++] = type;
    this.arena[this.position++] = 0;
  }

  /**
   * Writes an extension header; its payload follows.
   *
   * @param length The payload's length in bytes.
   * @param type The extension type.
   */
  writeExtensionHeader(length: number, type: number): void {
    this.ensure(6);
    this.#putExtensionHeader(length, type);
  }

  /** Writes an extension header into room the caller has ensured. */
  #putExtensionHeader(length: number, type: number): void {
    const buffer = this.arena;
    const fixType = FIXEXT_TYPES[length];
    if (fixType !== undefined) {
      buffer[this.position++] = fixType;
    } else if (length < 0x100) {
      buffer[this.position++] = 0xc7;
      buffer[this.position++] = length;
    } else if (length < 0x10000) {
      buffer[this.position++] = 0xc8;
      buffer[this.position++] = length >> 8;
      buffer[this.position++] = length;
    } else {
      buffer[this.position++] = 0xc9;
      this.view.setUint32(this.position, length);
      this.position += 4;
    }
    buffer[this.position++] = type & 0xff;
  }

  /**
   * Writes an extension whose payload length is known only once written:
   * the payload goes after room for the shortest header, then moves if the
   * real header is longer.
   *
   * @param type The extension type.
   * @param writePayload Writes the payload (as MessagePack, usually).
   */
  writePatchedExtension(type: number, writePayload: () => void): void {
    this.ensure(3);
    // Relative to start: the payload may move to a new arena, with the
    // header room before it. (No part is cut meanwhile, so start stays.)
    const headerOffset = this.position - this.start;
    this.position += 3;
    this.patchDepth++;
    try {
      writePayload();
    } finally {
      this.patchDepth--;
    }
    // Room for the longest header past the payload, before anything moves.
    this.ensure(6);
    const headerStart = this.start + headerOffset;
    const payloadStart = headerStart + 3;
    const length = this.position - payloadStart;
    const headerSize = extensionHeaderSize(length);
    if (headerSize !== 3) {
      this.arena.copyWithin(
        headerStart + headerSize,
        payloadStart,
        payloadStart + length,
      );
    }
    this.position = headerStart;
    this.#putExtensionHeader(length, type);
    this.position += length;
  }
}

const FIXEXT_TYPES: Readonly<Record<number, number>> = {
  1: 0xd4,
  2: 0xd5,
  4: 0xd6,
  8: 0xd7,
  16: 0xd8,
};

function stringHeaderSize(byteLength: number): number {
  if (byteLength < 0x20) return 1;
  if (byteLength < 0x100) return 2;
  if (byteLength < 0x10000) return 3;
  return 5;
}

function extensionHeaderSize(length: number): number {
  if (FIXEXT_TYPES[length] !== undefined) return 2;
  if (length < 0x100) return 3;
  if (length < 0x10000) return 4;
  return 6;
}
