/**
 * A caller's call on its way over NATS (PROTOCOL.md, "Over NATS"): which
 * instance took it, once that instance said so, the messages that wait for
 * it until then, and when each side was last heard; and the errors a call
 * fails with on the bus without an answer.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";

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
 * @returns `CONNECTION_CLOSED`, which may have run.
 */
export function wentSilent(
  route: CallRoute,
  silence: number,
  heartbeat: number,
): ClientError {
  return new ClientError(
    "CONNECTION_CLOSED",
    `The server that took "${route.action}" went silent: nothing for ${silence} ms (heartbeat ${heartbeat} ms). It may have died or frozen; the call may or may not have run.`,
    { wasRun: "maybe" },
  );
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
