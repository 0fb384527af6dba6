/**
 * Timer facts every layer shares: the longest wait a timer can take, timers
 * that never keep the process alive by themselves, the shared periodic
 * timers ({@linkcode every}), and the no-op used to settle promises nobody
 * has to await.
 *
 * @module
 */

/** The longest delay a timer can wait, in milliseconds (a signed 32-bit integer). */
export const MAX_TIMEOUT = 2 ** 31 - 1;

/** A timer handle, as `setTimeout` and `setInterval` return it on any runtime. */
export type TimerHandle = ReturnType<typeof setTimeout>;

/**
 * Marks a timer as housekeeping: it never keeps the process alive by
 * itself (whatever owns it decides that). Works on Deno (numeric handles)
 * and on runtimes whose handles have `unref()`.
 *
 * @param timer The timer.
 * @returns The same timer.
 */
export function housekeeping<T extends TimerHandle>(timer: T): T {
  const handle = timer as unknown as { unref?: () => void };
  if (typeof handle === "object" && typeof handle.unref === "function") {
    handle.unref();
  } else {
    (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno
      ?.unrefTimer(timer as unknown as number);
  }
  return timer;
}

/** Does nothing: the handler for promises whose failure someone else reports. */
export function ignore(): void {}

// Shared periodic timers: every session with the same interval hangs off
// one timer, so ten thousand idle connections cost one timer, not ten
// thousand. The timers never keep the process alive by themselves.

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
