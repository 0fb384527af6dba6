/**
 * The transport of a Deno connection (TCP, TLS or Unix): a tight read loop
 * that hands every frame of a read to the session in one go, reading a
 * large frame's rest straight into its own buffer, and a writer that joins
 * the frames of one burst into one socket write.
 *
 * @module
 */

import {
  FRAME_HEADER_SIZE,
  type FrameCallback,
  FrameDecoder,
  writeLength,
} from "./framing.ts";
import { SocketError } from "./net_errors.ts";
import {
  type FrameReceiver,
  HIGH_WATER_BYTES,
  type PeerAddress,
  type Transport,
  type TransportOptions,
  WRITE_ALONE_SIZE,
} from "./transport.ts";

/**
 * The read buffer of a connection starts small and grows while reads fill
 * it, up to the large size; it shrinks back once reads stay small. An idle
 * connection (most of a server's, often) so holds 1 KiB, not 64.
 */
const SMALL_READ_BUFFER = 1024;
const LARGE_READ_BUFFER = 64 * 1024;
/** Reads in a row using under an eighth of a large buffer before it shrinks. */
const SHRINK_AFTER = 8;
/**
 * The write batch's first size (small: an idle connection keeps it), and
 * the most it grows to, or is kept at once written.
 */
const MIN_BATCH = 512;
const MAX_BATCH = 256 * 1024;
/** A frame still missing at least this much is read straight into its own buffer. */
const DIRECT_READ_SIZE = 16 * 1024;

/**
 * Adapts a Deno connection (TCP, TLS or Unix).
 *
 * @param conn The connection; the transport owns it from now on.
 * @param options Frame size limits.
 * @returns The transport.
 */
export function connTransport(
  conn: Deno.Conn,
  options: TransportOptions,
): Transport {
  return new ConnTransport(conn, options);
}

class ConnTransport implements Transport {
  readonly peer: PeerAddress;
  lastActivity: number = Date.now();
  readonly #conn: Deno.Conn;
  readonly #decoder: FrameDecoder;
  #receiver: FrameReceiver | undefined;
  readonly #deliverBorrowed: FrameCallback = (body, isView) =>
    this.#receiver!.frame(body, isView) === true;
  /** Chunks ready to write, in order; small frames are in `#batch` first. */
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  /**
   * Small frames, length prefix and parts, copied one after another as
   * they are sent, so that a burst goes out in one write without a header
   * allocated per frame or a join at the end. Append-only: written
   * regions go out as views of it, and it is filled from the start again
   * only once all of them are written.
   */
  #batch: Uint8Array = new Uint8Array(0);
  /** Where the next frame goes in `#batch`. */
  #batchEnd = 0;
  /** Where the part of `#batch` not yet in `#queue` starts. */
  #batchStart = 0;
  #flushing: Promise<void> | undefined;
  #isClosed = false;

  constructor(conn: Deno.Conn, options: TransportOptions) {
    this.#conn = conn;
    this.peer = peerAddress(conn.remoteAddr);
    this.#decoder = new FrameDecoder(options);
  }

