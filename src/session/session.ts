/**
 * One connection between two peers: the hello and authentication, request
 * ids, the calls waiting for answers, the requests being run, cancellation
 * and heartbeats. It reads and writes frames through a
 * {@linkcode Transport} and never touches a socket. Both ends of a
 * connection run the same session: a server passes the actions it offers,
 * a client passes none.
 *
 * @module
 */

import type { Action, ActionHandler } from "../dispatch/action.ts";
import {
  type Authenticator,
  NONCE_LABELS,
  prove,
  verify,
} from "../protocol/auth.ts";
import {
  ClientError,
  CodecError,
  type IsockError,
  ProtocolError,
  RemoteError,
} from "../base/errors.ts";
import {
  type FragmentMessage,
  type Hello,
  type ItemMessage,
  MAX_WINDOW,
  type Message,
  type MessageCodec,
  MessageType,
  NONCE_SIZE,
  PROTOCOL_VERSION,
  type RequestMessage,
  type WireError,
} from "../protocol/messages.ts";
import { describeIssues, validate, type Validation } from "../base/schema.ts";
import {
  DEFAULT_WINDOW,
  isStreamSource,
  StreamReceiver,
  StreamSender,
} from "../protocol/stream.ts";
import type { PeerAddress, Transport } from "../wire/transport.ts";
import { Peer } from "../dispatch/peer.ts";
import { every } from "../base/ticker.ts";
import {
  abortedError,
  type CallOptions,
  PendingCall,
  StreamCall,
  type StreamOptions,
} from "./call.ts";
import {
  FRAGMENT_SIZE,
  FRAGMENT_THRESHOLD,
  MAX_FRAGMENTED,
  pieces,
} from "../protocol/fragments.ts";
import { RequestContext } from "../dispatch/request_context.ts";
import {
  errorFromWire,
  safeString,
  wasNotRun,
  wireError,
} from "../protocol/wire_error.ts";

export type { CallOptions, StreamOptions } from "./call.ts";
export { wasNotRun };

/** Finds the action to run for a request, by name. */
export type ActionLookup = (name: string) => Action | undefined;

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

/** How long a closing session waits for its last frames to be written. */
const FLUSH_TIMEOUT = 2_000;
/** How long a session that said goodbye waits for its peer to finish and close first. */
const GOODBYE_GRACE = 1_000;
/** The input items a caller may send before the handler grants more (PROTOCOL.md, "Streams"). */
export const INPUT_WINDOW = 16;

/** The longest call timeout: what a timer can wait. */
const MAX_TIMEOUT = 2 ** 31 - 1;
/** A peer silent for this many heartbeat intervals is taken for dead. */
const MISSED_HEARTBEATS = 3;
/** How many times an interval the heartbeat looks at the silence. */
const HEARTBEAT_CHECKS = 4;
/**
 * The largest frame accepted after the hello and before the handshake is
 * complete: room for an AUTH with credentials, not for a peer that has not
 * proved anything to make this side hold megabytes.
 */
export const MAX_PRE_AUTH_FRAME = 64 * 1024;
/** The default of {@linkcode SessionOptions.reassemblyTimeout}. */
const REASSEMBLY_TIMEOUT = 30_000;

/** hello: waiting for the peer's hello; auth: for its AUTH or AUTH_OK; checking: verifying it; open: serving calls. */
type SessionState = "hello" | "auth" | "checking" | "open";

/** One live connection, from the hello to the close. */
export class Session {
  /** The other end: its address, identity, and the actions it offers. */
  readonly peer: Peer;
  /** Resolves once the hello (and authentication) is done; rejects if it fails. */
  readonly ready: Promise<Hello>;
  /** Resolves once the connection is closed and every call is settled. */
  readonly closed: Promise<void>;

  readonly #transport: Transport;
  readonly #codec: MessageCodec;
  readonly #role: "client" | "server";
  readonly #actions: ActionLookup | undefined;
  readonly #maxInFlight: number;
  readonly #exposeStack: boolean;
  readonly #auth: Authenticator;
  /** This side's nonce; a server without authentication needs none. */
  readonly #nonce: Uint8Array;
  readonly #pendingCalls = new Map<number, PendingCall>();
  /** The peer's requests whose results are being streamed to it. */
  #resultStreams: Map<number, StreamSender> | undefined;
  /** The peer's requests whose data is streaming in. */
  #inputStreams: Map<number, StreamReceiver> | undefined;
  /** Large messages arriving in fragments, by fragment id. */
  #fragments: Map<number, Reassembly> | undefined;
  /** The bytes set aside for them: at most this side's maxFrameSize. */
  #reassemblyBytes = 0;
  readonly #reassemblyTimeout: number;
  #stopReassemblyCheck: (() => void) | undefined;
  #nextFragment = 1;
  /** Fragmented messages this side is sending, and their total size: kept within the peer's budget. */
  #fragmentsOut = 0;
  #fragmentBytesOut = 0;
  #fragmentWaiters: (() => void)[] = [];
  readonly #maxFrameSize: number;
  /** The windows of the peer's requests that take a streamed result, until the result comes. */
  #streamWindows: Map<number, number> | undefined;
  /** The peer's requests being run, by id. */
  #running: Map<number, RequestContext> | undefined;
  #state: SessionState = "hello";
  #nextRequestId = 1;
  #nextPing = 1;
  #peerHello: Hello | undefined;
  #identity: unknown;
  #activeHandlers = 0;
  #requestsSinceIdleCheck = 0;
  #idleChecks = 0;
  #idleWaiters: (() => void)[] = [];
  /** Requests that arrived while answers could not be written; run once they can. */
  #deferred: RequestMessage[] = [];
  /** Client: frames that arrived right behind the server's AUTH_OK, handled once it is verified. */
  #afterAuthOk: Uint8Array[] = [];
  /** The ids of the deferred requests: in flight as much as running ones. */
  #deferredIds = new Set<number>();
  #timers: ReturnType<typeof setTimeout>[] = [];
  #stopTicks: (() => void)[] = [];
  #resolveReady!: (hello: Hello) => void;
  #rejectReady!: (error: unknown) => void;
  #resolveClosed!: () => void;
  readonly #offersActions: () => boolean;
  /** Why this side is closing the connection, once it is. */
  #closeReason: IsockError | undefined;
  /** Why the peer said it was closing, from its goodbye. */
  #goodbyeReason: IsockError | undefined;
  /** Why the connection ended, once it has. */
  #endReason: ClientError | RemoteError | undefined;
  #isClosed = false;
  /** This side chose to close, with no error: the end is a clean one. */
  #isClosingGracefully = false;
  #isRefusingRequests = false;
  #isPeerLeaving = false;

