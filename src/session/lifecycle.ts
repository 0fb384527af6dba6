/**
 * Where a connection is in its life, in one field, why it ends, and how:
 * the goodbye, the last writes, the close. The phase only moves forward,
 * from the handshake to closed.
 *
 * @module
 */

import {
  ClientError,
  CodecError,
  type IsockError,
  ProtocolError,
  RemoteError,
} from "../base/errors.ts";
import { housekeeping, type TimerHandle } from "../base/timers.ts";

/** How long a closing connection waits for its last frames to be written. */
const FLUSH_TIMEOUT = 2_000;

/** What a {@linkcode Lifecycle} needs of its connection. */
export interface LifecycleHost {
  /** Says goodbye: with the error when this side closes for one (code and message only). */
  sendGoodbye(error?: IsockError): void;
  /** Whether calls are on their way, either way: a peer that said goodbye waits for them. */
  readonly isBusy: boolean;
  /** Resolves once everything queued is written. */
  drain(): Promise<void>;
  /** Closes the connection at once; the session hears of it and ends. */
  closeTransport(): void;
}

/**
 * The phases, in order:
 * - `handshake`: the hello (and authentication) is under way;
 * - `open`: calls go both ways;
 * - `leaving`: this side said goodbye or closes without a reason: it refuses
 *   new requests, and still reads the answers to its own calls;
 * - `closing`: this side ends the connection for a reason: what still
 *   arrives is dropped unread;
 * - `closed`: every call is settled.
 */
export type Phase = "handshake" | "open" | "leaving" | "closing" | "closed";

/**
 * The phase of one connection and the reasons it ends.
 *
 * @example
 * ```ts
 * import { Lifecycle } from "./lifecycle.ts";
 * import assert from "node:assert/strict";
 *
 * const said: string[] = [];
 * const life = new Lifecycle("127.0.0.1:4440", {
 *   isBusy: false,
 *   sendGoodbye: (error) => void said.push(error?.code ?? "goodbye"),
 *   drain: () => Promise.resolve(),
 *   closeTransport() {},
 * });
 * life.open();
 * assert.equal(life.isOpen, true);
 * life.sayGoodbye();
 * assert.equal(life.phase, "leaving");
 * assert.deepEqual(said, ["goodbye"]);
 * assert.equal(life.end(undefined).code, "CONNECTION_CLOSED");
 * assert.equal(life.endReason, undefined); // A clean end.
 * ```
 */
export class Lifecycle {
  /** Where the connection is; it only moves forward. */
  phase: Phase = "handshake";
  /** Why this side is closing the connection, once it is. */
  closeReason: IsockError | undefined;
  /** Why the peer said it was closing, from its goodbye. */
  peerReason: IsockError | undefined;
  /** Why the connection ended, once it has; `undefined` after a clean end. */
  endReason: ClientError | RemoteError | undefined;
  /** Whether the peer said goodbye. */
  isPeerLeaving = false;
  /** Resolves once the connection is closed and every call is settled. */
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  /** This side chose to close with no error first: the end is a clean one. */
  #isGraceful = false;
  readonly #peerName: string;
  readonly #host: LifecycleHost;

