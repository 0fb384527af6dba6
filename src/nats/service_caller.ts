/**
 * One caller of a service instance over NATS: the calls that came from one
 * client inbox (the reply subjects `<inbox>.<id>`). It plays for them the
 * part a session plays for a connection: its {@linkcode IncomingRequests}
 * runs them (request ids, streams with credit, streamed inputs, cancels,
 * stats, middleware) and its {@linkcode ServiceAnswers} sends the answers to
 * each call's reply subject. Its open calls are the instance's (their
 * liveness below, {@linkcode OpenCalls}): a call that said nothing for a heartbeat
 * names the instance with a PING, each PING of the caller is answered with
 * one, and a call whose caller went silent is stopped (PROTOCOL.md, "Over
 * NATS", "Liveness").
 *
 * How an instance answers one caller's calls over NATS (PROTOCOL.md, "Over
 * NATS", "A call"): each answer goes to the call's reply subject
 * `<inbox>.<id>`, in pieces when large, with the instance's control subject
 * as its reply subject when the caller may send more; a result or error
 * that cannot be encoded goes as an error that can. Each message sent
 * mid-call names the instance to the caller ({@linkcode OpenCalls}).
 *
 * The open calls of a service instance, for liveness (PROTOCOL.md, "Over
 * NATS", "Liveness"): when each caller was last heard, and whether the
 * instance has named itself to it yet. Every call lives on its caller's
 * news: the caller pings each call it knows the instance of, the instance
 * answers those pings, and a call whose caller is silent for
 * {@linkcode SILENT_HEARTBEATS} heartbeats is stopped. The calls are kept
 * in the order they were last heard, so one tick of the instance's timer
 * looks only at the calls whose time has come, however many are open.
 *
 * @module
 */

import {
  ClientError,
  CodecError,
  ProtocolError,
  RemoteError,
} from "../base/errors.ts";
import type { Peer } from "../dispatch/peer.ts";
import {
  type AnswerMeta,
  type EndMessage,
  type FragmentMessage,
  type Message,
  outgoing,
  type OutgoingMessage,
  type RequestMessage,
} from "../protocol/message_table.ts";
import { MessageType } from "../protocol/message_type.ts";
import {
  IncomingRequests,
  type RequestsConnection,
  type RequestsOptions,
  type RequestsOut,
} from "../session/incoming_requests.ts";
import { Reassembly, type ReassemblyBudget } from "../session/reassembly.ts";
import type { PeerFeatures } from "../session/connection.ts";
import { BUS_FEATURES, type BusOutbox, SILENT_HEARTBEATS } from "./bus.ts";
import {
  safeString,
  type WireError,
  wireError,
} from "../protocol/wire_error.ts";
import type { Metadata } from "../protocol/metadata.ts";

/** What a caller needs of its service instance. */
export interface CallerHost extends AnswersHost {
  /** Whether the instance refuses new calls (it is shutting down). */
  readonly isRefusing: boolean;
  /** The peer handlers see: no connection to call back over. */
  readonly peer: Peer;
  /** The instance's open calls, every caller's. */
  readonly openCalls: OpenCalls;
  /** The memory every caller's large messages share. */
  readonly reassemblyBudget: ReassemblyBudget;
  /**
   * The caller has no open call any more.
   *
   * @param caller The caller.
   */
  idle(caller: ServiceCaller): void;
}

