/**
 * What isock needs of a NATS connection, declared here so that nothing
 * under `src/` imports a NATS client: `nats.ts` adapts a real
 * `NatsConnection` to these interfaces (as `otel.ts` adapts
 * `@opentelemetry/api`). Tests can hand in a fake.
 *
 * @module
 */

import type { PeerFeatures } from "../session/connection.ts";

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
