/**
 * Outgoing messages: one builder per row of the message table, taking the
 * row's items in order. Their type is derived from the table and branded,
 * so `MessageCodec.encode` takes only what a builder made.
 *
 * @module
 */

import { MessageType, type MessageTypeTag } from "./message_type.ts";
import type { MessageRow, RowOf, SentItems } from "./message_table.ts";

/** Types only: the brand that only builders put on a message. */
export declare const outgoingBrand: unique symbol;

/**
 * A message ready to encode, made only by {@linkcode outgoing}'s builders:
 * an array literal, however right, is not one.
 */
export type OutgoingMessage<T extends MessageTypeTag = MessageTypeTag> =
  T extends MessageTypeTag ? readonly [T, ...SentItems<RowOf<T>["fields"]>] & {
      readonly [outgoingBrand]: T;
    }
    : never;

/** The builders: one per row, named as the row, taking its items in order. */
export type MessageBuilders = {
  [R in MessageRow as R["name"]]: (
    ...items: SentItems<R["fields"]>
  ) => OutgoingMessage<R["type"]>;
};

/** Checks a literal against the table and brands it; V8 inlines it away. */
function seal<T extends MessageTypeTag>(
  message: readonly [T, ...SentItems<RowOf<T>["fields"]>],
): OutgoingMessage<T> {
  return message as unknown as OutgoingMessage<T>;
}

/**
 * Builds each outgoing message from its items, in the table's order. A
 * trailing optional item left `undefined` is left out of the message.
 *
 * @example
 * ```ts
 * import { MessageCodec } from "./message_codec.ts";
 * import { outgoing } from "./outgoing.ts";
 * import { MessageType } from "./message_type.ts";
 * import assert from "node:assert/strict";
 *
 * const codec = new MessageCodec([]);
 * const parts = codec.encode(outgoing.credit(7, 16));
 * assert.deepStrictEqual(codec.decode(parts[0]), {
 *   type: MessageType.CREDIT,
 *   id: 7,
 *   count: 16,
 * });
 * ```
 */
export const outgoing: MessageBuilders = {
  request: (id, action, data, meta) =>
    meta === undefined
      ? seal([MessageType.REQUEST, id, action, data])
      : seal([MessageType.REQUEST, id, action, data, meta]),
  result: (id, value, meta) =>
    meta === undefined
      ? seal([MessageType.RESULT, id, value])
      : seal([MessageType.RESULT, id, value, meta]),
  error: (id, error, meta) =>
    meta === undefined
      ? seal([MessageType.ERROR, id, error])
      : seal([MessageType.ERROR, id, error, meta]),
  cancel: (id) => seal([MessageType.CANCEL, id]),
  ping: (id) => seal([MessageType.PING, id]),
  pong: (id) => seal([MessageType.PONG, id]),
  goodbye: (error) =>
    error === undefined
      ? seal([MessageType.GOODBYE])
      : seal([MessageType.GOODBYE, error]),
  auth: (proof, credentials) =>
    credentials === undefined
      ? seal([MessageType.AUTH, proof])
      : seal([MessageType.AUTH, proof, credentials]),
  authOk: (proof) => seal([MessageType.AUTH_OK, proof]),
  item: (id, item, eventId) =>
    eventId === undefined
      ? seal([MessageType.ITEM, id, item])
      : seal([MessageType.ITEM, id, item, eventId]),
  end: (id, error, meta) =>
    meta !== undefined
      ? seal([MessageType.END, id, error ?? null, meta])
      : error === undefined || error === null
      ? seal([MessageType.END, id])
      : seal([MessageType.END, id, error]),
  credit: (id, count, byteCount) =>
    byteCount === undefined
      ? seal([MessageType.CREDIT, id, count])
      : seal([MessageType.CREDIT, id, count, byteCount]),
  input: (id, item) => seal([MessageType.INPUT, id, item]),
  inputEnd: (id, error) =>
    error === undefined
      ? seal([MessageType.INPUT_END, id])
      : seal([MessageType.INPUT_END, id, error]),
  inputCredit: (id, count, byteCount) =>
    byteCount === undefined
      ? seal([MessageType.INPUT_CREDIT, id, count])
      : seal([MessageType.INPUT_CREDIT, id, count, byteCount]),
  inputStop: (id) => seal([MessageType.INPUT_STOP, id]),
  fragment: (id, total, bytes) =>
    seal([MessageType.FRAGMENT, id, total, bytes]),
  items: (id, items, eventId) =>
    eventId === undefined
      ? seal([MessageType.ITEMS, id, items])
      : seal([MessageType.ITEMS, id, items, eventId]),
  inputs: (id, items) => seal([MessageType.INPUTS, id, items]),
};
