/**
 * The streamed inputs of the peer's requests on one connection: each
 * request that takes its data as a stream reads it through a
 * `StreamReceiver` here, which grants the caller credit as the handler
 * reads, and tells it to stop when the handler leaves early.
 *
 * @module
 */

import type { ProtocolError } from "../base/errors.ts";
import type { EndMessage, ItemMessage } from "../protocol/messages.ts";
import { outgoing, type OutgoingMessage } from "../protocol/outgoing.ts";
import { StreamReceiver } from "../protocol/stream.ts";
import { errorFromWire } from "../protocol/wire_error.ts";
import { INPUT_WINDOW } from "./call_input.ts";

/** How {@linkcode RequestInputs} tells the caller; the outbox implements it. */
export interface InputControl {
  /** Sends a control message unless the connection is gone. */
  sendIfOpen(message: OutgoingMessage): void;
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
    const input = new StreamReceiver(INPUT_WINDOW, {
      grant: (count) =>
        this.#control.sendIfOpen(outgoing.inputCredit(id, count)),
      stop: () => {
        this.#streams?.delete(id);
        this.#control.sendIfOpen(outgoing.inputStop(id));
      },
    });
    (this.#streams ??= new Map()).set(id, input);
    return input;
  }

  /**
   * An item of a request's streamed data arrived.
   *
   * @param message The item.
   */
  item(message: ItemMessage): void {
    const input = this.#streams?.get(message.id);
    if (input === undefined) return; // The handler stopped reading.
    if (message.itemError) {
      this.#streams?.delete(message.id);
      input.fail(message.itemError);
      this.#control.sendIfOpen(outgoing.inputStop(message.id));
      return;
    }
    try {
      input.push(message.item);
    } catch (error) {
      this.#host.failProtocol(error as ProtocolError);
    }
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
