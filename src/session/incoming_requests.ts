/**
 * The peer's requests on one connection: the limits and id rules they pass,
 * their deferral while the peer does not read its answers, the running
 * ones (so that a cancel reaches them), their streamed results
 * (`ResultStreams`) and inputs (`RequestInputs`),
 * and the waiters for the moment none runs. Running the action itself is
 * {@linkcode runAction}'s job; this is its {@linkcode Responder}.
 *
 * @module
 */

import { ClientError, ProtocolError } from "../base/errors.ts";
import { ignore } from "../base/timers.ts";
import type { CallRecorder } from "../dispatch/action_stats.ts";
import type { Peer } from "../dispatch/peer.ts";
import { RequestContext } from "../dispatch/request_context.ts";
import {
  type ActionLookup,
  type Responder,
  runAction,
  unknownAction,
} from "../dispatch/run_action.ts";
import type {
  EndMessage,
  ItemMessage,
  ItemsMessage,
  RequestMessage,
  WireError,
} from "../protocol/messages.ts";
import type { OutgoingMessage } from "../protocol/outgoing.ts";
import type { StreamReceiver } from "../protocol/stream.ts";
import { isIdle, type Middleware } from "../dispatch/middleware.ts";
import { runWatched } from "../dispatch/run_watched.ts";
import type { AnswerMeta } from "../protocol/message_table.ts";
import type { Metadata } from "../protocol/metadata.ts";
import { RequestInputs } from "./request_inputs.ts";
import { ResultStreams } from "./result_streams.ts";

/** How {@linkcode IncomingRequests} answers; the outbox implements it. */
export interface AnswerSender {
  /** Answers a request with its result (and the answer's metadata). */
  result(id: number, value: unknown, metadata?: Metadata): void;
  /** Answers a request with an error (and the answer's metadata). */
  error(id: number, error: WireError, metadata?: Metadata): void;
  /** The meta item of an answer carrying `metadata`, if it may go. */
  answerMeta?(metadata: Metadata | undefined): AnswerMeta | undefined;
  /** Sends a control message unless the connection is gone. */
  sendIfOpen(message: OutgoingMessage): void;
  /** Sends a stream item unless the connection is gone; throws when it cannot go. */
  sendChecked(message: OutgoingMessage): void | Promise<void>;
  /** The error object sent for a thrown value. */
  wireError(code: string, thrown: unknown): WireError;
  /** Whether the peer takes batches of items and byte credit (PROTOCOL.md, "Batches"). */
  readonly peerTakesBatches?: boolean;
  /** Sends a batch of items unless the connection is gone, and gives back its size. */
  sendMeasured?(message: OutgoingMessage): number | Promise<number>;
}

/** What {@linkcode IncomingRequests} needs of its connection. */
export interface RequestsHost {
  /** The peer, for the handlers' context. */
  readonly peer: Peer;
  /** Who the peer is. */
  readonly identity: unknown;
  /** Whether this side refuses new requests (it is leaving). */
  readonly isRefusing: boolean;
  /** Whether the connection is gone. */
  readonly isClosed: boolean;
  /** Whether answers are queued faster than the peer reads them. */
  readonly isCongested: boolean;
  /** Resolves once what is queued is written. */
  drain(): Promise<void>;
  /** A promise while the peer does not read what is queued. */
  blocked(): Promise<void> | undefined;
  /** The peer broke the protocol. */
  failProtocol(error: ProtocolError): void;
}

/** Options of {@linkcode IncomingRequests}. */
export interface RequestsOptions {
  /** The actions this side runs for its peer; none when omitted. */
  actions?: ActionLookup;
  /** How many requests may run at once; no limit when omitted. */
  maxInFlight?: number;
  /** Whether error stacks are sent; they are when omitted. */
  exposeStack?: boolean;
  /** Where the calls run are counted (a server's stats); nowhere when omitted. */
  stats?: CallRecorder;
  /** Middleware around every request (read at each request); none when omitted. */
  middleware?: readonly Middleware[];
}

