/**
 * The peer's requests on one connection: the limits and id rules they pass,
 * their deferral while the peer does not read its answers, the running
 * ones (so that a cancel reaches them), their deadlines (PROTOCOL.md,
 * "Request": the server ends a call whose caller's time is up, whether or
 * not a cancel comes), their streamed results (`ResultStreams`) and inputs
 * (`RequestInputs`), and the waiters for the moment none runs. Running the
 * action itself is {@linkcode runAction}'s job; this is its
 * {@linkcode Responder}.
 *
 * @module
 */

import { DeadlineQueue } from "../base/deadline.ts";
import { ClientError, ProtocolError } from "../base/errors.ts";
import { ignore } from "../base/timers.ts";
import type { CallRecorder } from "../dispatch/action_stats.ts";
import {
  type ActionLookup,
  RequestContext,
  type Responder,
  runAction,
  runWithMiddleware,
  unknownAction,
} from "../dispatch/run_action.ts";
import {
  type EndMessage,
  type ItemMessage,
  type ItemsMessage,
  type Message,
  outgoing,
  type RequestMessage,
} from "../protocol/message_table.ts";
import { errorFromWire, type WireError } from "../protocol/wire_error.ts";
import { isIdle, type Middleware } from "../dispatch/middleware.ts";
import { StreamSender } from "../protocol/stream_sender.ts";
import { MessageType } from "../protocol/message_type.ts";
import type { ConnectionContext, MessageOut } from "./connection.ts";
import { BATCH_WINDOW, BYTE_WINDOW, INPUT_WINDOW } from "../protocol/stream.ts";
import { StreamReceiver } from "../protocol/stream_receiver.ts";
import { batchItems } from "../protocol/malformed.ts";

// The streamed results of the peer's requests on one connection: the window
// each streamed request asked for, and the `StreamSender` that sends a
// handler's items as the caller grants credit, then END (or the error the
// stream failed with).

/** Called once a streamed result is over, with why it failed part way. */
export type StreamDone = (
  context: RequestContext,
  failure: WireError | undefined,
) => void;

/** The streamed results of one connection's requests, by request id. */
class ResultStreams {
  readonly #sender: RequestsOut;
  readonly #host: RequestsConnection;
  readonly #done: StreamDone;
  /** The windows of requests that take a streamed result, until the result comes. */
  #windows: Map<number, number> | undefined;
  /** Their byte windows, for requests that set one. */
  #byteWindows: Map<number, number> | undefined;
  /** Requests whose results are being streamed. */
  #streams: Map<number, StreamSender> | undefined;

  /**
   * Starts with no result streaming.
   *
   * @param connection The connection, and how items and ends go out on it.
   * @param done Called once each stream is over.
   */
  constructor(connection: RequestsConnection, done: StreamDone) {
    this.#sender = connection.out;
    this.#host = connection;
    this.#done = done;
  }

