/**
 * The calls this side made that wait for their answers, by request id, and
 * each answer routed back to its call: results, errors, stream items and
 * ends, and the peer's credit for a call's streamed input. Making the calls
 * is outgoing_calls.ts's, which builds on this.
 *
 * @module
 */

import { type ClientError, ProtocolError } from "../base/errors.ts";
import {
  type ItemMessage,
  type ItemsMessage,
  outgoing,
  type OutgoingMessage,
  type ReadAnswerMeta,
  type ResultMessage,
} from "../protocol/message_table.ts";
import { errorFromWire, type WireError } from "../protocol/wire_error.ts";
import { batchItems } from "../protocol/malformed.ts";
import type { PendingCall } from "./call.ts";
import { answerMetadata } from "./answer_metadata.ts";

/** How {@linkcode PendingCalls} tells the peer a call was given up. */
export interface CancelSender {
  /** Sends a control message unless the connection is gone. */
  sendIfOpen(message: OutgoingMessage): void;
}

/** What {@linkcode PendingCalls} needs of its connection. */
export interface PendingCallsHost {
  /** The first call is on its way: the connection keeps the process alive. */
  busy(): void;
  /** The last call was answered. */
  quiet(): void;
  /** A call was answered (or given up). */
  settled(): void;
  /** The peer broke the protocol. */
  failProtocol(error: ProtocolError): void;
}

/**
 * The calls of one connection waiting for their answers, by request id.
 *
 * @example
 * ```ts
 * import { PendingCalls } from "./pending_calls.ts";
 * import { PendingCall } from "./call.ts";
 * import assert from "node:assert/strict";
 *
 * const calls = new PendingCalls({ sendIfOpen() {} }, {
 *   busy() {}, quiet() {}, settled() {}, failProtocol() {},
 * });
 * const answer = new Promise((resolve, reject) =>
 *   calls.waitFor(7, new PendingCall(resolve, reject))
 * );
 * calls.result({ type: 1, id: 7, value: "done" });
 * assert.equal(await answer, "done");
 * assert.equal(calls.size, 0);
 * ```
 */
export class PendingCalls {
  readonly #pending = new Map<number, PendingCall>();
  readonly #sender: CancelSender;
  readonly #host: PendingCallsHost;

  /**
   * Starts with no call waiting.
   *
   * @param sender How the peer is told a call was given up.
   * @param host The connection.
   */
  constructor(sender: CancelSender, host: PendingCallsHost) {
    this.#sender = sender;
    this.#host = host;
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