  /**
   * Starts a connection in the `handshake` phase.
   *
   * @param peerName The peer's address, for messages.
   * @param host The connection.
   */
  constructor(peerName: string, host: LifecycleHost) {
    this.#peerName = peerName;
    this.#host = host;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Whether calls may be sent: the handshake is done and neither side is leaving. */
  get isOpen(): boolean {
    return this.phase === "open" && !this.isPeerLeaving;
  }

  /** Whether the connection is closed and every call settled. */
  get isClosed(): boolean {
    return this.phase === "closed";
  }

  /** Whether this side refuses the peer's new requests. */
  get isRefusing(): boolean {
    return this.phase === "leaving" || this.isDropping;
  }

  /** Whether what arrives is dropped unread: this side is ending the connection. */
  get isDropping(): boolean {
    return this.phase === "closing" || this.phase === "closed";
  }

  /** The handshake is done; a side that already began leaving stays leaving. */
  open(): void {
    if (this.phase === "handshake") this.phase = "open";
  }

  /**
   * Tells the peer this side is closing: it refuses new requests from now
   * on; those already running go on.
   */
  sayGoodbye(): void {
    if (this.#leave()) this.#host.sendGoodbye();
  }

  /**
   * Closes gracefully: with a reason this side stops reading, without one
   * it still reads its calls' answers; what is queued is written (for a
   * short while at most), then the connection closes.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  async close(reason?: IsockError): Promise<void> {
    if (this.isClosed) return;
    this.#isGraceful ||= this.closeReason === undefined;
    if (reason !== undefined) this.#fail(reason);
    else this.#leave();
    await this.#flush();
  }

  /**
   * Leaves gracefully: says goodbye, lets the peer collect its answers and
   * close (for `grace` ms at most), then closes.
   *
   * @param grace How long to wait for the peer to close first.
   * @param reason Why, for calls of this side still waiting.
   */
  async retire(grace: number, reason?: IsockError): Promise<void> {
    this.sayGoodbye();
    await within(this.closed, grace);
    await this.close(reason);
  }

  /**
   * Closes at once, without writing what is queued.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  abort(reason?: IsockError): void {
    if (reason !== undefined) this.#fail(reason);
    this.#host.closeTransport();
  }

  /**
   * This side ends the connection for a reason (a failed handshake, broken
   * framing): it tells the peer why, then closes. Only the first reason counts.
   *
   * @param reason Why.
   * @returns Resolves once closed; `undefined` when the connection was already ending.
   */
  failWith(reason: IsockError): Promise<void> | undefined {
    if (!this.#fail(reason)) return undefined;
    this.#host.sendGoodbye(reason);
    return this.#flush();
  }

  /**
   * The peer broke the protocol: tell it why, then close.
   *
   * @param error What it broke.
   */
  breach(error: ProtocolError): void {
    this.#fail(error);
    this.#host.sendGoodbye(error);
    this.#flush();
  }

  /**
   * The peer said goodbye, with an error when it is closing for one.
   *
   * @param reason Its error, if any.
   */
  peerLeaves(reason: IsockError | undefined): void {
    this.isPeerLeaving = true;
    if (reason !== undefined) this.peerReason = reason;
    else this.#closeIfPeerDone();
  }

  /** A call was answered or a request ended: a peer that said goodbye may be done. */
  settled(): void {
    if (this.isPeerLeaving) queueMicrotask(() => this.#closeIfPeerDone());
  }

  /** The peer said goodbye: once it has answered every call, this side closes. */
  #closeIfPeerDone(): void {
    if (!this.#host.isBusy) this.close();
  }

  /** A goodbye without an error: refuses new requests; whether this changed anything. */
  #leave(): boolean {
    if (this.isRefusing) return false;
    this.phase = "leaving";
    return true;
  }

  /** A reason to end: what arrives is dropped; whether it is the first. */
  #fail(reason: IsockError): boolean {
    if (this.isDropping) return false;
    this.closeReason = reason;
    this.phase = "closing";
    return true;
  }

  /** Writes what is queued (for a short while at most), then closes the connection. */
  async #flush(): Promise<void> {
    await within(this.#host.drain(), FLUSH_TIMEOUT);
    this.#host.closeTransport();
  }

  /**
   * The connection is gone: the phase is `closed`, and the end reason set.
   *
   * @param failure What the transport reported, if anything.
   * @returns The error the calls still waiting reject with.
   */
  end(failure: unknown): ClientError | RemoteError {
    const reason = this.callError(failure);
    const isClean = this.#isGraceful ||
      (failure === undefined && this.closeReason === undefined &&
        this.peerReason === undefined);
    this.phase = "closed";
    this.endReason = isClean ? undefined : reason;
    this.#resolveClosed();
    return reason;
  }

  /**
   * The error calls reject with once the connection is gone.
   *
   * @param failure What the transport reported, if anything.
   * @returns A `ClientError` (or an `OVERLOADED` `RemoteError`).
   */
  callError(failure?: unknown): ClientError | RemoteError {
    const reason = this.closeReason ?? this.peerReason ??
      (failure as IsockError | undefined);
    if (reason instanceof ClientError) return reason;
    if (reason instanceof RemoteError && reason.code === "OVERLOADED") {
      return reason;
    }
    const isProtocol = reason instanceof ProtocolError ||
      reason instanceof CodecError ||
      (reason instanceof RemoteError &&
        (reason.code === "PROTOCOL" || reason.code === "FRAME_TOO_LARGE"));
    const detail = reason instanceof Error
      ? `: ${reason.message}`
      : this.isPeerLeaving
      ? ": the peer shut down (it said goodbye)."
      : "";
    return new ClientError(
      isProtocol ? "PROTOCOL" : "CONNECTION_CLOSED",
      `The connection to ${this.#peerName} closed${detail}`,
      reason === undefined ? undefined : { cause: reason },
    );
  }
}

/** Waits for `promise`, `ms` milliseconds at most (a timer that keeps no process alive). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: TimerHandle | undefined;
  await Promise.race([
    promise,
    new Promise((resolve) => timer = housekeeping(setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}
