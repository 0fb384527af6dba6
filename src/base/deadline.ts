/**
 * Deadlines. {@linkcode Deadline}: a call's deadline, an absolute time and
 * the signal that ends the call early, made once when the call starts and
 * read by every try, connecting and wait of it.
 * {@linkcode raceDeadline}: one attempt against the time it may
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

import { ClientError } from "./errors.ts";
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
  /** What a failure of the attempt itself becomes (the same error without it). */
  failed?(error: unknown): unknown;
}

/**
 * Races `promise` against a timeout and a signal: the first to end wins,
 * and the timer and the listener are gone either way.
 *
 * @param promise The attempt.
 * @param timeout Milliseconds it may take; `Infinity` for no limit.
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
    const timer = timeout === Infinity
      ? undefined
      : setTimeout(() => fail(ends.timedOut()), timeout);
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
        reject(ends.failed === undefined ? error : ends.failed(error));
      },
    );
  });
}

/**
 * A call's deadline: when it passes (on the `performance.now()` clock),
 * what the caller asked for, and the caller's signal. Made once when a
 * call starts; every try, connecting, wait and resume of the call reads
 * the same one, so what each gets is what is left.
 *
 * @example
 * ```ts
 * import { Deadline } from "./deadline.ts";
 * import assert from "node:assert/strict";
 *
 * const deadline = Deadline.after(500);
 * assert.equal(deadline.timeout, 500);
 * assert.ok(deadline.left() <= 500 && deadline.left() > 0);
 * assert.ok(deadline.toWire()! <= 500);
 * assert.equal(deadline.isPast(), false);
 * assert.equal(Deadline.NONE.left(), Infinity);
 * assert.equal(Deadline.NONE.toWire(), undefined);
 * assert.equal(Deadline.after(10, undefined, performance.now() - 20).isPast(), true);
 * ```
 */
export class Deadline {
  /** No deadline and no signal. */
  static readonly NONE: Deadline = new Deadline(0, undefined, 0);

  /**
   * When it passes, in `performance.now()` milliseconds; `Infinity` for
   * none.
   */
  readonly at: number;
  /**
   * What the caller asked for, in milliseconds (0: no deadline): what a
   * `TIMEOUT` error names.
   */
  readonly timeout: number;
  /** The caller's signal, if any: it ends the call early. */
  readonly signal: AbortSignal | undefined;

  private constructor(
    timeout: number,
    signal: AbortSignal | undefined,
    now: number,
  ) {
    this.timeout = timeout;
    this.signal = signal;
    this.at = timeout > 0 ? now + timeout : Infinity;
  }

  /**
   * The deadline of a call starting now.
   *
   * @param timeout Milliseconds the call may take; 0, `undefined` or a
   * value that is not a positive number for none.
   * @param signal Ends the call early.
   * @param now When the call started (`performance.now()`), for tests.
   * @returns The deadline; {@linkcode Deadline.NONE} without either.
   */
  static after(
    timeout: number | undefined,
    signal?: AbortSignal,
    now: number = performance.now(),
  ): Deadline {
    const asked = typeof timeout === "number" && timeout > 0 ? timeout : 0;
    return asked === 0 && signal === undefined
      ? Deadline.NONE
      : new Deadline(asked, signal, now);
  }

  /** Whether it has a time (not only a signal). */
  get isSet(): boolean {
    return this.timeout > 0;
  }

  /**
   * Milliseconds left: 0 or less once past, `Infinity` without a time.
   *
   * @returns What is left.
   */
  left(): number {
    return this.at - performance.now();
  }

  /**
   * Whether it passed, or is no more than `slack` away.
   *
   * @param slack Milliseconds that still count as past.
   * @returns `false` without a time.
   */
  isPast(slack = 0): boolean {
    return this.left() <= slack;
  }

  /**
   * The relative `timeout` a REQUEST carries: what is left, in whole
   * milliseconds, at least 1.
   *
   * @returns `undefined` without a time.
   */
  toWire(): number | undefined {
    return this.isSet ? Math.max(1, Math.ceil(this.left())) : undefined;
  }

  /**
   * The earlier of this deadline and one of `timeout` from now, with this
   * one's signal: an attempt's own bound within the call's.
   *
   * @param timeout Milliseconds the attempt may take.
   * @returns The earlier deadline.
   */
  min(timeout: number): Deadline {
    const now = performance.now();
    return timeout > 0 && now + timeout < this.at
      ? new Deadline(timeout, this.signal, now)
      : this;
  }

  /**
   * Waits for `promise`, or fails first when the time is up or the signal
   * aborts, with the errors `ends` makes. What `promise` gives after that
   * is not waited for. Without a time or a signal, `promise` itself.
   *
   * @param promise The attempt.
   * @param ends The errors of a lost race.
   * @returns What the attempt gave.
   */
  race<T>(promise: Promise<T>, ends: RaceEnds): Promise<T> {
    // Nothing to race: what the attempt gives is what it gives.
    if (this.at === Infinity && this.signal === undefined) return promise;
    return raceDeadline(
      promise,
      this.at === Infinity ? Infinity : Math.max(0, this.left()),
      this.signal,
      ends,
    );
  }
}

