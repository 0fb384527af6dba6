/**
 * Calls on their way: the record a session keeps for each call waiting for
 * its answer, plain or streamed.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import type { StreamReceiver, StreamSender } from "../protocol/stream.ts";

/** A call waiting for its answer. */
export class PendingCall {
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Sends the call's data, when it is a stream. */
  input: StreamSender | undefined;

  constructor(
    readonly resolve: (value: unknown) => void,
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
  item(_value: unknown, _eventId: string | number | undefined): boolean {
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

  constructor(readonly receiver: StreamReceiver) {
    super(ignore, ignore);
  }

  override result(value: unknown): void {
    // A handler that returned a plain value: a stream of one item.
    this.receiver.push(value);
    this.receiver.end();
  }

  override fail(error: unknown): void {
    this.receiver.fail(error);
  }

  override item(value: unknown, eventId: string | number | undefined): boolean {
    this.receiver.push(value);
    this.itemCount++;
    if (eventId !== undefined) this.lastEventId = eventId;
    return true;
  }

  override end(): void {
    this.receiver.end();
  }
}

function ignore(): void {}

/** The error of a call whose signal aborted; the signal's reason is its cause. */
export function abortedError(signal: AbortSignal): ClientError {
  return new ClientError("ABORTED", "The call was aborted.", {
    cause: signal.reason,
  });
}

export type { CallOptions, StreamOptions } from "../dispatch/call_options.ts";
