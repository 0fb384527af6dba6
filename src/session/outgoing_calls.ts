/**
 * The calls this side makes to its peer: their ids, deadlines and aborts,
 * the request's metadata, the data streamed with a call, the calls waiting
 * for their answers (by request id), and each answer routed back to its
 * call: results, errors, stream items and ends, answer metadata, and the
 * peer's credit for a call's streamed input.
 *
 * @module
 */

import { ClientError, ProtocolError } from "../base/errors.ts";
import { abortedError, type Deadline } from "../base/deadline.ts";
import { deferred } from "../base/deferred.ts";
import {
  type ItemMessage,
  type ItemsMessage,
  type Message,
  outgoing,
  type ReadAnswerMeta,
  type RequestMeta,
  type ResultMessage,
} from "../protocol/message_table.ts";
import {
  errorFromWire,
  safeString,
  type WireError,
} from "../protocol/wire_error.ts";
import { type Metadata, metadataToWire } from "../protocol/metadata.ts";
import {
  BATCH_WINDOW,
  BYTE_WINDOW,
  DEFAULT_WINDOW,
  INPUT_WINDOW,
  isStreamSource,
} from "../protocol/stream.ts";
import { StreamReceiver } from "../protocol/stream_receiver.ts";
import { batchItems } from "../protocol/malformed.ts";
import { ignore, MAX_TIMEOUT, type TimerHandle } from "../base/timers.ts";
import { StreamSender } from "../protocol/stream_sender.ts";
import type { CallOptions, StreamOptions } from "../dispatch/peer.ts";
import type { ConnectionContext, MessageOut } from "./connection.ts";
import { MAX_WINDOW, MessageType } from "../protocol/message_type.ts";

// Calls on their way: the record a session keeps for each call waiting for
// its answer, plain or streamed.

/** A call waiting for its answer. */
export class PendingCall {
  /** The call's deadline, when it has one. */
  timer: TimerHandle | undefined;
  /** The caller's abort signal, when it gave one. */
  signal: AbortSignal | undefined;
  /** The listener on that signal, removed once the call settles. */
  onAbort: (() => void) | undefined;
  /** Sends the call's data, when it is a stream. */
  input: StreamSender | undefined;
  /** Takes the answer's metadata, when the caller asked for it. */
  onMetadata: ((metadata: Metadata) => void) | undefined;

  /**
   * Waits for an answer.
   *
   * @param resolve Settles the call with its result.
   * @param reject Fails it.
   */
  constructor(
    /** Settles the call with its result. */
    readonly resolve: (value: unknown) => void,
    /** Fails the call. */
    readonly reject: (error: unknown) => void,
  ) {}

  /** The answer arrived. */
  result(value: unknown): void {
    this.resolve(value);
  }

  /** The call failed. */
  fail(error: unknown): void {
    this.reject(error);
  }

  /** A streamed item arrived; false when this call streams nothing. */
  item(
    _value: unknown,
    _eventId: string | number | undefined,
    _size?: number,
  ): boolean {
    return false;
  }

  /** Several streamed items arrived in one message; false when this call streams nothing. */
  items(
    _values: readonly unknown[],
    _eventId: string | number | undefined,
    _size: number,
  ): boolean {
    return false;
  }

  /** A streamed result ended. */
  end(): void {
    this.resolve(undefined);
  }

  /** Stops the deadline, the abort listener and the input. */
  settle(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort !== undefined) {
      this.signal!.removeEventListener("abort", this.onAbort);
    }
    this.input?.stop();
  }
}

/** A call whose result is a stream: items go to a receiver the caller iterates. */
export class StreamCall extends PendingCall {
  /** The id of the last tracked item received: where a resumed stream goes on from. */
  lastEventId: string | number | undefined;
  /** How many items arrived. */
  itemCount = 0;

  /**
   * Waits for a stream.
   *
   * @param receiver Where the items go; the caller iterates it.
   */
  constructor(
    /** Where the items go; the caller iterates it. */
    readonly receiver: StreamReceiver,
  ) {
    super(ignore, ignore);
  }

  /** A plain result: a stream of one item. */
  override result(value: unknown): void {
    // A handler that returned a plain value: a stream of one item.
    this.receiver.push(value);
    this.receiver.end();
  }

  /** The stream failed: the consumer's next read rejects. */
  override fail(error: unknown): void {
    this.receiver.fail(error);
  }

