/**
 * The transport of a WebSocket, on any runtime with a standard (WHATWG)
 * WebSocket: browsers, Deno, Bun, Node 22 and later, and Node's `ws`
 * package. The frame stream is the same as over TCP (4-byte length, then
 * the body) carried in binary messages, cut anywhere: the receiver pushes
 * each message's bytes through the same `FrameDecoder` a TCP read does,
 * and the sender writes each burst of frames as one message (PROTOCOL.md,
 * "WebSocket"). A text message breaks the protocol (close code 1003).
 *
 * @module
 */

import { ProtocolError } from "../base/errors.ts";
import { raceDeadline } from "../base/deadline.ts";
import { FrameDecoder } from "./framing.ts";
import { clientClosed, SocketError } from "./net_errors.ts";
import {
  type FrameReceiver,
  HIGH_WATER_BYTES,
  type PeerAddress,
  type Transport,
  type TransportOptions,
} from "./transport.ts";
import { WriteBatch } from "./write_batch.ts";

/**
 * What the transport uses of a WebSocket: the standard API, which
 * browsers, Deno, Bun, Node 22 and Node's `ws` package all offer.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Set to `"arraybuffer"` by the transport. */
  binaryType: string;
  /** Bytes handed to `send` and not yet written. */
  readonly bufferedAmount: number;
  /** Sends one message. */
  send(data: Uint8Array): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Listens for `open`, `message`, `close` and `error`. */
  addEventListener(
    type: "open" | "message" | "close" | "error",
    listener: (event: { data?: unknown; code?: number }) => void,
  ): void;
}

/** Close codes (RFC 6455 §7.4.1) the transport sends, by why it closes. */
export const CLOSE_CODES = {
  /** A clean close. */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** The peer's bytes broke the framing. */
  protocol: 1002,
  /** A text message: isock takes binary messages only. */
  unsupported: 1003,
  /** A message that does not decode. */
  invalidData: 1007,
  /** The peer is refused: not authenticated, over a limit, too slow. */
  policy: 1008,
  /** A frame over the limit. */
  tooLarge: 1009,
  /** The server failed. */
  internal: 1011,
} as const;

const OPEN = 1;
/** How often `drain` looks whether the socket has written what it was given. */
const DRAIN_POLL_MS = 5;

/**
 * Adapts an open or opening WebSocket; the transport owns it from now on.
 * Messages that arrive before {@linkcode Transport.start} are kept.
 *
 * @param socket The WebSocket.
 * @param peer How to describe the peer.
 * @param options Frame size limits.
 * @returns The transport.
 */
export function webSocketTransport(
  socket: WebSocketLike,
  peer: PeerAddress,
  options: TransportOptions,
): WebSocketTransport {
  return new WebSocketTransport(socket, peer, options);
}

/** How long a WebSocket may take to open, and what stops it early. */
export interface WebSocketDialOptions extends TransportOptions {
  /** Milliseconds the opening handshake may take. */
  readonly timeout: number;
  /** Gives up at once when aborted (the client is closing). */
  readonly signal: AbortSignal;
}

/**
 * Opens a WebSocket to `url` once.
 *
 * @param url A `ws:` or `wss:` URL.
 * @param options The deadline and the frame size limits.
 * @returns The transport of the open WebSocket.
 * @throws {SocketError} `refused` when the WebSocket closes before it opens
 * (nothing listens there, or it does not upgrade), `timeout` when the
 * deadline passes first, `interrupted` when the signal aborts, `other`
 * when this runtime has no WebSocket.
 */
