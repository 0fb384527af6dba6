/**
 * One caller of a service instance over NATS: the calls that came from one
 * client inbox (the reply subjects `<inbox>.<id>`). It plays for them the
 * part a session plays for a connection: its {@linkcode IncomingRequests}
 * runs them (request ids, streams with credit, streamed inputs, cancels,
 * stats, middleware) and its {@linkcode CallerAnswers} sends the answers to
 * each call's reply subject. Its open calls are the instance's (their
 * liveness in open_calls.ts): a call that said nothing for a heartbeat
 * names the instance with a PING, each PING of the caller is answered with
 * one, and a call whose caller went silent is stopped (PROTOCOL.md, "Over
 * NATS", "Liveness").
 *
 * @module
 */

import { ClientError, ProtocolError, RemoteError } from "../base/errors.ts";
import type { Peer } from "../dispatch/peer.ts";
import type {
  EndMessage,
  FragmentMessage,
  Message,
  RequestMessage,
} from "../protocol/message_table.ts";
import { MessageType } from "../protocol/message_type.ts";
import {
  IncomingRequests,
  type RequestsConnection,
  type RequestsOptions,
} from "../session/incoming_requests.ts";
import { Reassembly, type ReassemblyBudget } from "../session/reassembly.ts";
import type { PeerFeatures } from "../session/connection.ts";
import { BUS_FEATURES } from "./bus.ts";
import {
  type AnsweredCaller,
  type AnswersHost,
  CallerAnswers,
} from "./caller_answers.ts";
import type { CallOwner, OpenCalls } from "./open_calls.ts";

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
  idle(caller: BusCaller): void;
}

/** The calls of one client inbox, on one instance. */
export class BusCaller
  implements RequestsConnection, AnsweredCaller, CallOwner {
  /** What a bus peer takes: no batches, answers' metadata. */
  readonly features: PeerFeatures = BUS_FEATURES;
  /** How the calls' answers go back to the client inbox. */
  readonly out: CallerAnswers;
  /** The client inbox: every call's reply subject is `<inbox>.<id>`. */
  readonly inbox: string;
  /** Runs the calls. */
  readonly requests: IncomingRequests;
  /** How many of its calls are open (kept by the instance's open calls). */
  openCalls = 0;
  readonly #host: CallerHost;
  readonly #reassembly: Reassembly;
  readonly #open: OpenCalls;
  readonly #answers: CallerAnswers;
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
    this.#answers = this.out = new CallerAnswers(inbox, host, this);
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
