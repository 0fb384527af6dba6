/**
 * Shared periodic timers: every session with the same interval hangs off
 * one timer, so ten thousand idle connections cost one timer, not ten
 * thousand. The timers never keep the process alive by themselves.
 *
 * @module
 */

import { housekeeping } from "./timers.ts";

interface Ticker {
  timer: ReturnType<typeof setInterval>;
  listeners: Set<() => void>;
}

const tickers = new Map<number, Ticker>();

/**
 * Calls `listener` every `interval` milliseconds until the returned
 * function is called.
 *
 * @returns Stops the calls.
 */
export function every(interval: number, listener: () => void): () => void {
  let ticker = tickers.get(interval);
  if (ticker === undefined) {
    const listeners = new Set<() => void>();
    const timer = housekeeping(setInterval(() => {
      for (const listen of listeners) listen();
    }, interval));
    ticker = { timer, listeners };
    tickers.set(interval, ticker);
  }
  const { listeners } = ticker;
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && tickers.get(interval) === ticker) {
      clearInterval(ticker!.timer);
      tickers.delete(interval);
    }
  };
}