  /** An item arrived: the consumer gets it; its event id is where a resume goes on. */
  override item(
    value: unknown,
    eventId: string | number | undefined,
    size = 0,
  ): boolean {
    this.receiver.push(value, size);
    this.itemCount++;
    if (eventId !== undefined) this.lastEventId = eventId;
    return true;
  }

  /**
   * Several items arrived in one message: the consumer gets them one by
   * one; the id of the last tracked one among them is where a resume goes on.
   */
  override items(
    values: readonly unknown[],
    eventId: string | number | undefined,
    size: number,
  ): boolean {
    this.receiver.pushAll(values, size);
    this.itemCount += values.length;
    if (eventId !== undefined) this.lastEventId = eventId;
    return true;
  }

  /** The stream ended. */
  override end(): void {
    this.receiver.end();
  }
}

// A call's input sent as a stream: INPUT items go out as the peer's handler
// grants credit, then INPUT_END (with the error object when the source
// threw). See PROTOCOL.md, "Streams".

/**
 * Starts sending a call's data as a stream of INPUT messages, as the peer
 * grants credit; the call holds the sender, so settling it stops the source.
 *
 * @param sender How the messages go out.
 * @param batches Whether the peer takes batches and byte credit (PROTOCOL.md, "Batches").
 * @param id The call's request id.
 * @param call The call the input belongs to.
 * @param source The input items.
 * @param blocked A promise while the peer does not read what is queued.
 */
export function sendInput(
  sender: CallsOut,
  batches: boolean,
  id: number,
  call: PendingCall,
  source: AsyncIterable<unknown>,
  blocked: () => Promise<void> | undefined,
): void {
  batches &&= sender.sendMeasured !== undefined;
  call.input = new StreamSender(
    source,
    {
      item: (value) => sender.sendChecked(outgoing.input(id, value)),
      items: batches
        ? (values) => sender.sendMeasured!(outgoing.inputs(id, values))
        : undefined,
      end: () => sender.sendIfOpen(outgoing.inputEnd(id)),
      fail: (error) =>
        sender.sendIfOpen(
          outgoing.inputEnd(id, sender.wireError("ACTION_FAILED", error)),
        ),
      blocked,
    },
    batches ? BATCH_WINDOW : INPUT_WINDOW,
    batches ? BYTE_WINDOW : undefined,
  );
  call.input.run();
}

// The metadata an answer (RESULT, ERROR or END) carries back to its caller:
// handed to the call's `onResponseMetadata`, or turned into the error the
// call fails with when it was refused on arrival or its taker threw.

/**
 * Hands an answer's metadata to its call's taker, if both are there.
 *
 * @param call The call answered.
 * @param answer The answer's metadata, as read.
 * @returns The error the call fails with when the metadata was refused.
 */
export function answerMetadata(
  call: PendingCall,
  answer: ReadAnswerMeta,
): unknown {
  if (answer.metadataError) {
    return new ClientError(
      "PROTOCOL",
      `The answer's metadata was refused: ${answer.metadataError.message}`,
      { cause: answer.metadataError },
    );
  }
  if (answer.metadata !== undefined && call.onMetadata !== undefined) {
    try {
      call.onMetadata(answer.metadata);
    } catch (error) {
      return error;
    }
  }
  return undefined;
}

// The errors a call fails with on this side, without an answer: options
// out of range, and a deadline that passed.

/**
 * Checks a call's `timeout` option.
 *
 * @param timeout Milliseconds, 0 for none.
 * @returns The error when it is out of range, else `undefined`.
 *
 * @example
 * ```ts
 * import { invalidTimeout } from "./outgoing_calls.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(invalidTimeout(1_000), undefined);
 * assert.equal(invalidTimeout(-1)?.code, "INVALID_OPTIONS");
 * ```
 */
export function invalidTimeout(timeout: number): ClientError | undefined {
  if (timeout >= 0 && timeout <= MAX_TIMEOUT) return undefined;
  return new ClientError(
    "INVALID_OPTIONS",
    `Option timeout must be a number of milliseconds from 0 to ${MAX_TIMEOUT}; got ${
      safeString(timeout)
    }.`,
  );
}

/**
 * Checks a streamed call's `window` option.
 *
 * @param window How many items the caller takes before granting more.
 * @returns The error when it is out of range, else `undefined`.
 */
export function invalidWindow(window: number): ClientError | undefined {
  if (Number.isInteger(window) && window >= 1 && window <= MAX_WINDOW) {
    return undefined;
  }
  return new ClientError(
    "INVALID_OPTIONS",
    `Option window must be an integer from 1 to ${MAX_WINDOW}; got ${
      safeString(window)
    }.`,
  );
}

