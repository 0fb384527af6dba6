/**
 * One connection between two peers: the hello, request ids, the calls
 * waiting for answers, and the requests being run. It reads and writes
 * frames through a {@linkcode Transport} and never touches a socket. Both
 * ends of a connection run the same session: a server passes the actions
 * it offers, a client passes none.
 *
 * @module
 */

import type { Action, ActionContext } from "./action.ts";
import {
  ClientError,
  CodecError,
  type IsockError,
  ProtocolError,
  RemoteError,
  type RemoteErrorCode,
} from "./errors.ts";
import {
  type Hello,
  type Message,
  type MessageCodec,
  MessageType,
  PROTOCOL_VERSION,
  type RequestMessage,
  type WireError,
} from "./protocol.ts";
import type { PeerAddress, Transport } from "./transport.ts";

/** Finds the action to run for a request, by name. */
export type ActionLookup = (name: string) => Action | undefined;

/** Options of {@linkcode Session}. */
export interface SessionOptions {
  /** Reads and writes messages. */
  codec: MessageCodec;
  /** The largest frame body this side accepts, announced in the hello. */
  maxFrameSize: number;
  /** How long to wait for the peer's hello, in milliseconds. */
  handshakeTimeout: number;
  /** The actions this side runs for its peer; none when omitted. */
  actions?: ActionLookup;
}

/** How long a closing session waits for its last frames to be written. */
const FLUSH_TIMEOUT = 2_000;

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** One live connection, from the hello to the close. */
export class Session {
  /** The peer's address. */
  readonly peer: PeerAddress;
  /** Resolves with the peer's hello; rejects if the handshake fails. */
  readonly ready: Promise<Hello>;
  /** Resolves once the connection is closed and every call is settled. */
  readonly closed: Promise<void>;

  readonly #transport: Transport;
  readonly #codec: MessageCodec;
  readonly #actions: ActionLookup | undefined;
  readonly #pendingCalls = new Map<number, PendingCall>();
  readonly #handlersAborted = new AbortController();
  #nextRequestId = 1;
  #peerHello: Hello | undefined;
  #activeHandlers = 0;
  #idleWaiters: (() => void)[] = [];
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #resolveReady!: (hello: Hello) => void;
  #rejectReady!: (error: unknown) => void;
  #resolveClosed!: () => void;
  /** Why this side is closing the connection, once it is. */
  #closeReason: IsockError | undefined;
  /** Why the peer said it was closing, from its goodbye. */
  #goodbyeReason: RemoteError | undefined;
  #isClosed = false;
  #isRefusingRequests = false;
  #isPeerLeaving = false;