/** The calls of one client inbox, on one instance. */
export class ServiceCaller
  implements RequestsConnection, AnsweredCaller, CallOwner {
  /** What a bus peer takes: no batches, answers' metadata. */
  readonly features: PeerFeatures = BUS_FEATURES;
  /** How the calls' answers go back to the client inbox. */
  readonly out: ServiceAnswers;
  /** The client inbox: every call's reply subject is `<inbox>.<id>`. */
  readonly inbox: string;
  /** Runs the calls. */
  readonly requests: IncomingRequests;
  /** How many of its calls are open (kept by the instance's open calls). */
  openCalls = 0;
  readonly #host: CallerHost;
  readonly #reassembly: Reassembly;
  readonly #open: OpenCalls;
  readonly #answers: ServiceAnswers;
  /** The call whose message is being handled, for a protocol failure. */
  #routing: number | undefined;
  #isClosed = false;

  /**
   * @param inbox The client inbox.
   * @param host The instance.
   * @param options The actions, stats and middleware.
   * @param maxFrameSize The largest message taken, in pieces or not.
   */
  constructor(
    inbox: string,
    host: CallerHost,
    options: RequestsOptions,
    maxFrameSize: number,
  ) {
    this.inbox = inbox;
    this.#host = host;
    this.#open = host.openCalls;
    this.#answers = this.out = new ServiceAnswers(inbox, host, this);
    this.requests = new IncomingRequests(this, options);
    // A silent caller's calls stop by the liveness rules, and their pieces
    // with them: no timer of the reassembly's own.
    this.#reassembly = new Reassembly({
      maxFrameSize,
      reassemblyTimeout: Infinity,
      budget: host.reassemblyBudget,
    }, this);
  }

  /** The peer handlers see. */
  get peer(): Peer {
    return this.#host.peer;
  }

  /** Nobody authenticated over NATS: the connection to NATS did. */
  get identity(): unknown {
    return undefined;
  }

  /** Whether the instance refuses new calls. */
  get isRefusing(): boolean {
    return this.#host.isRefusing;
  }

  /** Whether the caller was dropped. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** NATS buffers what is published: never congested here. */
  get isCongested(): boolean {
    return false;
  }

  /** Whether no call is open, nor any handler running. */
  get isIdle(): boolean {
    return this.openCalls === 0 && this.requests.active === 0;
  }

  /** Resolves at once: nothing is queued here. */
  drain(): Promise<void> {
    return Promise.resolve();
  }

  /** Never blocked: NATS takes what is published. */
  blocked(): Promise<void> | undefined {
    return undefined;
  }

  /**
   * The first message of a call arrived on the service subject: a REQUEST,
   * or the first piece of a large one (answered with a PING, so the caller
   * sends the rest to this instance).
   *
   * @param message The message.
   * @param id The call's id, from its reply subject.
   */
  first(message: Message, id: number): void {
    if (message.type === MessageType.FRAGMENT) {
      this.#open.open(this.#reply(id), this, id, Date.now());
      this.#piece(message, id);
      if (this.#open.has(this.#reply(id))) this.#answers.ping(id);
      return;
    }
    if (message.type !== MessageType.REQUEST || message.id !== id) {
      return this.#refuse(
        id,
        message.type === MessageType.REQUEST
          ? `a request's reply subject must end with its id (${message.id})`
          : "the first message of a call must be a REQUEST or a FRAGMENT",
      );
    }
    this.#request(message);
  }

  /**
   * A later message of a call arrived on the instance's control subject.
   *
   * @param message The message.
   * @param id The call's id, from the reply subject.
   */
  later(message: Message, id: number): void {
    const reply = this.#reply(id);
    this.#open.heard(reply, Date.now());
    this.#routing = id;
    try {
      switch (message.type) {
        case MessageType.CANCEL:
          // The caller no longer listens: no more notices for this call.
          this.#answers.finish(id);
          return this.requests.cancel(id);
        case MessageType.CREDIT:
          return this.requests.grant(id, message.count);
        case MessageType.INPUT:
          return this.requests.input(message);
        case MessageType.INPUT_END:
          return this.requests.inputEnd(message);
        case MessageType.FRAGMENT:
          return this.#piece(message, id);
        case MessageType.PING:
          // The caller is there, and asks whether the instance is.
          if (this.#open.has(reply)) this.#answers.ping(id);
          return;
        default:
          return this.failProtocol(
            new ProtocolError(
              "PROTOCOL",
              `Message type ${message.type} is not taken on an instance's control subject.`,
            ),
          );
      }
    } finally {
      this.#routing = undefined;
    }
  }

  /** {@inheritDoc CallOwner.ping} */
  ping(id: number): void {
    this.#answers.ping(id);
  }

  /** {@inheritDoc CallOwner.lost} */
  lost(id: number): void {
    this.#abandon(id);
  }

  /** {@inheritDoc CallOwner.idle} */
  idle(): void {
    if (!this.#isClosed) this.#host.idle(this);
  }

  /** {@inheritDoc AnsweredCaller.named} */
  named(id: number): void {
    this.#open.named(this.#reply(id), Date.now());
  }

  /** {@inheritDoc AnsweredCaller.over} */
  over(id: number): void {
    this.#reassembly.drop(id);
    this.#open.close(this.#reply(id));
  }

  /**
   * Drops the caller: its handlers' signals abort, its streams stop.
   *
   * @param reason Why.
   */
  close(reason: unknown): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.requests.closeAll(reason);
    this.requests.releaseWaiters();
    this.#reassembly.clear();
    if (this.openCalls > 0) this.#open.closeAll(this);
  }

  /**
   * A call broke the protocol: it fails with `PROTOCOL` (and stops), the
   * caller's other calls go on. Outside any call (a large message that got
   * no piece in time), the caller is dropped.
   *
   * @param error What went wrong.
   */
  failProtocol(error: ProtocolError): void {
    const id = this.#routing;
    if (id === undefined) return this.close(error);
    this.#abandon(id);
    this.#answers.error(id, {
      code: error.code,
      name: "RemoteError",
      message: error.message,
    });
  }

  #request(request: RequestMessage): void {
    const reply = this.#reply(request.id);
    this.#open.open(reply, this, request.id, Date.now());
    this.#routing = request.id;
    try {
      this.requests.receive(request);
    } finally {
      this.#routing = undefined;
    }
    if (request.input === true && this.#open.has(reply)) {
      // The caller sends its input here: tell it where "here" is.
      this.#answers.ping(request.id);
    }
  }

  /** A piece of a large message; the whole message is handled once it is here. */
  #piece(fragment: FragmentMessage, id: number): void {
    let whole: Uint8Array | undefined;
    let message: Message;
    try {
      whole = this.#reassembly.add(fragment);
      if (whole === undefined) return;
      message = this.#host.outbox.codec.decode(whole);
      // Fragments do not nest: a reassembled fragment breaks the protocol.
      if (message.type === MessageType.FRAGMENT) {
        this.#reassembly.add(message, true);
      }
    } catch (error) {
      const code = error instanceof RemoteError
        ? error.code
        : error instanceof ProtocolError && error.code === "FRAME_TOO_LARGE"
        ? "FRAME_TOO_LARGE"
        : "PROTOCOL";
      // A message too large was never taken in, nor one the instance has
      // no room for; after anything else the caller's pieces cannot be
      // trusted.
      if (code === "PROTOCOL") this.#reassembly.clear();
      this.#abandon(id);
      return this.#answers.error(id, {
        code,
        name: "RemoteError",
        message: (error as Error).message,
      });
    }
    if (message.type === MessageType.REQUEST) {
      if (message.id !== id) {
        return this.#refuse(id, "a request's pieces must carry its id");
      }
      return this.#request(message);
    }
    this.later(message, id);
  }

  /** Answers a call that broke the rules with `PROTOCOL`. */
  #refuse(id: number, why: string): void {
    this.#answers.error(id, {
      code: "PROTOCOL",
      name: "RemoteError",
      message: `The message broke the protocol: ${why}.`,
    });
  }

  #reply(id: number): string {
    return `${this.inbox}.${id}`;
  }

  /** Stops a call whose caller is gone: its signal aborts, its input ends. */
  #abandon(id: number): void {
    this.#reassembly.drop(id);
    const reason = new ClientError(
      "CONNECTION_CLOSED",
      "The caller went silent.",
    );
    this.requests.cancel(id);
    this.requests.inputEnd(
      {
        type: MessageType.INPUT_END,
        id,
        error: {
          code: reason.code,
          name: reason.name,
          message: reason.message,
        },
      } as EndMessage,
    );
  }
}

