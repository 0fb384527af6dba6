/**
 * Transports: a connection seen as frames in and frames out. The session
 * sends frame bodies and receives them through a {@linkcode Transport}, and
 * never touches a socket. Two adapters:
 *
 * - {@linkcode connTransport}, for a `Deno.Conn`: a tight read loop that
 *   hands every frame of a read to the session in one go, and a writer that
 *   joins the frames of one burst into one socket write. Servers and
 *   clients use it.
 * - {@linkcode socketTransport}, for a `node:net` or `node:tls` socket: TLS
 *   servers and clients use it, because a Deno `TlsConn` closed before its
 *   handshake completes keeps its socket open (Deno 2.9), while a
 *   destroyed node socket is gone at once.
 * - {@linkcode streamTransport}, for any pair of byte streams, through
 *   {@linkcode FrameDecoderStream} and {@linkcode FrameEncoderStream}.
 *
 * @module
 */

import type { Socket } from "node:net";
import { joinSmallParts } from "../base/bytes.ts";
import {
  FRAME_HEADER_SIZE,
  type FrameCallback,
  FrameDecoder,
  FrameDecoderStream,
  FrameEncoderStream,
  writeLength,
} from "./framing.ts";

/** Where a peer is. */
export interface PeerAddress {
  /** The peer's IP address (or socket path, for Unix sockets). */
  readonly hostname: string;
  /** The peer's port (0 for Unix sockets). */
  readonly port: number;
  /** The kind of connection. */
  readonly transport: "tcp" | "unix";
}

/** Where a transport delivers what it reads. */
export interface FrameReceiver {
  /**
   * A frame body arrived. When `isBorrowed`, the bytes are valid only
   * during this call (the transport reuses its buffer): decode them now and
   * keep nothing that points into them.
   */
  frame(body: Uint8Array, isBorrowed: boolean): void;
  /**
   * Reading ended: the peer closed (no `error`), the connection failed, or
   * the peer's bytes broke the framing (a `ProtocolError`; the
   * connection is then still open for a last frame until
   * {@linkcode Transport.close}). Called once.
   */
  closed(error?: unknown): void;
}

/** A connection as frame bodies in and out. */
export interface Transport {
  /** The peer's address. */
  readonly peer: PeerAddress;
  /** When bytes last arrived, in milliseconds since 1970: the heartbeat's sign of life. */
  readonly lastActivity: number;
  /**
   * Whether more is queued for writing than the peer has taken: a peer
   * that does not read its answers. New work should wait for
   * {@linkcode Transport.drain}.
   */
  readonly isCongested: boolean;
  /** Starts reading; call once. */
  start(receiver: FrameReceiver): void;
  /**
   * Queues a frame, its body given as parts. Never throws: a failed write
   * closes the connection, which the receiver hears about.
   */
  send(body: readonly Uint8Array[]): void;
  /** Resolves once everything queued is written, or the connection failed. */
  drain(): Promise<void>;
  /** Closes the connection at once. Idempotent. */
  close(): void;
  /** Lets the open connection keep the process alive (the default). */
  ref(): void;
  /** Lets the process end while the connection is open but idle. */
  unref(): void;
  /**
   * Sets the largest frame body accepted from the next frame on (at most
   * `maxFrameSize`): small until the peer has authenticated. A transport
   * without it keeps `maxFrameSize`.
   */
  limitFrames?(size: number): void;
}

/** Options of the transports. */
export interface TransportOptions {
  /** The largest frame body accepted from the peer. */
  maxFrameSize: number;
  /** The largest first frame accepted from the peer (its hello). */
  maxFirstFrameSize: number;
}

/**
 * The read buffer of a connection starts small and grows while reads fill
 * it, up to the large size; it shrinks back once reads stay small. An idle
 * connection (most of a server's, often) so holds 1 KiB, not 64.
 */