  /**
   * Starts the session: sends this side's hello and reads the peer's.
   *
   * @param transport The connection; the session owns it from now on.
   * @param options The codec, limits and actions.
   */
  constructor(transport: Transport, options: SessionOptions) {
    this.#transport = transport;
    this.peer = transport.peer;
    this.#codec = options.codec;
    this.#actions = options.actions;
    this.ready = new Promise<Hello>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Whoever awaits `ready` sees the failure; nobody has to.
    this.ready.catch(ignore);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#handshakeTimer = setTimeout(() => {
      this.abort(
        new ProtocolError(
          "PROTOCOL",
          `No isock hello from ${
            describe(this.peer)
          } within ${options.handshakeTimeout} ms: is it an isock peer?`,
        ),
      );
    }, options.handshakeTimeout);
    transport.send([this.#codec.encodeHello({
      version: PROTOCOL_VERSION,
      maxFrameSize: options.maxFrameSize,
    })]);
    transport.start({
      frame: (body, isBorrowed) => this.#onFrame(body, isBorrowed),
      closed: (error) => this.#onClosed(error),
    });
  }

  /** Whether calls may be sent: the hello is done and neither side is leaving. */
  get isOpen(): boolean {
    return this.#peerHello !== undefined && !this.#isClosed &&
      !this.#isPeerLeaving && !this.#isRefusingRequests;
  }

  /** How many of the peer's requests are being run right now. */
  get activeHandlers(): number {
    return this.#activeHandlers;
  }

  /** How many calls to the peer are waiting for their answers. */
  get pendingCalls(): number {
    return this.#pendingCalls.size;
  }

  /**
   * Calls an action on the peer. Never throws: every failure is a
   * rejection.
   *
   * @param action The action's name.
   * @param data The input, any value the codec can send.
   * @returns The action's result.
   */
  call(action: string, data: unknown): Promise<unknown> {
    if (this.#isClosed) return Promise.reject(this.#callError());
    const id = this.#nextRequestId++;
    let parts: Uint8Array[];
    try {
      parts = this.#codec.encode([MessageType.REQUEST, id, action, data]);
    } catch (error) {
      return Promise.reject(error);
    }
    const size = byteLength(parts);
    const limit = this.#peerHello?.maxFrameSize ?? Infinity;
    if (size > limit) {
      return Promise.reject(
        new ClientError(
          "FRAME_TOO_LARGE",
          `The request to "${action}" is ${size} bytes; the peer accepts frames of at most ${limit} bytes (its maxFrameSize).`,
        ),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#pendingCalls.set(id, { resolve, reject });
    this.#send(parts);
    return promise;
  }

  /**
   * Tells the peer this side is closing, and answers its later requests
   * with `CONNECTION_CLOSED` (not run). Requests already running go on.
   */
  sayGoodbye(): void {
    if (this.#isRefusingRequests || this.#isClosed) return;
    this.#isRefusingRequests = true;
    this.#send(this.#codec.encode([MessageType.GOODBYE]));
  }

  /**
   * Resolves once no request of the peer is being run, or once the
   * connection is closed (answers could no longer be delivered).
   */
  whenIdle(): Promise<void> {
    if (this.#activeHandlers === 0 || this.#isClosed) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Closes gracefully: writes what is queued (for a short while at most),
   * then closes the connection. Calls still waiting reject.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  async close(reason?: IsockError): Promise<void> {
    if (this.#isClosed) return this.closed;
    this.#closeReason ??= reason;
    this.#isRefusingRequests = true;
    await this.#flushAndClose();
    return this.closed;
  }

  /**
   * Closes at once, without writing what is queued.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  abort(reason?: IsockError): void {
    this.#closeReason ??= reason;
    this.#transport.close();
  }

  #onFrame(body: Uint8Array, isBorrowed: boolean): void {
    // Once closing, what still arrives is dropped unread.
    if (this.#closeReason !== undefined || this.#isClosed) return;
    if (this.#peerHello !== undefined) return this.#receive(body, isBorrowed);
    try {
      this.#peerHello = this.#codec.decodeHello(body);
    } catch (error) {
      return this.#failProtocol(error as ProtocolError);
    }
    clearTimeout(this.#handshakeTimer);
    this.#resolveReady(this.#peerHello);
  }

  #onClosed(error: unknown): void {
    const failure = this.#peerHello === undefined
      ? notIsock(error, this.peer)
      : error;
    if (failure instanceof ProtocolError && this.#closeReason === undefined) {
      // The peer's bytes broke the framing: tell it why, then close.
      this.#closeReason = failure;
      this.#sendGoodbye(failure);
      this.#flushAndClose().then(() => this.#finish(failure));
    } else {
      this.#finish(failure);
    }
  }

  #receive(frame: Uint8Array, isBorrowed: boolean): void {
    let message: Message;
    try {
      message = this.#codec.decode(frame, isBorrowed);
    } catch (error) {
      return this.#failProtocol(error as ProtocolError);
    }
    switch (message.type) {
      case MessageType.REQUEST:
        return this.#handleRequest(message);
      case MessageType.RESULT: {
        const call = this.#takeCall(message.id);
        if (message.valueError) call?.reject(message.valueError);
        else call?.resolve(message.value);
        return;
      }
      case MessageType.ERROR:
        return this.#takeCall(message.id)?.reject(
          errorFromWire(message.error),
        );
      case MessageType.GOODBYE:
        this.#isPeerLeaving = true;
        if (message.error) this.#goodbyeReason = remoteError(message.error);
        return;
    }
  }

  /** An answer for an id no call waits for (a late or a duplicate one) is dropped. */
  #takeCall(id: number): PendingCall | undefined {
    const call = this.#pendingCalls.get(id);
    if (call !== undefined) this.#pendingCalls.delete(id);
    return call;
  }

  #handleRequest(request: RequestMessage): void {
    const { id } = request;
    if (this.#isRefusingRequests) {
      return this.#sendError(id, {
        code: "CONNECTION_CLOSED",
        name: "ClientError",
        message: "The peer is closing this connection; the action did not run.",
      });
    }
    if (request.dataError) {
      return this.#sendError(
        id,
        wireError("INVALID_REQUEST", request.dataError),
      );
    }
    const action = this.#actions?.(request.action);
    if (action === undefined) {
      return this.#sendError(id, {
        code: "UNKNOWN_ACTION",
        name: "RemoteError",
        message: `No action named "${request.action}" here.`,
      });
    }
    const context: ActionContext = {
      action: request.action,
      requestId: id,
      peer: this.peer,
      signal: this.#handlersAborted.signal,
    };
    this.#activeHandlers++;
    let result: unknown;
    try {
      result = action.handler(request.data, context);
    } catch (error) {
      this.#handlerDone();
      return this.#sendError(id, wireError("ACTION_FAILED", error));
    }
    if (isPromiseLike(result)) {
      Promise.resolve(result).then(
        (value) => {
          this.#handlerDone();
          this.#sendResult(id, value);
        },
        (error) => {
          this.#handlerDone();
          this.#sendError(id, wireError("ACTION_FAILED", error));
        },
      );
    } else {
      this.#handlerDone();
      this.#sendResult(id, result);
    }
  }

  #handlerDone(): void {
    if (--this.#activeHandlers === 0 && this.#idleWaiters.length > 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  #sendResult(id: number, value: unknown): void {
    if (this.#isClosed) return;
    let parts: Uint8Array[];
    try {
      parts = this.#codec.encode([MessageType.RESULT, id, value]);
    } catch (error) {
      return this.#sendError(
        id,
        wireError(
          "ACTION_FAILED",
          new CodecError(
            "ENCODE_FAILED",
            `The action's result cannot be sent: ${(error as Error).message}`,
          ),
        ),
      );
    }
    const size = byteLength(parts);
    const limit = this.#peerHello!.maxFrameSize;
    if (size > limit) {
      return this.#sendError(id, {
        code: "FRAME_TOO_LARGE",
        name: "RemoteError",
        message:
          `The result is ${size} bytes; the caller accepts frames of at most ${limit} bytes (its maxFrameSize).`,
      });
    }
    this.#send(parts);
  }

  #sendError(id: number, error: WireError): void {
    if (this.#isClosed) return;
    this.#send(this.#encodeWithError([MessageType.ERROR, id], error));
  }

  /** Encodes a message that ends in an error object, dropping what cannot be encoded. */
  #encodeWithError(head: unknown[], error: WireError): Uint8Array[] {
    try {
      return this.#codec.encode([...head, error]);
    } catch {
      const { cause: _cause, ...plain } = error;
      return this.#codec.encode([...head, {
        ...plain,
        message: String(plain.message),
      }]);
    }
  }

  #send(parts: readonly Uint8Array[]): void {
    // A failed write closes the connection; #onClosed hears of it.
    this.#transport.send(parts);
  }

  /** The peer broke the protocol: tell it why, then close. */
  #failProtocol(error: ProtocolError): void {
    this.#closeReason ??= error;
    this.#sendGoodbye(error);
    this.#flushAndClose();
  }

  #sendGoodbye(error: IsockError): void {
    this.#send(this.#encodeWithError(
      [MessageType.GOODBYE],
      wireError(error.code, error),
    ));
  }

  /** Writes what is queued (for a short while at most), then closes the socket. */
  async #flushAndClose(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#transport.drain(),
      new Promise((resolve) => timer = setTimeout(resolve, FLUSH_TIMEOUT)),
    ]);
    clearTimeout(timer);
    this.#transport.close();
  }

  #finish(failure: unknown): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearTimeout(this.#handshakeTimer);
    const reason = this.#callError(failure);
    this.#rejectReady(reason);
    this.#handlersAborted.abort(reason);
    for (const call of this.#pendingCalls.values()) call.reject(reason);
    this.#pendingCalls.clear();
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    this.#transport.close();
    this.#resolveClosed();
  }

  /** The error calls reject with once the connection is gone. */
  #callError(failure?: unknown): ClientError {
    const reason = this.#closeReason ?? this.#goodbyeReason ??
      (failure as IsockError | undefined);
    const isProtocol = reason instanceof ProtocolError ||
      reason instanceof CodecError ||
      (reason instanceof RemoteError &&
        (reason.code === "PROTOCOL" || reason.code === "FRAME_TOO_LARGE"));
    if (reason instanceof ClientError) return reason;
    const detail = reason instanceof Error ? `: ${reason.message}` : "";
    return new ClientError(
      isProtocol ? "PROTOCOL" : "CONNECTION_CLOSED",
      `The connection to ${describe(this.peer)} closed${detail}`,
      reason === undefined ? undefined : { cause: reason },
    );
  }
}