/** What {@linkcode ServiceAnswers} needs of the instance. */
export interface AnswersHost {
  /** Sends on the bus. */
  readonly outbox: BusOutbox;
  /** This instance's control subject: the reply subject of what it sends mid-call. */
  readonly instanceSubject: string;
  /** Whether error stacks go to callers. */
  readonly exposeStack: boolean;
}

/** What {@linkcode ServiceAnswers} needs of the caller it answers. */
export interface AnsweredCaller {
  /** Whether the caller was dropped: nothing goes to it any more. */
  readonly isClosed: boolean;
  /**
   * A message that names the instance went for call `id`.
   *
   * @param id The request id.
   */
  named(id: number): void;
  /**
   * Call `id`'s last message went.
   *
   * @param id The request id.
   */
  over(id: number): void;
}

/** The answers to one client inbox's calls. */
export class ServiceAnswers implements RequestsOut {
  readonly #inbox: string;
  readonly #host: AnswersHost;
  readonly #caller: AnsweredCaller;

  /**
   * @param inbox The client inbox: every call's reply subject is `<inbox>.<id>`.
   * @param host The instance.
   * @param caller The caller, told what is sent.
   */
  constructor(inbox: string, host: AnswersHost, caller: AnsweredCaller) {
    this.#inbox = inbox;
    this.#host = host;
    this.#caller = caller;
  }

