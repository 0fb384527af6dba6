/**
 * The calls of a client's link on their way over NATS, by request id, for
 * liveness (PROTOCOL.md, "Over NATS", "Liveness"): a call whose instance
 * said nothing for {@linkcode SILENT_HEARTBEATS} heartbeats is given up,
 * and the instance running a call is told each heartbeat that this side is
 * there. The instance's side of the same rules is open_calls.ts.
 *
 * @module
 */

import { CallRoute } from "./call_route.ts";
import { SILENT_HEARTBEATS } from "./liveness.ts";

/** What {@linkcode CallRoutes.tick} does for the calls that need it. */
export interface CallRoutesPort {
  /**
   * Call `id`'s instance said nothing for too long: fail it. The call is
   * forgotten right after.
   */
  silent(id: number, route: CallRoute, silence: number): void;
  /** Call `id` sent nothing to its instance for a heartbeat: say this side is there. */
  ping(id: number, instance: string): void;
}

/**
 * The routes of a link's calls, by request id.
 *
 * @example
 * ```ts
 * import { CallRoutes } from "./call_routes.ts";
 * import assert from "node:assert/strict";
 *
 * const routes = new CallRoutes();
 * routes.open(1, "add", 0).learn("instance.a");
 * const pinged: number[] = [];
 * const port = { silent() {}, ping: (id: number) => void pinged.push(id) };
 * routes.tick(1_000, 1_000, port);
 * assert.deepEqual(pinged, [1]);
 * routes.forget(1);
 * assert.equal(routes.size, 0);
 * ```
 */
export class CallRoutes {
  readonly #routes = new Map<number, CallRoute>();

  /** How many calls are on their way. */
  get size(): number {
    return this.#routes.size;
  }

  /**
   * A call was just sent.
   *
   * @param id The request id.
   * @param action The action's name.
   * @param now `Date.now()`.
   * @returns Its route.
   */
  open(id: number, action: string, now: number): CallRoute {
    const route = new CallRoute(action, now);
    this.#routes.set(id, route);
    return route;
  }

  /**
   * The route of call `id`.
   *
   * @param id The request id.
   * @returns The route, if the call is on its way.
   */
  get(id: number): CallRoute | undefined {
    return this.#routes.get(id);
  }

  /**
   * A call is over: its route goes, and what waited for its instance.
   *
   * @param id The request id.
   */
  forget(id: number): void {
    this.#routes.get(id)?.drop();
    this.#routes.delete(id);
  }

  /**
   * Every call, with its route.
   *
   * @returns The entries.
   */
  entries(): IterableIterator<[number, CallRoute]> {
    return this.#routes.entries();
  }

  /** Forgets every call (their routes dropped by the caller already). */
  clear(): void {
    this.#routes.clear();
  }

  /**
   * Gives up each call whose instance was silent for
   * {@linkcode SILENT_HEARTBEATS} heartbeats, and pings the instance of each
   * call this side sent nothing to for a heartbeat.
   *
   * @param now `Date.now()`.
   * @param heartbeat The heartbeat, in milliseconds.
   * @param port What to do for them.
   */
  tick(now: number, heartbeat: number, port: CallRoutesPort): void {
    const silence = SILENT_HEARTBEATS * heartbeat;
    for (const [id, route] of this.#routes) {
      if (now - route.lastHeard > silence) {
        port.silent(id, route, now - route.lastHeard);
        this.forget(id);
        continue;
      }
      // A call the instance said it runs: tell it this side is there (it
      // stops the call without it, and answers), and learn at once, from
      // NATS's no-responders answer, when the instance is gone.
      if (route.instance !== undefined && now - route.lastSent >= heartbeat) {
        route.lastSent = now;
        port.ping(id, route.instance);
      }
    }
  }
}