const SMALL_READ_BUFFER = 1024;
const LARGE_READ_BUFFER = 64 * 1024;
/** Reads in a row using under an eighth of a large buffer before it shrinks. */
const SHRINK_AFTER = 8;
/** Frame parts at least this long are written as they are instead of being copied into a batch. */
const WRITE_ALONE_SIZE = 64 * 1024;
/** A frame still missing at least this much is read straight into its own buffer. */
const DIRECT_READ_SIZE = 16 * 1024;
/** Bytes queued for writing beyond which the read loop pauses: a peer that does not read its answers gets no more of them. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

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
    this.#receiver!.frame(body, isView);
  #queue: Uint8Array[] = [];
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
          throw new Deno.errors.UnexpectedEof(
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
    const header = new Uint8Array(FRAME_HEADER_SIZE);
    let length = 0;
    for (const part of body) length += part.byteLength;
    writeLength(header, 0, length);
    this.#queue.push(header, ...body);
    this.#queuedBytes += FRAME_HEADER_SIZE + length;
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
    this.#queue = [];
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
      while (this.#queue.length > 0) {
        const parts = this.#queue;
        this.#queue = [];
        for (const chunk of joinSmallParts(parts, WRITE_ALONE_SIZE)) {
          for (let written = 0; written < chunk.byteLength;) {
            written += await this.#conn.write(chunk.subarray(written));
          }
          this.#queuedBytes -= chunk.byteLength;
        }
      }
    } catch {
      // The read loop sees the connection fail and reports it.
      this.close();
    } finally {
      this.#flushing = undefined;
    }
  }
}

/**
 * Adapts a `node:net` or `node:tls` socket. Closing it destroys the socket,
 * and with it the file descriptor, whether or not a TLS handshake is done.
 *
 * @param socket The socket; the transport owns it from now on.
 * @param options Frame size limits.
 * @param beneath The plain socket under a TLS socket, destroyed with it.
 * @returns The transport.
 */
export function socketTransport(
  socket: Socket,
  options: TransportOptions,
  beneath?: Socket,
): Transport {
  return new SocketTransport(socket, options, beneath);
}

class SocketTransport implements Transport {
  readonly peer: PeerAddress;
  lastActivity: number = Date.now();
  readonly #socket: Socket;
  readonly #beneath: Socket | undefined;
  readonly #decoder: FrameDecoder;
  #receiver: FrameReceiver | undefined;
  readonly #deliver: FrameCallback = (body, isView) =>
    this.#receiver!.frame(body, isView);
  #queue: Uint8Array[] = [];
  #isFlushQueued = false;
  #isClosed = false;
  #hasEnded = false;
  #drained: PromiseWithResolvers<void> | undefined;
  /** Bursts waiting for their flush, and chunks handed to the socket but not yet written. */
  #pendingWrites = 0;

