/**
 * Fakes for the session's pieces: a clock moved by hand, a frame sink that
 * records, and a sender that records messages instead of encoding them.
 */

import type { Clock } from "../../src/session/connection.ts";
import type { WireError } from "../../src/protocol/wire_error.ts";

/** A clock whose time moves only when a test says so. */
export class FakeClock implements Clock {
  time = 1_000_000;
  readonly #timers = new Set<
    { interval: number; next: number; listener: () => void }
  >();

  now = (): number => this.time;

  every(interval: number, listener: () => void): () => void {
    const timer = { interval, next: this.time + interval, listener };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** How many periodic checks are running. */
  get running(): number {
    return this.#timers.size;
  }

  /** Moves time forward, firing each periodic check as it falls due. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due:
        | { interval: number; next: number; listener: () => void }
        | undefined;
      for (const timer of this.#timers) {
        if (timer.next <= end && (due === undefined || timer.next < due.next)) {
          due = timer;
        }
      }
      if (due === undefined) break;
      this.time = due.next;
      due.next += due.interval;
      due.listener();
    }
    this.time = end;
  }
}

/** A frame sink that keeps what is sent; `drain` resolves when the test says. */
export class RecordingSink {
  readonly frames: Uint8Array[][] = [];
  #drains: (() => void)[] = [];
  isManualDrain = false;

  send(body: readonly Uint8Array[]): void {
    this.frames.push([...body]);
  }

  drain(): Promise<void> {
    if (!this.isManualDrain) return Promise.resolve();
    return new Promise((resolve) => this.#drains.push(resolve));
  }

  /** Resolves every drain waiting. */
  flush(): void {
    for (const resolve of this.#drains.splice(0)) resolve();
  }
}

/** A sender that records messages as they are, unencoded. */
export class RecordingSender {
  readonly sent: unknown[][] = [];
  isClosed = false;
  /** A message over this many JSON characters is refused as too large. */
  limit = Infinity;

  encodeChecked(message: readonly unknown[], what: string): Uint8Array[] {
    if (JSON.stringify(message).length > this.limit) {
      throw new Error(`${what} is too large`);
    }
    return [new TextEncoder().encode(JSON.stringify(message))];
  }

  sendData(parts: Uint8Array[]): void {
    this.sent.push(JSON.parse(new TextDecoder().decode(parts[0])));
  }

  sendIfOpen(message: readonly unknown[]): void {
    if (!this.isClosed) this.sent.push([...message]);
  }

  sendChecked(message: readonly unknown[]): void {
    if (!this.isClosed) this.sent.push([...message]);
  }

  result(id: number, value: unknown): void {
    this.sent.push([1, id, value]);
  }

  error(id: number, error: WireError): void {
    this.sent.push([2, id, error]);
  }

  /** Answers carry no metadata here. */
  answerMeta(): undefined {
    return undefined;
  }

  wireError(code: string, thrown: unknown): WireError {
    return { code, name: "Error", message: String((thrown as Error)?.message) };
  }

  /** The type tags of what was sent, in order. */
  get types(): unknown[] {
    return this.sent.map((message) => message[0]);
  }
}

/** Lets pending promise callbacks run. */
/**
 * Waits until `condition` holds, checking after each turn of the event
 * loop, for `ms` at most (then returns: the test's assertions say what is
 * missing). For work that goes through WebCrypto, which takes a varying
 * number of turns on a busy machine.
 */
export async function until(
  condition: () => boolean,
  ms = 2_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await settle();
}

export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
