/**
 * A client's way to several servers with the same actions (its
 * `endpoints` option): a connection to each, calls spread over those in
 * rotation by the `balance` policy, and each call's tries kept apart: a
 * call sent again (never sent, refused unrun, or idempotent after a drop)
 * goes to another server. With none in rotation, a call fails at once with
 * `UNAVAILABLE` rather than waiting for its deadline.
 *
 * How a client with several servers picks the one for a call: the
 * policies of its `balance` option, over the servers in the order given,
 * each either eligible now or not. Nothing here knows of connections.
 *
 * @module
 */

import { formatAddress, type PeerAddress } from "../wire/transport.ts";
import { type Deferred, deferred } from "../base/deferred.ts";
import { ClientError } from "../base/errors.ts";
import {
  CLOCK_SLACK,
  type Deadline,
  setupEnds,
  setupTimeout,
} from "../base/deadline.ts";
import type { SentOptions } from "../session/outgoing_calls.ts";
import type { Session } from "../session/session.ts";
import type { Backoff } from "./backoff.ts";
import type { ConnectDetail, LeaveReason } from "./client_event.ts";
import type { ClientLink } from "./client_transport.ts";
import type { ServerLocation } from "./connector.ts";
import type { Endpoint } from "./open_session.ts";
import { type MemberHost, PoolMember } from "./pool_member.ts";
import type { Redial } from "./resend.ts";
import { stablePeriod } from "./stability.ts";
import type { BalanceName } from "./client_options.ts";

/** What the pool tells its client, naming the server each event is about. */
export interface PoolEvents {
  /** A connection to `endpoint` is open. */
  connect(endpoint: ConnectDetail): void;
  /**
   * The connection to `endpoint` closed; `reason` unless cleanly, and why
   * the server left the rotation.
   */
  disconnect(
    reason: Error | undefined,
    endpoint: ConnectDetail,
    leaving: LeaveReason,
  ): void;
  /** A connection to `endpoint` could not be made. */
  error(error: Error, endpoint: ConnectDetail): void;
}

/** Connections to several servers, and the choice of one for each try. */
export class ClientPool implements ClientLink {
  /** How many tries a dropped idempotent call gets, over all the servers. */
  readonly attempts: number;
  readonly #members: readonly PoolMember[];
  readonly #balance: Balance;
  readonly #backoff: Backoff;
  readonly #closing = new AbortController();
  #isStarted = false;
  #isClosed = false;
  /** Settles at the next change of the rotation: what waiting calls wait for. */
  #change: Deferred<void> | undefined;

