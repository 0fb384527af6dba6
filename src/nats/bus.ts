/**
 * What isock needs of a NATS connection, declared here so that nothing
 * under `src/` imports a NATS client: `nats.ts` adapts a real
 * `NatsConnection` to these interfaces (as `otel.ts` adapts
 * `@opentelemetry/api`). Tests can hand in a fake.
 *
 * Sends isock messages over the bus: encoded once, checked against this
 * side's `maxFrameSize`, and cut into FRAGMENT pieces when they are larger
 * than the NATS server's `max_payload` (PROTOCOL.md, "Over NATS").
 *
 * The NATS subjects of a service (PROTOCOL.md, "Over NATS"): a request
 * subject per action under the service's own subject, which every instance
 * subscribes with a wildcard in the service's queue group; the control
 * subject of one instance, where everything after a call's first message
 * goes; and the subject every instance hears, for cancels sent before the
 * caller knows which instance took its call.
 *
 * The liveness rules of calls over NATS (PROTOCOL.md, "Over NATS",
 * "Liveness"): a caller pings each call it knows the instance of every
 * heartbeat and the instance answers, and a side that hears nothing about
 * a call for {@linkcode SILENT_HEARTBEATS} heartbeats takes the other side
 * for gone; and the bounds of an instance.
 *
 * @module
 */

import type { PeerFeatures } from "../session/connection.ts";
import { concat } from "../base/bytes.ts";
import { ClientError } from "../base/errors.ts";
import type { MessageCodec } from "../protocol/message_codec.ts";
import { pieces } from "../protocol/fragments.ts";
import { outgoing, type OutgoingMessage } from "../protocol/message_table.ts";

/**
 * What a bus peer takes (PROTOCOL.md, "NATS"): no batches (items go one by
 * one), and answers' metadata. No hello is exchanged on the bus; the size
 * of what is sent is bounded by the bus's `max_payload`, which its outbox
 * cuts messages to, so the frame limit is not one the calls read.
 *
 * @example
 * ```ts
 * import { BUS_FEATURES } from "./bus.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(BUS_FEATURES.batch, false);
 * assert.equal(BUS_FEATURES.metadata, true);
 * ```
 */
export const BUS_FEATURES: PeerFeatures = Object.freeze({
  batch: false,
  metadata: true,
  maxFrameSize: Infinity,
  serves: false,
});

/** A message as it arrives on a subscription. */
export interface BusMessage {
  /** The subject it was published to. */
  readonly subject: string;
  /** Where the sender wants answers (the NATS reply subject), if anywhere. */
  readonly reply: string | undefined;
  /** The payload. */
  readonly data: Uint8Array;
  /**
   * The status code of a message the NATS server made itself: 503 when a
   * request found no subscriber (no responders); `undefined` otherwise.
   */
  readonly status: number | undefined;
}

/** A subscription, to stop. */
export interface BusSubscription {
  /** Stops delivery now. */
  unsubscribe(): void;
  /** Stops taking new messages, hands over those already on their way, then resolves. */
  drain(): Promise<void>;
}

/** How a subscription is made. */
export interface BusSubscribeOptions {
  /** A queue group: each message goes to one of its members. */
  readonly queue?: string;
  /** Called with each message, in the order they arrive. */
  readonly callback: (message: BusMessage) => void;
}

/** A NATS connection, as isock uses it. */
export interface BusConnection {
  /** The largest payload the NATS server takes, in bytes (its `max_payload`). */
  readonly maxPayload: number;
  /** Whether the connection is up now (not reconnecting, not closed). */
  readonly isConnected: boolean;
  /**
   * Publishes a payload; `reply` is the reply subject the receiver sees.
   *
   * @throws When the payload is over `maxPayload` or the connection is closed.
   */
  publish(subject: string, data: Uint8Array, reply?: string): void;
  /** Subscribes to a subject (wildcards allowed), optionally in a queue group. */
  subscribe(subject: string, options: BusSubscribeOptions): BusSubscription;
  /** A fresh, unique subject prefix to receive answers on. */
  newInbox(): string;
  /** Resolves once the NATS server has seen everything published so far. */
  flush(): Promise<void>;
  /**
   * Calls `listener` when the connection drops (`false`) and when it is back
   * (`true`).
   *
   * @returns What stops the calls.
   */
  watch(listener: (isConnected: boolean) => void): () => void;
}

