/**
 * The transport of a Deno connection (TCP, TLS or Unix): a tight read loop
 * that hands every frame of a read to the session in one go, reading a
 * large frame's rest straight into its own buffer, and a writer that joins
 * the frames of one burst into one socket write.
 *
 * @module
 */

import { type FrameCallback, FrameDecoder } from "./framing.ts";
import { SocketError } from "./net_errors.ts";
import {
  type FrameReceiver,
  HIGH_WATER_BYTES,
  type PeerAddress,
  type Transport,
  type TransportOptions,
} from "./transport.ts";
import { WriteBatch } from "./write_batch.ts";

/**
 * The read buffer of a connection starts small and grows while reads fill
 * it, up to the large size; it shrinks back once reads stay small. An idle
 * connection (most of a server's, often) so holds 1 KiB, not 64.
 */
const SMALL_READ_BUFFER = 1024;
const LARGE_READ_BUFFER = 64 * 1024;
/** Reads in a row using under an eighth of a large buffer before it shrinks. */
const SHRINK_AFTER = 8;
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
  readonly #batch = new WriteBatch();
  #queuedBytes = 0;
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
    this.#queuedBytes += this.#batch.add(body);
    this.#flushing ??= this.#flush();
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
    this.#batch.clear();
    this.#queuedBytes = 0;
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
      while (!this.#batch.isEmpty) {
        for (const chunk of this.#batch.take()) {
          for (let written = 0; written < chunk.byteLength;) {
            written += await this.#conn.write(chunk.subarray(written));
          }
          this.#queuedBytes -= chunk.byteLength;
        }
      }
      this.#batch.written();
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