  constructor(socket: Socket, options: TransportOptions, beneath?: Socket) {
    this.#socket = socket;
    this.#beneath = beneath;
    this.peer = {
      hostname: socket.remoteAddress ?? beneath?.remoteAddress ?? "",
      port: socket.remotePort ?? beneath?.remotePort ?? 0,
      transport: "tcp",
    };
    this.#decoder = new FrameDecoder(options);
    // Errors arrive through the receiver; an unheard "error" event would throw.
    socket.on("error", (error: Error) => this.#end(error));
    beneath?.on("error", ignore);
    socket.on("drain", () => this.#onDrain());
    socket.on("close", () => {
      this.#pendingWrites = 0;
      this.#drained?.resolve();
      this.#drained = undefined;
      this.#end();
    });
  }

  start(receiver: FrameReceiver): void {
    this.#receiver = receiver;
    const socket = this.#socket;
    socket.on("data", (chunk: Uint8Array) => {
      if (this.#hasEnded) return;
      this.lastActivity = Date.now();
      try {
        this.#decoder.push(chunk, this.#deliver);
      } catch (error) {
        // Broken framing: stop reading; the socket stays open for a last frame.
        socket.pause();
        this.#end(error);
        return;
      }
      // Answers pile up when the peer does not read them: stop taking
      // requests until they are written.
      if (this.isCongested) socket.pause();
    });
    socket.on("end", () => {
      this.#end(
        this.#decoder.isBetweenFrames
          ? undefined
          : new Deno.errors.UnexpectedEof(
            "The connection ended inside a frame.",
          ),
      );
    });
    if (this.#isClosed || socket.destroyed) this.#end();
  }

  #end(error?: unknown): void {
    if (this.#hasEnded || this.#receiver === undefined) return;
    this.#hasEnded = true;
    this.#receiver.closed(error);
  }

  /** The socket took what it buffered beyond its high-water mark: read again. */
  #onDrain(): void {
    if (!this.isCongested && !this.#hasEnded) this.#socket.resume();
  }

  get isCongested(): boolean {
    return this.#socket.writableLength > HIGH_WATER_BYTES;
  }

  send(body: readonly Uint8Array[]): void {
    if (this.#isClosed) return;
    const header = new Uint8Array(FRAME_HEADER_SIZE);
    let length = 0;
    for (const part of body) length += part.byteLength;
    writeLength(header, 0, length);
    this.#queue.push(header, ...body);
    if (!this.#isFlushQueued) {
      this.#isFlushQueued = true;
      this.#pendingWrites++;
      // Let the rest of this burst queue its frames first: they go out together.
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#isFlushQueued = false;
    const parts = this.#queue;
    this.#queue = [];
    if (!this.#isClosed) {
      for (const chunk of joinSmallParts(parts, WRITE_ALONE_SIZE)) {
        this.#pendingWrites++;
        // The callback runs once the chunk is written, or with an error
        // when the socket is destroyed first.
        this.#socket.write(chunk, this.#written);
      }
    }
    this.#written();
  }

  readonly #written = (): void => {
    if (this.#pendingWrites > 0 && --this.#pendingWrites > 0) return;
    this.#drained?.resolve();
    this.#drained = undefined;
  };

  drain(): Promise<void> {
    if (this.#pendingWrites === 0 || this.#socket.destroyed) {
      return Promise.resolve();
    }
    this.#drained ??= Promise.withResolvers();
    return this.#drained.promise;
  }

  ref(): void {
    this.#socket.ref();
    this.#beneath?.ref();
  }

  unref(): void {
    this.#socket.unref();
    this.#beneath?.unref();
  }

  limitFrames(size: number): void {
    this.#decoder.limit = size;
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#queue = [];
    this.#socket.destroy();
    this.#beneath?.destroy();
  }
}

/**
 * Adapts any pair of byte streams (a pipe, a WebSocket stream, an
 * in-memory pair), framed by {@linkcode FrameDecoderStream} and
 * {@linkcode FrameEncoderStream}.
 *
 * @param readable Bytes from the peer.
 * @param writable Bytes to the peer.
 * @param peer How to describe the peer.
 * @param options Frame size limits.
 * @returns The transport.
 */
export function streamTransport(
  readable: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
  peer: PeerAddress,
  options: TransportOptions,
): Transport {
  const frames = readable.pipeThrough(new FrameDecoderStream(options));
  const encoder = new FrameEncoderStream({ maxFrameSize: 0xffff_ffff });
  const piping = encoder.readable.pipeTo(writable);
  const writer = encoder.writable.getWriter();
  const reader = frames.getReader();
  let isClosed = false;
  let pending = Promise.resolve();
  const close = () => {
    if (isClosed) return;
    isClosed = true;
    reader.cancel().catch(ignore);
    writer.abort().catch(ignore);
  };
  piping.catch(close);
  const transport = {
    peer,
    lastActivity: Date.now(),
    get isCongested() {
      return (writer.desiredSize ?? 1) <= 0;
    },
    start(receiver: FrameReceiver) {
      (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          transport.lastActivity = Date.now();
          receiver.frame(value, false);
        }
      })().then(
        () => receiver.closed(),
        (error) => receiver.closed(error),
      ).finally(close);
    },
    send(body: readonly Uint8Array[]) {
      if (isClosed) return;
      pending = writer.write(body).catch(close);
    },
    drain: () => pending,
    close,
    ref: ignore,
    unref: ignore,
  };
  return transport;
}

function peerAddress(address: Deno.Addr): PeerAddress {
  if ("path" in address) {
    return { hostname: address.path, port: 0, transport: "unix" };
  }
  if ("hostname" in address) {
    return { hostname: address.hostname, port: address.port, transport: "tcp" };
  }
  return { hostname: "", port: 0, transport: "tcp" };
}

function ignore(): void {}
