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
import {
  type CallsHost,
  OutgoingCalls,
  type StreamCall,
} from "./outgoing_calls.ts";
import type { Authenticator } from "../protocol/auth.ts";
import type { ActionLookup } from "../dispatch/run_action.ts";
import type { CallRecorder } from "../dispatch/action_stats.ts";
import type { Middleware } from "../dispatch/middleware.ts";
import { Handshake, type HandshakeHost } from "./handshake.ts";
import { IncomingRequests, type RequestsHost } from "./incoming_requests.ts";
import { Keepalive, type KeepaliveHost } from "./keepalive.ts";
import { Lifecycle, type LifecycleHost } from "./lifecycle.ts";
import { Outbox } from "./outbox.ts";
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

// A session's pieces, built and wired to one another: each sees its
// connection only through the narrow host interface it declares, and one
// host object here implements them all. The {@linkcode Session} keeps the
// routing of messages and the order of the close.

/** How long a session that said goodbye waits for its peer to finish and close first. */
export const GOODBYE_GRACE = 1_000;

/** Everything the pieces need of their session. */
export type SessionHost =
  & LifecycleHost
  & HandshakeHost
  & ReassemblyHost
  & CallsHost
  & RequestsHost
  & KeepaliveHost;

/** The pieces of one session. */
export interface SessionPieces {
  /** The one phase of the connection, and its close. */
  readonly life: Lifecycle;
  /** Everything sent goes out here. */
  readonly outbox: Outbox;
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
}

/** What the pieces hand back to their session, which routes and closes. */
export interface SessionEvents {
  /** The handshake is done. */
  opened(hello: Hello): void;
  /** The peer said goodbye. */
  peerGoodbye(message: GoodbyeMessage): void;
}

/**
 * Builds a session's pieces over `transport` and wires them together.
 *
 * @param transport The connection.
 * @param options The session's options.
 * @param peer The other end, for the handlers and `authenticate`.
 * @param offersActions Whether this side offers actions right now.
 * @param events Where the handshake's end and the peer's goodbye go.
 * @returns The pieces.
 */