/**
 * How early a failure to connect may come and still count as cut by the
 * deadline, in milliseconds: timers run on a millisecond clock, and an
 * attempt's own timeout set to the call's (`handshakeTimeout` equal to
 * `timeout`, as the command line sets them) fires in the same instant.
 */
export const CLOCK_SLACK = 1;

/**
 * The error of a call whose signal aborted; the signal's reason is its
 * cause.
 *
 * @param reason The signal's reason.
 * @returns An `ABORTED` error.
 *
 * @example
 * ```ts
 * import { abortedError } from "./deadline.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(abortedError("stop").code, "ABORTED");
 * ```
 */
export function abortedError(reason: unknown): ClientError {
  return new ClientError("ABORTED", "The call was aborted.", {
    cause: reason,
  });
}

/**
 * The error of a call whose deadline passed before its connection was set
 * up: `TIMEOUT`, never run, with the last failure to connect as its cause.
 * The message names that failure as isock first reported it (the
 * innermost `ClientError` of the cause chain: not a summary of several
 * servers that itself ends with a "Last failure").
 *
 * @param deadline The call's deadline.
 * @param cause Why the connection was not ready, when known.
 * @param servers How many servers the call could have gone to.
 * @returns The error.
 *
 * @example
 * ```ts
 * import { Deadline, setupTimeout } from "./deadline.ts";
 * import { ClientError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const deadline = Deadline.after(200);
 * const error = setupTimeout(deadline, new Error("refused"));
 * assert.equal(error.code, "TIMEOUT");
 * assert.equal(error.wasRun, false);
 * assert.equal(
 *   error.message,
 *   "No connection to the server within the call's 200 ms. Last failure: refused",
 * );
 * const refused = new ClientError("CONNECT_FAILED", "Cannot connect to b:2");
 * const none = new ClientError("UNAVAILABLE", "None of the 2 servers…", { cause: refused });
 * assert.equal(
 *   setupTimeout(deadline, none, 2).message,
 *   "No connection to any of the 2 servers within the call's 200 ms. Last failure: Cannot connect to b:2",
 * );
 * ```
 */
export function setupTimeout(
  deadline: Deadline,
  cause?: unknown,
  servers = 1,
): ClientError {
  const failure = innermostFailure(cause);
  return new ClientError(
    "TIMEOUT",
    `No connection to ${
      servers > 1 ? `any of the ${servers} servers` : "the server"
    } within the call's ${deadline.timeout} ms.${
      failure === undefined ? "" : ` Last failure: ${failure.message}`
    }`,
    cause === undefined ? { wasRun: false } : { wasRun: false, cause },
  );
}

/**
 * How a wait for a call's connection ends when it loses to the call's
 * deadline: `TIMEOUT` never run, or `ABORTED`; and a failure to connect
 * that comes as the deadline passes is a `TIMEOUT` too, the deadline being
 * what ended the wait.
 *
 * @param deadline The call's deadline.
 * @param servers How many servers the call could have gone to, for the
 * message.
 * @returns The ends for {@linkcode Deadline.race}.
 *
 * @example
 * ```ts
 * import { Deadline, setupEnds } from "./deadline.ts";
 * import assert from "node:assert/strict";
 *
 * const deadline = Deadline.after(5);
 * const never = new Promise<never>(() => {});
 * await assert.rejects(
 *   deadline.race(never, setupEnds(deadline)),
 *   (error: Error & { code?: string }) => error.code === "TIMEOUT",
 * );
 * assert.equal(await deadline.race(Promise.resolve(1), setupEnds(deadline)), 1);
 * ```
 */
export function setupEnds(deadline: Deadline, servers = 1): RaceEnds {
  return {
    timedOut: () => setupTimeout(deadline, undefined, servers),
    aborted: abortedError,
    failed: (error) =>
      isSetupFailure(error) && deadline.isPast(CLOCK_SLACK)
        ? setupTimeout(deadline, error, servers)
        : error,
  };
}

/**
 * The failure a message names: the innermost `ClientError` of the cause
 * chain (what the runtime threw is in its message already), or the error
 * itself.
 */
function innermostFailure(cause: unknown): Error | undefined {
  if (!(cause instanceof Error)) return undefined;
  let failure = cause;
  // Bounded: a cause chain could be circular.
  for (let depth = 0; depth < 16; depth++) {
    const inner: unknown = failure.cause;
    if (!(inner instanceof ClientError)) break;
    failure = inner;
  }
  return failure;
}

/**
 * Whether a failure is one to connect, which a deadline passing at the
 * same time cut: not an answer (a refused certificate or secret), nor the
 * client's own close.
 */
function isSetupFailure(error: unknown): boolean {
  return error instanceof ClientError &&
    (error.code === "CONNECT_FAILED" || error.code === "UNAVAILABLE");
}
