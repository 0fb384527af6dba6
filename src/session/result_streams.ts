/**
 * The streamed results of the peer's requests on one connection: the window
 * each streamed request asked for, and the `StreamSender` that sends a
 * handler's items as the caller grants credit, then END (or the error the
 * stream failed with).
 *
 * @module
 */

import { ClientError, type ProtocolError } from "../base/errors.ts";
import type { RequestContext } from "../dispatch/run_action.ts";
import type { WireError } from "../protocol/wire_error.ts";
import {
  type AnswerMeta,
  outgoing,
  type OutgoingMessage,
} from "../protocol/message_table.ts";
import type { Metadata } from "../protocol/metadata.ts";
import { StreamSender } from "../protocol/stream_sender.ts";

/** How {@linkcode ResultStreams} sends; the outbox implements it. */
export interface ResultSender {
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
  /** Whether the peer takes batches of items (PROTOCOL.md, "Batches"). */
  readonly peerTakesBatches?: boolean;
  /** Sends a batch of items unless the connection is gone, and gives back its size. */
  sendMeasured?(message: OutgoingMessage): number | Promise<number>;
}

/** What {@linkcode ResultStreams} needs of its connection. */
export interface ResultsHost {
  /** A promise while the peer does not read what is queued. */
  blocked(): Promise<void> | undefined;
  /** The peer broke the protocol. */
  failProtocol(error: ProtocolError): void;
}

/** Called once a streamed result is over, with why it failed part way. */
export type StreamDone = (
  context: RequestContext,
  failure: WireError | undefined,
) => void;

/** The streamed results of one connection's requests, by request id. */
export class ResultStreams {
  readonly #sender: ResultSender;
  readonly #host: ResultsHost;
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
   * @param sender How items and ends go out.
   * @param host The connection.
   * @param done Called once each stream is over.
   */
  constructor(sender: ResultSender, host: ResultsHost, done: StreamDone) {
    this.#sender = sender;
    this.#host = host;
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
        items: sender.peerTakesBatches && sender.sendMeasured !== undefined
          ? (values, eventId) =>
            sender.sendMeasured!(outgoing.items(id, values, eventId))
          : undefined,
        end: () =>
          sender.sendIfOpen(
            outgoing.end(
              id,
              undefined,
              sender.answerMeta?.(context.answerMetadata),
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
        blocked: this.#host.blocked,
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
