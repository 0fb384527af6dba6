/**
 * One server of a client with several: its `Connector`, and whether it is
 * in rotation. A server whose connection drops, fails its heartbeats or
 * says goodbye leaves the rotation at once; it is then tried again in the
 * background with backoff, and comes back as soon as it answers, on
 * probation until it has stayed up for the stable period (its
 * {@linkcode Stability}). A server that keeps dropping on probation is
 * tried again later each time.
 *
 * @module
 */

import type { PeerAddress } from "../wire/transport.ts";
import { type Backoff, pause } from "./backoff.ts";
import type { ConnectDetail, LeaveReason } from "./client_event.ts";
import { Connector, type ServerLocation } from "./connector.ts";
import type { Endpoint } from "./open_session.ts";
import { Stability } from "./stability.ts";

/** What a member tells the client it belongs to. */
export interface MemberHost {
  /** A member came into rotation or left it. */
  changed(): void;
  /** A connection to `member` is open. */
  connect(member: PoolMember): void;
  /**
   * The connection to `member` closed; `reason` unless cleanly, and why
   * the member left the rotation.
   */
  disconnect(
    member: PoolMember,
    reason: Error | undefined,
    leaving: LeaveReason,
  ): void;
  /** A connection to `member` could not be made. */
  error(member: PoolMember, error: Error): void;
}

/**
 * Where a member stands: never tried, on its first connection, connected,
 * or out of rotation (tried again in the background).
 */
type MemberState = "idle" | "connecting" | "up" | "down";

/** One server of several: its connection, and its place in the rotation. */
export class PoolMember {
  /** Opens, reopens and closes the connection to this server. */
  readonly connector: Connector;
  /** Where the server is, as middleware sees it. */
  readonly peer: PeerAddress;
  /** Where the server is, as the client's events say. */
  readonly detail: ConnectDetail;
  /** The last failure to connect or to stay connected, for messages. */
  lastError: Error | undefined;
  readonly #host: MemberHost;
  readonly #backoff: Backoff;
  readonly #closing = new AbortController();
  readonly #stability: Stability;
  #state: MemberState = "idle";
  /** The backoff attempt the next background try waits after. */
  #resumeAt = 1;
  #isProbing = false;
  /** Whether this outage was reported: one `error` event per outage, not one per try. */
  #isFailureReported = false;

  /**
   * Creates a member; it connects when {@linkcode PoolMember.start} is called.
   *
   * @param location Where the server is, TLS and authentication.
   * @param endpoint The codec, limits and actions of the client.
   * @param attempts How many tries each connection gets.
   * @param backoff The waits between tries.
   * @param host Where to report changes and connection events.
   * @param stablePeriod How long a connection back after a drop stays on
   * probation, in milliseconds.
   */
  constructor(
    location: ServerLocation,
    endpoint: Endpoint,
    attempts: number,
    backoff: Backoff,
    host: MemberHost,
    stablePeriod: number,
  ) {
    const { path } = location;
    this.peer = path === undefined
      ? { hostname: location.hostname, port: location.port, transport: "tcp" }
      : { hostname: path, port: 0, transport: "unix" };
    this.detail = path === undefined
      ? { hostname: location.hostname, port: location.port }
      : { hostname: path, port: 0, path };
    this.#host = host;
    this.#backoff = backoff;
    this.#stability = new Stability(stablePeriod);
    this.connector = new Connector(location, endpoint, attempts, backoff, {
      connect: () => {
        this.#stability.opened();
        this.#state = "up";
        this.#isFailureReported = false;
        host.connect(this);
        host.changed();
      },
      disconnect: (reason, isServerLeaving) => {
        if (reason !== undefined) this.lastError = reason;
        const { isFlapping, attempt } = this.#stability.closed(
          isServerLeaving,
        );
        this.#resumeAt = attempt;
        host.disconnect(
          this,
          reason,
          isFlapping ? "flapping" : isServerLeaving ? "goodbye" : "dropped",
        );
        this.#down();
      },
      error: (error) => {
        this.lastError = error;
        if (this.#isFailureReported) return;
        this.#isFailureReported = true;
        host.error(this, error);
      },
    });
  }

  /** Whether the server takes calls now: connected, and not shutting down. */
  get isHealthy(): boolean {
    return this.connector.isConnected;
  }

  /**
   * Whether the server is back after a drop and has not stayed up for the
   * stable period yet: it takes only idempotent calls while others can
   * take the rest.
   */
  get isOnProbation(): boolean {
    return this.#stability.isOnProbation;
  }

  /** Whether the first connection is still being made: worth waiting for. */
  get isPending(): boolean {
    return this.#state === "idle" || this.#state === "connecting";
  }

  /** Makes the first connection, in the background; later calls do nothing. */
  start(): void {
    if (this.#state !== "idle") return;
    this.#state = "connecting";
    this.connector.connected().catch(() => this.#down());
  }

  /** Closes the connection and stops trying it again. */
  close(): Promise<void> {
    this.#closing.abort();
    return this.connector.close();
  }

  /** Out of rotation: tried again in the background until it answers. */
  #down(): void {
    if (this.connector.isClosed) return;
    if (this.#state !== "down") {
      this.#state = "down";
      this.#host.changed();
    }
    if (!this.#isProbing) {
      this.#isProbing = true;
      this.#probe().finally(() => this.#isProbing = false);
    }
  }

  /**
   * Tries the server again, waiting longer after each failure (up to
   * `maxRetryDelay`), until it answers or the client closes; after a flap
   * the first wait is already longer. A server that answers is connected,
   * and back in rotation by the `connect` event.
   * The waits let the process end: no call waits for them, and a script
   * that forgets to close its client must still end, as with one server.
   */
  async #probe(): Promise<void> {
    for (
      let attempt = this.#resumeAt;
      !this.connector.isClosed;
      attempt++
    ) {
      await pause(this.#backoff.delay(attempt), this.#closing.signal, true);
      if (this.connector.isClosed || this.isHealthy) return;
      try {
        await this.connector.connected();
        return;
      } catch {
        // Still down (the error event told the client): wait, and try again.
      }
    }
  }
}
