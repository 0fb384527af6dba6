/**
 * One connection as the calls and the requests see it: what the peer's
 * hello settled ({@linkcode PeerFeatures}), how messages leave this side
 * ({@linkcode MessageOut}), the connection itself
 * ({@linkcode ConnectionContext}), and the time the pieces read
 * ({@linkcode Clock}), behind one small interface so that tests can drive
 * it by hand. A session over a socket implements them, and so does each
 * side of the NATS transport.
 *
 * @module
 */

import type {
  ClientError,
  ProtocolError,
  RemoteError,
} from "../base/errors.ts";
import { every } from "../base/timers.ts";
import type { Peer } from "../dispatch/peer.ts";
import type { AnswerMeta, OutgoingMessage } from "../protocol/message_table.ts";
import type { Metadata } from "../protocol/metadata.ts";
import type { WireError } from "../protocol/wire_error.ts";

/**
 * What the peer's hello settled (PROTOCOL.md, "Hello"): one frozen object,
 * set once when the peer's hello arrives.
 */
export interface PeerFeatures {
  /** The peer takes ITEMS/INPUTS batches and byte credit (PROTOCOL.md, "Batches"). */
  readonly batch: boolean;
  /** The peer reads an answer's metadata (PROTOCOL.md, "Metadata"). */
  readonly metadata: boolean;
  /** The largest frame the peer accepts: nothing larger is sent. */
  readonly maxFrameSize: number;
  /** The peer offers actions (its hello's `serves`). */
  readonly serves: boolean;
}

/**
 * Before the peer's hello: nothing assumed.
 *
 * @example
 * ```ts
 * import { NO_FEATURES } from "./connection.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(NO_FEATURES.batch, false);
 * assert.equal(NO_FEATURES.maxFrameSize, Infinity);
 * ```
 */
export const NO_FEATURES: PeerFeatures = Object.freeze({
  batch: false,
  metadata: false,
  maxFrameSize: Infinity,
  serves: false,
});

/**
 * How messages leave this side: the outbox over a socket; over NATS, the
 * client's link and the service's answers each implement the part their
 * side sends.
 */
export interface MessageOut {
  /** Whether the connection is gone: messages are dropped. */
  readonly isClosed: boolean;
  /** Sends a control message (CREDIT, CANCEL, INPUT_STOP…) unless the connection is gone. */
  sendIfOpen(message: OutgoingMessage): void;
  /** Sends a stream item unless the connection is gone; throws when it cannot go. */
  sendChecked(message: OutgoingMessage): void | Promise<void>;
  /** Sends a batch of items unless the connection is gone, and gives back its size; used only when the peer takes batches. */
  sendMeasured?(message: OutgoingMessage): number | Promise<number>;
  /** Encodes a message carrying user data (a request); throws when it cannot go. */
  encodeChecked(message: OutgoingMessage, what: string): Uint8Array[];
  /** Sends an encoded message that may be large. */
  sendData(parts: Uint8Array[]): void | Promise<void>;
  /** Answers a request with its result (and the answer's metadata). */
  result(id: number, value: unknown, metadata?: Metadata): void;
  /** Answers a request with an error (and the answer's metadata). */
  error(id: number, error: WireError, metadata?: Metadata): void;
  /** The meta item of an answer carrying `metadata`, if the peer takes it. */
  answerMeta(metadata: Metadata | undefined): AnswerMeta | undefined;
  /** The error object sent for a thrown value: redaction lives behind this. */
  wireError(code: string, thrown: unknown): WireError;
}

/**
 * One connection as the calls and the requests see it. Each piece takes
 * the part it reads (a `Pick` of it), so a side that only calls, or only
 * answers, implements only that part.
 */
export interface ConnectionContext {
  /** What the peer's hello settled; replaced once, when it arrives. */
  readonly features: PeerFeatures;
  /** How messages leave this side. */
  readonly out: MessageOut;
  /** The other end, for the handlers' context and `authenticate`. */
  readonly peer: Peer;
  /** Who the peer is: what `authenticate` returned for it. */
  readonly identity: unknown;
  /** Whether the connection is gone. */
  readonly isClosed: boolean;
  /** Whether this side refuses new requests (it is leaving): they are answered "not run". */
  readonly isRefusing: boolean;
  /** Whether answers are queued faster than the peer reads them. */
  readonly isCongested: boolean;
  /** Resolves once what is queued is written. */
  drain(): Promise<void>;
  /** A promise while the peer does not read what is queued. */
  blocked(): Promise<void> | undefined;
  /** The first call is on its way: the connection keeps the process alive. */
  busy(): void;
  /** The last call was answered: let go unless this side offers actions. */
  quiet(): void;
  /** A call was answered (or given up). */
  settled(): void;
  /** The peer broke the protocol. */
  failProtocol(error: ProtocolError): void;
  /** The error a call fails with once the connection is gone. */
  callError(): ClientError | RemoteError;
}

/** What the keepalive and the reassembly need of time. */
export interface Clock {
  /** Now, in milliseconds since 1970. */
  now(): number;
  /**
   * Calls `listener` every `interval` milliseconds until the returned
   * function is called; never keeps the process alive by itself.
   */
  every(interval: number, listener: () => void): () => void;
}

/**
 * The real clock: `Date.now`, and shared periodic timers (ten thousand
 * idle connections cost one timer per interval, not ten thousand).
 *
 * @example
 * ```ts
 * import { systemClock } from "./connection.ts";
 * import assert from "node:assert/strict";
 *
 * const stop = systemClock.every(1000, () => {});
 * stop();
 * assert.ok(systemClock.now() > 0);
 * ```
 */
export const systemClock: Clock = { now: Date.now, every };
