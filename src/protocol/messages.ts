/**
 * The messages peers exchange, gathered from the files that define them:
 * the numbers (`message_type.ts`), the hello (`hello.ts`), the message
 * table with its builders and derived types (`message_table.ts`), the
 * codec that writes and checks them (`message_codec.ts`), and the error
 * object (`error_object.ts`). PROTOCOL.md is the description of record.
 *
 * @module
 */

export {
  MAX_WINDOW,
  MessageType,
  type MessageTypeTag,
  NONCE_SIZE,
  PROTOCOL_VERSION,
} from "./message_type.ts";
export { type Hello, HELLO_MAGIC, MAX_HELLO_SIZE } from "./hello.ts";
export type { WireError } from "./error_object.ts";
export {
  type Message,
  MESSAGE_TABLE,
  type MessageOf,
  type RequestMeta,
} from "./message_table.ts";
export {
  type MessageBuilders,
  outgoing,
  type OutgoingMessage,
} from "./outgoing.ts";
export { MessageCodec, type MessageCodecOptions } from "./message_codec.ts";

import type { MessageOf } from "./message_table.ts";
import type { MessageType } from "./message_type.ts";

/** A request to run an action. */
export type RequestMessage = MessageOf<typeof MessageType.REQUEST>;
/** The successful answer to a request. */
export type ResultMessage = MessageOf<typeof MessageType.RESULT>;
/** The failed answer to a request. */
export type ErrorMessage = MessageOf<typeof MessageType.ERROR>;
/** One item of a streamed result (`ITEM`, with its event id) or of a streamed input (`INPUT`). */
export type ItemMessage =
  | MessageOf<typeof MessageType.ITEM>
  | (MessageOf<typeof MessageType.INPUT> & { eventId?: undefined });
/** Several items in one message (PROTOCOL.md, "Batches"): `ITEMS` for a result stream (with the last tracked item's id), `INPUTS` for an input stream. */
export type ItemsMessage =
  | MessageOf<typeof MessageType.ITEMS>
  | (MessageOf<typeof MessageType.INPUTS> & { eventId?: undefined });
/** A stream ended: `END` for a result stream, `INPUT_END` for an input stream (with `error` when its source failed). */
export type EndMessage = MessageOf<
  typeof MessageType.END | typeof MessageType.INPUT_END
>;
/** More items are welcome: `CREDIT` for a result stream, `INPUT_CREDIT` for an input stream. */
export type CreditMessage = MessageOf<
  typeof MessageType.CREDIT | typeof MessageType.INPUT_CREDIT
>;
/** A piece of a large message, sent in pieces so other messages can pass between them. */
export type FragmentMessage = MessageOf<typeof MessageType.FRAGMENT>;
/** The requester gave up on a request (`CANCEL`), or the handler stopped reading its input (`INPUT_STOP`). */
export type CancelMessage = MessageOf<
  typeof MessageType.CANCEL | typeof MessageType.INPUT_STOP
>;
/** A heartbeat, answered with a pong carrying the same number. */
export type PingMessage = MessageOf<
  typeof MessageType.PING | typeof MessageType.PONG
>;
/** The peer is closing this connection; `error` says why when it is not a clean shutdown. */
export type GoodbyeMessage = MessageOf<typeof MessageType.GOODBYE>;
/** A client proves who it is (PROTOCOL.md, "Authentication"). */
export type AuthMessage = MessageOf<typeof MessageType.AUTH>;
/** The server accepted the client; its proof shows it knows the secret too. */
export type AuthOkMessage = MessageOf<typeof MessageType.AUTH_OK>;