/** The peer's requests on one connection. */
export class IncomingRequests implements Responder {
  /** Whether error stacks are sent to the peer. */
  readonly exposeStack: boolean;
  readonly #sender: AnswerSender;
  readonly #host: RequestsHost;
  readonly #actions: ActionLookup | undefined;
  readonly #maxInFlight: number;
  readonly #stats: CallRecorder | undefined;
  readonly #middleware: readonly Middleware[] | undefined;
  #active = 0;
  /** The requests being run, by id. */
  #running: Map<number, RequestContext> | undefined;
  /** The streamed results, and the windows of requests that take one. */
  readonly #results: ResultStreams;
  /** Requests whose data is streaming in. */
  readonly #inputs: RequestInputs;
  /** Requests that arrived while answers could not be written; run once they can. */
  #deferred: RequestMessage[] = [];
  /** The ids of the deferred requests: in flight as much as running ones. */
  #deferredIds = new Set<number>();
  #idleWaiters: (() => void)[] = [];

  /**
   * Takes the requests of one connection.
   *
   * @param sender How answers go out.
   * @param host The connection.
   * @param options The actions and limits.
   */
  constructor(
    sender: AnswerSender,
    host: RequestsHost,
    options: RequestsOptions,
  ) {
    this.#sender = sender;
    this.#host = host;
    this.#inputs = new RequestInputs(sender, host);
    this.#results = new ResultStreams(
      sender,
      host,
      (context, failure) => this.#done(context, failure),
    );
    this.#actions = options.actions;
    this.#maxInFlight = options.maxInFlight ?? Infinity;
    this.#middleware = options.middleware;
    this.exposeStack = options.exposeStack ?? true;
    this.#stats = options.stats;
  }

  /** How many requests are being run. */
  get active(): number {
    return this.#active;
  }

  /**
   * A REQUEST arrived.
   *
   * @param request The request.
   */
  receive(request: RequestMessage): void {
    if (this.#running?.has(request.id) || this.#deferredIds.has(request.id)) {
      // Overwriting the first would orphan its handler: its signal would
      // never abort, nor its generator's finally run.
      return this.#host.failProtocol(
        new ProtocolError(
          "PROTOCOL",
          `Request id ${request.id} is already in flight on this connection.`,
        ),
      );
    }
    if (this.#deferred.length > 0 || this.#host.isCongested) {
      return this.#defer(request);
    }
    this.#handle(request);
  }

  /**
   * The caller cancelled request `id`: its stream stops, its signal aborts.
   *
   * @param id The request id.
   */
  cancel(id: number): void {
    this.#results.stop(id);
    this.#running?.get(id)?.abort(
      new ClientError("ABORTED", "The caller cancelled this call."),
    );
  }

  /**
   * The caller grants credit for a streamed result.
   *
   * @param id The request id.
   * @param count How many more items may go.
   * @param bytes How many more bytes may go, when the stream counts them.
   */
  grant(id: number, count: number, bytes?: number): void {
    this.#results.grant(id, count, bytes);
  }

  /**
   * An item of a request's streamed data arrived.
   *
   * @param message The item.
   * @param size The size of the message, which the byte credit counts.
   */
  input(message: ItemMessage, size = 0): void {
    this.#inputs.item(message, size);
  }

  /**
   * Several items of a request's streamed data arrived in one message.
   *
   * @param message The items.
   * @param size The size of the message, which the byte credit counts.
   */
  inputs(message: ItemsMessage, size: number): void {
    this.#inputs.items(message, size);
  }

  /**
   * A request's streamed data ended (with an error when the caller's source failed).
   *
   * @param message The end.
   */
  inputEnd(message: EndMessage): void {
    this.#inputs.end(message);
  }

  /**
   * Resolves once no request is being run, or the connection is closed.
   *
   * @returns The promise.
   */
  whenIdle(): Promise<void> {
    if (this.#active === 0 || this.#host.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * The connection is gone: running handlers' signals abort, streams stop.
   *
   * @param reason Why.
   */
  closeAll(reason: unknown): void {
    for (const context of this.#running?.values() ?? []) context.abort(reason);
    this.#running?.clear();
    this.#results.stopAll();
    this.#inputs.failAll(reason);
  }

  /** The connection is gone: whoever waits for the requests to end stops waiting. */
  releaseWaiters(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** {@inheritDoc Responder.result} */
  result(context: RequestContext, value: unknown): void {
    this.#done(context, undefined);
    this.#sender.result(context.requestId, value, context.answerMetadata);
  }

  /** {@inheritDoc Responder.error} */
  error(context: RequestContext, error: WireError): void {
    this.#done(context, error);
    this.#sender.error(context.requestId, error, context.answerMetadata);
  }

  /** {@inheritDoc Responder.openInput} */
  openInput(context: RequestContext): StreamReceiver {
    return this.#inputs.open(context.requestId);
  }

  /** {@inheritDoc Responder.stream} */
  stream(context: RequestContext, source: AsyncIterable<unknown>): void {
    if (!this.#results.start(context, source)) {
      source[Symbol.asyncIterator]().return?.()?.catch(ignore);
      return this.error(context, {
        code: "STREAM_REQUIRED",
        name: "RemoteError",
        message:
          `"${context.action}" streams its result: call it with stream(), not runAction().`,
      });
    }
  }

  #handle(request: RequestMessage): void {
    const { id } = request;
    if (this.#host.isRefusing) {
      return this.#sender.error(id, {
        code: "CONNECTION_CLOSED",
        name: "ClientError",
        message: "The peer is closing this connection; the action did not run.",
      });
    }
    if (request.dataError || request.metadataError) {
      return this.#sender.error(
        id,
        this.#sender.wireError(
          "INVALID_REQUEST",
          request.dataError ?? request.metadataError,
        ),
      );
    }
    const action = this.#actions?.(request.action);
    if (action === undefined) {
      this.#stats?.unknownAction();
      return this.#sender.error(id, unknownAction(request.action));
    }
    if (this.#active >= this.#maxInFlight) {
      return this.#sender.error(id, {
        code: "OVERLOADED",
        name: "RemoteError",
        message:
          `Too many calls in flight on this connection (maxInFlight is ${this.#maxInFlight}); try again when some have finished.`,
      });
    }
    const context = new RequestContext(
      request.action,
      id,
      this.#host.peer,
      this.#host.identity,
      request.timeout === undefined ? undefined : Date.now() + request.timeout,
      request.lastEventId,
      request.metadata,
    );
    // Every running request is known by id, so a cancel always reaches it.
    (this.#running ??= new Map()).set(id, context);
    this.#active++;
    if (this.#stats !== undefined) {
      const counters = this.#stats.counters(request.action);
      context.counters = counters;
      context.startedAt = counters.start();
    }
    if (request.stream !== undefined) {
      this.#results.expect(id, request.stream, request.streamBytes);
    }
    const middleware = this.#middleware;
    if (middleware === undefined || isIdle(middleware)) {
      return runAction(
        action,
        request.data,
        request.input === true,
        context,
        this,
      );
    }
    runWatched(
      middleware,
      action,
      request.data,
      request.input === true,
      request.stream !== undefined,
      context,
      this,
    );
  }

  /**
   * Holds a request while the peer does not read its answers: memory stays
   * bounded by what one read brings, as the transport stops reading too.
   */
  #defer(request: RequestMessage): void {
    this.#deferred.push(request);
    this.#deferredIds.add(request.id);
    if (this.#deferred.length === 1) {
      this.#host.drain().then(() => this.#runDeferred());
    }
  }

  #runDeferred(): void {
    while (this.#deferred.length > 0 && !this.#host.isClosed) {
      if (this.#host.isCongested) {
        this.#host.drain().then(() => this.#runDeferred());
        return;
      }
      const request = this.#deferred.shift()!;
      this.#deferredIds.delete(request.id);
      this.#handle(request);
    }
    this.#deferred = [];
    this.#deferredIds.clear();
  }

  /** A request's run is over: it no longer counts, its input stops. */
  #done(context: RequestContext, error: WireError | undefined): void {
    const id = context.requestId;
    context.counters?.finish(context.startedAt, error);
    this.#results.finish(id);
    this.#inputs.finish(id);
    this.#running?.delete(id);
    if (--this.#active === 0 && this.#idleWaiters.length > 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }
}
