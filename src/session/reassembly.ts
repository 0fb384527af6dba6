/**
 * Gathers large messages from their fragments (PROTOCOL.md, "Fragments"),
 * within this side's budget: at most `maxFrameSize` bytes announced in
 * all, at most {@linkcode MAX_FRAGMENTED} messages at once, and a time
 * limit between pieces. With a budget shared with other peers (the callers
 * of a NATS service instance), a message's buffer grows as its pieces
 * arrive, so a peer that announces a large message and sends one piece
 * holds little; alone (a connection), the whole message is set aside at
 * its first piece, within the connection's `maxFrameSize`, and each byte
 * is copied once (twice as fast as growing, for 16 MiB in 1 MiB pieces).
 *
 * @module
 */

import { ProtocolError } from "../base/errors.ts";
import { MAX_FRAGMENTED } from "../protocol/fragments.ts";
import type { FragmentMessage } from "../protocol/message_table.ts";
import { type Clock, systemClock } from "./connection.ts";

const EMPTY = new Uint8Array(0);

/** The default of the reassembly timeout, in milliseconds. */
export const REASSEMBLY_TIMEOUT = 30_000;

/** What a {@linkcode Reassembly} needs of its connection. */
export interface ReassemblyHost {
  /** Whether this side is not writing what it queued: its reading is paused too. */
  readonly isCongested: boolean;
  /** A message got no piece in time: the peer is holding memory on purpose. */
  failProtocol(error: ProtocolError): void;
}

/**
 * Memory shared by several reassemblies (every caller of a NATS service
 * instance): the bytes their buffers hold.
 */
export interface ReassemblyBudget {
  /**
   * Takes `bytes` more, or throws (and takes nothing) when they are not there.
   *
   * @param bytes How many.
   */
  reserve(bytes: number): void;
  /**
   * Gives `bytes` back.
   *
   * @param bytes How many.
   */
  release(bytes: number): void;
}

/** Options of {@linkcode Reassembly}. */
export interface ReassemblyOptions {
  /** The most this side holds for messages in reassembly: its own maxFrameSize. */
  maxFrameSize: number;
  /**
   * How long a message may go without a new piece, in milliseconds;
   * `Infinity` when the owner drops the messages of a silent peer itself.
   *
   * @default {30000}
   */
  reassemblyTimeout?: number;
  /**
   * Memory shared with other reassemblies, on top of this one's limit;
   * with it, buffers grow as pieces arrive.
   */
  budget?: ReassemblyBudget;
}

/** A large message being gathered from its fragments. */
interface Gathering {
  /** The pieces so far, at the start; grown as more arrive. */
  bytes: Uint8Array;
  filled: number;
  /** The whole message's length. */
  readonly total: number;
  /** When its last piece arrived, in milliseconds since 1970. */
  lastPiece: number;
}

/**
 * The large messages arriving in fragments on one connection.
 *
 * @example
 * ```ts
 * import { Reassembly } from "./reassembly.ts";
 * import assert from "node:assert/strict";
 *
 * const reassembly = new Reassembly({ maxFrameSize: 1024 }, {
 *   isCongested: false,
 *   failProtocol() {},
 * });
 * const piece = (bytes: number[]) => ({ type: 16, id: 1, total: 4, bytes: new Uint8Array(bytes) }) as const;
 * assert.equal(reassembly.add(piece([1, 2])), undefined);
 * assert.deepEqual(reassembly.add(piece([3, 4])), new Uint8Array([1, 2, 3, 4]));
 * ```
 */
export class Reassembly {
  readonly #maxFrameSize: number;
  readonly #timeout: number;
  readonly #host: ReassemblyHost;
  readonly #clock: Clock;
  readonly #budget: ReassemblyBudget | undefined;
  /** Messages by fragment id. */
  #messages: Map<number, Gathering> | undefined;
  /** The bytes their totals announce: at most maxFrameSize. */
  #bytes = 0;
  #stopCheck: (() => void) | undefined;
  #lastCheck = 0;

  /**
   * Starts with no message in reassembly.
   *
   * @param options The budget and the time limit.
   * @param host The connection.
   * @param clock Time, for tests.
   */
  constructor(
    options: ReassemblyOptions,
    host: ReassemblyHost,
    clock: Clock = systemClock,
  ) {
    this.#maxFrameSize = options.maxFrameSize;
    this.#timeout = options.reassemblyTimeout ?? REASSEMBLY_TIMEOUT;
    this.#host = host;
    this.#clock = clock;
    this.#budget = options.budget;
  }

  /** How many messages are being gathered. */
  get size(): number {
    return this.#messages?.size ?? 0;
  }

