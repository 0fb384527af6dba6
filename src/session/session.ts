/**
 * One connection between two peers, as a small coordinator: it owns the
 * transport, routes each message to the piece that handles it (the
 * handshake, the outgoing calls, the incoming requests, the reassembly),
 * and ties the pieces to the lifecycle. It reads and writes frames through
 * a {@linkcode Transport} and never touches a socket. Both ends of a
 * connection run the same session: a server passes the actions it offers,
 * and so does a client, once it offers some.
 *
 * @module
 */

import {
  type ClientError,
  type IsockError,
  ProtocolError,
  type RemoteError,
} from "../base/errors.ts";
import {
  type FragmentMessage,
  type GoodbyeMessage,
  type Message,
  outgoing,
  type OutgoingMessage,
} from "../protocol/message_table.ts";
import type { Hello } from "../protocol/hello.ts";
import type { MessageCodec } from "../protocol/message_codec.ts";
import { MessageType } from "../protocol/message_type.ts";
import { errorFromWire } from "../protocol/wire_error.ts";
import { formatAddress, type Transport } from "../wire/transport.ts";
import {
  type CallOptions,
  Peer,
  type PeerConnection,
  type StreamOptions,
} from "../dispatch/peer.ts";
import { OutgoingCalls, type StreamCall } from "./outgoing_calls.ts";
import type { Authenticator } from "../protocol/auth.ts";
import type { ActionLookup } from "../dispatch/run_action.ts";
import type { CallRecorder } from "../dispatch/action_stats.ts";
import type { Middleware } from "../dispatch/middleware.ts";
import { Handshake, type HandshakeHost } from "./handshake.ts";
import { IncomingRequests } from "./incoming_requests.ts";
import { Keepalive, type KeepaliveHost } from "./keepalive.ts";
import { Lifecycle, type LifecycleHost } from "./lifecycle.ts";
import { Outbox } from "./outbox.ts";
import {
  type ConnectionContext,
  NO_FEATURES,
  type PeerFeatures,
} from "./connection.ts";
import { Reassembly, type ReassemblyHost } from "./reassembly.ts";

// The options a session is made with: the codec, the limits, the actions
// and the authentication.

/** Options of {@linkcode Session}. */
export interface SessionOptions {
  /** Reads and writes messages. */
  codec: MessageCodec;
  /** Which end of the connection this is. */
  role: "client" | "server";
  /** The largest frame body this side accepts, announced in the hello. */
  maxFrameSize: number;
  /** How long to wait for the peer's hello (and authentication), in milliseconds. */
  handshakeTimeout: number;
  /** Milliseconds between pings; the peer is dead after three silent intervals. 0 turns heartbeats off. */
  heartbeatInterval: number;
  /** Milliseconds without calls after which the connection is closed; 0 never. */
  idleTimeout?: number;
  /** The actions this side runs for its peer; none when omitted. */
  actions?: ActionLookup;
  /**
   * How long a fragmented message may go without a new piece, in
   * milliseconds, before the peer is taken to be holding memory on purpose.
   *
   * @default {30000}
   */
  reassemblyTimeout?: number;
  /** How many of the peer's requests may run at once; more are refused with `OVERLOADED`. */
  maxInFlight?: number;
  /** Whether error stacks are sent to the peer. */
  exposeStack?: boolean;
  /** Where the calls run for the peer are counted (a server's stats). */
  stats?: CallRecorder;
  /** Middleware around the peer's requests; none when omitted. */
  middleware?: readonly Middleware[];
  /** How this side authenticates (client) or checks the peer (server). */
  auth?: Authenticator;
  /**
   * Whether this side offers actions to its peer right now (a server always
   * does). Such a connection keeps the process alive while no call is on its
   * way, and a client's hello says so, so that the server does not close it
   * for being idle. A client that offers none lets a script end that forgot
   * to close it.
   */
  offersActions?: () => boolean;
}

/** How long a session that said goodbye waits for its peer to finish and close first. */
export const GOODBYE_GRACE = 1_000;

