/**
 * The sending side of a stream (PROTOCOL.md, "Streams"): pulls items from
 * a source while it has credit, and sends them, several to a message when
 * the source has several ready and the peer takes batches.
 *
 * @module
 */

import { ProtocolError } from "../base/errors.ts";
import { TIME_SLICE, Tracked } from "./stream.ts";

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
  /**
   * Sends several items, in order, as one message (PROTOCOL.md, "Batches");
   * `eventId` is the id of the last tracked one among them. Gives back the
   * message's size in bytes, which the byte credit counts; a promise of it
   * while a large message goes out in pieces. Without this method every
   * item goes alone through `item`, and only items are counted.
   */
  items?(
    values: unknown[],
    eventId: string | number | undefined,
  ): number | Promise<number>;
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
 * How many microtask turns a batch waits for the source's next item before
 * it goes without it. A generator that yields without waiting for I/O
 * answers `next()` within two; one that waits for I/O does not answer
 * within any, and its items go one by one, at once.
 */
const READY_TURNS = 8;

/**
 * The most bytes a batch is sized for. Batching pays for small items; a
 * large message would only make the receiver wait for all of it before its
 * consumer gets the first item, and give its bytes back late.
 */
const BATCH_BYTES = 64 * 1024;

/**
 * Pulls items from a source and sends them while it has credit. Pausing
 * here is what pauses the producer: a generator is not resumed until the
 * receiver asked for more.
 *
 * @example
 * ```ts
 * import { StreamSender } from "./stream_sender.ts";
 * import assert from "node:assert/strict";
 *
 * const sent: unknown[][] = [];
 * async function* counter() {
 *   for (let n = 1; n <= 5; n++) yield n;
 * }
 * const sender = new StreamSender(counter(), {
 *   item: (value) => void sent.push([value]),
 *   items: (values) => (sent.push(values), values.length),
 *   end() {},
 *   fail() {},
 * }, 16, 1000);
 * await sender.run();
 * // The first item goes alone; the rest, ready at once, in one message.
 * assert.deepEqual(sent, [[1], [2, 3, 4, 5]]);
 * ```
 */
export class StreamSender {
  readonly #iterator: AsyncIterator<unknown>;
  readonly #port: StreamSenderPort;
  /** The window: credit never exceeds it. */
  readonly #window: number;
  #credit: number;
  /** The byte window (Infinity when only items are counted). */
  readonly #byteWindow: number;
  /** Bytes that may still go; below zero after a large item went alone. */
  #byteCredit: number;
  /** The size per item of the messages sent so far: how batches are sized to the byte credit. */
  #itemBytes = 0;
  #wake: (() => void) | undefined;
  #isStopped = false;