export function dialWebSocket(
  url: URL,
  options: WebSocketDialOptions,
): Promise<Transport> {
  const WebSocketClass = (globalThis as {
    WebSocket?: new (url: string) => WebSocketLike;
  }).WebSocket;
  if (WebSocketClass === undefined) {
    return Promise.reject(
      new SocketError(
        "other",
        "This runtime has no WebSocket (Node has one from version 22): connect with hostname and port instead",
      ),
    );
  }
  let transport: WebSocketTransport;
  try {
    transport = new WebSocketTransport(
      new WebSocketClass(url.href),
      urlPeer(url),
      options,
    );
  } catch (error) {
    return Promise.reject(error);
  }
  return raceDeadline(transport.opened, options.timeout, options.signal, {
    timedOut: () =>
      new SocketError(
        "timeout",
        `the WebSocket did not open within ${options.timeout} ms`,
      ),
    aborted: clientClosed,
    abandon: () => transport.close(),
  });
}

/**
 * The peer a `ws:` or `wss:` URL names.
 *
 * @param url The URL.
 * @returns Its host and port (80 or 443 when it names none).
 */
export function urlPeer(url: URL): PeerAddress {
  const hostname = url.hostname.startsWith("[")
    ? url.hostname.slice(1, -1)
    : url.hostname;
  const port = url.port === ""
    ? (url.protocol === "wss:" ? 443 : 80)
    : Number(url.port);
  return { hostname, port, transport: "websocket" };
}

/** A WebSocket as frame bodies in and out. */
export class WebSocketTransport implements Transport {
  readonly peer: PeerAddress;
  lastActivity: number = Date.now();
  /** Resolves once the socket is open; rejects when it closes first. */
  readonly opened: Promise<Transport>;
  readonly #socket: WebSocketLike;
  readonly #decoder: FrameDecoder;
  readonly #batch = new WriteBatch();
  #receiver: FrameReceiver | undefined;
  /** Messages that arrived before `start`. */
  #early: Uint8Array[] | undefined = [];
  /** Reading ended: the receiver was told, or will be at `start`. */
  #ended: { error?: unknown } | undefined;
  #isReported = false;
  #isClosed = false;
  #isFlushScheduled = false;
  /** The close code to send: set by what broke the protocol. */
  #closeCode: number = CLOSE_CODES.normal;
  #closeReason = "";
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #drainWaiters: (() => void)[] = [];
  readonly #deliver = (body: Uint8Array) =>
    this.#receiver!.frame(body, false) === true;