/** What the connection hands back to its session, which routes and closes. */
interface SessionEvents {
  /** The handshake is done. */
  opened(hello: Hello): void;
  /** The peer said goodbye. */
  peerGoodbye(message: GoodbyeMessage): void;
}

/**
 * One connection over a socket, as its pieces see it: the
 * {@linkcode ConnectionContext} of the calls and the requests, and the
 * narrow hosts of the lifecycle, the handshake, the keepalive and the
 * reassembly, as methods of one object. It builds the pieces and wires
 * them to one another; the {@linkcode Session} keeps the delivery of
 * messages and the order of the close.
 */
class SocketConnection
  implements
    ConnectionContext,
    LifecycleHost,
    HandshakeHost,
    KeepaliveHost,
    ReassemblyHost {
  /** What the peer's hello settled; nothing assumed before it. */
  features: PeerFeatures = NO_FEATURES;
  readonly out: Outbox;
  readonly peer: Peer;
  /** The one phase of the connection, and its close. */
  readonly life: Lifecycle;
  /** The hello and the authentication. */
  readonly handshake: Handshake;
  /** Large messages gathered from their fragments. */
  readonly reassembly: Reassembly;
  /** The calls this side makes. */
  readonly calls: OutgoingCalls;
  /** The peer's requests. */
  readonly requests: IncomingRequests;
  /** Heartbeat and idle timeout. */
  readonly keepalive: Keepalive;
  readonly #transport: Transport;
  readonly #offersActions: () => boolean;
  readonly #events: SessionEvents;

  /**
   * Builds a session's pieces over `transport` and wires them together.
   *
   * @param transport The connection.
   * @param options The session's options.
   * @param peer The other end, for the handlers and `authenticate`.
   * @param offersActions Whether this side offers actions right now.
   * @param events Where the handshake's end and the peer's goodbye go.
   */
  constructor(
    transport: Transport,
    options: SessionOptions,
    peer: Peer,
    offersActions: () => boolean,
    events: SessionEvents,
  ) {
    this.#transport = transport;
    this.#offersActions = offersActions;
    this.#events = events;
    this.peer = peer;
    this.out = new Outbox(transport, options.codec, options.exposeStack);
    this.life = new Lifecycle(formatAddress(transport.peer), this);
    this.handshake = new Handshake(options, this);
    this.reassembly = new Reassembly(options, this);
    this.calls = new OutgoingCalls(this);
    this.requests = new IncomingRequests(this, options);
    this.keepalive = new Keepalive(this, options);
  }

  get identity(): unknown {
    return this.handshake.identity;
  }

  get isClosed(): boolean {
    return this.life.isClosed;
  }

  get peerRefusal(): string | undefined {
    return this.#transport.peerRefusal;
  }

  get isRefusing(): boolean {
    return this.life.isRefusing;
  }

  get isCongested(): boolean {
    return this.#transport.isCongested;
  }

  get lastActivity(): number {
    return this.#transport.lastActivity;
  }

  get isBusy(): boolean {
    return this.requests.active > 0 || this.calls.size > 0;
  }

  drain(): Promise<void> {
    return this.#transport.drain();
  }

  blocked(): Promise<void> | undefined {
    return this.#transport.isCongested ? this.#transport.drain() : undefined;
  }

  closeTransport(): void {
    this.#transport.close(this.life.closeReason);
  }

  limitFrames(size: number): void {
    this.#transport.limitFrames?.(size);
  }

  send(message: OutgoingMessage): void {
    this.out.send(message);
  }

  sendGoodbye(error?: IsockError): void {
    this.out.goodbye(error);
  }

  negotiated(features: PeerFeatures): void {
    this.features = features;
    this.out.negotiated(features);
  }

  opened(hello: Hello): void {
    this.#events.opened(hello);
  }

  failed(error: ClientError | ProtocolError): void {
    void this.life.failWith(error);
  }

  timedOut(error: ClientError | ProtocolError): void {
    this.life.abort(error);
  }

  peerGoodbye(message: GoodbyeMessage): void {
    this.#events.peerGoodbye(message);
  }

  failProtocol(error: ProtocolError): void {
    this.life.breach(error);
  }

  callError(): ClientError | RemoteError {
    return this.life.callError();
  }

  busy(): void {
    this.#transport.ref();
  }

  quiet(): void {
    this.#offersActions() || this.#transport.unref();
  }

  settled(): void {
    this.life.settled();
  }

  ping(id: number): void {
    this.out.send(outgoing.ping(id));
  }

  dead(reason: ClientError): void {
    this.life.abort(reason);
  }

  idle(reason: ClientError): void {
    void this.life.retire(GOODBYE_GRACE, reason);
  }
}

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
  /** The connection as its pieces see it, and the pieces. */
  readonly #connection: SocketConnection;

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
    const connection = new SocketConnection(
      transport,
      options,
      this.peer,
      offersActions,
      {
        opened: (hello) => this.#opened(hello),
        peerGoodbye: (message) => this.#peerGoodbye(message),
      },
    );
    this.#connection = connection;
    this.ready = connection.handshake.ready;
    this.closed = connection.life.closed;
    connection.handshake.start(options.handshakeTimeout);
    connection.out.hello(
      connection.handshake.hello(options.role === "client" && offersActions()),
    );
    transport.start({
      frame: (body, isBorrowed) => this.#onFrame(body, isBorrowed),
      closed: (error) => this.#onClosed(error),
    });
  }

  /** Whether calls may be sent: the handshake is done and neither side is leaving. */
  get isOpen(): boolean {
    return this.#connection.life.isOpen;
  }

  /** Who the peer is: what `authenticate` returned for it, or `undefined`. */
  get identity(): unknown {
    return this.#connection.handshake.identity;
  }

  /** Whether the peer said goodbye. */
  get isPeerLeaving(): boolean {
    return this.#connection.life.isPeerLeaving;
  }

  /** How many of the peer's requests are being run right now. */
  get activeHandlers(): number {
    return this.#connection.requests.active;
  }

  /** How many calls to the peer are waiting for their answers. */
  get pendingCalls(): number {
    return this.#connection.calls.size;
  }

  /** Why the connection ended, once it has; `undefined` while open or after a clean end. */
  get endReason(): ClientError | RemoteError | undefined {
    return this.#connection.life.endReason;
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
    return this.#connection.calls.call(action, data, options);
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
    return this.#connection.calls.openStream(action, data, options);
  }

  /**
   * Tells the peer this side is closing, and answers its later requests
   * with `CONNECTION_CLOSED` (not run). Requests already running go on.
   */
  sayGoodbye(): void {
    this.#connection.life.sayGoodbye();
  }

  /**
   * Refuses the peer: a goodbye that says why, then the close. What the
   * peer sends meanwhile is dropped unread.
   *
   * @param reason Why, as the peer will read it (code and message).
   * @returns Resolves once the connection is closed.
   */
  refuse(reason: IsockError): Promise<void> {
    const closing = this.#connection.life.failWith(reason);
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
    await this.#connection.life.retire(grace, reason);
  }

  /**
   * Resolves once no request of the peer is being run, or once the
   * connection is closed (answers could no longer be delivered).
   */
  whenIdle(): Promise<void> {
    return this.#connection.requests.whenIdle();
  }

  /**
   * Gives up on the peer's requests still running, before closing: their
   * signals abort, their streams stop, their inputs fail, and what their
   * handlers answer is dropped (the close tells the peer).
   *
   * @param reason The signals' reason.
   * @returns How many requests it gave up on.
   */
  abortHandlers(reason: IsockError): number {
    return this.#connection.requests.abortHandlers(reason);
  }

  /**
   * Closes gracefully: writes what is queued (for a short while at most),
   * then closes the connection. Calls still waiting reject, and running
   * handlers' signals abort.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  async close(reason?: IsockError): Promise<void> {
    await this.#connection.life.close(reason);
    return this.closed;
  }

  /**
   * Closes at once, without writing what is queued.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  abort(reason?: IsockError): void {
    this.#connection.life.abort(reason);
  }

  #opened(hello: Hello): void {
    this.#connection.life.open();
    // A client that offers actions waits for the server's calls: its quiet
    // is not idleness.
    if (!this.#connection.life.isClosed) {
      this.#connection.keepalive.start(!hello.serves);
    }
    for (const frame of this.#connection.handshake.takeHeld()) {
      this.#onFrame(frame, false);
    }
  }

  /** @returns Whether nothing refers to `body` any more: a fragment's bytes were copied into its message. */
  #onFrame(body: Uint8Array, isBorrowed: boolean): boolean {
    // Once closing, what still arrives is dropped unread.
    if (this.#connection.life.isDropping) return false;
    if (!this.#connection.handshake.isDone) {
      this.#connection.handshake.receive(body, isBorrowed);
      return false;
    }
    let message: Message;
    try {
      message = this.#codec.decode(body, isBorrowed);
    } catch (error) {
      this.#connection.life.breach(error as ProtocolError);
      return false;
    }
    this.#deliver(message, false, body.length);
    return message.type === MessageType.FRAGMENT;
  }

  /**
   * Hands a message to its owner; `isReassembled` when it came in
   * fragments; `size` is its encoded length, which byte credit counts.
   */
  #deliver(message: Message, isReassembled: boolean, size: number): void {
    const connection = this.#connection;
    switch (message.type) {
      case MessageType.REQUEST:
        connection.keepalive.noteRequest();
        return connection.requests.receive(message);
      case MessageType.CANCEL:
      case MessageType.CREDIT:
      case MessageType.INPUT:
      case MessageType.INPUTS:
      case MessageType.INPUT_END:
        return connection.requests.receive(message, size);
      case MessageType.RESULT:
      case MessageType.ERROR:
      case MessageType.ITEM:
      case MessageType.ITEMS:
      case MessageType.END:
      case MessageType.INPUT_CREDIT:
      case MessageType.INPUT_STOP:
        return connection.calls.receive(message, size);
      case MessageType.FRAGMENT:
        return this.#reassemble(message, isReassembled);
      case MessageType.PING:
        return this.#connection.out.send(outgoing.pong(message.id));
      case MessageType.PONG:
        return; // The transport already noted the sign of life.
      case MessageType.GOODBYE:
        return this.#peerGoodbye(message);
      case MessageType.AUTH:
        if (this.#connection.handshake.answerLateAuth()) return;
    }
    this.#connection.life.breach(
      new ProtocolError(
        "PROTOCOL",
        "An authentication message arrived after authentication.",
      ),
    );
  }

  /** Gathers a large message's fragments; handles the message once whole. */
  #reassemble(fragment: FragmentMessage, isReassembled: boolean): void {
    let message: Message;
    let size: number;
    try {
      const whole = this.#connection.reassembly.add(fragment, isReassembled);
      if (whole === undefined) return;
      size = whole.length;
      message = this.#codec.decode(whole, false);
    } catch (error) {
      return this.#connection.life.breach(error as ProtocolError);
    }
    this.#deliver(message, true, size);
  }

  #peerGoodbye(message: GoodbyeMessage): void {
    const reason = message.error && errorFromWire(message.error);
    this.#connection.life.peerLeaves(reason);
    if (reason !== undefined) this.#connection.handshake.peerLeft(reason);
  }

  #onClosed(error: unknown): void {
    const failure = this.#connection.handshake.explain(error);
    // The peer's bytes broke the framing: tell it why, then close.
    const flushed = failure instanceof ProtocolError
      ? this.#connection.life.failWith(failure)
      : undefined;
    if (flushed === undefined) this.#finish(failure);
    else flushed.then(() => this.#finish(failure));
  }

  #finish(failure: unknown): void {
    if (this.#connection.life.isClosed) return;
    const reason = this.#connection.life.end(failure);
    this.#connection.handshake.stop(reason);
    this.#connection.keepalive.stop();
    this.#connection.reassembly.clear();
    this.#connection.out.close();
    this.#connection.requests.closeAll(reason);
    this.#connection.calls.failAll(reason);
    this.#connection.requests.releaseWaiters();
    this.#transport.close();
  }
}

function yes(): boolean {
  return true;
}