export function buildPieces(
  transport: Transport,
  options: SessionOptions,
  peer: Peer,
  offersActions: () => boolean,
  events: SessionEvents,
): SessionPieces {
  const outbox = new Outbox(transport, options.codec, options.exposeStack);
  // Filled in below; the host reads it only once a piece calls back.
  const pieces = { outbox } as {
    -readonly [K in keyof SessionPieces]: SessionPieces[K];
  };
  const host: SessionHost = {
    peer,
    get identity() {
      return pieces.handshake.identity;
    },
    get isClosed() {
      return pieces.life.isClosed;
    },
    get peerRefusal() {
      return transport.peerRefusal;
    },
    get isRefusing() {
      return pieces.life.isRefusing;
    },
    get isCongested() {
      return transport.isCongested;
    },
    get lastActivity() {
      return transport.lastActivity;
    },
    get isBusy() {
      return pieces.requests.active > 0 || pieces.calls.size > 0;
    },
    drain: () => transport.drain(),
    blocked: () => transport.isCongested ? transport.drain() : undefined,
    closeTransport: () => transport.close(),
    limitFrames: (size) => transport.limitFrames?.(size),
    send: (message) => outbox.send(message),
    sendGoodbye: (error) => outbox.goodbye(error),
    hello: (hello) => {
      outbox.setPeerLimit(hello.maxFrameSize);
      outbox.peerTakesMetadata = hello.metadata === true;
      outbox.peerTakesBatches = hello.batch === true;
    },
    opened: (hello) => events.opened(hello),
    failed: (error) => void pieces.life.failWith(error),
    timedOut: (error) => pieces.life.abort(error),
    peerGoodbye: (message) => events.peerGoodbye(message),
    failProtocol: (error: ProtocolError) => pieces.life.breach(error),
    callError: () => pieces.life.callError(),
    busy: () => transport.ref(),
    quiet: () => offersActions() || transport.unref(),
    settled: () => pieces.life.settled(),
    ping: (id) => outbox.send(outgoing.ping(id)),
    dead: (reason) => pieces.life.abort(reason),
    idle: (reason) => void pieces.life.retire(GOODBYE_GRACE, reason),
  };
  pieces.life = new Lifecycle(formatAddress(transport.peer), host);
  pieces.handshake = new Handshake(options, host);
  pieces.reassembly = new Reassembly(options, host);
  pieces.calls = new OutgoingCalls(outbox, host);
  pieces.requests = new IncomingRequests(outbox, host, options);
  pieces.keepalive = new Keepalive(host, options);
  return pieces;
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
  /** The pieces this session coordinates. */
  readonly #pieces: SessionPieces;

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
    const pieces = buildPieces(transport, options, this.peer, offersActions, {
      opened: (hello) => this.#opened(hello),
      peerGoodbye: (message) => this.#peerGoodbye(message),
    });
    this.#pieces = pieces;
    this.ready = pieces.handshake.ready;
    this.closed = pieces.life.closed;
    pieces.handshake.start(options.handshakeTimeout);
    pieces.outbox.hello(
      pieces.handshake.hello(options.role === "client" && offersActions()),
    );
    transport.start({
      frame: (body, isBorrowed) => this.#onFrame(body, isBorrowed),
      closed: (error) => this.#onClosed(error),
    });
  }

  /** Whether calls may be sent: the handshake is done and neither side is leaving. */
  get isOpen(): boolean {
    return this.#pieces.life.isOpen;
  }

  /** Who the peer is: what `authenticate` returned for it, or `undefined`. */
  get identity(): unknown {
    return this.#pieces.handshake.identity;
  }

  /** Whether the peer said goodbye. */
  get isPeerLeaving(): boolean {
    return this.#pieces.life.isPeerLeaving;
  }

  /** How many of the peer's requests are being run right now. */
  get activeHandlers(): number {
    return this.#pieces.requests.active;
  }

  /** How many calls to the peer are waiting for their answers. */
  get pendingCalls(): number {
    return this.#pieces.calls.size;
  }

  /** Why the connection ended, once it has; `undefined` while open or after a clean end. */
  get endReason(): ClientError | RemoteError | undefined {
    return this.#pieces.life.endReason;
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
    return this.#pieces.calls.call(action, data, options);
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
    return this.#pieces.calls.openStream(action, data, options);
  }

  /**
   * Tells the peer this side is closing, and answers its later requests
   * with `CONNECTION_CLOSED` (not run). Requests already running go on.
   */
  sayGoodbye(): void {
    this.#pieces.life.sayGoodbye();
  }

  /**
   * Refuses the peer: a goodbye that says why, then the close. What the
   * peer sends meanwhile is dropped unread.
   *
   * @param reason Why, as the peer will read it (code and message).
   * @returns Resolves once the connection is closed.
   */
  refuse(reason: IsockError): Promise<void> {
    const closing = this.#pieces.life.failWith(reason);
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
    await this.#pieces.life.retire(grace, reason);
  }

  /**
   * Resolves once no request of the peer is being run, or once the
   * connection is closed (answers could no longer be delivered).
   */
  whenIdle(): Promise<void> {
    return this.#pieces.requests.whenIdle();
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
    return this.#pieces.requests.abortHandlers(reason);
  }

  /**
   * Closes gracefully: writes what is queued (for a short while at most),
   * then closes the connection. Calls still waiting reject, and running
   * handlers' signals abort.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  async close(reason?: IsockError): Promise<void> {
    await this.#pieces.life.close(reason);
    return this.closed;
  }

  /**
   * Closes at once, without writing what is queued.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  abort(reason?: IsockError): void {
    this.#pieces.life.abort(reason);
  }

  #opened(hello: Hello): void {
    this.#pieces.life.open();
    // A client that offers actions waits for the server's calls: its quiet
    // is not idleness.
    if (!this.#pieces.life.isClosed) {
      this.#pieces.keepalive.start(!hello.serves);
    }
    for (const frame of this.#pieces.handshake.takeHeld()) {
      this.#onFrame(frame, false);
    }
  }

  /** @returns Whether nothing refers to `body` any more: a fragment's bytes were copied into its message. */
  #onFrame(body: Uint8Array, isBorrowed: boolean): boolean {
    // Once closing, what still arrives is dropped unread.
    if (this.#pieces.life.isDropping) return false;
    if (!this.#pieces.handshake.isDone) {
      this.#pieces.handshake.receive(body, isBorrowed);
      return false;
    }
    let message: Message;
    try {
      message = this.#codec.decode(body, isBorrowed);
    } catch (error) {
      this.#pieces.life.breach(error as ProtocolError);
      return false;
    }
    this.#route(message, false, body.length);
    return message.type === MessageType.FRAGMENT;
  }

  /**
   * Hands a message to its piece; `isReassembled` when it came in
   * fragments; `size` is its encoded length, which byte credit counts.
   */
  #route(message: Message, isReassembled: boolean, size: number): void {
    switch (message.type) {
      case MessageType.REQUEST:
        this.#pieces.keepalive.noteRequest();
        return this.#pieces.requests.receive(message);
      case MessageType.RESULT:
        return this.#pieces.calls.result(message);
      case MessageType.ERROR:
        return this.#pieces.calls.error(message.id, message.error, message);
      case MessageType.CANCEL:
        return this.#pieces.requests.cancel(message.id);
      case MessageType.ITEM:
        return this.#pieces.calls.item(message, size);
      case MessageType.ITEMS:
        return this.#pieces.calls.items(message, size);
      case MessageType.END:
        return this.#pieces.calls.end(message);
      case MessageType.CREDIT:
        return this.#pieces.requests.grant(
          message.id,
          message.count,
          message.byteCount,
        );
      case MessageType.INPUT:
        return this.#pieces.requests.input(message, size);
      case MessageType.INPUTS:
        return this.#pieces.requests.inputs(message, size);
      case MessageType.INPUT_END:
        return this.#pieces.requests.inputEnd(message);
      case MessageType.INPUT_CREDIT:
        return this.#pieces.calls.grantInput(
          message.id,
          message.count,
          message.byteCount,
        );
      case MessageType.INPUT_STOP:
        return this.#pieces.calls.stopInput(message.id);
      case MessageType.FRAGMENT:
        return this.#reassemble(message, isReassembled);
      case MessageType.PING:
        return this.#pieces.outbox.send(outgoing.pong(message.id));
      case MessageType.PONG:
        return; // The transport already noted the sign of life.
      case MessageType.GOODBYE:
        return this.#peerGoodbye(message);
      case MessageType.AUTH:
        if (this.#pieces.handshake.answerLateAuth()) return;
    }
    this.#pieces.life.breach(
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
      const whole = this.#pieces.reassembly.add(fragment, isReassembled);
      if (whole === undefined) return;
      size = whole.length;
      message = this.#codec.decode(whole, false);
    } catch (error) {
      return this.#pieces.life.breach(error as ProtocolError);
    }
    this.#route(message, true, size);
  }

  #peerGoodbye(message: GoodbyeMessage): void {
    const reason = message.error && errorFromWire(message.error);
    this.#pieces.life.peerLeaves(reason);
    if (reason !== undefined) this.#pieces.handshake.peerLeft(reason);
  }

  #onClosed(error: unknown): void {
    const failure = this.#pieces.handshake.explain(error);
    // The peer's bytes broke the framing: tell it why, then close.
    const flushed = failure instanceof ProtocolError
      ? this.#pieces.life.failWith(failure)
      : undefined;
    if (flushed === undefined) this.#finish(failure);
    else flushed.then(() => this.#finish(failure));
  }

  #finish(failure: unknown): void {
    if (this.#pieces.life.isClosed) return;
    const reason = this.#pieces.life.end(failure);
    this.#pieces.handshake.stop(reason);
    this.#pieces.keepalive.stop();
    this.#pieces.reassembly.clear();
    this.#pieces.outbox.close();
    this.#pieces.requests.closeAll(reason);
    this.#pieces.calls.failAll(reason);
    this.#pieces.requests.releaseWaiters();
    this.#transport.close();
  }
}

function yes(): boolean {
  return true;
}
