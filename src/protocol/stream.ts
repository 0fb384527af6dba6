/**
 * Streams over a connection, with credit-based flow control (PROTOCOL.md,
 * "Streams"). The receiving side grants credit, a number of items; the
 * sending side pulls from its source only while it has credit. So a slow
 * consumer makes the producer wait, and no side ever holds more than a
 * window of items.
 *
 * The same two classes serve both directions: a handler's streamed result
 * and a caller's streamed input.
 *
 * @module
 */

import { type Deferred, deferred } from "../base/deferred.ts";
import { ProtocolError } from "../base/errors.ts";

/** The default window: items a receiver takes before it must grant more. */
export const DEFAULT_WINDOW = 16;

/**
 * How long a sender may keep the event loop to itself, in milliseconds: a
 * source that yields without waiting for I/O (a generator counting up)
 * would otherwise send its whole window in one go while every other
 * connection waits. After this much time it lets other work run.
 */
export const TIME_SLICE = 4;

/**
 * An item of a stream tagged with an id, so that a stream can resume after
 * it; made by {@linkcode tracked}.
 *
 * @example
 * ```ts
 * import { Tracked, tracked } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const item = tracked("event-7", { temperature: 21.5 });
 * assert.ok(item instanceof Tracked);
 * assert.equal(item.id, "event-7");
 * ```
 */
export class Tracked<T = unknown> {
  /**
   * Creates a `Tracked`.
   *
   * @param id The item's id: where a resumed stream goes on from.
   * @param value The item.
   */
  constructor(readonly id: string | number, readonly value: T) {}
}

/**
 * Tags a streamed item with an id. When the connection drops, the client
 * reconnects and calls the action again with the last id it received as
 * `context.lastEventId`, and the handler goes on after it: the consumer's
 * loop sees no gap and no duplicate.
 *
 * @param id The item's id, unique within the stream.
 * @param value The item.
 * @returns The tagged item; the consumer receives `value`.
 *
 * @example A resumable counter
 * ```ts
 * import { action, tracked } from "@isock/isock";
 *
 * const counter = action("counter", async function* (_: undefined, context) {
 *   for (let n = Number(context.lastEventId ?? 0) + 1; n <= 3; n++) {
 *     yield tracked(n, n);
 *   }
 * });
 * ```
 */
export function tracked<T>(id: string | number, value: T): Tracked<T> {
  return new Tracked(id, value);
}

/** The item type of a streamed action's result: what `client.stream()` yields. */
export type StreamItem<O> = O extends AsyncIterable<infer T>
  ? (T extends Tracked<infer V> ? V : T)
  : O;

/** Whether `value` can be sent as a stream: an async iterable, or a `ReadableStream`. */
export function isStreamSource(
  value: unknown,
): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[
        Symbol.asyncIterator
      ] === "function";
}

/** How a {@linkcode StreamSender} reaches the peer. */
export interface StreamSenderPort {
  /**
   * Sends one item (with its id, when tracked). A promise means the item
   * is large and goes out in pieces: the next item waits for it, so items
   * stay in order.
   */
  item(
    value: unknown,
    eventId: string | number | undefined,
  ): void | Promise<void>;
  /** The source ended. */
  end(): void;
  /** The source failed. */
  fail(error: unknown): void;
  /**
   * Whether items may go now: `undefined` when they may, or a promise that
   * resolves once the connection has written what is queued (the peer does
   * not read, so nothing more is pulled from the source until it does).
   */
  blocked?(): Promise<void> | undefined;
}

/**
 * Pulls items from a source and sends them while it has credit. Pausing
 * here is what pauses the producer: a generator is not resumed until the
 * receiver asked for more.
 */
export class StreamSender {
  readonly #iterator: AsyncIterator<unknown>;
  readonly #port: StreamSenderPort;
  /** The window: credit never exceeds it. */
  readonly #window: number;
  #credit: number;
  #wake: (() => void) | undefined;
  #isStopped = false;

