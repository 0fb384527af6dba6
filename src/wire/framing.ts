/**
 * Framing: every message travels as a 4-byte big-endian length followed by
 * that many bytes (PROTOCOL.md, "Frames"). {@linkcode FrameEncoderStream}
 * adds the length; {@linkcode FrameDecoderStream} cuts a byte stream back
 * into frames, however the stream was split.
 *
 * @module
 */

import { concat } from "../base/bytes.ts";
import { ProtocolError } from "../base/errors.ts";

/** The size of the length prefix in front of every frame. */
export const FRAME_HEADER_SIZE = 4;

/** The default largest frame a peer accepts: 64 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024;

/** The largest length the 4-byte prefix can carry. */
const MAX_FRAME_LENGTH = 0xffff_ffff;

/** Parts at least this long are passed on as they are instead of being copied together. */
const PASS_THROUGH_SIZE = 64 * 1024;

/** Options of {@linkcode FrameDecoderStream}. */
export interface FrameDecoderStreamOptions {
  /**
   * The largest frame body accepted, in bytes. A longer length prefix
   * errors the stream with {@linkcode ProtocolError} `FRAME_TOO_LARGE`
   * before any memory is set aside for it.
   *
   * @default {67108864}
   */
  maxFrameSize?: number;
  /**
   * The largest first frame accepted. A connection opens with a small
   * hello, so a peer speaking another protocol is caught at its first four
   * bytes.
   *
   * @default {maxFrameSize}
   */
  maxFirstFrameSize?: number;
}

/**
 * Receives a frame body; `isView` says whether it is a view of the chunk
 * pushed. A callee that is done with a body that is not a view may return
 * `true` (see {@linkcode FrameDecoder.recycle}); any other value keeps it.
 */
export type FrameCallback = (body: Uint8Array, isView: boolean) => unknown;

/**
 * The frame-cutting logic shared by {@linkcode FrameDecoderStream} and the
 * connection read loop: push bytes in, get whole frames out. A frame that
 * lies within one chunk comes out as a view of it; one split across chunks
 * is gathered into a buffer of exactly its size, which a reader may also
 * fill directly (see {@linkcode FrameDecoder.missing}).
 */
export class FrameDecoder {
  readonly #maxFrameSize: number;
  #limit: number;
  #isFirstFrame = true;
  /** A length prefix split across chunks is gathered here (made when first needed). */
  #header: Uint8Array | undefined;
  #headerFilled = 0;
  /** The frame being gathered across chunks, or `undefined` between frames. */
  #frame: Uint8Array | undefined;
  #frameFilled = 0;
  /** Memory of a gathered frame its receiver was done with, for the next one. */
  #spare: ArrayBuffer | undefined;