/**
 * Room left in each piece for the FRAGMENT envelope (array header, type,
 * id, total and the binary's header are at most 24 bytes).
 */
const PIECE_ENVELOPE = 64;

/** The smallest piece worth sending: below it, max_payload is misconfigured. */
const MIN_PIECE = 960;

/** Encodes, checks and publishes isock messages on a bus. */
export class BusOutbox {
  readonly #bus: BusConnection;
  readonly #codec: MessageCodec;
  readonly #maxFrameSize: number;

  /**
   * @param bus The connection.
   * @param codec The codec, with this side's extensions.
   * @param maxFrameSize The largest message this side sends or takes.
   */
  constructor(bus: BusConnection, codec: MessageCodec, maxFrameSize: number) {
    this.#bus = bus;
    this.#codec = codec;
    this.#maxFrameSize = maxFrameSize;
  }

  /** The codec. */
  get codec(): MessageCodec {
    return this.#codec;
  }

  /** The largest payload one NATS message may carry. */
  get maxPayload(): number {
    return this.#bus.maxPayload;
  }

  /**
   * Encodes a message carrying user data and checks its size.
   *
   * @param message The message.
   * @param what What it is, for the error's message.
   * @returns The encoded message, in parts.
   * @throws {CodecError} When a value in it cannot be encoded.
   * @throws {ClientError} `FRAME_TOO_LARGE` above `maxFrameSize`.
   */
  encodeChecked(message: OutgoingMessage, what: string): Uint8Array[] {
    const parts = this.#codec.encode(message);
    let size = 0;
    for (const part of parts) size += part.byteLength;
    if (size > this.#maxFrameSize) {
      throw new ClientError(
        "FRAME_TOO_LARGE",
        `${what} is ${size} bytes; isock takes messages of at most ${this.#maxFrameSize} bytes (maxFrameSize).`,
      );
    }
    return parts;
  }

  /**
   * Publishes a small control message; never throws (a closed connection
   * drops it, as a closed socket would).
   *
   * @param subject Where to.
   * @param message The message.
   * @param reply The reply subject the receiver sees.
   */
  sendControl(subject: string, message: OutgoingMessage, reply?: string): void {
    try {
      this.#bus.publish(subject, concat(this.#codec.encode(message)), reply);
    } catch {
      // The connection is closed: the peer's liveness check sees the silence.
    }
  }

  /**
   * Publishes an encoded message, in pieces when it is larger than
   * `max_payload`: FRAGMENT messages `[16, id, total, bytes]` in order.
   *
   * @param subject Where to.
   * @param parts The encoded message.
   * @param reply The reply subject the receiver sees.
   * @param id The call's id, as the pieces' id.
   */
  send(
    subject: string,
    parts: readonly Uint8Array[],
    reply: string | undefined,
    id: number,
  ): void {
    for (const piece of this.split(parts, id)) {
      this.#bus.publish(subject, piece, reply);
    }
  }

