/**
 * Heartbeats and the idle timeout of one connection: pings while the peer
 * is quiet, the end of a peer silent for three intervals, and the goodbye
 * to a connection without calls for the idle timeout.
 *
 * @module
 */

import { type Address, formatAddress } from "../wire/transport.ts";
import { ClientError } from "../base/errors.ts";
import { type Clock, systemClock } from "./connection.ts";

/** A peer silent for this many heartbeat intervals is taken for dead. */
export const MISSED_HEARTBEATS = 3;
/** How many times an interval the heartbeat looks at the silence. */
const HEARTBEAT_CHECKS = 4;
/** Idle checks in a row without calls before the connection is idle. */
const IDLE_CHECKS = 4;

/** What a {@linkcode Keepalive} needs of its connection. */
export interface KeepaliveHost {
  /** The peer's address, for messages. */
  readonly peer: Address;
  /** When bytes last arrived, in milliseconds since 1970. */
  readonly lastActivity: number;
  /** Whether calls are on their way, either way. */
  readonly isBusy: boolean;
  /** Sends a ping. */
  ping(id: number): void;
  /** The peer is taken for dead: close at once. */
  dead(reason: ClientError): void;
  /** The connection has been idle: leave gracefully. */
  idle(reason: ClientError): void;
}

/** Options of {@linkcode Keepalive}. */
export interface KeepaliveOptions {
  /** Milliseconds between pings; 0 turns heartbeats off. */
  heartbeatInterval: number;
  /** Milliseconds without calls after which the connection is idle; 0 (the default) never. */
  idleTimeout?: number;
}

/**
 * Keeps one connection alive, and finds out when it is dead or idle.
 *
 * @example
 * ```ts
 * import { Keepalive } from "./keepalive.ts";
 * import assert from "node:assert/strict";
 *
 * const pings: number[] = [];
 * const keepalive = new Keepalive({
 *   peer: { hostname: "127.0.0.1", port: 4440 },
 *   lastActivity: Date.now(),
 *   isBusy: false,
 *   ping: (id) => void pings.push(id),
 *   dead() {},
 *   idle() {},
 * }, { heartbeatInterval: 0 });
 * keepalive.start();
 * keepalive.stop();
 * assert.deepEqual(pings, []);
 * ```
 */
export class Keepalive {
  readonly #host: KeepaliveHost;
  readonly #options: KeepaliveOptions;
  readonly #clock: Clock;
  #stops: (() => void)[] = [];
  #nextPing = 1;
  #requestsSinceCheck = 0;
  #idleChecks = 0;
  #tick = 0;

  /**
   * Prepares the checks; `start` starts them.
   *
   * @param host The connection.
   * @param options The intervals.
   * @param clock Time, for tests.
   */
  constructor(
    host: KeepaliveHost,
    options: KeepaliveOptions,
    clock: Clock = systemClock,
  ) {
    this.#host = host;
    this.#options = options;
    this.#clock = clock;
  }

  /**
   * Starts the checks (once the handshake is done).
   *
   * @param watchIdle Whether the idle timeout applies (not while this side waits for the peer's calls).
   */
  start(watchIdle = true): void {
    const { heartbeatInterval, idleTimeout = 0 } = this.#options;
    if (heartbeatInterval > 0) {
      // Checked four times an interval, so that a dead peer is found within
      // three intervals of its last sign of life, not up to four.
      this.#stops.push(
        this.#clock.every(
          heartbeatInterval / HEARTBEAT_CHECKS,
          () => this.#heartbeat(),
        ),
      );
    }
    if (watchIdle && idleTimeout > 0) {
      this.#stops.push(
        this.#clock.every(idleTimeout / IDLE_CHECKS, () => this.#checkIdle()),
      );
    }
  }

  /** A request arrived: the connection is not idle. */
  noteRequest(): void {
    this.#requestsSinceCheck++;
  }

  /** Stops the checks. */
  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
  }

  #heartbeat(): void {
    const interval = this.#options.heartbeatInterval;
    const isPingDue = ++this.#tick % HEARTBEAT_CHECKS === 0;
    const silence = this.#clock.now() - this.#host.lastActivity;
    const limit = MISSED_HEARTBEATS * interval - interval / HEARTBEAT_CHECKS;
    if (silence > limit) {
      this.#host.dead(
        new ClientError(
          "CONNECTION_CLOSED",
          `${
            formatAddress(this.#host.peer)
          } gave no sign of life for ${silence} ms (heartbeats every ${interval} ms): the connection is taken for dead.`,
        ),
      );
    } else if (isPingDue) {
      this.#host.ping(this.#nextPing++);
    }
  }

  /** The connection is idle after four checks in a row saw it without calls. */
  #checkIdle(): void {
    const isBusy = this.#requestsSinceCheck > 0 || this.#host.isBusy;
    this.#requestsSinceCheck = 0;
    this.#idleChecks = isBusy ? 0 : this.#idleChecks + 1;
    if (this.#idleChecks === IDLE_CHECKS) {
      this.#host.idle(
        new ClientError(
          "CONNECTION_CLOSED",
          `The connection was idle for ${this.#options.idleTimeout} ms.`,
        ),
      );
    }
  }
}
