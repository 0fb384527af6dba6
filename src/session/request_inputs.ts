/**
 * The streamed inputs of the peer's requests on one connection: each
 * request that takes its data as a stream reads it through a
 * `StreamReceiver` here, which grants the caller credit as the handler
 * reads, and tells it to stop when the handler leaves early.
 *
 * @module
 */

import type { ProtocolError } from "../base/errors.ts";
import {
  type EndMessage,
  type ItemMessage,
  type ItemsMessage,
  outgoing,
  type OutgoingMessage,
} from "../protocol/message_table.ts";
import { BATCH_WINDOW, BYTE_WINDOW, INPUT_WINDOW } from "../protocol/stream.ts";
import { StreamReceiver } from "../protocol/stream_receiver.ts";
import { batchItems } from "../protocol/malformed.ts";
import { errorFromWire } from "../protocol/wire_error.ts";

/** How {@linkcode RequestInputs} tells the caller; the outbox implements it. */
export interface InputControl {
  /** Sends a control message unless the connection is gone. */
  sendIfOpen(message: OutgoingMessage): void;
  /**
   * Whether the peer takes batches and byte credit (PROTOCOL.md,
   * "Batches"): its inputs then have the larger window, in items and bytes.
   */
  readonly peerTakesBatches?: boolean;
}

/** What {@linkcode RequestInputs} needs of its connection. */
export interface InputsHost {
  /** The peer broke the protocol. */
  failProtocol(error: ProtocolError): void;
}

/** The streamed inputs of one connection's requests, by request id. */
export class RequestInputs {
  readonly #control: InputControl;
  readonly #host: InputsHost;
  /** Requests whose data is streaming in. */
  #streams: Map<number, StreamReceiver> | undefined;

  /**
   * Starts with no input streaming in.
   *
   * @param control How credit and stops go to the caller.
   * @param host The connection.
   */
  constructor(control: InputControl, host: InputsHost) {
    this.#control = control;
    this.#host = host;
  }

  /**
   * Opens the input of request `id`, for its handler to read.
   *
   * @param id The request id.
   * @returns The items, as they arrive.
   */
  open(id: number): StreamReceiver {
    const batches = this.#control.peerTakesBatches === true;
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