  /**
   * Creates a `WebSocketTransport`.
   *
   * @param socket The WebSocket, open or opening.
   * @param peer How to describe the peer.
   * @param options Frame size limits.
   */
  constructor(
    socket: WebSocketLike,
    peer: PeerAddress,
    options: TransportOptions,
  ) {
    this.#socket = socket;
    this.peer = peer;
    this.#decoder = new FrameDecoder(options);
    socket.binaryType = "arraybuffer";
    let opened!: (transport: Transport) => void;
    let failed!: (error: unknown) => void;
    this.opened = new Promise<Transport>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    if (socket.readyState === OPEN) opened(this);
    // Whoever dials awaits it; an accepted socket may never be awaited.
    this.opened.catch(() => {});
    socket.addEventListener("open", () => {
      opened(this);
      this.#flush();
    });
    socket.addEventListener("message", (event) => this.#message(event.data));
    socket.addEventListener("close", (event) => {
      failed(
        new SocketError(
          "refused",
          `the WebSocket closed before it opened (code ${event.code})`,
        ),
      );
      this.#peerClosed(event.code ?? 1005);
    });
    // An error is always followed by a close, which reports it.
    socket.addEventListener("error", () => {});
  }

  get isCongested(): boolean {
    return this.#socket.bufferedAmount > HIGH_WATER_BYTES;
  }

  start(receiver: FrameReceiver): void {
    this.#receiver = receiver;
    const early = this.#early!;
    this.#early = undefined;
    for (const bytes of early) {
      if (this.#ended !== undefined) break;
      this.#push(bytes);
    }
    this.#report();
  }

  send(body: readonly Uint8Array[]): void {
    if (this.#isClosed) return;
    this.#batch.add(body);
    if (this.#isFlushScheduled) return;
    this.#isFlushScheduled = true;
    // Let the rest of this burst queue its frames first: one message for all.
    queueMicrotask(() => {
      this.#isFlushScheduled = false;
      this.#flush();
    });
  }

  drain(): Promise<void> {
    if (this.#isDrained) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
      this.#drainTimer ??= setTimeout(() => this.#pollDrain(), DRAIN_POLL_MS);
    });
  }

  close(reason?: unknown): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (reason !== undefined && this.#closeCode === CLOSE_CODES.normal) {
      this.#closeCode = closeCodeFor(reason);
      this.#closeReason = reason instanceof Error
        ? truncateReason(reason.message)
        : "";
    }
    this.#batch.clear();
    this.#releaseDrains();
    closeSocket(this.#socket, this.#closeCode, this.#closeReason);
    this.#end(undefined);
  }

  /**
   * Closes with this code and reason instead of the one the transport
   * chose.
   *
   * @param code The close code.
   * @param reason Why, for people (at most 123 bytes).
   */
  closeWith(code: number, reason: string): void {
    this.#closeCode = code;
    this.#closeReason = truncateReason(reason);
    this.close();
  }

  ref(): void {}

  unref(): void {}

  limitFrames(size: number): void {
    this.#decoder.limit = size;
  }

  get #isDrained(): boolean {
    return this.#isClosed ||
      (this.#batch.isEmpty && this.#socket.bufferedAmount === 0);
  }

  #pollDrain(): void {
    this.#drainTimer = undefined;
    if (this.#isDrained) this.#releaseDrains();
    else this.#drainTimer = setTimeout(() => this.#pollDrain(), DRAIN_POLL_MS);
  }

  #releaseDrains(): void {
    clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #flush(): void {
    const socket = this.#socket;
    if (this.#isClosed || socket.readyState !== OPEN) return;
    // The socket may still hold views of the batch's memory until it has
    // written them: only then may the batch fill its buffer from the start.
    if (socket.bufferedAmount === 0) this.#batch.written();
    if (this.#batch.isEmpty) return;
    try {
      for (const chunk of this.#batch.take()) sendChunk(socket, chunk);
    } catch (error) {
      this.#end(error);
      this.close();
    }
  }

  #message(data: unknown): void {
    if (this.#ended !== undefined) return;
    this.lastActivity = Date.now();
    if (typeof data === "string") {
      this.#breach(
        new ProtocolError(
          "PROTOCOL",
          "A text WebSocket message: isock takes binary messages only (PROTOCOL.md, section Over WebSocket).",
        ),
        CLOSE_CODES.unsupported,
      );
      return;
    }
    const bytes = data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : undefined;
    if (bytes === undefined) {
      this.#breach(
        new ProtocolError("PROTOCOL", "A WebSocket message of unknown type."),
        CLOSE_CODES.unsupported,
      );
      return;
    }
    if (this.#early !== undefined) this.#early.push(bytes);
    else this.#push(bytes);
  }

  #push(bytes: Uint8Array): void {
    try {
      this.#decoder.push(bytes, this.#deliver);
    } catch (error) {
      this.#breach(
        error,
        error instanceof ProtocolError && error.code === "FRAME_TOO_LARGE"
          ? CLOSE_CODES.tooLarge
          : CLOSE_CODES.protocol,
      );
    }
  }

  /**
   * The peer broke the protocol: reading ends with `error`, and the socket
   * stays open for the session's goodbye until {@linkcode close}, which
   * sends `code`.
   */
  #breach(error: unknown, code: number): void {
    this.#closeCode = code;
    this.#closeReason = error instanceof Error
      ? truncateReason(error.message)
      : "";
    this.#end(error);
  }

  #peerClosed(code: number): void {
    if (this.#ended !== undefined) return;
    const isClean = code === 1000 || code === 1001 || code === 1005;
    if (isClean && this.#decoder.isBetweenFrames) {
      this.#end(undefined);
    } else {
      this.#end(
        new SocketError(
          isClean ? "eof" : "reset",
          isClean
            ? "The WebSocket closed inside a frame."
            : `The WebSocket closed with code ${code}.`,
        ),
      );
    }
    this.close();
  }

