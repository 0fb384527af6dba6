/**
 * When a client sends a call again, and when it resumes a stream: a call
 * refused unrun (the server was closing) goes once more; an idempotent call
 * whose connection dropped goes again, for at most `retry` tries in all,
 * the first included; a stream of
 * tracked items resumes after the last one received. Every try gets only
 * what is left of the deadline fixed at the first, and an input stream
 * already (partly) sent is never sent again.
 *
 * @module
 */

import type { Deadline } from "../base/deadline.ts";
import { ClientError } from "../base/errors.ts";
import type { StreamOptions } from "../dispatch/peer.ts";
import { wasNotRun } from "../protocol/wire_error.ts";
import { isStreamSource } from "../protocol/stream.ts";
import type { SentOptions } from "../session/outgoing_calls.ts";
import type { PeerAddress } from "../wire/transport.ts";

/** What the resend rules need from the client that sends. */
export interface Redial {
  /** How many tries a dropped call gets (the client's `retry`, at least 1). */
  readonly attempts: number;
  /** Whether the client was closed: nothing is tried again then. */
  readonly isClosed: boolean;
  /**
   * Sends a call, connecting first when needed.
   *
   * @returns What the action returned.
   */
  call(name: string, data: unknown, options: SentOptions): Promise<unknown>;
  /**
   * The open connection, connecting first when needed.
   *
   * @param options The deadline and signal of the connecting.
   * @returns Where to open streamed calls.
   */
  connected(options?: SentOptions): Promise<StreamOpener>;
  /**
   * Waits before the next try, after failed try number `attempt`.
   *
   * @param deadline The call's deadline: the wait ends there, if sooner.
   */
  pause(attempt: number, deadline?: Deadline): Promise<void>;
  /**
   * For a client with several servers: picks the server of the next try
   * now, so that middleware sees where it goes; that try is sent there.
   *
   * @param options The deadline and signal of the wait for a server.
   * @returns Where the next try goes.
   */
  choose?(options: SentOptions): Promise<PeerAddress>;
  /** For a client with several servers: where the latest try went. */
  readonly peer?: PeerAddress;
}

/** A connection, as the resend rules see it: it opens streamed calls. */
export interface StreamOpener {
  /**
   * Sends a streamed call.
   *
   * @returns The call's items, and the last tracked item's id as they come.
   */
  openStream(
    name: string,
    data: unknown,
    options?: StreamOptions & SentOptions,
  ): OpenStream;
}

/** A streamed call, as the resend rules see it. */
export interface OpenStream {
  /** The items. */
  readonly receiver: AsyncIterable<unknown>;
  /** The event id of the last tracked item received, if any. */
  readonly lastEventId: string | number | undefined;
}

/** A call's data, and whether it was a stream some of which was already sent. */
export interface Resendable {
  /** The data to send: for a stream, a wrapper that notes its first pull. */
  readonly data: unknown;
  /** Whether items were already pulled from it: an input stream cannot be replayed. */
  isUsed(): boolean;
}

/**
 * Wraps an input stream to know whether anything was pulled from it; other
 * data as it is.
 *
 * @param data A call's input.
 * @returns The data to send, and whether it can still be sent again.
 */
export function resendable(data: unknown): Resendable {
  if (!isStreamSource(data)) return { data, isUsed: () => false };
  let isUsed = false;
  const source = data;
  return {
    data: {
      [Symbol.asyncIterator](): AsyncIterator<unknown> {
        const iterator = source[Symbol.asyncIterator]();
        return {
          next: () => {
            isUsed = true;
            return iterator.next();
          },
          return: (value?: unknown) =>
            iterator.return?.(value) ??
              Promise.resolve({ value: undefined, done: true }),
        };
      },
    },
    isUsed: () => isUsed,
  };
}

/**
 * After a failure: a call the server refused unrun (it was closing) is
 * sent once more, on a new connection; an idempotent call whose connection
 * dropped is sent again, for at most `attempts` tries in all (the first
 * included); anything else fails as it is.
 *
 * @param redial The client.
 * @param error What the first try failed with.
 * @param isIdempotent Whether the action may run twice.
 * @param name The action's name.
 * @param input The call's data.
 * @param options The call's options, with its deadline.
 * @returns What the action returned, or the rejection of the last try.
 */
export function retryCall(
  redial: Redial,
  error: unknown,
  isIdempotent: boolean,
  name: string,
  input: Resendable,
  options: SentOptions,
): Promise<unknown> {
  if (wasNotRun(error) && !redial.isClosed) {
    const refusal = resend(name, input, options.deadline, error);
    return refusal === undefined
      ? redial.call(name, input.data, options)
      : Promise.reject(refusal);
  }
  if (isIdempotent) {
    return retryIdempotent(redial, error, name, input, options);
  }
  return Promise.reject(error);
}

/** Sends an idempotent call again, on a new connection, while its connection drops. */
async function retryIdempotent(
  redial: Redial,
  error: unknown,
  name: string,
  input: Resendable,
  options: SentOptions,
): Promise<unknown> {
  for (let attempt = 1;; attempt++) {
    if (!isDropped(error) || attempt >= redial.attempts || redial.isClosed) {
      throw error;
    }
    await redial.pause(attempt, options.deadline);
    const refusal = resend(name, input, options.deadline, error);
    if (refusal !== undefined) throw refusal;
    try {
      return await redial.call(name, input.data, options);
    } catch (next) {
      error = next;
    }
  }
}

