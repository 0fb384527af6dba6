/**
 * The calls this side makes to its peer: their ids, deadlines and aborts,
 * the request's metadata, and the data streamed with a call. The calls
 * waiting for answers, and the answers routed back to them, are
 * pending_calls.ts's, which {@linkcode OutgoingCalls} builds on.
 *
 * @module
 */

import type { ClientError, RemoteError } from "../base/errors.ts";
import { deferred } from "../base/deferred.ts";
import {
  outgoing,
  type OutgoingMessage,
  type RequestMeta,
} from "../protocol/message_table.ts";
import type { WireError } from "../protocol/wire_error.ts";
import { metadataToWire } from "../protocol/metadata.ts";
import {
  BATCH_WINDOW,
  BYTE_WINDOW,
  DEFAULT_WINDOW,
  isStreamSource,
} from "../protocol/stream.ts";
import { StreamReceiver } from "../protocol/stream_receiver.ts";
import {
  abortedError,
  type CallOptions,
  PendingCall,
  StreamCall,
  type StreamOptions,
} from "./call.ts";
import { invalidTimeout, invalidWindow, timedOut } from "./call_errors.ts";
import { sendInput } from "./call_input.ts";
import {
  type CancelSender,
  PendingCalls,
  type PendingCallsHost,
} from "./pending_calls.ts";

/** How {@linkcode OutgoingCalls} sends; the outbox implements it. */
export interface CallSender extends CancelSender {
  /** Whether the connection is gone. */
  readonly isClosed: boolean;
  /** Encodes a message carrying user data; throws when it cannot go. */
  encodeChecked(message: OutgoingMessage, what: string): Uint8Array[];
  /** Sends an encoded message that may be large. */
  sendData(parts: Uint8Array[]): void | Promise<void>;
  /** Sends a stream item unless the connection is gone; throws when it cannot go. */
  sendChecked(message: OutgoingMessage): void | Promise<void>;
  /** The error object sent for a thrown value. */
  wireError(code: string, thrown: unknown): WireError;
  /** Whether the peer takes batches of items and byte credit (PROTOCOL.md, "Batches"). */
  readonly peerTakesBatches?: boolean;
  /** Sends a batch of items unless the connection is gone, and gives back its size. */
  sendMeasured?(message: OutgoingMessage): number | Promise<number>;
}

/** What {@linkcode OutgoingCalls} needs of its connection. */
export interface CallsHost extends PendingCallsHost {
  /** The error a call fails with once the connection is gone. */
  callError(): ClientError | RemoteError;
  /** A promise while the peer does not read what is queued. */
  blocked(): Promise<void> | undefined;
}

/**
 * The calls of one connection, by request id: made here, answered through
 * the {@linkcode PendingCalls} it builds on.
 *
 * @example
 * ```ts
 * import { OutgoingCalls } from "./outgoing_calls.ts";
 * import { ClientError } from "../base/errors.ts";
 * import assert from "node:assert/strict";
 *
 * const sent: unknown[][] = [];
 * const calls = new OutgoingCalls({
 *   isClosed: false,
 *   encodeChecked: (message) => (sent.push([...message]), []),
 *   sendData() {}, sendIfOpen() {}, sendChecked() {},
 *   wireError: (code) => ({ code, name: "Error", message: "" }),
 * }, {
 *   callError: () => new ClientError("CONNECTION_CLOSED", "closed"),
 *   busy() {}, quiet() {}, settled() {}, failProtocol() {}, blocked: () => undefined,
 * });
 * const answer = calls.call("add", [1, 2]);
 * calls.result({ type: 1, id: 1, value: 3 });
 * assert.equal(await answer, 3);
 * assert.deepEqual(sent, [[0, 1, "add", [1, 2]]]);
 * ```
 */
export class OutgoingCalls extends PendingCalls {
  readonly #sender: CallSender;
  readonly #host: CallsHost;
  #nextId = 1;

  /**
   * Starts with no call on its way.
   *
   * @param sender How requests go out.
   * @param host The connection.
   */
  constructor(sender: CallSender, host: CallsHost) {
    super(sender, host);
    this.#sender = sender;
    this.#host = host;
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
    const byteWindow = sender.peerTakesBatches ? BYTE_WINDOW : undefined;
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
      call.fail(abortedError(signal));
      return 0;
    }
    const timeout = options?.timeout ?? 0;
    const invalid = invalidTimeout(timeout);
    if (invalid !== undefined) {
      call.fail(invalid);
      return 0;
    }
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
        this.cancel(id, timedOut(action, timeout, items, options));
      }, timeout);
    }
    if (signal !== undefined) {
      call.signal = signal;
      call.onAbort = () => this.cancel(id, abortedError(signal));
      signal.addEventListener("abort", call.onAbort, { once: true });
    }
    this.#sender.sendData(parts);
    if (isInputStream) {
      sendInput(this.#sender, id, call, data, this.#host.blocked);
    }
    return id;
  }
}