  #end(error: unknown): void {
    if (this.#ended !== undefined) return;
    this.#ended = error === undefined ? {} : { error };
    this.#report();
  }

  /** Tells the receiver reading ended, once, once it is started. */
  #report(): void {
    if (this.#ended === undefined || this.#receiver === undefined) return;
    if (this.#isReported) return;
    this.#isReported = true;
    const { error } = this.#ended;
    if (error === undefined) this.#receiver.closed();
    else this.#receiver.closed(error);
  }
}

/**
 * Sends a chunk of the frame stream. Deno's WebSocket writes a message of
 * more than 1 KiB as two writes on a socket without `TCP_NODELAY`, so one
 * that fits in a TCP segment waits for the peer's delayed ACK (40 ms) when
 * the peer waits for it in turn: there, chunks between 1 KiB and 128 KiB go
 * in messages of 1 KiB, which the receiver joins back (the stream may be
 * cut anywhere).
 */
function sendChunk(socket: WebSocketLike, chunk: Uint8Array): void {
  const length = chunk.byteLength;
  if (!isDeno || length <= SMALL_MESSAGE || length >= LARGE_MESSAGE) {
    socket.send(chunk);
    return;
  }
  for (let at = 0; at < length; at += SMALL_MESSAGE) {
    socket.send(chunk.subarray(at, Math.min(length, at + SMALL_MESSAGE)));
  }
}

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno === "object";
/** The largest message Deno's WebSocket writes at once. */
const SMALL_MESSAGE = 1024;
/** Messages at least this long fill TCP segments: no wait for an ACK. */
const LARGE_MESSAGE = 128 * 1024;

/**
 * Closes with `code`. The WebSocket API of browsers and of Deno's client
 * takes only 1000 and 3000–4999: there the code goes in the private range
 * instead, 4000 + (code − 1000) (4002 for 1002), and 1001 becomes 1000
 * (PROTOCOL.md, "Over WebSocket").
 */
function closeSocket(
  socket: WebSocketLike,
  code: number,
  reason: string,
): void {
  const fallback = code === CLOSE_CODES.goingAway
    ? CLOSE_CODES.normal
    : code >= 1002 && code <= 1999
    ? 3000 + code
    : undefined;
  if (tryClose(socket, code, reason)) return;
  if (fallback !== undefined && tryClose(socket, fallback, reason)) return;
  tryClose(socket);
}

/** Whether the socket took the close (an invalid code or reason throws). */
function tryClose(
  socket: WebSocketLike,
  code?: number,
  reason?: string,
): boolean {
  try {
    socket.close(code, reason);
    return true;
  } catch {
    return false;
  }
}

/**
 * The close code that says why a session ended for `reason`, the error
 * its goodbye carried (PROTOCOL.md, "Over WebSocket").
 */
function closeCodeFor(reason: unknown): number {
  const code = (reason as { code?: unknown })?.code;
  switch (code) {
    case "FRAME_TOO_LARGE":
      return CLOSE_CODES.tooLarge;
    case "DECODE_FAILED":
    case "DECODE_BUDGET":
      return CLOSE_CODES.invalidData;
    case "PROTOCOL":
    case "INVALID_REQUEST":
      return CLOSE_CODES.protocol;
    case "UNAUTHORIZED":
    case "OVERLOADED":
    case "TIMEOUT":
      return CLOSE_CODES.policy;
    case "CONNECTION_CLOSED":
      return CLOSE_CODES.goingAway;
    default:
      return CLOSE_CODES.internal;
  }
}

/** A close reason is at most 123 bytes (RFC 6455 §5.5.1). */
function truncateReason(message: string): string {
  const bytes = new TextEncoder().encode(message);
  if (bytes.length <= 123) return message;
  return new TextDecoder().decode(bytes.subarray(0, 120)).replace(
    /\uFFFD$/,
    "",
  ) + "…";
}