/**
 * Iterates a streamed call, reconnecting and resuming after the last
 * tracked item when the connection drops; a stream refused unrun starts
 * again from where it was. Each drop gets the full retry budget.
 *
 * @param redial The client.
 * @param name The action's name.
 * @param data The call's input.
 * @param options The call's options: signal and window, with the
 * deadline made when the stream started.
 * @returns The items, without gap or duplicate across reconnections.
 */
export function resumableStream(
  redial: Redial,
  name: string,
  data: unknown,
  options: StreamOptions & SentOptions,
): AsyncIterableIterator<unknown> {
  return new ResumableStream(redial, name, data, options);
}

/**
 * {@linkcode resumableStream}'s iterator. A class rather than an async
 * generator: each item passes straight from the call's receiver, without
 * the generator's own turns, which cost as much as a small item itself.
 */
class ResumableStream implements AsyncIterableIterator<unknown> {
  readonly #redial: Redial;
  readonly #name: string;
  readonly #options: StreamOptions & SentOptions;
  #input: Resendable | undefined;
  #data: unknown;
  /** The try under way: 1 after each item, so each drop gets the full budget. */
  #attempt = 1;
  #lastEventId: string | number | undefined;
  #call: OpenStream | undefined;
  #items: AsyncIterator<unknown> | undefined;
  /** Whether the try under way brought an item. */
  #hasItem = false;
  #isDone = false;

  constructor(
    redial: Redial,
    name: string,
    data: unknown,
    options: StreamOptions & SentOptions,
  ) {
    this.#redial = redial;
    this.#name = name;
    this.#data = data;
    this.#options = options;
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.#isDone) return Promise.resolve({ value: undefined, done: true });
    const items = this.#items;
    if (items === undefined) return this.#open();
    return items.next().then(this.#onItem, this.#onError);
  }

  return(): Promise<IteratorResult<unknown>> {
    this.#isDone = true;
    const items = this.#items;
    this.#items = undefined;
    if (items?.return === undefined) {
      return Promise.resolve({ value: undefined, done: true });
    }
    return items.return().then(() => ({ value: undefined, done: true }));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  readonly #onItem = (
    result: IteratorResult<unknown>,
  ): IteratorResult<unknown> => {
    if (result.done) this.#isDone = true;
    else this.#hasItem = true;
    return result;
  };

  readonly #onError = (error: unknown): Promise<IteratorResult<unknown>> =>
    this.#recover(error);

  /** Opens the next try, and gives its first item. */
  async #open(): Promise<IteratorResult<unknown>> {
    const options = this.#options;
    let input = this.#input;
    if (input === undefined) {
      input = this.#input = resendable(this.#data);
      this.#data = undefined;
    }
    // Every try, connecting included, gets only what is left of the deadline.
    const refusal = this.#call === undefined
      ? undefined
      : resend(this.#name, input, options.deadline, undefined);
    if (refusal !== undefined) return this.#fail(refusal);
    let session: StreamOpener;
    try {
      session = await this.#redial.connected(options);
    } catch (error) {
      return this.#fail(error);
    }
    if (this.#isDone) return { value: undefined, done: true };
    const call = session.openStream(
      this.#name,
      input.data,
      this.#lastEventId === undefined
        ? options
        : { ...options, lastEventId: this.#lastEventId },
    );
    this.#call = call;
    this.#hasItem = false;
    this.#items = call.receiver[Symbol.asyncIterator]();
    return this.next();
  }

  /** The try failed: resume when it may, else the consumer's loop throws. */
  async #recover(error: unknown): Promise<IteratorResult<unknown>> {
    const redial = this.#redial;
    if (this.#hasItem) this.#attempt = 1;
    // A try that brought no item leaves the resume point where it was.
    const resumeFrom = this.#call!.lastEventId ?? this.#lastEventId;
    const canResume = !redial.isClosed &&
      ((isDropped(error) && resumeFrom !== undefined) || wasNotRun(error));
    if (!canResume || this.#attempt >= redial.attempts + 1) {
      return this.#fail(error);
    }
    if (this.#input!.isUsed()) {
      return this.#fail(notResendable(this.#name, error));
    }
    this.#lastEventId = resumeFrom;
    this.#items = undefined;
    if (!wasNotRun(error)) {
      await redial.pause(this.#attempt, this.#options.deadline);
    }
    this.#attempt++;
    if (this.#isDone) return { value: undefined, done: true };
    return this.#open();
  }

  #fail(error: unknown): never {
    this.#isDone = true;
    this.#items = undefined;
    throw error;
  }
}

/** The connection dropped under the call (the client's own closing aside, which the caller checks). */
function isDropped(error: unknown): boolean {
  return error instanceof ClientError && error.code === "CONNECTION_CLOSED";
}

/**
 * Why a call cannot be sent again, if it cannot: its deadline is past, or
 * its input stream was already (partly) sent.
 *
 * @param name The action's name, for messages.
 * @param input The call's data.
 * @param deadline The call's deadline.
 * @param error What the last try failed with, as the cause.
 * @returns The error; `undefined` when the call may go again.
 */
export function resend(
  name: string,
  input: Resendable,
  deadline: Deadline,
  error: unknown,
): ClientError | undefined {
  if (input.isUsed()) return notResendable(name, error);
  if (deadline.isSet && deadline.isPast()) {
    return new ClientError(
      "TIMEOUT",
      `"${name}" did not answer within ${deadline.timeout} ms (tries included).`,
      error === undefined ? undefined : { cause: error },
    );
  }
  return undefined;
}

function notResendable(name: string, cause: unknown): ClientError {
  return new ClientError(
    "NOT_RESENDABLE",
    `The call to "${name}" was cut after its input stream was (partly) sent; a consumed stream cannot be sent again: call again with a fresh one.`,
    cause === undefined ? undefined : { cause },
  );
}