  /**
   * @param source The items.
   * @param port Where they go.
   * @param credit How many may go before the receiver grants more: the
   * window, which later grants can never push the credit above.
   */
  constructor(
    source: AsyncIterable<unknown>,
    port: StreamSenderPort,
    credit: number,
  ) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#port = port;
    this.#credit = credit;
    this.#window = credit;
  }

  /**
   * The receiver took items and welcomes `count` more.
   *
   * @throws {ProtocolError} `PROTOCOL` when that would push the credit past
   * the window: a receiver only gives back credit for items it took, so
   * this one is not counting, and its credit cannot be trusted.
   */
  grant(count: number): void {
    if (this.#credit + count > this.#window) {
      throw new ProtocolError(
        "PROTOCOL",
        `The peer granted credit beyond the stream's window of ${this.#window} items.`,
      );
    }
    this.#credit += count;
    this.#wake?.();
  }

  /**
   * Stops: the source's `return()` runs (a generator's `finally`), and
   * nothing more is sent.
   */
  stop(): void {
    if (this.#isStopped) return;
    this.#isStopped = true;
    this.#wake?.();
  }

  /** Sends until the source ends, fails, or the stream is stopped. Never rejects. */
  async run(): Promise<void> {
    try {
      let sliceStart = performance.now();
      for (;;) {
        while (this.#credit <= 0 && !this.#isStopped) await this.#sleep();
        if (this.#isStopped) break;
        const blocked = this.#port.blocked?.();
        if (blocked !== undefined) {
          // The peer does not read: pull nothing more until it does.
          await this.#sleep(blocked);
          sliceStart = performance.now();
          continue;
        }
        const next = await this.#iterator.next();
        if (this.#isStopped) break;
        if (next.done) return this.#port.end();
        this.#credit--;
        const item = next.value;
        const sending = item instanceof Tracked
          ? this.#port.item(item.value, item.id)
          : this.#port.item(item, undefined);
        if (sending !== undefined) await sending;
        if (performance.now() - sliceStart >= TIME_SLICE) {
          // A source that never waits must not starve other connections.
          await nextTask();
          sliceStart = performance.now();
        }
      }
    } catch (error) {
      if (!this.#isStopped) this.#port.fail(error);
      return;
    }
    await this.#closeSource();
  }

  /** Waits for credit, a stop, or `until`. */
  async #sleep(until?: Promise<void>): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      until?.then(resolve, resolve);
    });
    this.#wake = undefined;
  }

  async #closeSource(): Promise<void> {
    try {
      await this.#iterator.return?.();
    } catch {
      // The source's cleanup failed; the stream is over either way.
    }
  }
}

/** Resolves in a later task of the event loop: timers and I/O of others run first. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** How a {@linkcode StreamReceiver} reaches the peer. */
export interface StreamReceiverPort {
  /** Welcomes `count` more items. */
  grant(count: number): void;
  /** The consumer stopped early (break, return, or an abort). */
  stop(): void;
}

/**
 * Receives a stream's items into a queue of at most a window, and hands
 * them to the consumer's `for await`. Credit goes back to the sender as the
 * consumer takes items, half a window at a time.
 */
export class StreamReceiver<T = unknown> implements AsyncIterableIterator<T> {
  readonly #window: number;
  readonly #port: StreamReceiverPort;
  #queue: T[] = [];
  #head = 0;
  #taken = 0;
  #waiting: Deferred<IteratorResult<T>> | undefined;
  #isDone = false;
  #error: unknown;
  #hasError = false;
  #isStopped = false;

  /**
   * @param window How many items the sender may send before more credit.
   * @param port Where credit and the early stop go.
   */
  constructor(window: number, port: StreamReceiverPort) {
    this.#window = window;
    this.#port = port;
  }

  /** How many items are waiting for the consumer. */
  get buffered(): number {
    return this.#queue.length - this.#head;
  }

  /** Whether the stream is over for the network side. */
  get isSettled(): boolean {
    return this.#isDone || this.#hasError || this.#isStopped;
  }

  /**
   * An item arrived.
   *
   * @throws {ProtocolError} `PROTOCOL` when the sender went past its credit.
   */
  push(item: T): void {
    if (this.isSettled) return;
    if (this.#waiting !== undefined) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      this.#took();
      waiting.resolve({ value: item, done: false });
      return;
    }
    if (this.buffered >= this.#window) {
      throw new ProtocolError(
        "PROTOCOL",
        `The peer sent more stream items than its credit (${this.#window}).`,
      );
    }
    this.#queue.push(item);
  }

  /** The sender's source ended. */
  end(): void {
    if (this.isSettled) return;
    this.#isDone = true;
    this.#settleWaiting();
  }

  /** The stream failed: the consumer's loop throws `error` after the items already here. */
  fail(error: unknown): void {
    if (this.isSettled) return;
    this.#hasError = true;
    this.#error = error;
    this.#settleWaiting();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffered > 0) {
      const value = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined as T;
      if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#took();
      return Promise.resolve({ value, done: false });
    }
    if (this.#hasError) return Promise.reject(this.#error);
    if (this.#isDone || this.#isStopped) {
      return Promise.resolve({ value: undefined, done: true });
    }
    this.#waiting ??= deferred();
    return this.#waiting.promise;
  }

  /** The consumer left the loop early: the sender is told to stop. */
  return(): Promise<IteratorResult<T>> {
    if (!this.isSettled) {
      this.#isStopped = true;
      this.#port.stop();
    }
    this.#queue = [];
    this.#head = 0;
    this.#settleWaiting();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #took(): void {
    if (++this.#taken * 2 >= this.#window && !this.isSettled) {
      this.#port.grant(this.#taken);
      this.#taken = 0;
    }
  }

  #settleWaiting(): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    this.#waiting = undefined;
    if (this.#hasError) waiting.reject(this.#error);
    else waiting.resolve({ value: undefined, done: true });
  }
}