/**
 * A call's options as a client hands them to its session: with the
 * deadline the call was given when it started, so that what is sent and
 * timed is what is left of it after connecting and earlier tries.
 * Internal: not among the public `CallOptions`.
 */
export interface SentOptions extends CallOptions {
  /** The call's deadline, made when it started; `timeout` is then not read. */
  readonly deadline: Deadline;
}

/**
 * The error of a call whose deadline passed.
 *
 * @param action The action's name.
 * @param timeout The deadline the caller asked for, in milliseconds.
 * @param items How many stream items arrived before it.
 * @returns A `TIMEOUT` error.
 *
 * @example
 * ```ts
 * import { timedOut } from "./outgoing_calls.ts";
 * import assert from "node:assert/strict";
 *
 * const error = timedOut("slow", 500, 0);
 * assert.equal(error.message, `"slow" did not answer within 500 ms.`);
 * ```
 */
export function timedOut(
  action: string,
  timeout: number,
  items: number,
): ClientError {
  return new ClientError(
    "TIMEOUT",
    items > 0
      ? `The stream from "${action}" timed out after ${items} item${
        items === 1 ? "" : "s"
      }: its ${timeout} ms were up before it ended.`
      : `"${action}" did not answer within ${timeout} ms.`,
  );
}

/** How {@linkcode OutgoingCalls} sends: the part of a connection's {@linkcode MessageOut} it uses. */
export type CallsOut = Pick<
  MessageOut,
  | "isClosed"
  | "sendIfOpen"
  | "sendChecked"
  | "sendMeasured"
  | "encodeChecked"
  | "sendData"
  | "wireError"
>;

/** What {@linkcode OutgoingCalls} needs of its connection. */
export type CallsConnection =
  & Pick<
    ConnectionContext,
    | "features"
    | "busy"
    | "quiet"
    | "settled"
    | "failProtocol"
    | "callError"
    | "blocked"
  >
  & { readonly out: CallsOut };

/**
 * The calls of one connection, by request id: made here, and answered
 * here when their answers come.
 *
 * @example
 * ```ts
 * import { OutgoingCalls } from "./outgoing_calls.ts";
 * import { NO_FEATURES } from "./connection.ts";
 * import { ClientError } from "../base/errors.ts";
 * import assert from "node:assert/strict";
 *
 * const sent: unknown[][] = [];
 * const calls = new OutgoingCalls({
 *   features: NO_FEATURES,
 *   out: {
 *     isClosed: false,
 *     encodeChecked: (message) => (sent.push([...message]), []),
 *     sendData() {}, sendIfOpen() {}, sendChecked() {},
 *     wireError: (code) => ({ code, name: "Error", message: "" }),
 *   },
 *   callError: () => new ClientError("CONNECTION_CLOSED", "closed"),
 *   busy() {}, quiet() {}, settled() {}, failProtocol() {}, blocked: () => undefined,
 * });
 * const answer = calls.call("add", [1, 2]);
 * calls.result({ type: 1, id: 1, value: 3 });
 * assert.equal(await answer, 3);
 * assert.deepEqual(sent, [[0, 1, "add", [1, 2]]]);
 * ```
 */
export class OutgoingCalls {
  readonly #pending = new Map<number, PendingCall>();
  readonly #sender: CallsOut;
  readonly #host: CallsConnection;
  #nextId = 1;

  /**
   * Starts with no call on its way.
   *
   * @param connection The connection, and how requests go out on it.
   */
  constructor(connection: CallsConnection) {
    this.#sender = connection.out;
    this.#host = connection;
  }

  /**
   * Calls an action on the peer. Never throws: every failure is a rejection.
   *
   * @param action The action's name.
   * @param data The input, or a stream of inputs.
   * @param options A timeout and an abort signal.
   * @returns The action's result.
   */
  call(
    action: string,
    data: unknown,
    options?: CallOptions,
  ): Promise<unknown> {
    const { promise, resolve, reject } = deferred<unknown>();
    this.request(action, data, options, new PendingCall(resolve, reject));
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
    const sender = this.#sender;
    // A peer that takes batches counts bytes too: the item window can be
    // wide, as the bytes bound what a slow consumer lets pile up.
    const byteWindow = this.#host.features.batch ? BYTE_WINDOW : undefined;
    const window = options.window ??
      (byteWindow === undefined ? DEFAULT_WINDOW : BATCH_WINDOW);
    let id = 0;
    const call = new StreamCall(
      new StreamReceiver(window, {
        grant: (count, bytes) =>
          sender.sendIfOpen(outgoing.credit(id, count, bytes)),
        stop: () => {
          if (this.take(id) !== undefined) {
            sender.sendIfOpen(outgoing.cancel(id));
          }
        },
      }, byteWindow),
    );
    const invalid = invalidWindow(window);
    if (invalid !== undefined) {
      call.fail(invalid);
      return call;
    }
    const meta: RequestMeta = { stream: window };
    if (byteWindow !== undefined) meta.streamBytes = byteWindow;
    if (options.lastEventId !== undefined) {
      meta.lastEventId = options.lastEventId;
    }
    id = this.request(action, data, options, call, meta);
    return call;
  }

