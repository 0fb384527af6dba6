/**
 * Where a connection is in its life, in one field, and why it ends: the
 * phase only moves forward, from the handshake to closed.
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
 * const life = new Lifecycle("127.0.0.1:4440");
 * life.open();
 * assert.equal(life.isOpen, true);
 * life.leave();
 * assert.equal(life.phase, "leaving");
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
  /** This side chose to close with no error first: the end is a clean one. */
  #isGraceful = false;
  readonly #peerName: string;

  /** @param peerName The peer's address, for messages. */
  constructor(peerName: string) {
    this.#peerName = peerName;
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
   * This side says goodbye: it refuses new requests.
   *
   * @returns Whether this changed anything (the goodbye is to be sent).
   */
  leave(): boolean {
    if (this.isRefusing) return false;
    this.phase = "leaving";
    return true;
  }

  /**
   * This side closes, gracefully: with a reason it stops reading, without
   * one it still reads its calls' answers while what is queued is written.
   *
   * @param reason Why, for the calls that are still waiting.
   */
  close(reason?: IsockError): void {
    if (this.isClosed) return;
    this.#isGraceful ||= this.closeReason === undefined;
    if (reason !== undefined) this.fail(reason);
    else this.leave();
  }

  /**
   * This side ends the connection for a reason (a broken protocol, a failed
   * handshake, an abort): what still arrives is dropped.
   *
   * @param reason Why.
   * @returns Whether this is the first reason (the others are kept out).
   */
  fail(reason: IsockError): boolean {
    if (this.isDropping) return false;
    this.closeReason = reason;
    this.phase = "closing";
    return true;
  }

  /**
   * The peer said goodbye, with an error when it is closing for one.
   *
   * @param reason Its error, if any.
   */
  peerLeaves(reason: IsockError | undefined): void {
    this.isPeerLeaving = true;
    if (reason !== undefined) this.peerReason = reason;
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