  /** {@inheritDoc MessageOut.result} */
  result(id: number, value: unknown, metadata?: Metadata): void {
    if (this.#caller.isClosed) return;
    let parts: Uint8Array[];
    try {
      parts = this.#host.outbox.encodeChecked(
        outgoing.result(id, value, this.answerMeta(metadata)),
        "The result",
      );
    } catch (error) {
      const isTooLarge = error instanceof ClientError &&
        error.code === "FRAME_TOO_LARGE";
      return this.error(
        id,
        isTooLarge
          ? {
            code: "FRAME_TOO_LARGE",
            name: "RemoteError",
            message: (error as Error).message,
          }
          : this.wireError(
            "ACTION_FAILED",
            new CodecError(
              "ENCODE_FAILED",
              `The action's result cannot be sent: ${(error as Error).message}`,
            ),
          ),
      );
    }
    this.finish(id);
    this.#send(id, parts, undefined);
  }

  /** {@inheritDoc MessageOut.error} */
  error(id: number, error: WireError, metadata?: Metadata): void {
    if (this.#caller.isClosed) return;
    this.finish(id);
    const meta = this.answerMeta(metadata);
    let parts: Uint8Array[];
    try {
      parts = this.#host.outbox.codec.encode(outgoing.error(id, error, meta));
    } catch {
      const { cause: _cause, fields: _fields, ...plain } = error;
      parts = this.#host.outbox.codec.encode(
        outgoing.error(
          id,
          { ...plain, message: safeString(plain.message) },
          meta,
        ),
      );
    }
    this.#send(id, parts, undefined);
  }

  /** {@inheritDoc MessageOut.answerMeta} */
  answerMeta(metadata: Metadata | undefined): AnswerMeta | undefined {
    return metadata === undefined || metadata.size === 0
      ? undefined
      : { metadata: metadata.toJSON() };
  }

  /** {@inheritDoc MessageOut.sendIfOpen} */
  sendIfOpen(message: OutgoingMessage): void {
    if (this.#caller.isClosed) return;
    const id = message[1] as number;
    if (message[0] === MessageType.END) this.finish(id);
    else this.#caller.named(id);
    this.#host.outbox.sendControl(
      this.#reply(id),
      message,
      this.#host.instanceSubject,
    );
  }

  /** {@inheritDoc MessageOut.sendChecked} */
  sendChecked(message: OutgoingMessage): void {
    if (this.#caller.isClosed) return;
    const id = message[1] as number;
    const parts = this.#host.outbox.encodeChecked(message, "A stream item");
    this.#caller.named(id);
    this.#send(id, parts, this.#host.instanceSubject);
  }

  /** {@inheritDoc MessageOut.wireError} */
  wireError(code: string, thrown: unknown): WireError {
    return wireError(code, thrown, this.#host.exposeStack);
  }

  /**
   * Tells the caller call `id` still runs, and which instance runs it.
   *
   * @param id The request id.
   */
  ping(id: number): void {
    if (this.#caller.isClosed) return;
    this.#caller.named(id);
    this.#host.outbox.sendControl(
      this.#reply(id),
      outgoing.ping(id),
      this.#host.instanceSubject,
    );
  }

  /**
   * Call `id` is over for this side: no more liveness messages for it.
   *
   * @param id The request id.
   */
  finish(id: number): void {
    this.#caller.over(id);
  }

  #send(id: number, parts: Uint8Array[], reply: string | undefined): void {
    try {
      this.#host.outbox.send(this.#reply(id), parts, reply, id);
    } catch {
      // The connection is closed: the caller's liveness check sees the silence.
    }
  }

  #reply(id: number): string {
    return `${this.#inbox}.${id}`;
  }
}

/** What {@linkcode OpenCalls} needs of a call's caller. */
export interface CallOwner {
  /** How many of its calls are open; kept by {@linkcode OpenCalls}. */
  openCalls: number;
  /** Call `id` has said nothing for a heartbeat: name the instance to its caller. */
  ping(id: number): void;
  /** The caller of call `id` went silent: stop it. */
  lost(id: number): void;
  /** Its last open call closed. */
  idle(): void;
}

/** An open call: its last message is not sent yet. */
interface OpenCall {
  readonly owner: CallOwner;
  readonly id: number;
  /** When the caller was last heard for it (`Date.now()`). */
  lastHeard: number;
}

