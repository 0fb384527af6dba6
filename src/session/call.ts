/**
 * Calls on their way: the record a session keeps for each call waiting for
 * its answer, plain or streamed.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import { ignore, type TimerHandle } from "../base/timers.ts";
import type { StreamReceiver } from "../protocol/stream_receiver.ts";
import type { StreamSender } from "../protocol/stream_sender.ts";
import type { Metadata } from "../protocol/metadata.ts";

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

/** The error of a call whose signal aborted; the signal's reason is its cause. */
export function abortedError(signal: AbortSignal): ClientError {
  return new ClientError("ABORTED", "The call was aborted.", {
    cause: signal.reason,
  });
}

export type { CallOptions, StreamOptions } from "../dispatch/peer.ts";