  start(receiver: FrameReceiver): void {
    this.#receiver = receiver;
    this.#readLoop().then(
      () => receiver.closed(),
      (error) => receiver.closed(error),
    );
  }

  async #readLoop(): Promise<void> {
    let buffer = new Uint8Array(SMALL_READ_BUFFER);
    let smallReads = 0;
    const decoder = this.#decoder;
    for (;;) {
      // Answers pile up when the peer does not read them: stop taking
      // requests until they are written.
      while (this.#queuedBytes > HIGH_WATER_BYTES && this.#flushing) {
        await this.#flushing;
      }
      const missing = decoder.missing;
      const isDirect = missing !== undefined &&
        missing.length >= DIRECT_READ_SIZE;
      const count = await this.#conn.read(isDirect ? missing : buffer);
      this.lastActivity = Date.now();
      if (count === null) {
        if (!decoder.isBetweenFrames) {
          // The peer went away mid-frame: a lost connection, not a protocol breach.
          throw new SocketError(
            "eof",
            "The connection ended inside a frame.",
          );
        }
        return;
      }
      if (isDirect) {
        decoder.filled(count, this.#deliverBorrowed);
        continue;
      }
      decoder.push(buffer.subarray(0, count), this.#deliverBorrowed);
      // Frames delivered from the buffer are borrowed: it may be replaced now.
      if (count === buffer.length && buffer.length < LARGE_READ_BUFFER) {
        buffer = new Uint8Array(LARGE_READ_BUFFER);
        smallReads = 0;
      } else if (buffer.length > SMALL_READ_BUFFER) {
        smallReads = count * 8 < buffer.length ? smallReads + 1 : 0;
        if (smallReads >= SHRINK_AFTER) {
          buffer = new Uint8Array(SMALL_READ_BUFFER);
        }
      }
    }
  }

  get isCongested(): boolean {
    return this.#queuedBytes > HIGH_WATER_BYTES;
  }

  send(body: readonly Uint8Array[]): void {
    if (this.#isClosed) return;
    let length = 0;
    for (let i = 0; i < body.length; i++) length += body[i].byteLength;
    this.#queuedBytes += FRAME_HEADER_SIZE + length;
    const end = this.#batchEnd;
    // The header goes in the batch, and every part smaller than
    // WRITE_ALONE_SIZE; a large part is written as it is, uncopied.
    let room = FRAME_HEADER_SIZE;
    for (let i = 0; i < body.length; i++) {
      if (body[i].byteLength < WRITE_ALONE_SIZE) room += body[i].byteLength;
    }
    if (end + room > this.#batch.byteLength) this.#growBatch(room);
    const batch = this.#batch;
    let at = this.#batchEnd;
    writeLength(batch, at, length);
    at += FRAME_HEADER_SIZE;
    for (let i = 0; i < body.length; i++) {
      const part = body[i];
      if (part.byteLength < WRITE_ALONE_SIZE) {
        batch.set(part, at);
        at += part.byteLength;
      } else {
        this.#queue.push(batch.subarray(this.#batchStart, at), part);
        this.#batchStart = at;
      }
    }
    this.#batchEnd = at;
    this.#flushing ??= this.#flush();
  }

  /** Makes room for `room` more bytes in a new batch; the old one's views stay queued. */
  #growBatch(room: number): void {
    if (this.#batchEnd > this.#batchStart) {
      this.#queue.push(this.#batch.subarray(this.#batchStart, this.#batchEnd));
    }
    const size = Math.max(
      room,
      Math.min(MAX_BATCH, Math.max(MIN_BATCH, this.#batch.byteLength * 2)),
    );
    this.#batch = new Uint8Array(size);
    this.#batchStart = this.#batchEnd = 0;
  }

  async drain(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  ref(): void {
    this.#conn.ref();
  }

  unref(): void {
    this.#conn.unref();
  }

  limitFrames(size: number): void {
    this.#decoder.limit = size;
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#batch = new Uint8Array(0);
    this.#batchStart = this.#batchEnd = 0;
    try {
      this.#conn.close();
    } catch {
      // Deno closes a connection itself once a read has seen its end.
    }
  }

  async #flush(): Promise<void> {
    // Let the rest of this burst queue its frames first: they go out together.
    await null;
    try {
      for (;;) {
        if (this.#batchEnd > this.#batchStart) {
          this.#queue.push(
            this.#batch.subarray(this.#batchStart, this.#batchEnd),
          );
          this.#batchStart = this.#batchEnd;
        }
        if (this.#queue.length === 0) break;
        const chunks = this.#queue;
        this.#queue = [];
        for (const chunk of chunks) {
          for (let written = 0; written < chunk.byteLength;) {
            written += await this.#conn.write(chunk.subarray(written));
          }
          this.#queuedBytes -= chunk.byteLength;
        }
      }
      // Everything in the batch is written: fill it from the start again,
      // unless it grew large for one burst.
      if (this.#batch.byteLength > MAX_BATCH) this.#batch = new Uint8Array(0);
      this.#batchStart = this.#batchEnd = 0;
    } catch {
      // The read loop sees the connection fail and reports it.
      this.close();
    } finally {
      this.#flushing = undefined;
    }
  }
}

function peerAddress(address: Deno.Addr): PeerAddress {
  if ("path" in address) {
    // An accepted Unix socket has no path of its own.
    return { hostname: address.path ?? "", port: 0, transport: "unix" };
  }
  if ("hostname" in address) {
    return { hostname: address.hostname, port: address.port, transport: "tcp" };
  }
  return { hostname: "", port: 0, transport: "tcp" };
}
