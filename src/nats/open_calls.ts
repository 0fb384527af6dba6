/**
 * The open calls of a service instance, for liveness (PROTOCOL.md, "Over
 * NATS", "Liveness"): when each caller was last heard, and whether the
 * instance has named itself to it yet. Every call lives on its caller's
 * news: the caller pings each call it knows the instance of, the instance
 * answers those pings, and a call whose caller is silent for
 * {@linkcode SILENT_HEARTBEATS} heartbeats is stopped. The calls are kept
 * in the order they were last heard, so one tick of the instance's timer
 * looks only at the calls whose time has come, however many are open.
 *
 * @module
 */

import { SILENT_HEARTBEATS } from "./liveness.ts";

/** What {@linkcode OpenCalls} needs of a call's caller. */
export interface CallOwner {
  /** How many of its calls are open; kept by {@linkcode OpenCalls}. */
  openCalls: number;
  /** Call `id` has said nothing for a heartbeat: name the instance to its caller. */
  ping(id: number): void;
  /** The caller of call `id` went silent: stop it. */
  lost(id: number): void;
  /** Its last open call closed. */
  idle(): void;
}

/** An open call: its last message is not sent yet. */
interface OpenCall {
  readonly owner: CallOwner;
  readonly id: number;
  /** When the caller was last heard for it (`Date.now()`). */
  lastHeard: number;
}

/**
 * The open calls of one instance, by reply subject.
 *
 * @example
 * ```ts
 * import { type CallOwner, OpenCalls } from "./open_calls.ts";
 * import assert from "node:assert/strict";
 *
 * const lost: number[] = [];
 * const owner: CallOwner = {
 *   openCalls: 0,
 *   ping() {},
 *   lost: (id) => void lost.push(id),
 *   idle() {},
 * };
 * const calls = new OpenCalls();
 * calls.open("_INBOX.a.1", owner, 1, 0);
 * calls.open("_INBOX.a.2", owner, 2, 0);
 * calls.tick(1_000, 1_000); // Both named: their callers may ping from now.
 * calls.heard("_INBOX.a.2", 3_000);
 * calls.tick(4_500, 1_000);
 * assert.deepEqual(lost, [1]);
 * assert.equal(calls.size, 1);
 * ```
 */
export class OpenCalls {
  /** Every open call, in the order its caller was last heard. */
  readonly #byHeard = new Map<string, OpenCall>();
  /** The calls the instance has not named itself to yet, oldest first. */
  readonly #unnamed = new Map<string, OpenCall & { readonly opened: number }>();

  /** How many calls are open. */
  get size(): number {
    return this.#byHeard.size;
  }

  /**
   * Whether a call is open.
   *
   * @param reply Its reply subject.
   * @returns Whether it is.
   */
  has(reply: string): boolean {
    return this.#byHeard.has(reply);
  }

  /**
   * A call arrived.
   *
   * @param reply Its reply subject.
   * @param owner Its caller.
   * @param id Its request id.
   * @param now `Date.now()`.
   */
  open(reply: string, owner: CallOwner, id: number, now: number): void {
    if (this.#byHeard.has(reply)) return;
    this.#byHeard.set(reply, { owner, id, lastHeard: now });
    this.#unnamed.set(reply, { owner, id, lastHeard: now, opened: now });
    owner.openCalls++;
  }

  /**
   * The caller was heard for a call.
   *
   * @param reply Its reply subject.
   * @param now `Date.now()`.
   */
  heard(reply: string, now: number): void {
    const call = this.#byHeard.get(reply);
    if (call === undefined) return;
    call.lastHeard = now;
    // Last heard goes last: the tick stops at the first call still heard.
    this.#byHeard.delete(reply);
    this.#byHeard.set(reply, call);
  }

  /**
   * The instance sent the caller a message that names it, for a call.
   *
   * @param reply Its reply subject.
   * @param now `Date.now()`.
   */
  named(reply: string, now: number): void {
    // The caller could not ping before it knew the instance: the first
    // time, its silence counts from now.
    if (this.#unnamed.delete(reply)) this.heard(reply, now);
  }

  /**
   * A call is over (its last message went, or it was stopped).
   *
   * @param reply Its reply subject.
   */
  close(reply: string): void {
    const call = this.#byHeard.get(reply);
    if (call === undefined) return;
    this.#byHeard.delete(reply);
    this.#unnamed.delete(reply);
    if (--call.owner.openCalls === 0) call.owner.idle();
  }

  /**
   * Closes every open call of `owner` (it was dropped). Looks at every open
   * call: for rare events only.
   *
   * @param owner The caller.
   */
  closeAll(owner: CallOwner): void {
    for (const [reply, call] of this.#byHeard) {
      if (call.owner === owner) this.close(reply);
    }
  }

  /** Forgets every call (the instance stopped). */
  clear(): void {
    this.#byHeard.clear();
    this.#unnamed.clear();
  }

  /**
   * Names the instance to each call that said nothing for a heartbeat, and
   * stops each call whose caller was silent for
   * {@linkcode SILENT_HEARTBEATS}: only those calls are looked at.
   *
   * @param now `Date.now()`.
   * @param heartbeat The heartbeat, in milliseconds.
   */
  tick(now: number, heartbeat: number): void {
    for (const [reply, call] of this.#unnamed) {
      if (now - call.opened < heartbeat) break;
      this.named(reply, now);
      call.owner.ping(call.id);
    }
    const silence = SILENT_HEARTBEATS * heartbeat;
    for (const [reply, call] of this.#byHeard) {
      if (now - call.lastHeard <= silence) break;
      this.close(reply);
      call.owner.lost(call.id);
    }
  }
}
