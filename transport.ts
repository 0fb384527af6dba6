/**
 * Transports: a connection seen as two streams of frame bodies. The
 * session reads frames from `readable` and writes frames to `writable`, and
 * never touches a socket; this file adapts a `Deno.Conn` (TCP, TLS or Unix)
 * to that shape.
 *
 * @module
 */

import { concat } from "./bytes.ts";
import { FrameDecoderStream, FrameEncoderStream } from "./framing.ts";

/** Where a peer is. */
export interface PeerAddress {
  /** The peer's IP address (or socket path, for Unix sockets). */
  readonly hostname: string;
  /** The peer's port (0 for Unix sockets). */
  readonly port: number;
  /** The kind of connection. */
  readonly transport: "tcp" | "unix";
}

/** A connection as frame bodies in and out. */
export interface Transport {
  /** Frame bodies from the peer; ends when the peer closes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Frame bodies to the peer, whole or in parts. */
  readonly writable: WritableStream<Uint8Array | readonly Uint8Array[]>;
  /** The peer's address. */
  readonly peer: PeerAddress;
  /** Closes the connection at once; pending reads and writes fail. Idempotent. */
  close(): void;
}

/** Options of {@linkcode connTransport}. */
export interface ConnTransportOptions {
  /** The largest frame body accepted from the peer. */
  maxFrameSize: number;
  /** The largest first frame accepted from the peer (its hello). */
  maxFirstFrameSize: number;
}

/**
 * Adapts a Deno connection: `conn.readable` through a
 * {@linkcode FrameDecoderStream}, and frames through a
 * {@linkcode FrameEncoderStream} into a sink that coalesces what is ready
 * into as few socket writes as possible.
 *
 * @param conn The connection; the transport owns it from now on.
 * @param options Frame size limits.
 * @returns The transport.
 */
export function connTransport(
  conn: Deno.Conn,
  options: ConnTransportOptions,
): Transport {
  let isClosed = false;
  const close = () => {
    if (isClosed) return;
    isClosed = true;
    try {
      conn.close();
    } catch {
      // Deno closes a connection itself once its readable has ended.
    }
  };
  const readable = conn.readable.pipeThrough(
    new FrameDecoderStream(options),
  );
  const frameEncoder = new FrameEncoderStream({ maxFrameSize: 0xffff_ffff });
  frameEncoder.readable
    .pipeTo(new WritableStream(new CoalescingConnSink(conn)))
    // A failed write errors the writable side, which the session sees.
    .catch(close);
  return {
    readable,
    writable: frameEncoder.writable,
    peer: peerAddress(conn.remoteAddr),
    close,
  };
}

function peerAddress(address: Deno.Addr): PeerAddress {
  if (address.transport === "unix" || address.transport === "unixpacket") {
    return { hostname: address.path, port: 0, transport: "unix" };
  }
  if (address.transport === "tcp" || address.transport === "udp") {
    return { hostname: address.hostname, port: address.port, transport: "tcp" };
  }
  return { hostname: "", port: 0, transport: "tcp" };
}

/** Bytes queued in the sink beyond which writers are made to wait. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** Chunks smaller than this are copied together into one write. */
const COALESCE_BELOW = 64 * 1024;

/**
 * Writes chunks to a connection. While a write is on its way, the chunks
 * that arrive are queued and then written together, so a burst of small
 * answers costs one system call, and a lone answer goes out at once.
 */
class CoalescingConnSink implements UnderlyingSink<Uint8Array> {
  readonly #conn: Deno.Conn;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #flushing: Promise<void> | undefined;
  #controller: WritableStreamDefaultController | undefined;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  start(controller: WritableStreamDefaultController): void {
    this.#controller = controller;
  }

  write(chunk: Uint8Array): Promise<void> | undefined {
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.byteLength;
    this.#flushing ??= this.#flush();
    return this.#queuedBytes > HIGH_WATER_BYTES ? this.#flushing : undefined;
  }

  async close(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  abort(): void {
    this.#queue = [];
    this.#queuedBytes = 0;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const chunk = this.#takeBatch();
        for (let written = 0; written < chunk.byteLength;) {
          written += await this.#conn.write(chunk.subarray(written));
        }
      }
    } catch (error) {
      this.abort();
      this.#controller?.error(error);
    } finally {
      this.#flushing = undefined;
    }
  }

  /** Takes the next chunk to write: a large one alone, or small ones joined. */
  #takeBatch(): Uint8Array {
    const queue = this.#queue;
    let count = 1;
    let length = queue[0].byteLength;
    if (length < COALESCE_BELOW) {
      while (
        count < queue.length && queue[count].byteLength < COALESCE_BELOW &&
        length + queue[count].byteLength <= HIGH_WATER_BYTES
      ) {
        length += queue[count++].byteLength;
      }
    }
    const batch = queue.splice(0, count);
    this.#queuedBytes -= length;
    return concat(batch);
  }
}
