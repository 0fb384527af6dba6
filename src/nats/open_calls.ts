/**
 * The open calls of one caller on an instance, for liveness (PROTOCOL.md,
 * "Over NATS", "Liveness"): when the instance last sent something for each,
 * when the caller was last heard, and whether the call lives on the
 * caller's news (a stream, or an input stream).
 *
 * @module
 */

import { SILENT_HEARTBEATS } from "./liveness.ts";

/** An open call: its last message is not sent yet. */
interface OpenCall {
  /** When this side last sent something for it (`Date.now()`). */
  lastSent: number;
  /** When the caller was last heard for it. */
  lastHeard: number;
  /** Whether the call lives on the caller's news. */
  readonly isWatched: boolean;
}

/** What {@linkcode OpenCalls.tick} does for the calls that need it. */
export interface OpenCallsPort {
  /** Call `id` sent nothing for a heartbeat: say it still runs. */
  ping(id: number): void;
  /** The caller of watched call `id` went silent: stop it. */
  lost(id: number): void;
}

/** The open calls of one caller, by request id. */
export class OpenCalls {
  readonly #calls = new Map<number, OpenCall>();

  /** How many calls are open. */
  get size(): number {
    return this.#calls.size;
  }

  /**
   * Whether call `id` is open.
   *
   * @param id The request id.
   * @returns Whether it is.
   */
  has(id: number): boolean {
    return this.#calls.has(id);
  }

  /**
   * A call arrived.
   *
   * @param id The request id.
   * @param isWatched Whether it lives on the caller's news.
   * @param now `Date.now()`.
   */
  open(id: number, isWatched: boolean, now: number): void {
    this.#calls.set(id, { lastSent: now, lastHeard: now, isWatched });
  }

  /**
   * The caller was heard for call `id`.
   *
   * @param id The request id.
   */
  heard(id: number): void {
    const call = this.#calls.get(id);
    if (call !== undefined) call.lastHeard = Date.now();
  }

  /**
   * Something was sent for call `id`.
   *
   * @param id The request id.
   */
  sent(id: number): void {
    const call = this.#calls.get(id);
    if (call !== undefined) call.lastSent = Date.now();
  }

  /**
   * Call `id` is over (its last message went, or its caller left).
   *
   * @param id The request id.
   */
  close(id: number): void {
    this.#calls.delete(id);
  }

  /** Every call is over. */
  clear(): void {
    this.#calls.clear();
  }

  /**
   * Pings each call that sent nothing for a heartbeat, and gives up each
   * watched call whose caller was silent for {@linkcode SILENT_HEARTBEATS}.
   *
   * @param now `Date.now()`.
   * @param heartbeat The heartbeat, in milliseconds.
   * @param port What to do for them.
   */
  tick(now: number, heartbeat: number, port: OpenCallsPort): void {
    for (const [id, call] of this.#calls) {
      if (
        call.isWatched && now - call.lastHeard > SILENT_HEARTBEATS * heartbeat
      ) {
        this.#calls.delete(id);
        port.lost(id);
        continue;
      }
      if (now - call.lastSent >= heartbeat) {
        call.lastSent = now;
        port.ping(id);
      }
    }
  }
}