  /**
   * Sends a request for `call`. Failures go to the call.
   *
   * @param action The action's name.
   * @param data The input, or a stream of inputs.
   * @param options A timeout and an abort signal.
   * @param call The call to settle.
   * @param meta The request's metadata (a streamed result's window).
   * @returns The request id (0 when nothing was sent).
   */
  request(
    action: string,
    data: unknown,
    options: CallOptions | undefined,
    call: PendingCall,
    meta?: RequestMeta,
  ): number {
    if (this.#sender.isClosed) {
      call.fail(this.#host.callError());
      return 0;
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      call.fail(abortedError(signal.reason));
      return 0;
    }
    const deadline = (options as Partial<SentOptions> | undefined)?.deadline;
    // What the caller asked for, and what is left of it now.
    const asked = deadline === undefined
      ? options?.timeout ?? 0
      : deadline.timeout;
    const invalid = invalidTimeout(asked);
    if (invalid !== undefined) {
      call.fail(invalid);
      return 0;
    }
    const timeout = deadline === undefined ? asked : deadline.toWire() ?? 0;
    const isInputStream = isStreamSource(data);
    let metadata: Record<string, string> | undefined;
    if (options?.metadata !== undefined) {
      try {
        metadata = metadataToWire(options.metadata);
      } catch (error) {
        call.fail(error);
        return 0;
      }
    }
    if (timeout > 0 || isInputStream || metadata !== undefined) {
      meta = { ...meta };
      if (timeout > 0) meta.timeout = timeout;
      if (isInputStream) meta.input = true;
      if (metadata !== undefined) meta.metadata = metadata;
    }
    const id = this.#nextId++;
    let parts: Uint8Array[];
    try {
      parts = this.#sender.encodeChecked(
        meta === undefined
          ? outgoing.request(id, action, data)
          : outgoing.request(id, action, isInputStream ? null : data, meta),
        `The request to "${action}"`,
      );
    } catch (error) {
      call.fail(error);
      return id;
    }
    this.waitFor(id, call);
    call.onMetadata = options?.onResponseMetadata;
    if (timeout > 0) {
      call.timer = setTimeout(() => {
        const items = call instanceof StreamCall ? call.itemCount : 0;
        this.cancel(id, timedOut(action, asked, items));
      }, deadline === undefined ? timeout : Math.max(0, deadline.left()));
    }
    if (signal !== undefined) {
      call.signal = signal;
      call.onAbort = () => this.cancel(id, abortedError(signal.reason));
      signal.addEventListener("abort", call.onAbort, { once: true });
    }
    this.#sender.sendData(parts);
    if (isInputStream) {
      sendInput(
        this.#sender,
        this.#host.features.batch,
        id,
        call,
        data,
        () => this.#host.blocked(),
      );
    }
    return id;
  }

