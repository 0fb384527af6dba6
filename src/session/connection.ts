/**
 * The time a session's pieces read and the periodic checks they run,
 * behind one small interface so that tests can drive them by hand.
 *
 * @module
 */

import { every } from "../base/timers.ts";

/** What the keepalive and the reassembly need of time. */
export interface Clock {
  /** Now, in milliseconds since 1970. */
  now(): number;
  /**
   * Calls `listener` every `interval` milliseconds until the returned
   * function is called; never keeps the process alive by itself.
   */
  every(interval: number, listener: () => void): () => void;
}

/**
 * The real clock: `Date.now`, and shared periodic timers (ten thousand
 * idle connections cost one timer per interval, not ten thousand).
 *
 * @example
 * ```ts
 * import { systemClock } from "./connection.ts";
 * import assert from "node:assert/strict";
 *
 * const stop = systemClock.every(1000, () => {});
 * stop();
 * assert.ok(systemClock.now() > 0);
 * ```
 */
export const systemClock: Clock = { now: Date.now, every };
