/**
 * The numbers of the protocol: its version, the message type tags, and the
 * bounds every peer keeps (PROTOCOL.md, "Hello", "Messages", "Streams").
 *
 * @module
 */

/**
 * The wire protocol version this implementation speaks (PROTOCOL.md,
 * "Hello"): peers of another version refuse each other with `PROTOCOL`.
 *
 * @example
 * ```ts
 * import { PROTOCOL_VERSION } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * assert.equal(PROTOCOL_VERSION, 1);
 * ```
 */
export const PROTOCOL_VERSION = 1;

/**
 * Message type tags, the first item of every message (PROTOCOL.md,
 * "Messages"). Each message's items are declared in `message_table.ts`.
 *
 * @example
 * ```ts
 * import { MessageType } from "./message_type.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MessageType.REQUEST, 0);
 * ```
 */
export const MessageType = {
  REQUEST: 0,
  RESULT: 1,
  ERROR: 2,
  CANCEL: 3,
  PING: 4,
  PONG: 5,
  GOODBYE: 6,
  AUTH: 7,
  AUTH_OK: 8,
  ITEM: 9,
  END: 10,
  CREDIT: 11,
  INPUT: 12,
  INPUT_END: 13,
  INPUT_CREDIT: 14,
  INPUT_STOP: 15,
  FRAGMENT: 16,
  ITEMS: 17,
  INPUTS: 18,
} as const;

/** One message type tag, such as `MessageType.CREDIT`. */
export type MessageTypeTag = typeof MessageType[keyof typeof MessageType];

/**
 * The largest stream window (PROTOCOL.md, "Streams"): a request asking for
 * more is a protocol breach, and credit never adds up to more.
 */
export const MAX_WINDOW = 65_536;

/** The length of the random nonce each hello carries, for authentication. */
export const NONCE_SIZE = 32;