  /** How many calls are waiting for their answers. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * A request went for `call`: it waits for its answer.
   *
   * @param id The request id.
   * @param call The call to settle.
   */
  waitFor(id: number, call: PendingCall): void {
    this.#pending.set(id, call);
    if (this.#pending.size === 1) this.#host.busy();
  }

  /**
   * Gives up on a call: fails it, and tells the peer so its handler can stop.
   *
   * @param id The request id.
   * @param reason Why.
   */
  cancel(id: number, reason: ClientError): void {
    const call = this.take(id);
    if (call === undefined) return;
    call.fail(reason);
    this.#sender.sendIfOpen(outgoing.cancel(id));
  }

  /**
   * Takes a call out of the waiting ones: its answer came or it was given
   * up. An answer for an id no call waits for (a late or a duplicate one)
   * finds nothing.
   *
   * @param id The request id.
   * @returns The call, if it was waiting.
   */
  take(id: number): PendingCall | undefined {
    const call = this.#pending.get(id);
    if (call !== undefined) {
      this.#pending.delete(id);
      call.settle();
      if (this.#pending.size === 0) this.#host.quiet();
      this.#host.settled();
    }
    return call;
  }

  /**
   * A message for one of the calls arrived: RESULT, ERROR, ITEM, ITEMS,
   * END, INPUT_CREDIT or INPUT_STOP (other messages are not the calls').
   *
   * @param message The message.
   * @param size Its encoded size, which the byte credit counts.
   */
  receive(message: Message, size = 0): void {
    switch (message.type) {
      case MessageType.RESULT:
        return this.result(message);
      case MessageType.ERROR:
        return this.error(message.id, message.error, message);
      case MessageType.ITEM:
        return this.item(message, size);
      case MessageType.ITEMS:
        return this.items(message, size);
      case MessageType.END:
        return this.end(message);
      case MessageType.INPUT_CREDIT:
        return this.grantInput(message.id, message.count, message.byteCount);
      case MessageType.INPUT_STOP:
        return this.stopInput(message.id);
    }
  }

  /**
   * A RESULT arrived.
   *
   * @param message Its id and value.
   */
  result(message: ResultMessage): void {
    const call = this.take(message.id);
    if (call === undefined) return;
    const failure = message.valueError ?? answerMetadata(call, message);
    if (failure) call.fail(failure);
    else call.result(message.value);
  }

  /**
   * An ERROR arrived.
   *
   * @param id The request id.
   * @param error The error object.
   * @param answer The answer's metadata, if any.
   */
  error(id: number, error: WireError, answer?: ReadAnswerMeta): void {
    const call = this.take(id);
    if (call === undefined) return;
    const failure = answer && answerMetadata(call, answer);
    call.fail(failure ?? errorFromWire(error));
  }

  /**
   * A stream item arrived for a call.
   *
   * @param message The item.
   * @param size The size of the message, which the byte credit counts.
   */
  item(message: ItemMessage, size = 0): void {
    const call = this.#pending.get(message.id);
    if (call === undefined) return; // A stream the caller already left.
    if (message.itemError) {
      return this.#failItem(message.id, call, message.itemError);
    }
    try {
      if (!call.item(message.item, message.eventId, size)) {
        throw new ProtocolError(
          "PROTOCOL",
          "A stream item arrived for a call that streams nothing.",
        );
      }
    } catch (error) {
      this.#host.failProtocol(error as ProtocolError);
    }
  }

  /**
   * Several stream items arrived for a call in one message (PROTOCOL.md,
   * "Batches").
   *
   * @param message The items, and the id of the last tracked one.
   * @param size The size of the message, which the byte credit counts.
   */
  items(message: ItemsMessage, size: number): void {
    const call = this.#pending.get(message.id);
    if (call === undefined) return; // A stream the caller already left.
    if (message.itemsError) {
      return this.#failItem(message.id, call, message.itemsError);
    }
    try {
      if (!call.items(batchItems(message.items), message.eventId, size)) {
        throw new ProtocolError(
          "PROTOCOL",
          "Stream items arrived for a call that streams nothing.",
        );
      }
    } catch (error) {
      this.#host.failProtocol(error as ProtocolError);
    }
  }

  /** An item cannot be decoded: the call fails, and the peer is told to stop. */
  #failItem(id: number, call: PendingCall, error: unknown): void {
    this.take(id);
    call.fail(error);
    this.#sender.sendIfOpen(outgoing.cancel(id));
  }

  /**
   * A streamed result ended.
   *
   * @param message The request id and the answer's metadata.
   */
  end(message: { readonly id: number } & ReadAnswerMeta): void {
    const call = this.take(message.id);
    if (call === undefined) return;
    const failure = answerMetadata(call, message);
    if (failure) call.fail(failure);
    else call.end();
  }

  /**
   * The peer grants credit for a call's streamed data.
   *
   * @param id The request id.
   * @param count How many more items may go.
   * @param bytes How many more bytes may go, when the input counts them.
   */
  grantInput(id: number, count: number, bytes?: number): void {
    try {
      this.#pending.get(id)?.input?.grant(count, bytes);
    } catch (error) {
      this.#host.failProtocol(error as ProtocolError);
    }
  }

  /**
   * The peer's handler stopped reading a call's streamed data.
   *
   * @param id The request id.
   */
  stopInput(id: number): void {
    this.#pending.get(id)?.input?.stop();
  }

  /**
   * The connection is gone: every call still waiting fails.
   *
   * @param reason Why.
   */
  failAll(reason: unknown): void {
    for (const call of this.#pending.values()) {
      call.settle();
      call.fail(reason);
    }
    this.#pending.clear();
  }
}