  /**
   * @param source The items.
   * @param port Where they go.
   * @param credit How many may go before the receiver grants more: the
   * window, which later grants can never push the credit above.
   * @param byteCredit How many bytes of item messages may go before the
   * receiver grants more (the byte window); items only are counted when
   * omitted, or when the port sends no batches.
   */
  constructor(
    source: AsyncIterable<unknown>,
    port: StreamSenderPort,
    credit: number,
    byteCredit?: number,
  ) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#port = port;
    this.#credit = credit;
    this.#window = credit;
    this.#byteWindow = port.items === undefined
      ? Infinity
      : byteCredit ?? Infinity;
    this.#byteCredit = this.#byteWindow;
  }

  /**
   * The receiver took items and welcomes `count` more, and `bytes` more bytes.
   *
   * @param count Items given back.
   * @param bytes Bytes given back (with a byte window).
   * @throws {ProtocolError} `PROTOCOL` when that would push the credit past
   * the window: a receiver only gives back credit for items it took, so
   * this one is not counting, and its credit cannot be trusted.
   */
  grant(count: number, bytes = 0): void {
    if (this.#credit + count > this.#window) {
      throw new ProtocolError(
        "PROTOCOL",
        `The peer granted credit beyond the stream's window of ${this.#window} items.`,
      );
    }
    if (this.#byteCredit + bytes > this.#byteWindow) {
      throw new ProtocolError(
        "PROTOCOL",
        `The peer granted credit beyond the stream's window of ${this.#byteWindow} bytes.`,
      );
    }
    this.#credit += count;
    this.#byteCredit += bytes;
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
      /** The source's next item, asked for while a batch was gathered, and not in it. */
      let ahead: Promise<IteratorResult<unknown>> | undefined;
      for (;;) {
        if (this.#credit <= 0 || this.#byteCredit <= 0) {
          while (
            (this.#credit <= 0 || this.#byteCredit <= 0) && !this.#isStopped
          ) await this.#sleep();
          // Waiting for credit let the event loop (and others' I/O) run.
          sliceStart = performance.now();
        }
        if (this.#isStopped) break;
        const blocked = this.#port.blocked?.();
        if (blocked !== undefined) {
          // The peer does not read: pull nothing more until it does.
          await this.#sleep(blocked);
          sliceStart = performance.now();
          continue;
        }
        const next = await (ahead ?? this.#iterator.next());
        ahead = undefined;
        if (this.#isStopped) break;
        if (next.done) return this.#port.end();
        if (this.#port.items === undefined) {
          this.#credit--;
          const item = next.value;
          const sending = item instanceof Tracked
            ? this.#port.item(item.value, item.id)
            : this.#port.item(item, undefined);
          if (sending !== undefined) await sending;
        } else {
          const batch = await this.#gather(next.value, sliceStart);
          if (this.#isStopped) break;
          ahead = batch.ahead;
          await this.#send(batch.items);
          if (batch.isDone) return this.#port.end();
          if (batch.failure !== undefined) throw batch.failure.error;
        }
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

  /**
   * Gathers a batch from `first` on: the items the source has ready at
   * once, as many as the credit allows (by bytes, at the size per item so
   * far), within the time slice. An item the source does not have yet is
   * left as `ahead`, for after the batch went; a failure or the end of the
   * source waits until the items before it went.
   */
  async #gather(first: unknown, sliceStart: number): Promise<Batch> {
    const items = [first];
    const batch: Batch = { items };
    const limit = this.#batchLimit();
    // One probe per batch: a probe left on an item that was not ready
    // settles later, on its own object.
    const probe = new Probe();
    while (items.length < limit) {
      // Reading the clock costs as much as a small item: every 32 items.
      if (
        (items.length & 31) === 0 &&
        performance.now() - sliceStart >= TIME_SLICE
      ) break;
      const pending = this.#iterator.next();
      probe.watch(pending);
      for (
        let turn = 0;
        turn < READY_TURNS && probe.state === PENDING;
        turn++
      ) {
        await undefined;
      }
      if (this.#isStopped) break;
      if (probe.state === PENDING) {
        batch.ahead = pending;
        break;
      }
      if (probe.state === REJECTED) {
        batch.failure = { error: probe.outcome };
        break;
      }
      const next = probe.outcome as IteratorResult<unknown>;
      if (next.done) {
        batch.isDone = true;
        break;
      }
      items.push(next.value);
    }
    return batch;
  }

  /**
   * How many items the next batch may hold: within the item credit, and,
   * by estimate, within the byte credit and {@linkcode BATCH_BYTES}.
   */
  #batchLimit(): number {
    const byItems = this.#credit;
    if (this.#byteWindow === Infinity) return byItems;
    // Until one message went, its size is unknown: the first goes alone.
    if (this.#itemBytes === 0) return 1;
    const byBytes = Math.floor(
      Math.min(this.#byteCredit, BATCH_BYTES) / this.#itemBytes,
    );
    return Math.max(1, Math.min(byItems, byBytes));
  }

  /** Sends a batch as one message, and counts it against both credits. */
  async #send(items: unknown[]): Promise<void> {
    let eventId: string | number | undefined;
    let values = items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item instanceof Tracked) {
        if (values === items) values = items.slice();
        eventId = item.id;
        values[i] = item.value;
      }
    }
    let sent: number | Promise<number>;
    try {
      sent = this.#port.items!(values, eventId);
    } catch (error) {
      // One item cannot go (it does not encode, or the batch is larger
      // than the peer takes): those before it still go, then the error,
      // as when items go one by one.
      if (items.length === 1) throw error;
      for (const item of items) await this.#send([item]);
      return;
    }
    this.#credit -= items.length;
    const size = typeof sent === "number" ? sent : await sent;
    this.#byteCredit -= size;
    this.#itemBytes = size / items.length;
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

/** A batch being gathered, and why its gathering stopped. */
interface Batch {
  readonly items: unknown[];
  /** The next item, asked for and not yet there. */
  ahead?: Promise<IteratorResult<unknown>>;
  /** The source ended after these items. */
  isDone?: boolean;
  /** The source failed after these items. */
  failure?: { readonly error: unknown };
}

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

/**
 * Watches the source's next item, to tell whether it came within a few
 * microtask turns. An item that did not is awaited later; its failure is
 * not lost, and not unhandled meanwhile.
 */
class Probe {
  state: typeof PENDING | typeof FULFILLED | typeof REJECTED = PENDING;
  outcome: unknown;
  readonly #fulfilled = (value: unknown) => {
    this.state = FULFILLED;
    this.outcome = value;
  };
  readonly #rejected = (error: unknown) => {
    this.state = REJECTED;
    this.outcome = error;
  };

  /** Starts watching `promise`. */
  watch(promise: Promise<unknown>): void {
    this.state = PENDING;
    this.outcome = undefined;
    promise.then(this.#fulfilled, this.#rejected);
  }
}

/** Resolves in a later task of the event loop: timers and I/O of others run first. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