/** Before the hello, a frame error means the peer speaks another protocol. */
function notIsock(error: unknown, peer: PeerAddress): unknown {
  if (!(error instanceof ProtocolError) || error.code !== "FRAME_TOO_LARGE") {
    return error;
  }
  return new ProtocolError(
    "PROTOCOL",
    `${
      describe(peer)
    } is not an isock peer: its first bytes are not an isock hello. Check the host and port.`,
    { cause: error },
  );
}

function wireError(code: string, thrown: unknown): WireError {
  if (thrown instanceof Error) {
    const error: WireError = {
      code,
      name: thrown.name,
      message: thrown.message,
    };
    if (typeof thrown.stack === "string") error.stack = thrown.stack;
    if ("cause" in thrown) error.cause = thrown.cause;
    return error;
  }
  return { code, name: "Error", message: String(thrown), cause: thrown };
}

/** The error a call rejects with when the peer answered with `error`. */
function errorFromWire(error: WireError): IsockError {
  if (error.code === "CONNECTION_CLOSED") {
    return new ClientError("CONNECTION_CLOSED", error.message);
  }
  return remoteError(error);
}

function remoteError(error: WireError): RemoteError {
  return new RemoteError(error.code as RemoteErrorCode, error.message, {
    remoteName: error.name,
    remoteStack: error.stack,
    ...("cause" in error ? { cause: error.cause } : {}),
  });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

function byteLength(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  return length;
}

function describe(peer: PeerAddress): string {
  return peer.transport === "unix"
    ? peer.hostname
    : peer.hostname.includes(":")
    ? `[${peer.hostname}]:${peer.port}`
    : `${peer.hostname}:${peer.port}`;
}

function ignore(): void {}
