/**
 * The transport of a `node:net` or `node:tls` socket: plain TCP and Unix
 * sockets on Node and Bun, and TLS on every runtime, because a Deno
 * `TlsConn` closed before its handshake completes keeps its socket open
 * (Deno 2.9), while a destroyed node socket is gone at once, file
 * descriptor and all.
 *
 * @module
 */

import type { Socket } from "node:net";
import { type Deferred, deferred } from "../base/deferred.ts";
import { ignore } from "../base/timers.ts";
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
 * Adapts a `node:net` or `node:tls` socket. Closing it destroys the socket,
 * and with it the file descriptor, whether or not a TLS handshake is done.
 *
 * @param socket The socket; the transport owns it from now on.
 * @param options Frame size limits.
 * @param beneath The plain socket under a TLS socket, destroyed with it.
 * @param peer The peer's address when the socket cannot tell it (a Unix
 * socket); by default the socket's remote address.
 * @param tlsServer For the server's end of a TLS connection: writes wait
 * for the handshake, and how the client is checked.
 * @returns The transport.
 */
export function socketTransport(
  socket: Socket,
  options: TransportOptions,
  beneath?: Socket,
  peer?: PeerAddress,
  tlsServer?: TlsServerSide,
): Transport {
  return new SocketTransport(socket, options, beneath, peer, tlsServer);
}

/** What the server's end of a TLS connection adds to its transport. */
export interface TlsServerSide {
  /**
   * Why the client is refused (see {@linkcode Transport.peerRefusal}),
   * asked once; every client is taken when omitted.
   */
  readonly checkPeer?: () => string | undefined;
}

class SocketTransport implements Transport {
  readonly peer: PeerAddress;
  lastActivity: number = Date.now();
  readonly #socket: Socket;
  readonly #beneath: Socket | undefined;
  readonly #decoder: FrameDecoder;
  #receiver: FrameReceiver | undefined;
  readonly #deliver: FrameCallback = (body, isView) =>
    this.#receiver!.frame(body, isView) === true;
  readonly #batch = new WriteBatch();
  #isFlushQueued = false;
  #isClosed = false;
  #hasEnded = false;
  #drained: Deferred<void> | undefined;
  /** Bursts waiting for their flush, and chunks handed to the socket but not yet written. */
  #pendingWrites = 0;
  #checkPeer: (() => string | undefined) | undefined;
  #peerRefusal: string | undefined;
  /**
   * A TLS server's writes wait for the handshake: a write that drives it
   * meets a plain-TCP client's bytes as a write error on Node, after which
   * its socket is gone and cannot answer with the alert (tls_sockets.ts).
   */
  #isHeld: boolean;

  constructor(
    socket: Socket,
    options: TransportOptions,
    beneath: Socket | undefined,
    peer: PeerAddress | undefined,
    tlsServer: TlsServerSide | undefined,
  ) {
    this.#socket = socket;
    this.#checkPeer = tlsServer?.checkPeer;
    this.#isHeld = tlsServer !== undefined;
    if (this.#isHeld) {
      socket.once("secure", () => {
        this.#isHeld = false;
        if (this.#isFlushQueued) this.#flush();
      });
    }
    this.#beneath = beneath;
    this.peer = peer ?? {
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

  get peerRefusal(): string | undefined {
    if (this.#checkPeer !== undefined) {
      this.#peerRefusal = this.#checkPeer();
      this.#checkPeer = undefined;
    }
    return this.#peerRefusal;
  }

  start(receiver: FrameReceiver): void {
    this.#receiver = receiver;
    const socket = this.#socket;
    socket.on("data", (buffer: Uint8Array) => {
      if (this.#hasEnded) return;
      this.lastActivity = Date.now();
      // A node `Buffer`'s `slice` is a view, not a copy, and its `buffer`
      // may be a shared pool: the decoder gets a plain `Uint8Array` over
      // the same bytes, so what it copies out is a copy, of these bytes only.
      const chunk = new Uint8Array(
        buffer.buffer,
        buffer.byteOffset,
        buffer.byteLength,
      );
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
          : new SocketError("eof", "The connection ended inside a frame."),
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
    this.#batch.add(body);
    if (!this.#isFlushQueued) {
      this.#isFlushQueued = true;
      this.#pendingWrites++;
      // Let the rest of this burst queue its frames first: they go out together.
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    // Still queued: the handshake's end flushes it.
    if (this.#isHeld) return;
    this.#isFlushQueued = false;
    if (!this.#isClosed) {
      for (const chunk of this.#batch.take()) {
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
    // Nothing handed to the socket is still being written.
    this.#batch.written();
    this.#drained?.resolve();
    this.#drained = undefined;
  };

  drain(): Promise<void> {
    if (this.#pendingWrites === 0 || this.#socket.destroyed) {
      return Promise.resolve();
    }
    this.#drained ??= deferred();
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
    this.#batch.clear();
    this.#socket.destroy();
    this.#beneath?.destroy();
  }
}
