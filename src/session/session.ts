/**
 * One connection between two peers, as a small coordinator: it owns the
 * transport, routes each message to the piece that handles it (the
 * handshake, the outgoing calls, the incoming requests, the reassembly),
 * and ties the pieces to the lifecycle. It reads and writes frames through
 * a {@linkcode Transport} and never touches a socket. Both ends of a
 * connection run the same session: a server passes the actions it offers,
 * a client passes none.
 *
 * @module
 */

import {
  type ClientError,
  type IsockError,
  ProtocolError,
  type RemoteError,
} from "../base/errors.ts";
import { formatAddress } from "../base/address.ts";
import {
  type FragmentMessage,
  type GoodbyeMessage,
  type Hello,
  type Message,
  type MessageCodec,
  MessageType,
} from "../protocol/messages.ts";
import { errorFromWire, wasNotRun } from "../protocol/wire_error.ts";
import type { Transport } from "../wire/transport.ts";
import { Peer, type PeerConnection } from "../dispatch/peer.ts";
import type { CallOptions, StreamCall, StreamOptions } from "./call.ts";
import { Handshake, type HandshakeHost } from "./handshake.ts";
import { IncomingRequests, type RequestsHost } from "./incoming_requests.ts";
import { Keepalive, type KeepaliveHost } from "./keepalive.ts";
import { Lifecycle, type LifecycleHost } from "./lifecycle.ts";
import { type CallsHost, OutgoingCalls } from "./outgoing_calls.ts";
import { Outbox } from "./outbox.ts";
import { Reassembly, type ReassemblyHost } from "./reassembly.ts";
import type { SessionOptions } from "./session_options.ts";

export type { CallOptions, StreamOptions } from "./call.ts";
export type { SessionOptions } from "./session_options.ts";
export type { ActionLookup } from "../dispatch/run_action.ts";
export { INPUT_WINDOW } from "./outgoing_calls.ts";
export { MAX_PRE_AUTH_FRAME } from "./handshake.ts";
export { wasNotRun };

/** How long a session that said goodbye waits for its peer to finish and close first. */
const GOODBYE_GRACE = 1_000;

/** Everything the pieces need of their session. */
type Host =
  & LifecycleHost
  & HandshakeHost
  & ReassemblyHost
  & CallsHost
  & RequestsHost
  & KeepaliveHost;

/** One live connection, from the hello to the close. */
export class Session implements PeerConnection {
  /** The other end: its address, identity, and the actions it offers. */
  readonly peer: Peer;
  /** Resolves once the hello (and authentication) is done; rejects if it fails. */
  readonly ready: Promise<Hello>;
  /** Resolves once the connection is closed and every call is settled. */
  readonly closed: Promise<void>;

  readonly #transport: Transport;
  readonly #codec: MessageCodec;
  readonly #life: Lifecycle;
  readonly #outbox: Outbox;
  readonly #handshake: Handshake;
  readonly #reassembly: Reassembly;
  readonly #calls: OutgoingCalls;
  readonly #requests: IncomingRequests;
  readonly #keepalive: Keepalive;

