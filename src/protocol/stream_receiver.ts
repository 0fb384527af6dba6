/**
 * The receiving side of a stream (PROTOCOL.md, "Streams"): a queue of at
 * most a window of items (and, between peers that send batches, of bytes),
 * handed one by one to the consumer's `for await`, with credit given back
 * as the consumer takes them.
 *
 * @module
 */

import { type Deferred, deferred } from "../base/deferred.ts";
import { ProtocolError } from "../base/errors.ts";

/** How a {@linkcode StreamReceiver} reaches the peer. */
export interface StreamReceiverPort {
  /**
   * Welcomes `count` more items, and `bytes` more bytes when the stream
   * has a byte window (`undefined` when it has none).
   */
  grant(count: number, bytes?: number): void;
  /** The consumer stopped early (break, return, or an abort). */
  stop(): void;
}

/**
 * Receives a stream's items into a queue of at most a window, and hands
 * them to the consumer's `for await`. Credit goes back to the sender as the
 * consumer takes items, half a window (of items, or of bytes) at a time.
 *
 * @example
 * ```ts
 * import { StreamReceiver } from "./stream_receiver.ts";
 * import assert from "node:assert/strict";
 *
 * const grants: number[][] = [];
 * const receiver = new StreamReceiver<number>(4, {
 *   grant: (count, bytes) => void grants.push([count, bytes ?? 0]),
 *   stop() {},
 * }, 100);
 * receiver.pushAll([1, 2, 3], 60); // one message of 60 bytes
 * const taken: number[] = [];
 * for (let i = 0; i < 3; i++) taken.push((await receiver.next()).value!);
 * assert.deepEqual(taken, [1, 2, 3]);
 * // Half the item window back after two items; the message's bytes once
 * // its last item was taken (half the byte window, too).
 * assert.deepEqual(grants, [[2, 0], [1, 60]]);
 * ```
 */
export class StreamReceiver<T = unknown> implements AsyncIterableIterator<T> {
  readonly #window: number;
  /** The byte window; 0 when only items are counted. */
  readonly #byteWindow: number;
  readonly #port: StreamReceiverPort;
  #queue: T[] = [];
  #head = 0;
  #taken = 0;
  /** Bytes of messages whose last item the consumer took, not yet given back. */
  #takenBytes = 0;
  /** Bytes of messages whose items are not all taken yet. */
  #bufferedBytes = 0;
  /** Items received, and taken, since the start: where each message ends. */
  #received = 0;
  #consumed = 0;
  /**
   * Per message not yet taken whole: the count of items received up to its
   * last one, and its size, in pairs (with a byte window only).
   */
  #ends: number[] = [];
  #endsHead = 0;
  #waiting: Deferred<IteratorResult<T>> | undefined;
  #isDone = false;
  #error: unknown;
  #hasError = false;
  #isStopped = false;

  /**
   * @param window How many items the sender may send before more credit.
   * @param port Where credit and the early stop go.
   * @param byteWindow How many bytes of item messages the sender may send
   * before more credit; only items are counted when omitted.
   */
  constructor(window: number, port: StreamReceiverPort, byteWindow?: number) {
    this.#window = window;
    this.#port = port;
    this.#byteWindow = byteWindow ?? 0;
  }

  /** How many items are waiting for the consumer. */
  get buffered(): number {
    return this.#queue.length - this.#head;
  }

  /** How many bytes of item messages are waiting for the consumer (with a byte window). */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Whether the stream is over for the network side. */
  get isSettled(): boolean {
    return this.#isDone || this.#hasError || this.#isStopped;
  }

  /**
   * An item arrived.
   *
   * @param item The item.
   * @param bytes The size of the message that carried it, with a byte window.
   * @throws {ProtocolError} `PROTOCOL` when the sender went past its credit.
   */
  push(item: T, bytes = 0): void {
    if (this.isSettled) return;
    this.#arrive(1, bytes);
    if (this.#waiting !== undefined) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      this.#took();
      waiting.resolve({ value: item, done: false });
      return;
    }
    this.#queue.push(item);
  }

  /**
   * Several items arrived in one message (PROTOCOL.md, "Batches"); the
   * consumer still takes them one by one.
   *
   * @param items The items, in order; at least one.
   * @param bytes The size of the message, with a byte window.
   * @throws {ProtocolError} `PROTOCOL` when the sender went past its credit.
   */
  pushAll(items: readonly T[], bytes = 0): void {
    if (this.isSettled || items.length === 0) return;
    this.#arrive(items.length, bytes);
    let i = 0;
    if (this.#waiting !== undefined) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      this.#took();
      waiting.resolve({ value: items[0], done: false });
      i = 1;
    }
    for (; i < items.length; i++) this.#queue.push(items[i]);
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

  /**
   * Counts a message of `count` items and `bytes` bytes in.
   *
   * @throws {ProtocolError} `PROTOCOL` when the sender had no credit for it.
   */
  #arrive(count: number, bytes: number): void {
    if (this.buffered + count > this.#window) {
      throw new ProtocolError(
        "PROTOCOL",
        `The peer sent more stream items than its credit (${this.#window}).`,
      );
    }
    this.#received += count;
    if (this.#byteWindow === 0) return;
    // A sender may start a message while any byte credit is left, so
    // only one that arrives with the window already full is too much.
    if (this.#bufferedBytes >= this.#byteWindow) {
      throw new ProtocolError(
        "PROTOCOL",
        `The peer sent more stream bytes than its credit (${this.#byteWindow}).`,
      );
    }
    this.#bufferedBytes += bytes;
    this.#ends.push(this.#received, bytes);
  }

  #took(): void {
    this.#consumed++;
    // A message's bytes go back once its last item is taken.
    if (
      this.#endsHead < this.#ends.length &&
      this.#ends[this.#endsHead] === this.#consumed
    ) {
      const bytes = this.#ends[this.#endsHead + 1];
      this.#endsHead += 2;
      if (this.#endsHead > 64 && this.#endsHead * 2 > this.#ends.length) {
        this.#ends = this.#ends.slice(this.#endsHead);
        this.#endsHead = 0;
      }
      this.#bufferedBytes -= bytes;
      this.#takenBytes += bytes;
    }
    if (
      (++this.#taken * 2 >= this.#window ||
        (this.#byteWindow > 0 && this.#takenBytes * 2 >= this.#byteWindow)) &&
      !this.isSettled
    ) {
      if (this.#byteWindow === 0) this.#port.grant(this.#taken);
      else this.#port.grant(this.#taken, this.#takenBytes);
      this.#taken = 0;
      this.#takenBytes = 0;
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