  /** @param options The frame size limits. */
  constructor(options: FrameDecoderStreamOptions = {}) {
    this.#maxFrameSize = checkFrameSize(
      options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
    );
    this.#limit = Math.min(
      options.maxFirstFrameSize ?? this.#maxFrameSize,
      this.#maxFrameSize,
    );
  }

  /**
   * Cuts `chunk` into frames.
   *
   * @throws {ProtocolError} `FRAME_TOO_LARGE` for a length over the limit.
   */
  push(chunk: Uint8Array, onFrame: FrameCallback): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#frame === undefined) {
        let length: number;
        if (
          this.#headerFilled === 0 &&
          chunk.length - offset >= FRAME_HEADER_SIZE
        ) {
          length = readLength(chunk, offset);
          offset += FRAME_HEADER_SIZE;
        } else {
          offset = this.#fillHeader(chunk, offset);
          if (this.#headerFilled < FRAME_HEADER_SIZE) return;
          this.#headerFilled = 0;
          length = readLength(this.#header!, 0);
        }
        this.#checkLength(length);
        if (chunk.length - offset >= length) {
          // Large frames have stopped coming in a row: give their memory back.
          this.#spare = undefined;
          onFrame(chunk.subarray(offset, offset + length), true);
          offset += length;
          continue;
        }
        this.#frame = this.#allocate(length);
        this.#frameFilled = 0;
      }
      const count = Math.min(
        this.#frame.length - this.#frameFilled,
        chunk.length - offset,
      );
      this.#frame.set(
        chunk.subarray(offset, offset + count),
        this.#frameFilled,
      );
      offset += count;
      this.filled(count, onFrame);
    }
  }

  /**
   * The part of the frame being gathered that has not arrived yet, for a
   * reader to read into directly instead of copying; `undefined` between
   * frames.
   */
  get missing(): Uint8Array | undefined {
    return this.#frame?.subarray(this.#frameFilled);
  }

  /** Records that `count` bytes were written into {@linkcode FrameDecoder.missing}. */
  filled(count: number, onFrame: FrameCallback): void {
    const frame = this.#frame!;
    this.#frameFilled += count;
    if (this.#frameFilled === frame.length) {
      this.#frame = undefined;
      if (onFrame(frame, false) === true) this.recycle(frame);
    }
  }

  /**
   * Takes back the memory of a gathered frame (one delivered with
   * `isView` false) that nothing refers to any more, for the next frame
   * gathered: the pieces of a fragmented message, each copied into the
   * whole at once, then arrive in one buffer instead of a new one each,
   * which would stay allocated until the garbage collector ran. Kept until
   * a frame comes that fits in a read.
   *
   * @param body The frame body, no longer used by anyone.
   */
  recycle(body: Uint8Array): void {
    if (body.byteOffset === 0 && body.buffer instanceof ArrayBuffer) {
      this.#spare = body.buffer;
    }
  }

  /** A buffer of exactly `length` bytes for a frame, in the spare memory if it fits. */
  #allocate(length: number): Uint8Array {
    const spare = this.#spare;
    this.#spare = undefined;
    return spare !== undefined && spare.byteLength >= length
      ? new Uint8Array(spare, 0, length)
      : new Uint8Array(length);
  }

  /** Whether no part of a frame (not even of its header) is waiting for more bytes. */
  get isBetweenFrames(): boolean {
    return this.#frame === undefined && this.#headerFilled === 0;
  }

  /**
   * Checks that the stream did not end inside a frame.
   *
   * @throws {ProtocolError} `PROTOCOL` when it did.
   */
  end(): void {
    if (!this.isBetweenFrames) {
      const got = this.#frame === undefined
        ? `${this.#headerFilled} of ${FRAME_HEADER_SIZE} header bytes`
        : `${this.#frameFilled} of ${this.#frame.length} bytes`;
      throw new ProtocolError(
        "PROTOCOL",
        `The stream ended inside a frame (${got} arrived).`,
      );
    }
  }

  #fillHeader(chunk: Uint8Array, offset: number): number {
    const count = Math.min(
      FRAME_HEADER_SIZE - this.#headerFilled,
      chunk.length - offset,
    );
    (this.#header ??= new Uint8Array(FRAME_HEADER_SIZE)).set(
      chunk.subarray(offset, offset + count),
      this.#headerFilled,
    );
    this.#headerFilled += count;
    return offset + count;
  }

  /**
   * Changes the largest frame body accepted from the next frame on (never
   * above `maxFrameSize`): a session keeps frames small until its peer has
   * authenticated, and lifts the limit then.
   */
  set limit(size: number) {
    this.#limit = Math.min(size, this.#maxFrameSize);
  }

  #checkLength(length: number): void {
    if (length > this.#limit) {
      const when = this.#limit >= this.#maxFrameSize
        ? ""
        : this.#isFirstFrame
        ? " for a first frame"
        : " before the handshake is complete";
      throw new ProtocolError(
        "FRAME_TOO_LARGE",
        `A frame of ${length} bytes exceeds the limit of ${this.#limit} bytes${when}; raise maxFrameSize on the receiving side if such messages are expected.`,
      );
    }
    if (this.#isFirstFrame) {
      this.#isFirstFrame = false;
      this.#limit = this.#maxFrameSize;
    }
  }
}