  /**
   * Adds a fragment.
   *
   * @param fragment The fragment.
   * @param isNested Whether the fragment came out of a reassembled message.
   * @returns The whole message once its last piece arrived.
   * @throws {ProtocolError} When the fragment is nested, breaks the budget or does not fit.
   */
  add(fragment: FragmentMessage, isNested = false): Uint8Array | undefined {
    if (isNested) {
      // Each level would set aside its whole total again.
      throw new ProtocolError(
        "PROTOCOL",
        "A fragmented message is itself a fragment.",
      );
    }
    const messages = this.#messages ??= new Map();
    let message = messages.get(fragment.id);
    const now = this.#clock.now();
    if (message === undefined) {
      this.#checkBudget(fragment.total, messages.size);
      message = {
        bytes: this.#budget === undefined
          ? new Uint8Array(fragment.total)
          : EMPTY,
        filled: 0,
        total: fragment.total,
        lastPiece: now,
      };
      messages.set(fragment.id, message);
      this.#bytes += fragment.total;
      if (this.#stopCheck === undefined) this.#startCheck();
    }
    message.lastPiece = now;
    const end = message.filled + fragment.bytes.length;
    if (fragment.total !== message.total || end > fragment.total) {
      throw new ProtocolError(
        "PROTOCOL",
        "A fragment does not fit its message.",
      );
    }
    if (end > message.bytes.length) this.#grow(message, end);
    message.bytes.set(fragment.bytes, message.filled);
    message.filled = end;
    if (end < fragment.total) return undefined;
    this.#forget(fragment.id, message);
    return message.bytes;
  }

  /**
   * Drops the message of fragment id `id`, if one is being gathered (its
   * call is over).
   *
   * @param id The fragment id.
   */
  drop(id: number): void {
    const message = this.#messages?.get(id);
    if (message !== undefined) this.#forget(id, message);
  }

  /** The connection is gone: drops every message and stops the check. */
  clear(): void {
    this.#stop();
    for (const [id, message] of this.#messages ?? []) this.#forget(id, message);
  }

  /**
   * Makes room for `end` bytes: at least double, so a message costs a few
   * copies at most, and never more than its total.
   */
  #grow(message: Gathering, end: number): void {
    const had = message.bytes.length;
    const size = Math.min(message.total, Math.max(end, 2 * had));
    this.#budget?.reserve(size - had);
    const bytes = new Uint8Array(size);
    bytes.set(message.bytes.subarray(0, message.filled));
    message.bytes = bytes;
  }

  #forget(id: number, message: Gathering): void {
    const messages = this.#messages!;
    messages.delete(id);
    this.#bytes -= message.total;
    this.#budget?.release(message.bytes.length);
    if (messages.size === 0) this.#stop();
  }

  #checkBudget(total: number, count: number): void {
    const limit = this.#maxFrameSize;
    if (total > limit) {
      throw new ProtocolError(
        "FRAME_TOO_LARGE",
        `A message of ${total} bytes exceeds the limit of ${limit} bytes.`,
      );
    }
    if (count >= MAX_FRAGMENTED) {
      throw new ProtocolError(
        "PROTOCOL",
        `Too many fragmented messages at once (at most ${MAX_FRAGMENTED}).`,
      );
    }
    if (this.#bytes + total > limit) {
      throw new ProtocolError(
        "PROTOCOL",
        `Fragmented messages of more than ${limit} bytes in all at once (this side's maxFrameSize).`,
      );
    }
  }

  /**
   * Watches the messages in reassembly: one that gets no piece for the
   * timeout is a peer holding this side's memory on purpose. Time this side
   * spends not reading (its own writes are congested) is not held against
   * the peer.
   */
  #startCheck(): void {
    if (this.#timeout === Infinity) return;
    this.#lastCheck = this.#clock.now();
    this.#stopCheck = this.#clock.every(
      Math.max(1, this.#timeout / 4),
      () => this.#check(),
    );
  }

  #check(): void {
    const now = this.#clock.now();
    if (this.#host.isCongested) {
      for (const message of this.#messages?.values() ?? []) {
        message.lastPiece += now - this.#lastCheck;
      }
    }
    this.#lastCheck = now;
    for (const message of this.#messages?.values() ?? []) {
      if (now - message.lastPiece > this.#timeout) {
        this.#stop(); // Once is enough: the connection is closing.
        return this.#host.failProtocol(
          new ProtocolError(
            "PROTOCOL",
            `A fragmented message got no piece for ${this.#timeout} ms.`,
          ),
        );
      }
    }
  }

  #stop(): void {
    this.#stopCheck?.();
    this.#stopCheck = undefined;
  }
}