/**
 * The open calls of one instance, by reply subject.
 *
 * @example
 * ```ts
 * import { type CallOwner, OpenCalls } from "./service_caller.ts";
 * import assert from "node:assert/strict";
 *
 * const lost: number[] = [];
 * const owner: CallOwner = {
 *   openCalls: 0,
 *   ping() {},
 *   lost: (id) => void lost.push(id),
 *   idle() {},
 * };
 * const calls = new OpenCalls();
 * calls.open("_INBOX.a.1", owner, 1, 0);
 * calls.open("_INBOX.a.2", owner, 2, 0);
 * calls.tick(1_000, 1_000); // Both named: their callers may ping from now.
 * calls.heard("_INBOX.a.2", 3_000);
 * calls.tick(4_500, 1_000);
 * assert.deepEqual(lost, [1]);
 * assert.equal(calls.size, 1);
 * ```
 */
export class OpenCalls {
  /** Every open call, in the order its caller was last heard. */
  readonly #byHeard = new Map<string, OpenCall>();
  /** The calls the instance has not named itself to yet, oldest first. */
  readonly #unnamed = new Map<string, OpenCall & { readonly opened: number }>();

  /** How many calls are open. */
  get size(): number {
    return this.#byHeard.size;
  }

  /**
   * Whether a call is open.
   *
   * @param reply Its reply subject.
   * @returns Whether it is.
   */
  has(reply: string): boolean {
    return this.#byHeard.has(reply);
  }

  /**
   * A call arrived.
   *
   * @param reply Its reply subject.
   * @param owner Its caller.
   * @param id Its request id.
   * @param now `Date.now()`.
   */
  open(reply: string, owner: CallOwner, id: number, now: number): void {
    if (this.#byHeard.has(reply)) return;
    this.#byHeard.set(reply, { owner, id, lastHeard: now });
    this.#unnamed.set(reply, { owner, id, lastHeard: now, opened: now });
    owner.openCalls++;
  }

  /**
   * The caller was heard for a call.
   *
   * @param reply Its reply subject.
   * @param now `Date.now()`.
   */
  heard(reply: string, now: number): void {
    const call = this.#byHeard.get(reply);
    if (call === undefined) return;
    call.lastHeard = now;
    // Last heard goes last: the tick stops at the first call still heard.
    this.#byHeard.delete(reply);
    this.#byHeard.set(reply, call);
  }

  /**
   * The instance sent the caller a message that names it, for a call.
   *
   * @param reply Its reply subject.
   * @param now `Date.now()`.
   */
  named(reply: string, now: number): void {
    // The caller could not ping before it knew the instance: the first
    // time, its silence counts from now.
    if (this.#unnamed.delete(reply)) this.heard(reply, now);
  }

  /**
   * A call is over (its last message went, or it was stopped).
   *
   * @param reply Its reply subject.
   */
  close(reply: string): void {
    const call = this.#byHeard.get(reply);
    if (call === undefined) return;
    this.#byHeard.delete(reply);
    this.#unnamed.delete(reply);
    if (--call.owner.openCalls === 0) call.owner.idle();
  }

  /**
   * Closes every open call of `owner` (it was dropped). Looks at every open
   * call: for rare events only.
   *
   * @param owner The caller.
   */
  closeAll(owner: CallOwner): void {
    for (const [reply, call] of this.#byHeard) {
      if (call.owner === owner) this.close(reply);
    }
  }

  /** Forgets every call (the instance stopped). */
  clear(): void {
    this.#byHeard.clear();
    this.#unnamed.clear();
  }

  /**
   * Names the instance to each call that said nothing for a heartbeat, and
   * stops each call whose caller was silent for
   * {@linkcode SILENT_HEARTBEATS}: only those calls are looked at.
   *
   * @param now `Date.now()`.
   * @param heartbeat The heartbeat, in milliseconds.
   */
  tick(now: number, heartbeat: number): void {
    for (const [reply, call] of this.#unnamed) {
      if (now - call.opened < heartbeat) break;
      this.named(reply, now);
      call.owner.ping(call.id);
    }
    const silence = SILENT_HEARTBEATS * heartbeat;
    for (const [reply, call] of this.#byHeard) {
      if (now - call.lastHeard <= silence) break;
      this.close(reply);
      call.owner.lost(call.id);
    }
  }
}
