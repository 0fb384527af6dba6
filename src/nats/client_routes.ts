/**
 * The calls of a client's link on their way over NATS, by request id, for
 * liveness (PROTOCOL.md, "Over NATS", "Liveness"): a call whose instance
 * said nothing for {@linkcode SILENT_HEARTBEATS} heartbeats is given up,
 * and the instance running a call is told each heartbeat that this side is
 * there. The instance's side of the same rules is service_caller.ts.
 *
 * A caller's call on its way over NATS (PROTOCOL.md, "Over NATS"): which
 * instance took it, once that instance said so, the messages that wait for
 * it until then, and when each side was last heard; and the errors a call
 * fails with on the bus without an answer.
 *
 * @module
 */

import { SILENT_HEARTBEATS } from "./bus.ts";
import { ClientError } from "../base/errors.ts";

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
 * import { CallRoutes } from "./client_routes.ts";
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

/** A call on its way, as the bus sees it. */
export class CallRoute {
  /** The action, for messages. */
  readonly action: string;
  /** When the instance (or NATS) was last heard for this call (`Date.now()`). */
  lastHeard: number;
  /** When this side last sent to the instance for this call. */
  lastSent: number;
  #instance: string | undefined;
  /** What waits to go to the instance until it is known (`undefined`: never, the call is over). */
  #waiting: ((instance: string | undefined) => void)[] | undefined;

  /**
   * A call just sent.
   *
   * @param action The action's name.
   * @param now `Date.now()`.
   */
  constructor(action: string, now: number) {
    this.action = action;
    this.lastHeard = now;
    this.lastSent = now;
  }

  /** The control subject of the instance that took the call, once known. */
  get instance(): string | undefined {
    return this.#instance;
  }

  /**
   * Runs `send` with the instance's subject: now, or once it is known.
   *
   * @param send Sends something to the instance.
   */
  toInstance(send: (instance: string) => void): void {
    if (this.#instance !== undefined) return send(this.#instance);
    (this.#waiting ??= []).push((instance) => {
      if (instance !== undefined) send(instance);
    });
  }

  /**
   * Resolves with the instance's subject once it is known, or `undefined`
   * once the call is over without it.
   *
   * @returns The subject, or `undefined`.
   */
  instanceKnown(): Promise<string | undefined> {
    if (this.#instance !== undefined) return Promise.resolve(this.#instance);
    return new Promise((resolve) => (this.#waiting ??= []).push(resolve));
  }

  /** The call is over: what waited for the instance is dropped. */
  drop(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) { for (const wait of waiting) wait(undefined); }
  }

  /**
   * The instance named itself: what waited for it goes now.
   *
   * @param instance Its control subject.
   */
  learn(instance: string): void {
    if (this.#instance !== undefined) return;
    this.#instance = instance;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) { for (const send of waiting) send(instance); }
  }
}

/**
 * The error of a call NATS had no responder for: no instance of the service
 * was there (the call did not run), or the instance that took the call is
 * gone (it may have run).
 *
 * @param route The call.
 * @param service The service name.
 * @returns `UNAVAILABLE` or `CONNECTION_CLOSED`.
 */
export function noResponders(route: CallRoute, service: string): ClientError {
  if (route.instance === undefined) {
    return new ClientError(
      "UNAVAILABLE",
      `No server of service "${service}" is there to take "${route.action}": start one, or check the service name.`,
    );
  }
  // A message to the instance that took the call found nobody there.
  return new ClientError(
    "CONNECTION_CLOSED",
    `The server that took "${route.action}" is gone (its subject has no subscriber); the call may or may not have run.`,
    { wasRun: "maybe" },
  );
}

/**
 * The error of a call whose server said nothing for too long.
 *
 * @param route The call.
 * @param silence How long nothing came, in milliseconds.
 * @param heartbeat The heartbeat, in milliseconds.
 * @param isNatsDown Whether this side's NATS connection is down.
 * @returns `CONNECTION_CLOSED`, which may have run.
 */
export function wentSilent(
  route: CallRoute,
  silence: number,
  heartbeat: number,
  isNatsDown = false,
): ClientError {
  // With this side's own NATS connection down, the server is not to blame:
  // say so, or users go looking for a dead server that is fine.
  const message = isNatsDown
    ? `The connection to NATS is down (the NATS client keeps reconnecting): nothing about "${route.action}" for ${silence} ms (heartbeat ${heartbeat} ms); the call may or may not have run.`
    : `The server that took "${route.action}" went silent: nothing for ${silence} ms (heartbeat ${heartbeat} ms). It may have died or frozen; the call may or may not have run.`;
  return new ClientError("CONNECTION_CLOSED", message, { wasRun: "maybe" });
}

/**
 * The error of calls cut by the link's own closing.
 *
 * @param wasRun `false` for calls never sent, `"maybe"` for calls on their way.
 * @returns `CONNECTION_CLOSED`.
 */
export function closedError(wasRun: false | "maybe"): ClientError {
  return new ClientError("CONNECTION_CLOSED", "The client was closed.", {
    wasRun,
  });
}