/**
 * Cuts a byte stream into frame bodies. A frame that arrives within one
 * chunk is passed on as a view of that chunk; one split across chunks is
 * gathered into a buffer of exactly its size, so nothing is copied twice
 * and no buffer grows.
 *
 * @example Frames split anywhere come out whole
 * ```ts
 * import { FrameDecoderStream } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const bytes = [new Uint8Array([0, 0, 0]), new Uint8Array([2, 7, 8, 0, 0, 0, 1, 9])];
 * const frames = await Array.fromAsync(
 *   ReadableStream.from(bytes).pipeThrough(new FrameDecoderStream()),
 * );
 * assert.deepStrictEqual(frames, [new Uint8Array([7, 8]), new Uint8Array([9])]);
 * ```
 */
export class FrameDecoderStream
  extends TransformStream<Uint8Array, Uint8Array> {
  /** @param options The frame size limits. */
  /** Creates a `FrameDecoderStream`. */
  constructor(options: FrameDecoderStreamOptions = {}) {
    const decoder = new FrameDecoder(options);
    super({
      transform: (chunk, controller) =>
        decoder.push(chunk, (body) => controller.enqueue(body)),
      flush: () => decoder.end(),
    });
  }
}

/** Options of {@linkcode FrameEncoderStream}. */
export interface FrameEncoderStreamOptions {
  /**
   * The largest frame body to send. A longer one errors the stream with
   * {@linkcode ProtocolError} `FRAME_TOO_LARGE`; check sizes before writing
   * to fail a single message instead.
   *
   * @default {67108864}
   */
  maxFrameSize?: number;
}

/**
 * Puts the length prefix in front of each frame body. A body may come as
 * one buffer or as a list of parts; small parts are copied together with
 * the prefix into one chunk, large ones are passed on without a copy.
 *
 * @example
 * ```ts
 * import { FrameEncoderStream } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const chunks = await Array.fromAsync(
 *   ReadableStream.from([new Uint8Array([7, 8])]).pipeThrough(new FrameEncoderStream()),
 * );
 * assert.deepStrictEqual(chunks, [new Uint8Array([0, 0, 0, 2, 7, 8])]);
 * ```
 */
export class FrameEncoderStream
  extends TransformStream<Uint8Array | readonly Uint8Array[], Uint8Array> {
  readonly #maxFrameSize: number;

  /** @param options The frame size limit. */
  /** Creates a `FrameEncoderStream`. */
  constructor(options: FrameEncoderStreamOptions = {}) {
    super({
      transform: (body, controller) => {
        for (const chunk of this.encode(body)) controller.enqueue(chunk);
      },
    });
    this.#maxFrameSize = checkFrameSize(
      options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
    );
  }

  /**
   * Frames one body without going through the stream.
   *
   * @param body The frame body, whole or in parts.
   * @returns The chunks to write, in order: prefix and small parts
   * together, large parts on their own.
   * @throws {ProtocolError} `FRAME_TOO_LARGE` when the body is over the limit.
   */
  encode(body: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
    const parts = body instanceof Uint8Array ? [body] : body;
    let length = 0;
    for (const part of parts) length += part.byteLength;
    if (length > this.#maxFrameSize) {
      throw new ProtocolError(
        "FRAME_TOO_LARGE",
        `A frame of ${length} bytes exceeds the limit of ${this.#maxFrameSize} bytes.`,
      );
    }
    const header = new Uint8Array(FRAME_HEADER_SIZE);
    writeLength(header, 0, length);
    const chunks: Uint8Array[] = [];
    let run: Uint8Array[] = [header];
    for (const part of parts) {
      if (part.byteLength >= PASS_THROUGH_SIZE) {
        if (run.length > 0) chunks.push(concat(run));
        chunks.push(part);
        run = [];
      } else {
        run.push(part);
      }
    }
    if (run.length > 0) chunks.push(concat(run));
    return chunks;
  }
}

function checkFrameSize(size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_FRAME_LENGTH) {
    throw new RangeError(
      `maxFrameSize must be an integer from 1 to ${MAX_FRAME_LENGTH}, got ${size}.`,
    );
  }
  return size;
}

function readLength(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] * 0x100_0000) +
    ((bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]);
}

/** Writes a frame length as the 4-byte big-endian prefix. */
export function writeLength(
  bytes: Uint8Array,
  offset: number,
  length: number,
): void {
  bytes[offset] = length >>> 24;
  bytes[offset + 1] = length >>> 16;
  bytes[offset + 2] = length >>> 8;
  bytes[offset + 3] = length;
}
