/**
 * Whether one server of a client with several has proven stable: a server
 * back in rotation after a drop is on probation until its connection has
 * stayed up for the stable period, and one whose connections keep dying
 * on probation (a crash loop: it answers the handshake, then drops) is
 * tried again later and later, instead of after `retryDelay` every time.
 * Nothing here knows of connections; the clock is given.
 *
 * @module
 */

/**
 * How long a connection stays up before its server counts as stable:
 * three heartbeat intervals (as long as a silent server takes to be found
 * dead), or 30 s when heartbeats are off.
 *
 * @param heartbeatInterval The client's `heartbeatInterval`, in milliseconds.
 * @returns The stable period, in milliseconds.
 *
 * @example
 * ```ts
 * import { stablePeriod } from "./stability.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(stablePeriod(10_000), 30_000);
 * assert.equal(stablePeriod(50), 150);
 * assert.equal(stablePeriod(0), 30_000);
 * ```
 */
export function stablePeriod(heartbeatInterval: number): number {
  return heartbeatInterval > 0
    ? STABLE_HEARTBEATS * heartbeatInterval
    : STABLE_PERIOD_WITHOUT_HEARTBEATS;
}

/** How many heartbeat intervals a connection stays up to count as stable. */
const STABLE_HEARTBEATS = 3;

/** The stable period when heartbeats are off, in milliseconds. */
const STABLE_PERIOD_WITHOUT_HEARTBEATS = 30_000;

/** What the end of a connection says about its server: flapping or not, and the next wait. */
export interface CloseVerdict {
  /** Whether it dropped on probation: the server came back and dropped again. */
  readonly isFlapping: boolean;
  /**
   * The backoff attempt the next wait starts from: 1 after a connection
   * that was stable, one more for each flap in a row; a goodbye leaves
   * it where it was.
   */
  readonly attempt: number;
}

/**
 * One server's connections, as far as its place in the rotation goes:
 * the first connection is trusted; every later one starts on probation,
 * which ends once it has stayed up for the stable period. A connection
 * that closes on probation is a flap: the waits before the next try resume
 * one step further up the backoff for each flap in a row, and start again
 * from the first only after a connection that stayed up. A goodbye (the
 * server restarting gracefully) is no flap, on probation or not: it leaves
 * the count of flaps as it was.
 *
 * @example A crash loop, then a connection that stays up
 * ```ts
 * import { Stability } from "./stability.ts";
 * import assert from "node:assert/strict";
 *
 * let now = 0;
 * const stability = new Stability(1_000, () => now);
 * stability.opened(); // The first connection: trusted.
 * assert.equal(stability.isOnProbation, false);
 * now = 5;
 * assert.deepStrictEqual(stability.closed(), { isFlapping: false, attempt: 1 });
 * for (const attempt of [2, 3, 4]) {
 *   stability.opened();
 *   assert.equal(stability.isOnProbation, true);
 *   now += 5;
 *   assert.deepStrictEqual(stability.closed(), { isFlapping: true, attempt });
 * }
 * stability.opened();
 * now += 5;
 * // A goodbye on probation: no flap, the count stays.
 * assert.deepStrictEqual(stability.closed(true), { isFlapping: false, attempt: 4 });
 * stability.opened();
 * now += 1_000;
 * assert.equal(stability.isOnProbation, false);
 * assert.deepStrictEqual(stability.closed(), { isFlapping: false, attempt: 1 });
 * ```
 */
export class Stability {
  readonly #period: number;
  readonly #now: () => number;
  /** When the open connection opened; `undefined` while none is open. */
  #openedAt: number | undefined;
  /** When the open connection's probation ends; 0 when it is not on probation. */
  #probationEnds = 0;
  /** Whether a connection closed before: later ones start on probation. */
  #hasClosed = false;
  /** Connections in a row that closed on probation. */
  #flaps = 0;

  /**
   * Creates the record of one server.
   *
   * @param period The stable period, in milliseconds.
   * @param now The clock, in milliseconds; a test's own sets the time.
   */
  constructor(period: number, now: () => number = () => performance.now()) {
    this.#period = period;
    this.#now = now;
  }

  /**
   * Whether the open connection is on probation now: the server came back
   * after a drop and has not stayed up for the stable period yet.
   */
  get isOnProbation(): boolean {
    return this.#now() < this.#probationEnds;
  }

  /** A connection opened: on probation unless it is the first. */
  opened(): void {
    const now = this.#now();
    this.#openedAt = now;
    this.#probationEnds = this.#hasClosed ? now + this.#period : 0;
  }

  /**
   * The open connection closed.
   *
   * @param isLeaving Whether the server said goodbye first: a graceful
   * restart, never a flap; on probation it does not forgive earlier flaps
   * either.
   * @returns Whether it was a flap, and where the backoff resumes.
   */
  closed(isLeaving = false): CloseVerdict {
    const openedAt = this.#openedAt;
    const wasShort = this.#hasClosed && openedAt !== undefined &&
      this.#now() - openedAt < this.#period;
    const isFlapping = wasShort && !isLeaving;
    // A goodbye on probation keeps the count; one after a stable run clears it.
    if (isFlapping) this.#flaps++;
    else if (!wasShort) this.#flaps = 0;
    this.#hasClosed = true;
    this.#openedAt = undefined;
    this.#probationEnds = 0;
    return { isFlapping, attempt: this.#flaps + 1 };
  }
}