  /**
   * The NATS payloads that carry a message: itself when it fits in
   * `max_payload`, else its FRAGMENT pieces.
   *
   * @param parts The encoded message.
   * @param id The call's id, as the pieces' id.
   * @returns The payloads, in order.
   */
  split(parts: readonly Uint8Array[], id: number): Uint8Array[] {
    let size = 0;
    for (const part of parts) size += part.byteLength;
    const maxPayload = this.#bus.maxPayload;
    if (size <= maxPayload) return [concat(parts)];
    const room = maxPayload - PIECE_ENVELOPE;
    if (room < MIN_PIECE) {
      throw new ClientError(
        "FRAME_TOO_LARGE",
        `A message of ${size} bytes does not fit the NATS server's max_payload of ${maxPayload} bytes, which is too small to carry it in pieces (at least ${
          MIN_PIECE + PIECE_ENVELOPE
        }).`,
      );
    }
    const payloads: Uint8Array[] = [];
    for (const bytes of pieces(parts, room)) {
      payloads.push(
        concat(this.#codec.encode(outgoing.fragment(id, size, bytes))),
      );
    }
    return payloads;
  }
}

/** The prefix of isock's subjects, unless the bus names another. */
export const DEFAULT_PREFIX = "isock";

/** What a service name, a queue group and each prefix token may hold (as NATS micro). */
const NAME = /^[A-Za-z0-9_-]+$/;
/** An action name that is a valid subject as it is: tokens of safe characters. */
const PLAIN_ACTION = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Whether `name` can name a service or a queue group: letters, digits, `_`
 * and `-` (the NATS micro rule).
 *
 * @param name The name.
 * @returns Whether it is valid.
 */
export function isServiceName(name: unknown): name is string {
  return typeof name === "string" && NAME.test(name);
}

/**
 * Whether `prefix` can prefix isock's subjects: one or more such names
 * joined by dots.
 *
 * @param prefix The prefix.
 * @returns Whether it is valid.
 */
export function isSubjectPrefix(prefix: unknown): prefix is string {
  return typeof prefix === "string" && PLAIN_ACTION.test(prefix);
}

/**
 * The subject a call to `action` is published to. An action name made of
 * letters, digits, `_`, `-` and single inner dots is used as it is; any
 * other name has each other character written as `%` and the two hex
 * digits of each of its UTF-8 bytes (dots included), so that every name
 * makes a valid subject and no two names make the same one.
 *
 * @param prefix The subjects' prefix (`"isock"` by default).
 * @param service The service name.
 * @param action The action name.
 * @returns The subject.
 *
 * @example
 * ```ts
 * import { actionSubject } from "./bus.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(actionSubject("isock", "lab", "math.add"), "isock.lab.math.add");
 * assert.equal(actionSubject("isock", "lab", "say hi"), "isock.lab.say%20hi");
 * ```
 */
export function actionSubject(
  prefix: string,
  service: string,
  action: string,
): string {
  return `${prefix}.${service}.${actionToken(action)}`;
}

/**
 * The subject that matches every action subject of a service: what each
 * instance subscribes in the queue group.
 *
 * @param prefix The subjects' prefix.
 * @param service The service name.
 * @returns `<prefix>.<service>.>`.
 */
export function serviceSubject(prefix: string, service: string): string {
  return `${prefix}.${service}.>`;
}

/**
 * The control subject of one instance: credit, cancels, input items and the
 * rest of a large request's pieces go there, with the call's reply subject
 * as their reply subject.
 *
 * @param prefix The subjects' prefix.
 * @param service The service name.
 * @param instance The instance id.
 * @returns `<prefix>.$I.<service>.<instance>`.
 */
export function instanceSubject(
  prefix: string,
  service: string,
  instance: string,
): string {
  return `${prefix}.$I.${service}.${instance}`;
}

/**
 * The subject every instance of a service hears (no queue group): a cancel
 * for a call whose instance the caller does not know yet goes there.
 *
 * @param prefix The subjects' prefix.
 * @param service The service name.
 * @returns `<prefix>.$C.<service>`.
 */
export function cancelSubject(prefix: string, service: string): string {
  return `${prefix}.$C.${service}`;
}

/** An action name as one or more subject tokens. */
function actionToken(action: string): string {
  if (PLAIN_ACTION.test(action)) return action;
  let token = "";
  for (const char of action) {
    if (/^[A-Za-z0-9_-]$/.test(char)) {
      token += char;
      continue;
    }
    for (const byte of new TextEncoder().encode(char)) {
      token += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return token;
}

/** The default heartbeat, in milliseconds. */
export const DEFAULT_HEARTBEAT = 1_000;

/** How many heartbeats of silence mean the other side is gone. */
export const SILENT_HEARTBEATS = 3;

/** How long an instance keeps the state of a caller with no open call, in heartbeats. */
export const IDLE_CALLER_HEARTBEATS = 3;

/** The default of `maxCallers`: client inboxes an instance keeps a state for. */
export const DEFAULT_MAX_CALLERS = 10_000;

/** The default of `maxCalls`: calls an instance runs at once. */
export const DEFAULT_MAX_CALLS = 10_000;

/** The default of `maxReassemblyBytes`: 128 MiB, two messages of the default maxFrameSize. */
export const DEFAULT_MAX_REASSEMBLY_BYTES = 128 * 1024 * 1024;