  /**
   * Creates a pool; it connects to every server at the first call.
   *
   * @param locations The servers, with the TLS and authentication of all.
   * @param endpoint The codec, limits and actions of the client.
   * @param attempts How many tries a dropped idempotent call gets.
   * @param backoff The waits between tries.
   * @param balance Picks the server of each call.
   * @param events Where to report connections, drops and failures.
   */
  constructor(
    locations: readonly ServerLocation[],
    endpoint: Endpoint,
    attempts: number,
    backoff: Backoff,
    balance: Balance,
    events: PoolEvents,
  ) {
    this.attempts = attempts;
    this.#balance = balance;
    this.#backoff = backoff;
    const host: MemberHost = {
      changed: () => {
        const change = this.#change;
        this.#change = undefined;
        change?.resolve();
      },
      connect: (member) => events.connect(member.detail),
      disconnect: (member, reason, leaving) =>
        events.disconnect(reason, member.detail, leaving),
      error: (member, error) => events.error(error, member.detail),
    };
    // One try per connection: a server that does not answer leaves the
    // rotation at once (calls go to the others, or fail UNAVAILABLE
    // promptly), and its own backoff tries it again in the background.
    const stable = stablePeriod(endpoint.limits.heartbeatInterval);
    this.#members = locations.map((location) =>
      new PoolMember(location, endpoint, 1, backoff, host, stable)
    );
  }

  /** Whether {@linkcode ClientPool.close} was called. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Whether a connection to any of the servers is open now. */
  get isConnected(): boolean {
    return this.#members.some((member) => member.isHealthy);
  }

  /** Where the servers are, in the order given. */
  get peers(): readonly PeerAddress[] {
    return this.#members.map((member) => member.peer);
  }

  /**
   * The way of one call: its tries go to servers it has not tried yet,
   * and only an idempotent call goes to a server on probation while
   * another can take it.
   *
   * @param isIdempotent Whether the action may run twice.
   * @returns The way of one call to the servers.
   */
  choice(isIdempotent: boolean): Redial {
    return new ServerChoice(this, isIdempotent);
  }

  /**
   * Sends a call to the server the policy picks.
   *
   * @param name The action's name.
   * @param data Its input.
   * @param options Deadline and signal.
   * @returns What the action returned.
   */
  call(name: string, data: unknown, options: SentOptions): Promise<unknown> {
    // Nothing says the action may run twice: a server on probation only if no other.
    return this.choice(false).call(name, data, options);
  }

  /**
   * Connects to every server, and resolves once one of them is connected.
   *
   * @param options The deadline and signal of the wait.
   * @returns The connection to a server in rotation.
   */
  connected(options?: SentOptions): Promise<Session> {
    // No call goes with this connection (it is `client.connect()`; a call's
    // own server choice picks its server): a server on probation is as good as any,
    // and waiting for a stable one would fail a connect that can be made.
    return new ServerChoice(this, true).connected(options);
  }

  /**
   * Waits before the next try: not at all while a server the call has not
   * tried is in rotation, else the backoff after try number `attempt`.
   *
   * @param attempt How many tries failed so far.
   * @param deadline The call's deadline: the wait ends there, if sooner.
   * @param tried The servers the call was sent to.
   * @returns Resolves when the wait is over, or at the close.
   */
  pause(
    attempt: number,
    deadline?: Deadline,
    tried?: Tried,
  ): Promise<void> {
    if (this.#healthy(tried ?? NONE, true) !== undefined) {
      return Promise.resolve();
    }
    return this.#backoff.pause(attempt, deadline, this.#closing.signal);
  }

  /**
   * Closes every connection and stops trying the servers; calls still
   * waiting reject with `CONNECTION_CLOSED`, and so do later ones.
   *
   * @returns Resolves once every connection is closed.
   */
  close(): Promise<void> {
    if (!this.#isClosed) {
      this.#isClosed = true;
      this.#closing.abort();
    }
    const closing = Promise.all(this.#members.map((member) => member.close()));
    const change = this.#change;
    this.#change = undefined;
    change?.resolve();
    return closing.then(() => {});
  }

  /**
   * The server for a try, now if one is in rotation: one `tried` does not
   * hold, or else one it does (a single server left is tried again). A
   * call that may not run twice goes to a server on probation (back after
   * a drop, not yet up for the stable period) only when no other is in
   * rotation: then as to any other.
   *
   * @param tried The servers the call was sent to, and whether it is idempotent.
   * @returns The server, or `undefined` when none is in rotation now.
   */
  pickNow(tried: Tried): PoolMember | undefined {
    this.#start();
    const { isIdempotent } = tried;
    return this.#healthy(tried, isIdempotent) ??
      this.#healthy(NONE, isIdempotent) ??
      (isIdempotent
        ? undefined
        : this.#healthy(tried, true) ?? this.#healthy(NONE, true));
  }

  /**
   * The server for a try: one in rotation now, or the first to connect
   * while some are still making their first connection.
   *
   * @param tried The servers the call was sent to.
   * @param options The call's deadline and signal, which bound the wait.
   * @returns The server.
   * @throws {ClientError} `UNAVAILABLE` when no server is in rotation and
   * none is still connecting; `CONNECTION_CLOSED` after the close;
   * `TIMEOUT` or `ABORTED` while waiting.
   */
  async serverFor(
    tried: Tried,
    options: SentOptions | undefined,
  ): Promise<PoolMember> {
    const deadline = options?.deadline;
    for (;;) {
      if (this.#isClosed) throw closedError();
      const member = this.pickNow(tried);
      if (member !== undefined) return member;
      if (!this.#members.some((member) => member.isPending)) {
        // The last first connection failed as the deadline passed: the
        // deadline ended the wait.
        const unavailable = this.#unavailable();
        throw deadline?.isPast(CLOCK_SLACK)
          ? setupTimeout(deadline, unavailable, this.#members.length)
          : unavailable;
      }
      this.#change ??= deferred();
      const change = this.#change.promise;
      await (deadline === undefined
        ? change
        : deadline.race(change, setupEnds(deadline, this.#members.length)));
    }
  }

  /** Connects to every server, once: at the first call. */
  #start(): void {
    if (this.#isStarted || this.#isClosed) return;
    this.#isStarted = true;
    for (const member of this.#members) member.start();
  }

  /** A server in rotation `tried` does not hold; one on probation only if `mayProbe`. */
  #healthy(tried: Tried, mayProbe: boolean): PoolMember | undefined {
    const members = this.#members;
    const index = this.#balance.pick(members.length, (index) => {
      const member = members[index];
      return member.isHealthy && !tried.has(member) &&
        (mayProbe || !member.isOnProbation);
    });
    return index < 0 ? undefined : members[index];
  }

  #unavailable(): ClientError {
    const members = this.#members;
    const causes = members.map((member) => member.lastError)
      .filter((error) => error !== undefined);
    return new ClientError(
      "UNAVAILABLE",
      `None of the ${members.length} servers (${
        members.map((member) => formatAddress(member.peer)).join(", ")
      }) is connected now; the client tries them again in the background.${
        causes.length > 0 ? ` Last failure: ${causes.at(-1)!.message}` : ""
      }`,
      { cause: causes.at(-1), wasRun: false },
    );
  }
}

/** One call's way to the servers: where its tries went, and where the next goes. */
class ServerChoice implements Redial, Tried {
  readonly #pool: ClientPool;
  /** The first server this call was sent to. */
  #first: PoolMember | undefined;
  /** The others, once there are (most calls go once). */
  #others: Set<PoolMember> | undefined;
  /** The server picked ahead of the next try (for middleware). */
  #chosen: PoolMember | undefined;
  peer: PeerAddress | undefined;
  readonly isIdempotent: boolean;

  constructor(pool: ClientPool, isIdempotent: boolean) {
    this.#pool = pool;
    this.isIdempotent = isIdempotent;
  }

  get attempts(): number {
    return this.#pool.attempts;
  }

  get isClosed(): boolean {
    return this.#pool.isClosed;
  }

  /** Whether this call was sent to `member`. */
  has(member: PoolMember): boolean {
    return member === this.#first || this.#others?.has(member) === true;
  }

  async choose(options: SentOptions): Promise<PeerAddress> {
    this.#chosen = await this.#pool.serverFor(this, options);
    return this.#chosen.peer;
  }

  call(name: string, data: unknown, options: SentOptions): Promise<unknown> {
    const member = this.#take();
    if (member !== undefined) return this.#send(member, name, data, options);
    return this.#pool.serverFor(this, options).then((member) =>
      this.#send(member, name, data, options)
    );
  }

  async connected(options?: SentOptions): Promise<Session> {
    const member = this.#take() ??
      await this.#pool.serverFor(this, options);
    this.#sentTo(member);
    return member.connector.connected(options);
  }

  pause(attempt: number, deadline?: Deadline): Promise<void> {
    return this.#pool.pause(attempt, deadline, this);
  }

  /** The server picked ahead if it is still in rotation, else one in rotation now. */
  #take(): PoolMember | undefined {
    const chosen = this.#chosen;
    this.#chosen = undefined;
    if (chosen !== undefined && chosen.isHealthy) return chosen;
    return this.#pool.pickNow(this);
  }

  #sentTo(member: PoolMember): void {
    if (this.#first === undefined) this.#first = member;
    else if (member !== this.#first) (this.#others ??= new Set()).add(member);
    this.peer = member.peer;
  }

  #send(
    member: PoolMember,
    name: string,
    data: unknown,
    options: SentOptions,
  ): Promise<unknown> {
    this.#sentTo(member);
    return member.connector.call(name, data, options);
  }
}

/** The servers a call was sent to, and whether it may run twice. */
export interface Tried {
  /** Whether the call was sent to `member`. */
  has(member: PoolMember): boolean;
  /** Whether the action is idempotent: it may go to a server on probation. */
  readonly isIdempotent: boolean;
}

/** No server tried: for the second pick, among all of them. */
const NONE: Tried = { has: () => false, isIdempotent: true };

function closedError(): ClientError {
  return new ClientError("CONNECTION_CLOSED", "The client was closed.", {
    wasRun: false,
  });
}

/** Picks a server for a call among those eligible now. */
export interface Balance {
  /**
   * Picks one of `count` servers.
   *
   * @param count How many servers there are, eligible or not.
   * @param isEligible Whether the server at this index may take the call.
   * @returns The index picked, or -1 when none is eligible.
   */
  pick(count: number, isEligible: (index: number) => boolean): number;
}

/**
 * Each call to the next eligible server after the one picked last, in
 * turn: a server out of rotation is skipped, and the others share its
 * calls evenly.
 *
 * @returns A round-robin policy, with its own turn.
 *
 * @example
 * ```ts
 * import { roundRobin } from "./client_pool.ts";
 * import assert from "node:assert/strict";
 *
 * const balance = roundRobin();
 * const all = () => true;
 * assert.deepStrictEqual([0, 1, 2, 3].map(() => balance.pick(3, all)), [0, 1, 2, 0]);
 * assert.equal(balance.pick(3, (index) => index !== 1), 2);
 * assert.equal(balance.pick(3, () => false), -1);
 * ```
 */
export function roundRobin(): Balance {
  let next = 0;
  return {
    pick(count, isEligible) {
      for (let step = 0; step < count; step++) {
        const index = (next + step) % count;
        if (isEligible(index)) {
          next = (index + 1) % count;
          return index;
        }
      }
      return -1;
    },
  };
}

/**
 * Every call to the first eligible server in the order given: the others
 * stand by, and take calls only while those before them are out.
 *
 * @returns A first-healthy policy.
 *
 * @example
 * ```ts
 * import { firstHealthy } from "./client_pool.ts";
 * import assert from "node:assert/strict";
 *
 * const balance = firstHealthy();
 * assert.equal(balance.pick(3, () => true), 0);
 * assert.equal(balance.pick(3, (index) => index > 0), 1);
 * assert.equal(balance.pick(3, () => false), -1);
 * ```
 */
export function firstHealthy(): Balance {
  return {
    pick(count, isEligible) {
      for (let index = 0; index < count; index++) {
        if (isEligible(index)) return index;
      }
      return -1;
    },
  };
}

/**
 * The policy named by a client's `balance` option.
 *
 * @param name The option's value.
 * @returns A new policy of that name.
 */
export function balanceNamed(name: BalanceName): Balance {
  return name === "first-healthy" ? firstHealthy() : roundRobin();
}