  /**
   * Starts the session: sends this side's hello and reads the peer's.
   *
   * @param transport The connection; the session owns it from now on.
   * @param options The codec, limits, actions and authentication.
   */
  constructor(transport: Transport, options: SessionOptions) {
    this.#transport = transport;
    this.peer = new Peer(this, transport.peer);
    this.#codec = options.codec;
    this.#role = options.role;
    this.#actions = options.actions;
    this.#maxInFlight = options.maxInFlight ?? Infinity;
    this.#maxFrameSize = options.maxFrameSize;
    this.#reassemblyTimeout = options.reassemblyTimeout ?? REASSEMBLY_TIMEOUT;
    this.#exposeStack = options.exposeStack ?? true;
    this.#auth = options.auth ?? {};
    this.#nonce = this.#role === "client" || isAuthRequired(this.#auth)
      ? crypto.getRandomValues(new Uint8Array(NONCE_SIZE))
      : new Uint8Array(0);
    this.#offersActions = options.offersActions ?? yes;
    this.ready = new Promise<Hello>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Whoever awaits `ready` sees the failure; nobody has to.
    this.ready.catch(ignore);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#startHandshakeTimer(options.handshakeTimeout);
    this.ready.then(() => this.#startTimers(options), ignore);
    transport.send([this.#codec.encodeHello({
      version: PROTOCOL_VERSION,
      maxFrameSize: options.maxFrameSize,
      nonce: this.#nonce,
      authRequired: this.#role === "server" && isAuthRequired(this.#auth),
      serves: this.#role === "client" && this.#offersActions(),
    })]);
    transport.start({
      frame: (body, isBorrowed) => this.#onFrame(body, isBorrowed),
      closed: (error) => this.#onClosed(error),
    });
  }

  /** Whether calls may be sent: the handshake is done and neither side is leaving. */
  get isOpen(): boolean {
    return this.#state === "open" && !this.#isClosed &&
      !this.#isPeerLeaving && !this.#isRefusingRequests;
  }

  /** Who the peer is: what `authenticate` returned for it, or `undefined`. */
  get identity(): unknown {
    return this.#identity;
  }

  /** Whether the peer said goodbye. */
  get isPeerLeaving(): boolean {
    return this.#isPeerLeaving;
  }

  /** How many of the peer's requests are being run right now. */
  get activeHandlers(): number {
    return this.#activeHandlers;
  }

  /** How many calls to the peer are waiting for their answers. */
  get pendingCalls(): number {
    return this.#pendingCalls.size;
  }

  /** Why the connection ended, once it has; `undefined` while open or after a clean end. */
  get endReason(): ClientError | RemoteError | undefined {
    return this.#endReason;
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
  call(
    action: string,
    data: unknown,
    options?: CallOptions,
  ): Promise<unknown> {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#request(action, data, options, new PendingCall(resolve, reject));
    return promise;
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
    options: StreamOptions = {},
  ): StreamCall {
    const window = options.window ?? DEFAULT_WINDOW;
    let id = 0;
    const isBadWindow = !Number.isInteger(window) || window < 1 ||
      window > MAX_WINDOW;
    const call = new StreamCall(
      new StreamReceiver(window, {
        grant: (count) => this.#sendIfOpen([MessageType.CREDIT, id, count]),
        stop: () => {
          if (this.#takeCall(id) !== undefined) {
            this.#sendIfOpen([MessageType.CANCEL, id]);
          }
        },
      }),
    );
    const meta: Record<string, unknown> = { stream: window };
    if (options.lastEventId !== undefined) {
      meta.lastEventId = options.lastEventId;
    }
    if (isBadWindow) {
      call.fail(
        new ClientError(
          "INVALID_OPTIONS",
          `Option window must be an integer from 1 to ${MAX_WINDOW}; got ${
            safeString(window)
          }.`,
        ),
      );
      return call;
    }
    id = this.#request(action, data, options, call, meta);
    return call;
  }

  /** Sends a request for `call`; returns its id. Failures go to the call. */
  #request(
    action: string,
    data: unknown,
    options: CallOptions | undefined,
    call: PendingCall,
    meta?: Record<string, unknown>,
  ): number {
    if (this.#isClosed) {
      call.fail(this.#callError());
      return 0;
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      call.fail(abortedError(signal));
      return 0;
    }
    const timeout = options?.timeout ?? 0;
    if (!(timeout >= 0 && timeout <= MAX_TIMEOUT)) {
      call.fail(
        new ClientError(
          "INVALID_OPTIONS",
          `Option timeout must be a number of milliseconds from 0 to ${MAX_TIMEOUT}; got ${
            safeString(timeout)
          }.`,
        ),
      );
      return 0;
    }
    const isInputStream = isStreamSource(data);
    if (timeout > 0 || isInputStream) {
      meta = { ...meta };
      if (timeout > 0) meta.timeout = timeout;
      if (isInputStream) meta.input = true;
    }
    const id = this.#nextRequestId++;
    let parts: Uint8Array[];
    try {
      parts = this.#codec.encode(
        meta === undefined ? [MessageType.REQUEST, id, action, data] : [
          MessageType.REQUEST,
          id,
          action,
          isInputStream ? null : data,
          meta,
        ],
      );
      this.#checkSize(parts, `The request to "${action}"`);
    } catch (error) {
      call.fail(error);
      return id;
    }
    this.#pendingCalls.set(id, call);
    if (this.#pendingCalls.size === 1) this.#transport.ref();
    if (timeout > 0) {
      call.timer = setTimeout(() => {
        const items = call instanceof StreamCall ? call.itemCount : 0;
        this.#cancel(
          id,
          new ClientError(
            "TIMEOUT",
            items > 0
              ? `The stream from "${action}" timed out after ${items} item${
                items === 1 ? "" : "s"
              }: its ${timeout} ms were up before it ended.`
              : `"${action}" did not answer within ${timeout} ms.`,
          ),
        );
      }, timeout);
    }
    if (signal !== undefined) {
      call.signal = signal;
      call.onAbort = () => this.#cancel(id, abortedError(signal));
      signal.addEventListener("abort", call.onAbort, { once: true });
    }
    this.#sendData(parts);
    if (isInputStream) this.#streamInput(id, call, data);
    return id;
  }

  /** Sends a call's data as a stream of INPUT messages, as the peer grants credit. */
  #streamInput(
    id: number,
    call: PendingCall,
    source: AsyncIterable<unknown>,
  ): void {
    call.input = new StreamSender(source, {
      item: (value) => this.#sendChecked([MessageType.INPUT, id, value]),
      end: () => this.#sendIfOpen([MessageType.INPUT_END, id]),
      fail: (error) =>
        this.#sendIfOpen([
          MessageType.INPUT_END,
          id,
          this.#wireError("ACTION_FAILED", error),
        ]),
      blocked: this.#blocked,
    }, INPUT_WINDOW);
    call.input.run();
  }

  /** Gives up on a call: fails it, and tells the peer so its handler can stop. */
  #cancel(id: number, reason: ClientError): void {
    const call = this.#takeCall(id);
    if (call === undefined) return;
    call.fail(reason);
    this.#sendIfOpen([MessageType.CANCEL, id]);
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
   * Refuses the peer: a goodbye that says why, then the close. What the
   * peer sends meanwhile is dropped unread.
   *
   * @param reason Why, as the peer will read it (code and message).
   * @returns Resolves once the connection is closed.
   */
  refuse(reason: IsockError): Promise<void> {
    if (this.#isClosed || this.#closeReason !== undefined) return this.closed;
    this.#closeReason = reason;
    this.#sendGoodbye(reason);
    return this.#flushAndClose().then(() => this.closed);
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
    this.sayGoodbye();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.closed,
      new Promise((resolve) =>
        timer = housekeeping(setTimeout(resolve, grace))
      ),
    ]);
    clearTimeout(timer);
    await this.close(reason);
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
   * then closes the connection. Calls still waiting reject, and running
   * handlers' signals abort.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  async close(reason?: IsockError): Promise<void> {
    if (this.#isClosed) return this.closed;
    this.#isClosingGracefully ||= this.#closeReason === undefined;
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

  #startHandshakeTimer(timeout: number): void {
    const timer = setTimeout(() => {
      if (this.#state === "open") return;
      const message = `No isock handshake from ${
        describe(this.peer)
      } within ${timeout} ms: is it an isock peer?`;
      // For a client this is a failed connection attempt, tried again like
      // a refused one; for a server, a peer that broke the protocol.
      this.abort(
        this.#role === "client"
          ? new ClientError("CONNECT_FAILED", message)
          : new ProtocolError("PROTOCOL", message),
      );
    }, timeout);
    this.#timers.push(housekeeping(timer));
    this.ready.then(() => clearTimeout(timer), ignore);
  }

  #startTimers(options: SessionOptions): void {
    if (this.#isClosed) return;
    const { heartbeatInterval, idleTimeout = 0 } = options;
    // Shared timers: ten thousand idle connections cost two timers in all.
    if (heartbeatInterval > 0) {
      // Checked four times an interval, so that a dead peer is found within
      // three intervals of its last sign of life, not up to four.
      let tick = 0;
      this.#stopTicks.push(
        every(heartbeatInterval / HEARTBEAT_CHECKS, () => {
          const isPingDue = ++tick % HEARTBEAT_CHECKS === 0;
          this.#heartbeat(heartbeatInterval, isPingDue);
        }),
      );
    }
    if (idleTimeout > 0) {
      this.#stopTicks.push(
        every(idleTimeout / 4, () => this.#checkIdle(idleTimeout)),
      );
    }
  }

  #heartbeat(interval: number, isPingDue: boolean): void {
    const silence = Date.now() - this.#transport.lastActivity;
    const limit = MISSED_HEARTBEATS * interval - interval / HEARTBEAT_CHECKS;
    if (silence > limit) {
      this.abort(
        new ClientError(
          "CONNECTION_CLOSED",
          `${
            describe(this.peer)
          } gave no sign of life for ${silence} ms (heartbeats every ${interval} ms): the connection is taken for dead.`,
        ),
      );
    } else if (isPingDue) {
      this.#send(this.#codec.encode([MessageType.PING, this.#nextPing++]));
    }
  }

  /** Closes the connection after four checks in a row saw it without calls. */
  #checkIdle(idleTimeout: number): void {
    // A client that offers actions waits for the server's calls: its quiet
    // is not idleness.
    if (this.#peerHello?.serves) return;
    const isBusy = this.#requestsSinceIdleCheck > 0 ||
      this.#activeHandlers > 0 || this.#pendingCalls.size > 0;
    this.#requestsSinceIdleCheck = 0;
    this.#idleChecks = isBusy ? 0 : this.#idleChecks + 1;
    if (this.#idleChecks === 4) {
      this.retire(
        GOODBYE_GRACE,
        new ClientError(
          "CONNECTION_CLOSED",
          `The connection was idle for ${idleTimeout} ms.`,
        ),
      );
    }
  }

  #onFrame(body: Uint8Array, isBorrowed: boolean): void {
    // Once closing, what still arrives is dropped unread.
    if (this.#closeReason !== undefined || this.#isClosed) return;
    if (this.#state === "open") return this.#receive(body, isBorrowed);
    if (this.#state === "hello") return this.#receiveHello(body);
    if (this.#state === "checking" && this.#role === "client") {
      // The server may ping or call right behind its AUTH_OK: hold those
      // frames until its proof is checked, then handle them in order.
      this.#afterAuthOk.push(isBorrowed ? body.slice() : body);
      return;
    }
    let message: Message;
    try {
      message = this.#codec.decode(body, isBorrowed);
    } catch (error) {
      return this.#failProtocol(error as ProtocolError);
    }
    this.#receiveDuringAuth(message);
  }

  #receiveHello(body: Uint8Array): void {
    try {
      this.#peerHello = this.#codec.decodeHello(body);
    } catch (error) {
      return this.#failProtocol(error as ProtocolError);
    }
    const auth = this.#auth;
    const mustAuthenticate = this.#role === "server"
      ? isAuthRequired(auth)
      : this.#peerHello.authRequired || auth.key !== undefined ||
        auth.credentials !== undefined;
    if (!mustAuthenticate) return this.#open();
    // Until the handshake is complete, a peer may make this side hold only small frames.
    this.#transport.limitFrames?.(MAX_PRE_AUTH_FRAME);
    this.#state = "auth";
    if (this.#role === "client") this.#sendAuth().catch(this.#failAuth);
  }

  #open(): void {
    this.#transport.limitFrames?.(this.#maxFrameSize);
    this.#state = "open";
    this.#resolveReady(this.#peerHello!);
    for (const frame of this.#afterAuthOk.splice(0)) {
      this.#onFrame(frame, false);
    }
  }

  /** Client: proves it knows the secret (if it has one), sends its credentials. */
  async #sendAuth(): Promise<void> {
    const { key, credentials } = this.#auth;
    const proof = key === undefined ? null : await prove(
      key,
      NONCE_LABELS.client,
      this.#peerHello!.nonce,
      this.#nonce,
    );
    if (this.#isClosed) return;
    this.#send(this.#codec.encode(
      credentials === undefined
        ? [MessageType.AUTH, proof]
        : [MessageType.AUTH, proof, credentials],
    ));
  }

  #receiveDuringAuth(message: Message): void {
    if (message.type === MessageType.GOODBYE) {
      return this.#receive(undefined, false, message);
    }
    const isAuthTurn = this.#state === "auth";
    if (
      isAuthTurn && this.#role === "server" && message.type === MessageType.AUTH
    ) {
      this.#state = "checking"; // Anything before the answer is out of turn.
      this.#checkAuth(message.proof, message.credentials).catch(this.#failAuth);
      return;
    }
    if (
      isAuthTurn && this.#role === "client" &&
      message.type === MessageType.AUTH_OK
    ) {
      this.#state = "checking";
      // What follows is the server's to send as it likes; the proof is checked next.
      this.#transport.limitFrames?.(this.#maxFrameSize);
      this.#checkServerProof(message.proof).catch(this.#failAuth);
      return;
    }
    this.#failAuth(
      this.#role === "server"
        ? unauthorized("a message arrived before authentication was complete")
        : new ProtocolError(
          "PROTOCOL",
          "A message arrived before authentication was complete.",
        ),
    );
  }

  /** Server: checks the client's proof and credentials, then answers with its own proof. */
  async #checkAuth(
    proof: Uint8Array | undefined,
    credentials: unknown,
  ): Promise<void> {
    const { key, authenticate } = this.#auth;
    if (key !== undefined) {
      const isValid = proof !== undefined && await verify(
        key,
        proof,
        NONCE_LABELS.client,
        this.#nonce,
        this.#peerHello!.nonce,
      );
      if (proof === undefined) {
        throw unauthorized(
          "this server requires a shared secret, and the client has none (its secret option)",
        );
      }
      if (!isValid) throw unauthorized("the shared secret does not match");
    }
    if (authenticate !== undefined) {
      let identity: unknown;
      try {
        identity = await authenticate(this.peer, credentials);
      } catch (error) {
        // Why is the server's business (its error event); the peer learns only that.
        throw unauthorized("the credentials were refused", error);
      }
      if (identity === false || identity === undefined || identity === null) {
        throw unauthorized("the credentials were refused");
      }
      this.#identity = identity;
    }
    if (this.#isClosed) return;
    const answer = key === undefined ? null : await prove(
      key,
      NONCE_LABELS.server,
      this.#peerHello!.nonce,
      this.#nonce,
    );
    this.#send(this.#codec.encode([MessageType.AUTH_OK, answer]));
    this.#open();
  }

  /** Client: a server that claims to know the secret must prove it. */
  async #checkServerProof(proof: Uint8Array | undefined): Promise<void> {
    const { key } = this.#auth;
    if (key !== undefined) {
      const isValid = proof !== undefined && await verify(
        key,
        proof,
        NONCE_LABELS.server,
        this.#nonce,
        this.#peerHello!.nonce,
      );
      if (!isValid) {
        throw unauthorized(
          "the server did not prove that it knows the shared secret",
        );
      }
    }
    if (!this.#isClosed) this.#open();
  }

  readonly #failAuth = (error: unknown): void => {
    if (this.#isClosed || this.#closeReason !== undefined) return;
    const reason =
      error instanceof ClientError || error instanceof ProtocolError
        ? error
        : unauthorized("the handshake failed", error);
    this.#closeReason = reason;
    this.#sendGoodbye(reason);
    this.#flushAndClose();
  };

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

  /** Handles a message; `isReassembled` when it came in fragments. */
  #receive(
    frame: Uint8Array | undefined,
    isBorrowed: boolean,
    decoded?: Message,
    isReassembled = false,
  ): void {
    let message: Message;
    try {
      message = decoded ?? this.#codec.decode(frame!, isBorrowed);
    } catch (error) {
      return this.#failProtocol(error as ProtocolError);
    }
    switch (message.type) {
      case MessageType.REQUEST:
        this.#requestsSinceIdleCheck++;
        if (
          this.#running?.has(message.id) || this.#deferredIds.has(message.id)
        ) {
          // Overwriting the first would orphan its handler: its signal
          // would never abort, nor its generator's finally run.
          return this.#failProtocol(
            new ProtocolError(
              "PROTOCOL",
              `Request id ${message.id} is already in flight on this connection.`,
            ),
          );
        }
        if (this.#deferred.length > 0 || this.#transport.isCongested) {
          return this.#defer(message);
        }
        return this.#handleRequest(message);
      case MessageType.RESULT: {
        const call = this.#takeCall(message.id);
        if (message.valueError) call?.fail(message.valueError);
        else call?.result(message.value);
        return;
      }
      case MessageType.ERROR:
        return this.#takeCall(message.id)?.fail(errorFromWire(message.error));
      case MessageType.CANCEL:
        this.#resultStreams?.get(message.id)?.stop();
        return this.#running?.get(message.id)?.abort(
          new ClientError("ABORTED", "The caller cancelled this call."),
        );
      case MessageType.ITEM:
        return this.#receiveItem(message);
      case MessageType.END:
        return this.#takeCall(message.id)?.end();
      case MessageType.CREDIT:
        return this.#grant(this.#resultStreams?.get(message.id), message.count);
      case MessageType.INPUT:
        return this.#receiveInput(message);
      case MessageType.INPUT_END: {
        const input = this.#inputStreams?.get(message.id);
        this.#inputStreams?.delete(message.id);
        if (message.error) input?.fail(errorFromWire(message.error));
        else input?.end();
        return;
      }
      case MessageType.INPUT_CREDIT:
        return this.#grant(
          this.#pendingCalls.get(message.id)?.input,
          message.count,
        );
      case MessageType.INPUT_STOP:
        return this.#pendingCalls.get(message.id)?.input?.stop();
      case MessageType.FRAGMENT:
        if (isReassembled) {
          // Each level would set aside its whole total again.
          return this.#failProtocol(
            new ProtocolError(
              "PROTOCOL",
              "A fragmented message is itself a fragment.",
            ),
          );
        }
        return this.#reassemble(message);
      case MessageType.PING:
        return this.#send(this.#codec.encode([MessageType.PONG, message.id]));
      case MessageType.PONG:
        return; // The transport already noted the sign of life.
      case MessageType.AUTH:
        if (this.#role === "server" && !isAuthRequired(this.#auth)) {
          // A client with a secret asks this server, which has none, to prove
          // it: the answer carries no proof, and the client refuses it.
          return this.#send(this.#codec.encode([MessageType.AUTH_OK, null]));
        }
        break;
      case MessageType.GOODBYE:
        this.#isPeerLeaving = true;
        if (message.error) {
          this.#goodbyeReason = errorFromWire(message.error);
          if (this.#state !== "open") {
            this.#rejectReady(this.#goodbyeReason);
          }
        } else {
          this.#closeIfPeerDone();
        }
        return;
    }
    this.#failProtocol(
      new ProtocolError(
        "PROTOCOL",
        "An authentication message arrived after authentication.",
      ),
    );
  }

  /** Credit for a stream this side sends; credit past the window is a breach. */
  #grant(sender: StreamSender | undefined, count: number): void {
    try {
      sender?.grant(count);
    } catch (error) {
      this.#failProtocol(error as ProtocolError);
    }
  }

  /** For stream senders: a promise while the peer does not read what is queued. */
  readonly #blocked = (): Promise<void> | undefined =>
    this.#transport.isCongested ? this.#transport.drain() : undefined;

  #receiveItem(message: ItemMessage): void {
    const call = this.#pendingCalls.get(message.id);
    if (call === undefined) return; // A stream the caller already left.
    if (message.itemError) {
      this.#takeCall(message.id);
      call.fail(message.itemError);
      this.#sendIfOpen([MessageType.CANCEL, message.id]);
      return;
    }
    try {
      if (!call.item(message.item, message.eventId)) {
        throw new ProtocolError(
          "PROTOCOL",
          "A stream item arrived for a call that streams nothing.",
        );
      }
    } catch (error) {
      this.#failProtocol(error as ProtocolError);
    }
  }

  #receiveInput(message: ItemMessage): void {
    const input = this.#inputStreams?.get(message.id);
    if (input === undefined) return; // The handler stopped reading.
    if (message.itemError) {
      this.#inputStreams?.delete(message.id);
      input.fail(message.itemError);
      this.#sendIfOpen([MessageType.INPUT_STOP, message.id]);
      return;
    }
    try {
      input.push(message.item);
    } catch (error) {
      this.#failProtocol(error as ProtocolError);
    }
  }

  /**
   * Holds a request while the peer does not read its answers: memory stays
   * bounded by what one read brings, as the transport stops reading too.
   */
  #defer(request: RequestMessage): void {
    this.#deferred.push(request);
    this.#deferredIds.add(request.id);
    if (this.#deferred.length === 1) {
      this.#transport.drain().then(() => this.#runDeferred());
    }
  }

  #runDeferred(): void {
    while (this.#deferred.length > 0 && !this.#isClosed) {
      if (this.#transport.isCongested) {
        this.#transport.drain().then(() => this.#runDeferred());
        return;
      }
      const request = this.#deferred.shift()!;
      this.#deferredIds.delete(request.id);
      this.#handleRequest(request);
    }
    this.#deferred = [];
    this.#deferredIds.clear();
  }

  /** An answer for an id no call waits for (a late or a duplicate one) is dropped. */
  #takeCall(id: number): PendingCall | undefined {
    const call = this.#pendingCalls.get(id);
    if (call !== undefined) {
      this.#pendingCalls.delete(id);
      call.settle();
      if (this.#pendingCalls.size === 0 && !this.#offersActions()) {
        this.#transport.unref();
      }
      if (this.#isPeerLeaving) queueMicrotask(() => this.#closeIfPeerDone());
    }
    return call;
  }

  /** The peer said goodbye: once it has answered every call, this side closes. */
  #closeIfPeerDone(): void {
    if (this.#pendingCalls.size === 0 && this.#activeHandlers === 0) {
      this.close();
    }
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
        this.#wireError("INVALID_REQUEST", request.dataError),
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
    if (this.#activeHandlers >= this.#maxInFlight) {
      return this.#sendError(id, {
        code: "OVERLOADED",
        name: "RemoteError",
        message:
          `Too many calls in flight on this connection (maxInFlight is ${this.#maxInFlight}); try again when some have finished.`,
      });
    }
    const context = new RequestContext(
      request.action,
      id,
      this.peer,
      this.#identity,
      request.timeout === undefined ? undefined : Date.now() + request.timeout,
      request.lastEventId,
    );
    // Every running request is known by id, so a cancel always reaches it.
    (this.#running ??= new Map()).set(id, context);
    this.#activeHandlers++;
    if (request.stream !== undefined) {
      (this.#streamWindows ??= new Map()).set(id, request.stream);
    }
    if (request.input) {
      if (action.input !== undefined) {
        // A schema checks one value: streamed data would go round it.
        this.#handlerDone(context);
        return this.#sendError(id, {
          code: "INVALID_INPUT",
          name: "RemoteError",
          message:
            `"${request.action}" checks its input with a schema and takes a single value, not a stream.`,
        });
      }
      return this.#runHandler(action, this.#openInput(id), context);
    }
    if (action.input === undefined) {
      return this.#runHandler(action, request.data, context);
    }
    const validation = validate(action.input, request.data);
    if (validation instanceof Promise) {
      validation.then(
        (result) => this.#runValidated(action, result, context),
        (error) => this.#finishRequest(context, undefined, error, true),
      );
    } else {
      this.#runValidated(action, validation, context);
    }
  }

  #runValidated(
    action: Action,
    validation: Validation,
    context: RequestContext,
  ): void {
    if (validation.issues !== undefined) {
      this.#handlerDone(context);
      return this.#sendError(context.requestId, {
        code: "INVALID_INPUT",
        name: "RemoteError",
        message: `Invalid input for "${context.action}": ${
          describeIssues(validation.issues)
        }`,
        issues: validation.issues,
      });
    }
    this.#runHandler(action, validation.value, context);
  }

  #runHandler(action: Action, data: unknown, context: RequestContext): void {
    let result: unknown;
    try {
      result = (action.handler as ActionHandler<unknown, unknown>)(
        data,
        context,
      );
    } catch (error) {
      return this.#finishRequest(context, undefined, error, true);
    }
    let isPromise: boolean;
    try {
      isPromise = isPromiseLike(result);
    } catch (error) {
      return this.#finishRequest(context, undefined, error, true);
    }
    if (isPromise) {
      Promise.resolve(result).then(
        (value) => this.#finishRequest(context, action, value),
        (error) => this.#finishRequest(context, undefined, error, true),
      );
    } else {
      this.#finishRequest(context, action, result);
    }
  }

  /** A handler finished: check its result against the output schema, then answer. */
  #finishRequest(
    context: RequestContext,
    action: Action | undefined,
    value: unknown,
    isFailure = false,
  ): void {
    if (isFailure || action === undefined) {
      this.#handlerDone(context);
      return this.#sendError(
        context.requestId,
        this.#wireError("ACTION_FAILED", value),
      );
    }
    if (isStreamSource(value)) return this.#streamResult(context, value);
    if (action.output === undefined) {
      this.#handlerDone(context);
      return this.#sendResult(context.requestId, value);
    }
    const validation = validate(action.output, value);
    const answer = (result: Validation) => {
      this.#handlerDone(context);
      if (result.issues === undefined) {
        return this.#sendResult(context.requestId, result.value);
      }
      this.#sendError(context.requestId, {
        code: "ACTION_FAILED",
        name: "TypeError",
        message:
          `The result of "${context.action}" does not match its output schema: ${
            describeIssues(result.issues)
          }`,
        issues: result.issues,
      });
    };
    if (validation instanceof Promise) {
      validation.then(
        answer,
        (error) => this.#finishRequest(context, undefined, error, true),
      );
    } else {
      answer(validation);
    }
  }

  /** The data of request `id` streams in: the handler iterates what arrives. */
  #openInput(id: number): StreamReceiver {
    const input = new StreamReceiver(INPUT_WINDOW, {
      grant: (count) => this.#sendIfOpen([MessageType.INPUT_CREDIT, id, count]),
      stop: () => {
        this.#inputStreams?.delete(id);
        this.#sendIfOpen([MessageType.INPUT_STOP, id]);
      },
    });
    (this.#inputStreams ??= new Map()).set(id, input);
    return input;
  }

  /** A handler returned a stream: send its items as the caller grants credit. */
  #streamResult(context: RequestContext, source: AsyncIterable<unknown>): void {
    const id = context.requestId;
    const window = this.#streamWindows?.get(id);
    if (window === undefined) {
      source[Symbol.asyncIterator]().return?.()?.catch(ignore);
      this.#handlerDone(context);
      return this.#sendError(id, {
        code: "STREAM_REQUIRED",
        name: "RemoteError",
        message:
          `"${context.action}" streams its result: call it with stream(), not runAction().`,
      });
    }
    const sender = new StreamSender(source, {
      item: (value, eventId) =>
        this.#sendChecked(
          eventId === undefined
            ? [MessageType.ITEM, id, value]
            : [MessageType.ITEM, id, value, eventId],
        ),
      end: () => this.#sendIfOpen([MessageType.END, id]),
      fail: (error) =>
        this.#sendError(
          id,
          this.#wireError(
            error instanceof ClientError && error.code === "FRAME_TOO_LARGE"
              ? "FRAME_TOO_LARGE"
              : "ACTION_FAILED",
            error,
          ),
        ),
      blocked: this.#blocked,
    }, window);
    (this.#resultStreams ??= new Map()).set(id, sender);
    sender.run().then(() => {
      this.#resultStreams?.delete(id);
      this.#handlerDone(context);
    });
  }

  #handlerDone(context: RequestContext): void {
    const id = context.requestId;
    this.#streamWindows?.delete(id);
    const input = this.#inputStreams?.get(id);
    if (input !== undefined) input.return(); // The handler is done reading.
    this.#running?.delete(id);
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
        this.#wireError(
          "ACTION_FAILED",
          new CodecError(
            "ENCODE_FAILED",
            `The action's result cannot be sent: ${(error as Error).message}`,
          ),
        ),
      );
    }
    try {
      this.#checkSize(parts, "The result");
    } catch (error) {
      return this.#sendError(id, {
        code: "FRAME_TOO_LARGE",
        name: "RemoteError",
        message: (error as Error).message,
      });
    }
    this.#sendData(parts);
  }

  /** Encodes and sends a small control message, unless the connection is gone. */
  #sendIfOpen(message: unknown[]): void {
    if (!this.#isClosed) this.#send(this.#codec.encode(message));
  }

  /**
   * Encodes and sends a message that carries user data, unless the
   * connection is gone.
   *
   * @throws {CodecError} When it cannot be encoded.
   * @throws {ClientError} `FRAME_TOO_LARGE` when the peer would refuse it.
   */
  #sendChecked(message: unknown[]): void | Promise<void> {
    if (this.#isClosed) return;
    const parts = this.#codec.encode(message);
    this.#checkSize(parts, "A stream item");
    return this.#sendData(parts);
  }

  /**
   * Sends a message that may be large. Over 1.5 MiB it goes in 1 MiB
   * fragments, one write round each, so that other calls' messages pass
   * between them; the promise says when the last fragment is queued.
   */
  #sendData(parts: Uint8Array[]): void | Promise<void> {
    const size = byteLength(parts);
    if (size <= FRAGMENT_THRESHOLD) return this.#send(parts);
    return this.#sendFragments(parts, size);
  }

  async #sendFragments(parts: Uint8Array[], size: number): Promise<void> {
    // The peer holds at most its maxFrameSize in messages being
    // reassembled, and MAX_FRAGMENTED of them: wait for room.
    const budget = this.#peerHello?.maxFrameSize ?? Infinity;
    while (
      !this.#isClosed &&
      (this.#fragmentsOut >= MAX_FRAGMENTED ||
        (this.#fragmentsOut > 0 && this.#fragmentBytesOut + size > budget))
    ) {
      await new Promise<void>((resolve) => this.#fragmentWaiters.push(resolve));
    }
    this.#fragmentsOut++;
    this.#fragmentBytesOut += size;
    try {
      const id = this.#nextFragment++;
      for (const piece of pieces(parts, FRAGMENT_SIZE)) {
        if (this.#isClosed) return;
        this.#send(
          this.#codec.encode([MessageType.FRAGMENT, id, size, piece]),
        );
        await this.#transport.drain();
      }
    } finally {
      this.#fragmentsOut--;
      this.#fragmentBytesOut -= size;
      for (const wake of this.#fragmentWaiters.splice(0)) wake();
    }
  }

  /** Gathers a large message's fragments; handles the message once whole. */
  #reassemble(fragment: FragmentMessage): void {
    const fragments = this.#fragments ??= new Map();
    let message = fragments.get(fragment.id);
    if (message === undefined) {
      if (fragment.total > this.#maxFrameSize) {
        return this.#failProtocol(
          new ProtocolError(
            "FRAME_TOO_LARGE",
            `A message of ${fragment.total} bytes exceeds the limit of ${this.#maxFrameSize} bytes.`,
          ),
        );
      }
      if (fragments.size >= MAX_FRAGMENTED) {
        return this.#failProtocol(
          new ProtocolError(
            "PROTOCOL",
            `Too many fragmented messages at once (at most ${MAX_FRAGMENTED}).`,
          ),
        );
      }
      if (this.#reassemblyBytes + fragment.total > this.#maxFrameSize) {
        return this.#failProtocol(
          new ProtocolError(
            "PROTOCOL",
            `Fragmented messages of more than ${this.#maxFrameSize} bytes in all at once (this side's maxFrameSize).`,
          ),
        );
      }
      message = {
        bytes: new Uint8Array(fragment.total),
        filled: 0,
        lastPiece: Date.now(),
      };
      fragments.set(fragment.id, message);
      this.#reassemblyBytes += fragment.total;
      this.#stopReassemblyCheck ??= this.#startReassemblyCheck();
    }
    message.lastPiece = Date.now();
    const end = message.filled + fragment.bytes.length;
    if (fragment.total !== message.bytes.length || end > fragment.total) {
      return this.#failProtocol(
        new ProtocolError("PROTOCOL", "A fragment does not fit its message."),
      );
    }
    message.bytes.set(fragment.bytes, message.filled);
    message.filled = end;
    if (end === fragment.total) {
      fragments.delete(fragment.id);
      this.#reassemblyBytes -= fragment.total;
      if (fragments.size === 0) {
        this.#stopReassemblyCheck?.();
        this.#stopReassemblyCheck = undefined;
      }
      this.#receive(message.bytes, false, undefined, true);
    }
  }

  /**
   * Watches the messages in reassembly: one that gets no piece for the
   * reassembly timeout is a peer holding this side's memory on purpose. Time
   * this side spends not reading (its own writes are congested) is not held
   * against the peer.
   */
  #startReassemblyCheck(): () => void {
    const timeout = this.#reassemblyTimeout;
    let lastCheck = Date.now();
    const timer = housekeeping(setInterval(() => {
      const now = Date.now();
      if (this.#transport.isCongested) {
        for (const message of this.#fragments?.values() ?? []) {
          message.lastPiece += now - lastCheck;
        }
      }
      lastCheck = now;
      for (const message of this.#fragments?.values() ?? []) {
        if (now - message.lastPiece > timeout) {
          return this.#failProtocol(
            new ProtocolError(
              "PROTOCOL",
              `A fragmented message got no piece for ${timeout} ms.`,
            ),
          );
        }
      }
    }, Math.max(1, timeout / 4)));
    return () => clearInterval(timer);
  }

  /** @throws {ClientError} `FRAME_TOO_LARGE` when the peer would refuse a frame this large. */
  #checkSize(parts: readonly Uint8Array[], what: string): void {
    const size = byteLength(parts);
    const limit = this.#peerHello?.maxFrameSize ?? Infinity;
    if (size > limit) {
      throw new ClientError(
        "FRAME_TOO_LARGE",
        `${what} is ${size} bytes; the peer accepts frames of at most ${limit} bytes (its maxFrameSize).`,
      );
    }
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
      const { cause: _cause, fields: _fields, ...plain } = error;
      return this.#codec.encode([...head, {
        ...plain,
        message: safeString(plain.message),
      }]);
    }
  }

  /** The error object sent for a thrown value; stacks only when allowed. */
  #wireError(code: string, thrown: unknown): WireError {
    return wireError(code, thrown, this.#exposeStack);
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

  /** Says why this side closes: code and message only, never a stack or a cause. */
  #sendGoodbye(error: IsockError): void {
    this.#send(this.#codec.encode([MessageType.GOODBYE, {
      code: error.code,
      name: error.name,
      message: error.message,
    }]));
  }

  /** Writes what is queued (for a short while at most), then closes the socket. */
  async #flushAndClose(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#transport.drain(),
      new Promise((resolve) =>
        timer = housekeeping(setTimeout(resolve, FLUSH_TIMEOUT))
      ),
    ]);
    clearTimeout(timer);
    this.#transport.close();
  }

  #finish(failure: unknown): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    for (const stop of this.#stopTicks) stop();
    this.#stopReassemblyCheck?.();
    this.#fragments?.clear();
    for (const wake of this.#fragmentWaiters.splice(0)) wake();
    const reason = this.#callError(failure);
    const isClean = this.#isClosingGracefully ||
      (failure === undefined && this.#closeReason === undefined &&
        this.#goodbyeReason === undefined);
    this.#endReason = isClean ? undefined : reason;
    this.#rejectReady(reason);
    for (const context of this.#running?.values() ?? []) context.abort(reason);
    this.#running?.clear();
    for (const stream of this.#resultStreams?.values() ?? []) stream.stop();
    for (const input of this.#inputStreams?.values() ?? []) input.fail(reason);
    this.#inputStreams?.clear();
    for (const call of this.#pendingCalls.values()) {
      call.settle();
      call.fail(reason);
    }
    this.#pendingCalls.clear();
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    this.#transport.close();
    this.#resolveClosed();
  }

  /** The error calls reject with once the connection is gone. */
  #callError(failure?: unknown): ClientError | RemoteError {
    const reason = this.#closeReason ?? this.#goodbyeReason ??
      (failure as IsockError | undefined);
    if (reason instanceof ClientError) return reason;
    if (reason instanceof RemoteError && reason.code === "OVERLOADED") {
      return reason;
    }
    const isProtocol = reason instanceof ProtocolError ||
      reason instanceof CodecError ||
      (reason instanceof RemoteError &&
        (reason.code === "PROTOCOL" || reason.code === "FRAME_TOO_LARGE"));
    const detail = reason instanceof Error
      ? `: ${reason.message}`
      : this.#isPeerLeaving
      ? ": the peer shut down (it said goodbye)."
      : "";
    return new ClientError(
      isProtocol ? "PROTOCOL" : "CONNECTION_CLOSED",
      `The connection to ${describe(this.peer)} closed${detail}`,
      reason === undefined ? undefined : { cause: reason },
    );
  }
}

/** A large message being gathered from its fragments. */
interface Reassembly {
  bytes: Uint8Array;
  filled: number;
  /** When its last piece arrived, in milliseconds since 1970. */
  lastPiece: number;
}

function isAuthRequired(auth: Authenticator): boolean {
  return auth.key !== undefined || auth.authenticate !== undefined;
}

function unauthorized(reason: string, cause?: unknown): ClientError {
  return new ClientError(
    "UNAUTHORIZED",
    `Authentication failed: ${reason}.`,
    cause === undefined ? undefined : { cause },
  );
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
    } is not an isock peer: its first bytes are not an isock hello. Check the host and port (and whether the server uses TLS: then set the client's tls option).`,
    { cause: error },
  );
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

/**
 * Marks a timer as housekeeping: it never keeps the process alive by
 * itself (the connection decides that).
 */
function housekeeping<T extends ReturnType<typeof setTimeout>>(timer: T): T {
  Deno.unrefTimer(timer as unknown as number);
  return timer;
}

function yes(): boolean {
  return true;
}
