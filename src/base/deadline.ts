/**
 * Deadlines. {@linkcode raceDeadline}: one attempt against the time it may
 * take and the signal that stops it early, with the errors each end fails
 * with given by the caller, so this file knows nothing of sockets or calls.
 * {@linkcode DeadlineQueue}: things that expire at a time of their own,
 * behind one timer: a binary
 * heap ordered by expiry, and a single timer armed for the earliest. Adding
 * and removing cost O(log n) and no timer of their own: the timer is
 * re-armed only when something expires before the time it is armed for,
 * and it is left armed when what it waited for goes (it finds nothing due,
 * and arms itself for what is next, if anything). So a stream of calls
 * with the same timeout sets one timer per timeout, not one per call.
 *
 * @module
 */

import { housekeeping, MAX_TIMEOUT, type TimerHandle } from "./timers.ts";

/** What a {@linkcode DeadlineQueue} holds: it keeps its place in the queue on it. */
export interface Queued {
  /** Its place in the queue, which only the queue sets; `-1` when not queued. */
  queueIndex: number;
}

/**
 * Calls `expire` for each item once its time has come, unless it was
 * removed before. The timer never keeps the process alive by itself.
 *
 * @example
 * ```ts
 * import { DeadlineQueue } from "./deadline.ts";
 * import assert from "node:assert/strict";
 *
 * const expired: string[] = [];
 * const queue = new DeadlineQueue<{ name: string; queueIndex: number }>(
 *   (item) => expired.push(item.name),
 * );
 * const soon = { name: "soon", queueIndex: -1 };
 * const gone = { name: "gone", queueIndex: -1 };
 * queue.add(soon, Date.now() + 10);
 * queue.add(gone, Date.now() + 5);
 * queue.delete(gone);
 * await new Promise((resolve) => setTimeout(resolve, 50));
 * assert.deepEqual(expired, ["soon"]);
 * assert.equal(queue.size, 0);
 * queue.clear();
 * ```
 */
export class DeadlineQueue<T extends Queued> {
  /** The heap: the earliest item first. */
  #items: T[] = [];
  /** When each item of the heap expires, at the same index. */
  #times: number[] = [];
  #timer: TimerHandle | undefined;
  /** When the timer fires; `Infinity` when it is not armed. */
  #armedFor = Infinity;
  readonly #expire: (item: T) => void;

  /**
   * Starts empty, with no timer.
   *
   * @param expire Called with each item whose time came (already removed).
   */
  constructor(expire: (item: T) => void) {
    this.#expire = expire;
  }

  /** How many items wait. */
  get size(): number {
    return this.#items.length;
  }

  /**
   * Queues `item` to expire at `time`.
   *
   * @param item The item; it must not be queued already.
   * @param time When it expires (`Date.now()` milliseconds).
   */
  add(item: T, time: number): void {
    const index = this.#items.length;
    this.#items.push(item);
    this.#times.push(time);
    item.queueIndex = index;
    this.#up(index);
    if (time < this.#armedFor) this.#arm(time);
  }

  /**
   * Takes `item` out of the queue, if it is in it: it will not expire.
   *
   * @param item The item.
   */
  delete(item: T): void {
    const index = item.queueIndex;
    if (index < 0 || this.#items[index] !== item) return;
    item.queueIndex = -1;
    const last = this.#items.length - 1;
    const lastItem = this.#items.pop()!;
    const lastTime = this.#times.pop()!;
    if (index === last) return;
    this.#place(index, lastItem, lastTime);
    this.#up(index);
    this.#down(index);
  }

  /** Forgets every item (none expires) and stops the timer. */
  clear(): void {
    for (const item of this.#items) item.queueIndex = -1;
    this.#items = [];
    this.#times = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #arm(time: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = time;
    const wait = Math.min(MAX_TIMEOUT, Math.max(0, time - Date.now()));
    this.#timer = housekeeping(setTimeout(() => this.#fire(), wait));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = Date.now();
    // Each item leaves the heap before its expiry runs, so an expiry that
    // adds or deletes items sees the queue as it is.
    while (this.#items.length > 0 && this.#times[0] <= now) {
      const item = this.#items[0];
      this.delete(item);
      this.#expire(item);
    }
    if (this.#items.length > 0 && this.#times[0] < this.#armedFor) {
      this.#arm(this.#times[0]);
    }
  }

  #place(index: number, item: T, time: number): void {
    this.#items[index] = item;
    this.#times[index] = time;
    item.queueIndex = index;
  }

  #up(index: number): void {
    const item = this.#items[index];
    const time = this.#times[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.#times[parent] <= time) break;
      this.#place(index, this.#items[parent], this.#times[parent]);
      index = parent;
    }
    this.#place(index, item, time);
  }

  #down(index: number): void {
    const count = this.#items.length;
    const item = this.#items[index];
    const time = this.#times[index];
    for (;;) {
      let child = 2 * index + 1;
      if (child >= count) break;
      if (child + 1 < count && this.#times[child + 1] < this.#times[child]) {
        child++;
      }
      if (this.#times[child] >= time) break;
      this.#place(index, this.#items[child], this.#times[child]);
      index = child;
    }
    this.#place(index, item, time);
  }
}

/** How a {@linkcode raceDeadline} ends when the attempt loses, and what it leaves behind. */
export interface RaceEnds {
  /** The error when the time is up. */
  timedOut(): Error;
  /** The error when the signal aborts. */
  aborted(reason: unknown): Error;
  /** Cleans up after the attempt once it lost the race. */
  abandon?(): void;
}

/**
 * Races `promise` against a timeout and a signal: the first to end wins,
 * and the timer and the listener are gone either way.
 *
 * @param promise The attempt.
 * @param timeout Milliseconds it may take.
 * @param signal Gives up at once when aborted; `undefined` for none.
 * @param ends The errors of a lost race, and the clean-up after one.
 * @returns What the attempt gave.
 * @throws {Error} What `ends` makes, when the attempt lost.
 *
 * @example
 * ```ts
 * import { raceDeadline } from "./deadline.ts";
 * import assert from "node:assert/strict";
 *
 * const never = new Promise<never>(() => {});
 * await assert.rejects(
 *   raceDeadline(never, 5, undefined, {
 *     timedOut: () => new Error("too slow"),
 *     aborted: () => new Error("stopped"),
 *   }),
 *   { message: "too slow" },
 * );
 * assert.equal(await raceDeadline(Promise.resolve(1), 5, undefined, {
 *   timedOut: () => new Error("too slow"),
 *   aborted: () => new Error("stopped"),
 * }), 1);
 * ```
 */
export function raceDeadline<T>(
  promise: Promise<T>,
  timeout: number,
  signal: AbortSignal | undefined,
  ends: RaceEnds,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fail = (error: Error) => {
      done();
      ends.abandon?.();
      reject(error);
    };
    const onAbort = () => fail(ends.aborted(signal!.reason));
    const timer = setTimeout(() => fail(ends.timedOut()), timeout);
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error) => {
        done();
        reject(error);
      },
    );
  });
}