  /**
   * Request `id` takes a streamed result, with `window` items in flight.
   *
   * @param id The request id.
   * @param window How many items may go before the caller grants more.
   * @param byteWindow How many bytes of item messages may go before the
   * caller grants more, when it counts bytes (PROTOCOL.md, "Batches").
   */
  expect(id: number, window: number, byteWindow?: number): void {
    (this.#windows ??= new Map()).set(id, window);
    if (byteWindow !== undefined) {
      (this.#byteWindows ??= new Map()).set(id, byteWindow);
    }
  }

  /**
   * Streams a handler's items, if its request asked for a stream.
   *
   * @param context The request.
   * @param source The handler's items.
   * @returns Whether the stream started (false: the caller asked for no stream).
   */
  start(context: RequestContext, source: AsyncIterable<unknown>): boolean {
    const id = context.requestId;
    const window = this.#windows?.get(id);
    if (window === undefined) return false;
    const sender = this.#sender;
    /** Why the stream failed part way, for the stats. */
    let failure: WireError | undefined;
    const stream = new StreamSender(
      source,
      {
        item: (value, eventId) =>
          sender.sendChecked(outgoing.item(id, value, eventId)),
        items: this.#host.features.batch && sender.sendMeasured !== undefined
          ? (values, eventId) =>
            sender.sendMeasured!(outgoing.items(id, values, eventId))
          : undefined,
        end: () =>
          sender.sendIfOpen(
            outgoing.end(
              id,
              undefined,
              sender.answerMeta(context.answerMetadata),
            ),
          ),
        fail: (error) => {
          failure = sender.wireError(
            error instanceof ClientError && error.code === "FRAME_TOO_LARGE"
              ? "FRAME_TOO_LARGE"
              : "ACTION_FAILED",
            error,
          );
          sender.error(id, failure, context.answerMetadata);
        },
        blocked: () => this.#host.blocked(),
      },
      window,
      this.#byteWindows?.get(id),
    );
    (this.#streams ??= new Map()).set(id, stream);
    stream.run().then(() => {
      // A stream dropped at its deadline may have left its id to a new request.
      if (this.#streams?.get(id) === stream) this.#streams.delete(id);
      this.#done(context, failure);
    });
    return true;
  }

  /**
   * The caller grants credit for a streamed result.
   *
   * @param id The request id.
   * @param count How many more items may go.
   * @param bytes How many more bytes may go, when the stream counts them.
   */
  grant(id: number, count: number, bytes?: number): void {
    try {
      this.#streams?.get(id)?.grant(count, bytes);
    } catch (error) {
      this.#host.failProtocol(error as ProtocolError);
    }
  }

  /**
   * Stops request `id`'s stream: its generator's `finally` runs.
   *
   * @param id The request id.
   */
  stop(id: number): void {
    this.#streams?.get(id)?.stop();
  }

  /**
   * Stops request `id`'s stream and forgets it at once, so that its id is
   * free: its generator's `finally` runs, and nothing more is sent.
   *
   * @param id The request id.
   */
  drop(id: number): void {
    const stream = this.#streams?.get(id);
    if (stream === undefined) return;
    this.#streams!.delete(id);
    stream.stop();
  }

  /**
   * Request `id`'s run is over: its window is no longer needed.
   *
   * @param id The request id.
   */
  finish(id: number): void {
    this.#windows?.delete(id);
    this.#byteWindows?.delete(id);
  }

  /** The connection is gone: every stream stops. */
  stopAll(): void {
    for (const stream of this.#streams?.values() ?? []) stream.stop();
  }
}

// The streamed inputs of the peer's requests on one connection: each
// request that takes its data as a stream reads it through a
// `StreamReceiver` here, which grants the caller credit as the handler
// reads, and tells it to stop when the handler leaves early.

/** The streamed inputs of one connection's requests, by request id. */
class RequestInputs {
  readonly #control: RequestsOut;
  readonly #host: RequestsConnection;
  /** Requests whose data is streaming in. */
  #streams: Map<number, StreamReceiver> | undefined;

  /**
   * Starts with no input streaming in.
   *
   * @param connection The connection, and how credit and stops go to the
   * caller on it.
   */
  constructor(connection: RequestsConnection) {
    this.#control = connection.out;
    this.#host = connection;
  }

  /**
   * Opens the input of request `id`, for its handler to read.
   *
   * @param id The request id.
   * @returns The items, as they arrive.
   */
  open(id: number): StreamReceiver {
    const batches = this.#host.features.batch;
    const input = new StreamReceiver(
      batches ? BATCH_WINDOW : INPUT_WINDOW,
      {
        grant: (count, bytes) =>
          this.#control.sendIfOpen(outgoing.inputCredit(id, count, bytes)),
        stop: () => {
          this.#streams?.delete(id);
          this.#control.sendIfOpen(outgoing.inputStop(id));
        },
      },
      batches ? BYTE_WINDOW : undefined,
    );
    (this.#streams ??= new Map()).set(id, input);
    return input;
  }

  /**
   * An item of a request's streamed data arrived.
   *
   * @param message The item.
   * @param size The size of the message, which the byte credit counts.
   */
  item(message: ItemMessage, size = 0): void {
    const input = this.#streams?.get(message.id);
    if (input === undefined) return; // The handler stopped reading.
    if (message.itemError) {
      return this.#failItem(message.id, input, message.itemError);
    }
    try {
      input.push(message.item, size);
    } catch (error) {
      this.#host.failProtocol(error as ProtocolError);
    }
  }

  /**
   * Several items of a request's streamed data arrived in one message.
   *
   * @param message The items.
   * @param size The size of the message, which the byte credit counts.
   */
  items(message: ItemsMessage, size: number): void {
    const input = this.#streams?.get(message.id);
    if (input === undefined) return; // The handler stopped reading.
    if (message.itemsError) {
      return this.#failItem(message.id, input, message.itemsError);
    }
    try {
      input.pushAll(batchItems(message.items), size);
    } catch (error) {
      this.#host.failProtocol(error as ProtocolError);
    }
  }

  /**
   * Request `id`'s input stops with an error: the handler's loop throws
   * it, and the caller is told to stop sending.
   *
   * @param id The request id.
   * @param reason What the loop throws.
   */
  fail(id: number, reason: unknown): void {
    const input = this.#streams?.get(id);
    if (input !== undefined) this.#failItem(id, input, reason);
  }

  /** An item cannot be decoded: the handler's loop throws, the caller stops. */
  #failItem(id: number, input: StreamReceiver, error: unknown): void {
    this.#streams?.delete(id);
    input.fail(error);
    this.#control.sendIfOpen(outgoing.inputStop(id));
  }

  /**
   * A request's streamed data ended (with an error when the caller's source failed).
   *
   * @param message The end.
   */
  end(message: EndMessage): void {
    const input = this.#streams?.get(message.id);
    this.#streams?.delete(message.id);
    if (message.error) input?.fail(errorFromWire(message.error));
    else input?.end();
  }

  /**
   * Request `id`'s run is over: its input stops, the handler is done reading.
   *
   * @param id The request id.
   */
  finish(id: number): void {
    const input = this.#streams?.get(id);
    if (input !== undefined) input.return();
  }

  /**
   * The connection is gone: every input still open fails.
   *
   * @param reason Why.
   */
  failAll(reason: unknown): void {
    for (const input of this.#streams?.values() ?? []) input.fail(reason);
    this.#streams?.clear();
  }
}

/**
 * How long after a request's deadline the server ends it itself. A caller
 * that is still there cancels at its deadline, and its cancel comes first;
 * this ends the calls of a caller that froze or vanished, which sends none.
 */
const DEADLINE_GRACE = 200;

/** How {@linkcode IncomingRequests} answers: the part of a connection's {@linkcode MessageOut} it uses. */
export type RequestsOut = Pick<
  MessageOut,
  | "result"
  | "error"
  | "answerMeta"
  | "sendIfOpen"
  | "sendChecked"
  | "sendMeasured"
  | "wireError"
>;

/** What {@linkcode IncomingRequests} needs of its connection. */
export type RequestsConnection =
  & Pick<
    ConnectionContext,
    | "features"
    | "peer"
    | "identity"
    | "isRefusing"
    | "isClosed"
    | "isCongested"
    | "drain"
    | "blocked"
    | "failProtocol"
  >
  & { readonly out: RequestsOut };

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
  readonly #sender: RequestsOut;
  readonly #host: RequestsConnection;
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
  /** When each deferred request's deadline passes, at the same index (`undefined`: none). */
  #deferredDeadlines: (number | undefined)[] = [];
  /** The ids of the deferred requests: in flight as much as running ones. */
  #deferredIds = new Set<number>();
  /** The running requests that have a deadline, made at the first. */
  #deadlines: DeadlineQueue<RequestContext> | undefined;
  #idleWaiters: (() => void)[] = [];

  /**
   * Takes the requests of one connection.
   *
   * @param connection The connection, and how answers go out on it.
   * @param options The actions and limits.
   */
  constructor(connection: RequestsConnection, options: RequestsOptions) {
    this.#sender = connection.out;
    this.#host = connection;
    this.#inputs = new RequestInputs(connection);
    this.#results = new ResultStreams(
      connection,
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
   * A message for the peer's requests arrived: REQUEST, CANCEL, CREDIT,
   * INPUT, INPUTS or INPUT_END (other messages are not the requests').
   *
   * @param message The message.
   * @param size Its encoded size, which the byte credit counts.
   */
  receive(message: Message, size = 0): void {
    switch (message.type) {
      case MessageType.REQUEST:
        return this.#request(message);
      case MessageType.CANCEL:
        return this.cancel(message.id);
      case MessageType.CREDIT:
        return this.grant(message.id, message.count, message.byteCount);
      case MessageType.INPUT:
        return this.input(message, size);
      case MessageType.INPUTS:
        return this.inputs(message, size);
      case MessageType.INPUT_END:
        return this.inputEnd(message);
    }
  }

  /** A REQUEST arrived. */
  #request(request: RequestMessage): void {
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
    // The deadline counts from the request's arrival, by this side's clock.
    const deadline = request.timeout === undefined
      ? undefined
      : Date.now() + request.timeout;
    if (this.#deferred.length > 0 || this.#host.isCongested) {
      return this.#defer(request, deadline);
    }
    this.#handle(request, deadline);
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
   * The connection gives up on its running requests (it is about to close):
   * their handlers' signals abort, their streams stop, their inputs fail,
   * and what they answer is dropped. They count as running until their
   * handlers return.
   *
   * @param reason Why: the signals' reason.
   * @returns How many requests it gave up on.
   */
  abortHandlers(reason: unknown): number {
    let count = 0;
    for (const context of this.#running?.values() ?? []) {
      if (!context.isAnswerDropped) count++;
      context.isAnswerDropped = true;
      context.abort(reason);
    }
    this.#results.stopAll();
    this.#inputs.failAll(reason);
    return count;
  }

  /**
   * The connection is gone: running handlers' signals abort, streams stop.
   *
   * @param reason Why.
   */
  closeAll(reason: unknown): void {
    this.abortHandlers(reason);
    this.#running?.clear();
    this.#deadlines?.clear();
  }

  /** The connection is gone: whoever waits for the requests to end stops waiting. */
  releaseWaiters(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** {@inheritDoc Responder.result} */
  result(context: RequestContext, value: unknown): void {
    if (this.#done(context, undefined)) {
      this.#sender.result(context.requestId, value, context.answerMetadata);
    }
  }

  /** {@inheritDoc Responder.error} */
  error(context: RequestContext, error: WireError): void {
    if (this.#done(context, error)) {
      this.#sender.error(context.requestId, error, context.answerMetadata);
    }
  }

  /** {@inheritDoc Responder.openInput} */
  openInput(context: RequestContext): AsyncIterable<unknown> {
    // Given up on (past its deadline its id may be another's): read nothing.
    if (context.isAnswerDropped) return failedInput(context.signal.reason);
    return this.#inputs.open(context.requestId);
  }

  /** {@inheritDoc Responder.stream} */
  stream(context: RequestContext, source: AsyncIterable<unknown>): void {
    if (context.isAnswerDropped) {
      // Given up on already: the stream ends before its first item.
      source[Symbol.asyncIterator]().return?.()?.catch(ignore);
      this.#done(context, undefined);
      return;
    }
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

  #handle(request: RequestMessage, deadline: number | undefined): void {
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
      deadline,
      request.lastEventId,
      request.metadata,
    );
    // Every running request is known by id, so a cancel always reaches it.
    (this.#running ??= new Map()).set(id, context);
    this.#active++;
    if (deadline !== undefined) {
      (this.#deadlines ??= new DeadlineQueue((expired) =>
        this.#expire(expired)
      )).add(context, deadline + DEADLINE_GRACE);
    }
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
    runWithMiddleware(
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
  #defer(request: RequestMessage, deadline: number | undefined): void {
    this.#deferred.push(request);
    this.#deferredDeadlines.push(deadline);
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
      const deadline = this.#deferredDeadlines.shift();
      this.#deferredIds.delete(request.id);
      if (deadline !== undefined && deadline + DEADLINE_GRACE <= Date.now()) {
        // Its caller's time ran out while it waited: it does not run.
        this.#sender.error(
          request.id,
          timeoutError(request.action, "before it ran"),
        );
        continue;
      }
      this.#handle(request, deadline);
    }
    this.#deferred = [];
    this.#deferredDeadlines = [];
    this.#deferredIds.clear();
  }

  /**
   * A request's deadline passed while it ran: its signal aborts with a
   * `TIMEOUT`, its stream stops (the generator's `finally` runs), its input
   * fails, and the caller, if it is still there, gets a `TIMEOUT` error.
   * Its id is free from now on; its handler counts as running until it
   * returns, and what it answers then is dropped.
   */
  #expire(context: RequestContext): void {
    const id = context.requestId;
    const error = timeoutError(context.action, "while it ran");
    const reason = new ClientError("TIMEOUT", error.message);
    context.isExpired = true;
    context.isAnswerDropped = true;
    // The input fails first: the handler's loop throws, rather than ending
    // as if the upload were whole.
    this.#inputs.fail(id, reason);
    this.#results.drop(id);
    this.#release(context, error);
    context.abort(reason);
    this.#sender.error(id, error, context.answerMetadata);
  }

  /**
   * A request's run is over: it no longer counts; its input stops.
   *
   * @returns Whether its answer goes: not when its deadline answered it,
   * nor when the connection gave up on it.
   */
  #done(context: RequestContext, error: WireError | undefined): boolean {
    if (!context.isExpired) this.#release(context, error);
    if (--this.#active === 0 && this.#idleWaiters.length > 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
    return !context.isAnswerDropped;
  }

  /** A request is answered: it is counted, and its id is free. */
  #release(context: RequestContext, error: WireError | undefined): void {
    const id = context.requestId;
    context.counters?.finish(context.startedAt, error);
    if (context.queueIndex >= 0) this.#deadlines!.delete(context);
    this.#results.finish(id);
    this.#inputs.finish(id);
    this.#running?.delete(id);
  }
}

/** The error a request whose deadline passed is answered with. */
function timeoutError(action: string, when: string): WireError {
  return {
    code: "TIMEOUT",
    name: "ClientError",
    message:
      `The caller's deadline for "${action}" passed ${when}: it no longer waits for the answer.`,
  };
}

/** An input that fails at its first read: for a request past its deadline. */
function failedInput(reason: unknown): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(reason) }),
  };
}