  /**
   * Starts the session: sends this side's hello and reads the peer's.
   *
   * @param transport The connection; the session owns it from now on.
   * @param options The codec, limits, actions and authentication.
   */
  constructor(transport: Transport, options: SessionOptions) {
    this.#transport = transport;
    this.#codec = options.codec;
    this.peer = new Peer(this, transport.peer);
    const offersActions = options.offersActions ?? yes;
    const outbox = this.#outbox = new Outbox(
      transport,
      options.codec,
      options.exposeStack,
    );
    const host = this.#host(transport, offersActions);
    const life = this.#life = new Lifecycle(
      formatAddress(transport.peer),
      host,
    );
    const handshake = this.#handshake = new Handshake(options, host);
    this.#reassembly = new Reassembly(options, host);
    this.#calls = new OutgoingCalls(outbox, host);
    this.#requests = new IncomingRequests(outbox, host, options);
    this.#keepalive = new Keepalive(host, options);
    this.ready = handshake.ready;
    this.closed = life.closed;
    handshake.start(options.handshakeTimeout);
    outbox.hello(
      handshake.hello(options.role === "client" && offersActions()),
    );
    transport.start({
      frame: (body, isBorrowed) => this.#onFrame(body, isBorrowed),
      closed: (error) => this.#onClosed(error),
    });
  }

  /** What the pieces need of their connection, in one object: each sees only its own interface. */
  #host(transport: Transport, offersActions: () => boolean): Host {
    const outbox = this.#outbox;
    const life = () => this.#life;
    const failProtocol = (error: ProtocolError) => life().breach(error);
    const settled = () => life().settled();
    const handshake = () => this.#handshake;
    const requests = () => this.#requests;
    const calls = () => this.#calls;
    return {
      peer: this.peer,
      get identity() {
        return handshake().identity;
      },
      get isClosed() {
        return life().isClosed;
      },
      get isRefusing() {
        return life().isRefusing;
      },
      get isCongested() {
        return transport.isCongested;
      },
      get lastActivity() {
        return transport.lastActivity;
      },
      get isBusy() {
        return requests().active > 0 || calls().size > 0;
      },
      drain: () => transport.drain(),
      blocked: () => transport.isCongested ? transport.drain() : undefined,
      closeTransport: () => transport.close(),
      limitFrames: (size) => transport.limitFrames?.(size),
      send: (message) => outbox.send(message),
      sendGoodbye: (error) => outbox.goodbye(error),
      hello: (hello) => outbox.setPeerLimit(hello.maxFrameSize),
      opened: (hello) => this.#opened(hello),
      failed: (error) => void life().failWith(error),
      timedOut: (error) => life().abort(error),
      peerGoodbye: (message) => this.#peerGoodbye(message),
      failProtocol,
      callError: () => life().callError(),
      busy: () => transport.ref(),
      quiet: () => offersActions() || transport.unref(),
      settled,
      ping: (id) => outbox.send([MessageType.PING, id]),
      dead: (reason) => life().abort(reason),
      idle: (reason) => void life().retire(GOODBYE_GRACE, reason),
    };
  }

  /** Whether calls may be sent: the handshake is done and neither side is leaving. */
  get isOpen(): boolean {
    return this.#life.isOpen;
  }

  /** Who the peer is: what `authenticate` returned for it, or `undefined`. */
  get identity(): unknown {
    return this.#handshake.identity;
  }

  /** Whether the peer said goodbye. */
  get isPeerLeaving(): boolean {
    return this.#life.isPeerLeaving;
  }

  /** How many of the peer's requests are being run right now. */
  get activeHandlers(): number {
    return this.#requests.active;
  }

  /** How many calls to the peer are waiting for their answers. */
  get pendingCalls(): number {
    return this.#calls.size;
  }

  /** Why the connection ended, once it has; `undefined` while open or after a clean end. */
  get endReason(): ClientError | RemoteError | undefined {
    return this.#life.endReason;
  }

  /**
   * Calls an action on the peer. Never throws: every failure is a
   * rejection. When `data` is an async iterable (or a `ReadableStream`), it
   * is sent as a stream, with flow control.
   *
   * @param action The action's name.
   * @param data The input, any value the codec can send, or a stream of them.
   * @param options A timeout and an abort signal.
   * @returns The action's result.
   */
  call(action: string, data: unknown, options?: CallOptions): Promise<unknown> {
    return this.#calls.call(action, data, options);
  }

  /**
   * Calls an action whose result is a stream.
   *
   * @param action The action's name.
   * @param data The input, or a stream of inputs.
   * @param options A timeout, an abort signal, the window, where to resume.
   * @returns The call; iterate its `receiver`.
   */
  openStream(
    action: string,
    data: unknown,
    options?: StreamOptions,
  ): StreamCall {
    return this.#calls.openStream(action, data, options);
  }

  /**
   * Tells the peer this side is closing, and answers its later requests
   * with `CONNECTION_CLOSED` (not run). Requests already running go on.
   */
  sayGoodbye(): void {
    this.#life.sayGoodbye();
  }

  /**
   * Refuses the peer: a goodbye that says why, then the close. What the
   * peer sends meanwhile is dropped unread.
   *
   * @param reason Why, as the peer will read it (code and message).
   * @returns Resolves once the connection is closed.
   */
  refuse(reason: IsockError): Promise<void> {
    const closing = this.#life.failWith(reason);
    return closing === undefined
      ? this.closed
      : closing.then(() => this.closed);
  }

  /**
   * Leaves gracefully: says goodbye, lets the peer collect its answers and
   * close (for `grace` ms at most), then closes. A request that crossed the
   * goodbye is answered "not run", so its caller can send it elsewhere.
   *
   * @param grace How long to wait for the peer to close first.
   * @param reason Why, for calls of this side still waiting.
   */
  async retire(grace: number, reason?: IsockError): Promise<void> {
    await this.#life.retire(grace, reason);
  }

  /**
   * Resolves once no request of the peer is being run, or once the
   * connection is closed (answers could no longer be delivered).
   */
  whenIdle(): Promise<void> {
    return this.#requests.whenIdle();
  }

  /**
   * Closes gracefully: writes what is queued (for a short while at most),
   * then closes the connection. Calls still waiting reject, and running
   * handlers' signals abort.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  async close(reason?: IsockError): Promise<void> {
    await this.#life.close(reason);
    return this.closed;
  }

  /**
   * Closes at once, without writing what is queued.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  abort(reason?: IsockError): void {
    this.#life.abort(reason);
  }

  #opened(hello: Hello): void {
    this.#life.open();
    // A client that offers actions waits for the server's calls: its quiet
    // is not idleness.
    if (!this.#life.isClosed) this.#keepalive.start(!hello.serves);
    for (const frame of this.#handshake.takeHeld()) {
      this.#onFrame(frame, false);
    }
  }

  #onFrame(body: Uint8Array, isBorrowed: boolean): void {
    // Once closing, what still arrives is dropped unread.
    if (this.#life.isDropping) return;
    if (!this.#handshake.isDone) {
      return this.#handshake.receive(body, isBorrowed);
    }
    let message: Message;
    try {
      message = this.#codec.decode(body, isBorrowed);
    } catch (error) {
      return this.#life.breach(error as ProtocolError);
    }
    this.#route(message, false);
  }

  /** Hands a message to its piece; `isReassembled` when it came in fragments. */
  #route(message: Message, isReassembled: boolean): void {
    switch (message.type) {
      case MessageType.REQUEST:
        this.#keepalive.noteRequest();
        return this.#requests.receive(message);
      case MessageType.RESULT:
        return this.#calls.result(message);
      case MessageType.ERROR:
        return this.#calls.error(message.id, message.error);
      case MessageType.CANCEL:
        return this.#requests.cancel(message.id);
      case MessageType.ITEM:
        return this.#calls.item(message);
      case MessageType.END:
        return this.#calls.end(message.id);
      case MessageType.CREDIT:
        return this.#requests.grant(message.id, message.count);
      case MessageType.INPUT:
        return this.#requests.input(message);
      case MessageType.INPUT_END:
        return this.#requests.inputEnd(message);
      case MessageType.INPUT_CREDIT:
        return this.#calls.grantInput(message.id, message.count);
      case MessageType.INPUT_STOP:
        return this.#calls.stopInput(message.id);
      case MessageType.FRAGMENT:
        return this.#reassemble(message, isReassembled);
      case MessageType.PING:
        return this.#outbox.send([MessageType.PONG, message.id]);
      case MessageType.PONG:
        return; // The transport already noted the sign of life.
      case MessageType.GOODBYE:
        return this.#peerGoodbye(message);
      case MessageType.AUTH:
        if (this.#handshake.answerLateAuth()) return;
    }
    this.#life.breach(
      new ProtocolError(
        "PROTOCOL",
        "An authentication message arrived after authentication.",
      ),
    );
  }

  /** Gathers a large message's fragments; handles the message once whole. */
  #reassemble(fragment: FragmentMessage, isReassembled: boolean): void {
    let message: Message;
    try {
      const whole = this.#reassembly.add(fragment, isReassembled);
      if (whole === undefined) return;
      message = this.#codec.decode(whole, false);
    } catch (error) {
      return this.#life.breach(error as ProtocolError);
    }
    this.#route(message, true);
  }

  #peerGoodbye(message: GoodbyeMessage): void {
    const reason = message.error && errorFromWire(message.error);
    this.#life.peerLeaves(reason);
    if (reason !== undefined) this.#handshake.peerLeft(reason);
  }

  #onClosed(error: unknown): void {
    const failure = this.#handshake.explain(error);
    // The peer's bytes broke the framing: tell it why, then close.
    const flushed = failure instanceof ProtocolError
      ? this.#life.failWith(failure)
      : undefined;
    if (flushed === undefined) this.#finish(failure);
    else flushed.then(() => this.#finish(failure));
  }

  #finish(failure: unknown): void {
    if (this.#life.isClosed) return;
    const reason = this.#life.end(failure);
    this.#handshake.stop(reason);
    this.#keepalive.stop();
    this.#reassembly.clear();
    this.#outbox.close();
    this.#requests.closeAll(reason);
    this.#calls.failAll(reason);
    this.#requests.releaseWaiters();
    this.#transport.close();
  }
}

function yes(): boolean {
  return true;
}
