/**
 * The message table: each message's items, in order, with the check each
 * item passes, written down once (PROTOCOL.md, "Messages" is its
 * description; a test holds the two together). The validating decoder
 * walks it; the types of decoded messages and the builders of outgoing
 * ones are derived from it, so a message built by hand, or with its items
 * in another order, does not type-check.
 *
 * @module
 */

import type { ClientError, CodecError } from "../base/errors.ts";
import { toWireError, type WireError } from "./wire_error.ts";
import { isCount, isRecord, malformed } from "./malformed.ts";
import {
  MAX_WINDOW,
  MessageType,
  type MessageTypeTag,
} from "./message_type.ts";
import { type Metadata, metadataFromWire } from "./metadata.ts";

// The meta maps of the message table: a request's optional fields
// (deadline, stream window, input, resume point, metadata) and an answer's
// metadata, with how each is read and checked into the decoded message.
// Unknown keys are ignored, so later versions can add fields.

/** The optional fields of a request (PROTOCOL.md, "Request"). */
export interface RequestMeta {
  /** Milliseconds the caller will wait for the answer, when it set a deadline. */
  timeout?: number;
  /** For a streamed result: how many items the caller takes before granting more. */
  stream?: number;
  /**
   * For a streamed result between peers that send batches: how many bytes
   * of item messages the caller takes before granting more (PROTOCOL.md,
   * "Batches").
   */
  streamBytes?: number;
  /** Whether the data comes as a stream of INPUT messages. */
  input?: boolean;
  /** For a resumed stream: the id of the last item the caller received. */
  lastEventId?: string | number;
  /** The call's metadata (PROTOCOL.md, "Metadata"), keys in lowercase. */
  metadata?: Record<string, string>;
}

/** The request meta map as read: its metadata checked. */
export interface ReadRequestMeta extends Omit<RequestMeta, "metadata"> {
  /** The call's metadata. */
  metadata?: Metadata;
  /** Why the metadata was refused: only its call fails (`INVALID_REQUEST`). */
  metadataError?: ClientError;
}

/** The optional last item of a RESULT, ERROR or END (PROTOCOL.md, "Metadata"). */
export interface AnswerMeta {
  /** The answer's metadata, keys in lowercase. */
  metadata?: Record<string, string>;
}

/** The answer meta map as read. */
export interface ReadAnswerMeta {
  /** The answer's metadata. */
  metadata?: Metadata;
  /** Why the metadata was refused: only its call fails. */
  metadataError?: ClientError;
}

/** Reads a `metadata` field into a message: the metadata, or the error its call fails with. */
function readMetadata(value: unknown, into: Draft): void {
  if (value === undefined || value === null) return;
  const metadata = metadataFromWire(value);
  if (metadata instanceof Error) into.metadataError = metadata;
  else if (metadata.size > 0) into.metadata = metadata;
}

/**
 * Reads the meta map of an answer; unknown keys are ignored.
 *
 * @param meta The map as sent, or nil.
 * @param answer The message being decoded: the metadata lands on it.
 * @throws {ProtocolError} `PROTOCOL` when it is not a map.
 */
export function readAnswerMeta(meta: unknown, answer: Draft): void {
  if (meta === undefined || meta === null) return;
  if (!isRecord(meta)) throw malformed("an answer's meta must be a map");
  readMetadata(meta.metadata, answer);
}

/**
 * Reads the request meta map into the request; unknown keys are ignored.
 *
 * @param meta The map as sent, or nil.
 * @param request The message being decoded: the fields land on it.
 * @throws {ProtocolError} `PROTOCOL` when a field is malformed.
 */
export function readMeta(meta: unknown, request: Draft): void {
  if (meta === undefined || meta === null) return;
  if (!isRecord(meta)) throw malformed("a request's meta must be a map");
  const { timeout, stream, streamBytes, input, lastEventId, metadata } = meta;
  if (timeout !== undefined) {
    if (typeof timeout !== "number" || !(timeout >= 0)) {
      throw malformed("a request's timeout must be a number of milliseconds");
    }
    request.timeout = timeout;
  }
  if (stream !== undefined) {
    if (!isCount(stream) || stream === 0 || stream > MAX_WINDOW) {
      throw malformed(
        `a request's stream window must be a whole number from 1 to ${MAX_WINDOW}`,
      );
    }
    request.stream = stream;
  }
  if (streamBytes !== undefined) {
    if (!isCount(streamBytes) || streamBytes === 0) {
      throw malformed(
        "a request's stream byte window must be a positive whole number",
      );
    }
    request.streamBytes = streamBytes;
  }
  if (input === true) request.input = true;
  if (lastEventId !== undefined) request.lastEventId = readEventId(lastEventId);
  readMetadata(metadata, request);
}

/**
 * Reads a stream item's event id.
 *
 * @param id The item as sent.
 * @returns The id.
 * @throws {ProtocolError} `PROTOCOL` when it is neither a string nor a number.
 */
export function readEventId(id: unknown): string | number {
  if (typeof id !== "string" && typeof id !== "number") {
    throw malformed("an event id must be a string or a number");
  }
  return id;
}

/** A message being decoded, while the table's readers fill it in. */
export type Draft = Record<string, unknown>;

/**
 * How an item is read: `"check"` items are part of the envelope (any flaw
 * breaks the protocol); a `"data"` item is a user value whose decoding
 * failure fails only its call; a `"merge"` item is a map whose fields land
 * on the message itself.
 */
export type FieldKind = "check" | "data" | "merge";

/**
 * One item of a message after its type tag.
 *
 * @typeParam N The item's name, and the property of the decoded message.
 * @typeParam S The type a sender puts there.
 * @typeParam R The type a receiver reads from it.
 * @typeParam K How it is read.
 * @typeParam O Whether it may be left out (only trailing items may).
 */
export interface Field<
  N extends string = string,
  S = unknown,
  R = S,
  K extends FieldKind = FieldKind,
  O extends boolean = boolean,
> {
  /** The item's name, as PROTOCOL.md writes it. */
  readonly name: N;
  /** How it is read. */
  readonly kind: K;
  /** Whether it may be left out. */
  readonly optional: O;
  /** Whether the decoded message has the property, `undefined`, when the item is left out. */
  readonly present: boolean;
  /** Where the decoding error of a data item goes. */
  readonly errorName: string;
  /**
   * Checks a decoded envelope item and stores it on the message.
   *
   * @throws {ProtocolError} `PROTOCOL` when it is malformed.
   */
  readonly read: (value: unknown, into: Draft) => void;
  /** Types only: never set. */
  readonly types?: { readonly sent: S; readonly read: R };
}

/** An envelope item: `check` says whether the value is valid and gives it back. */
function check<const N extends string, R>(
  name: N,
  read: (value: unknown) => R,
): Field<N, R, R, "check", false> {
  return {
    name,
    kind: "check",
    optional: false,
    present: false,
    errorName: "",
    read: (value, into) => {
      into[name] = read(value);
    },
  };
}

/** A user value: decoded by the codec, its failure is the call's, not the connection's. */
function data<const N extends string>(
  name: N,
): Field<N, unknown, unknown, "data", false> {
  return {
    name,
    kind: "data",
    optional: false,
    present: true,
    errorName: `${name}Error`,
    read: (value, into) => {
      into[name] = value;
    },
  };
}

/** A trailing item that may be left out; `present` keeps the property on the message anyway. */
function optional<N extends string, S, R, K extends FieldKind>(
  field: Field<N, S, R, K, false>,
  present = field.present,
): Field<N, S, R, K, true> {
  return { ...field, optional: true, present };
}

function readId(id: unknown): number {
  if (!isCount(id)) throw malformed("a request id must be a whole number");
  return id;
}

function readProof(proof: unknown): Uint8Array | undefined {
  if (proof === null || proof === undefined) return undefined;
  if (!(proof instanceof Uint8Array)) {
    throw malformed("an authentication proof must be binary or nil");
  }
  return proof;
}

const ID = check("id", readId);
const ERROR = check("error", toWireError);
const COUNT = check("count", (count) => {
  if (!isCount(count) || count === 0) {
    throw malformed("a credit must be a positive whole number");
  }
  return count;
});
/** A credit's bytes (PROTOCOL.md, "Batches"): zero when only items were taken. */
const BYTE_COUNT = check("byteCount", (count) => {
  if (!isCount(count)) {
    throw malformed("a byte credit must be a whole number");
  }
  return count;
});
const PROOF = check("proof", readProof) as Field<
  "proof",
  Uint8Array | null | undefined,
  Uint8Array | undefined,
  "check",
  false
>;
const FRAGMENT_SHAPE = "a fragment is [16, id, total, bytes]";
const META: Field<"meta", RequestMeta, ReadRequestMeta, "merge", true> = {
  name: "meta",
  kind: "merge",
  optional: true,
  present: false,
  errorName: "",
  read: readMeta,
};
const ANSWER_META: Field<
  "answerMeta",
  AnswerMeta,
  ReadAnswerMeta,
  "merge",
  true
> = {
  name: "answerMeta",
  kind: "merge",
  optional: true,
  present: false,
  errorName: "",
  read: readAnswerMeta,
};
/** A stream end's error: nil when the END carries metadata but no error. */
const END_ERROR = check(
  "error",
  (value) => value === null ? undefined : toWireError(value),
) as Field<
  "error",
  WireError | null | undefined,
  WireError | undefined,
  "check",
  false
>;

/**
 * Every message after the hello, indexed by its type tag: its name (the
 * builder's), how error messages call it, and its items in order.
 */
export const MESSAGE_TABLE = [
  {
    type: MessageType.REQUEST,
    name: "request",
    what: "a request",
    fields: [
      ID,
      check("action", (action) => {
        if (typeof action !== "string") {
          throw malformed("a request's action name must be a string");
        }
        return action;
      }),
      optional(data("data")),
      META,
    ],
  },
  {
    type: MessageType.RESULT,
    name: "result",
    what: "a result",
    fields: [ID, data("value"), ANSWER_META],
  },
  {
    type: MessageType.ERROR,
    name: "error",
    what: "an error",
    fields: [ID, ERROR, ANSWER_META],
  },
  {
    type: MessageType.CANCEL,
    name: "cancel",
    what: "a cancel",
    fields: [ID],
  },
  { type: MessageType.PING, name: "ping", what: "a ping", fields: [ID] },
  { type: MessageType.PONG, name: "pong", what: "a pong", fields: [ID] },
  {
    type: MessageType.GOODBYE,
    name: "goodbye",
    what: "a goodbye",
    fields: [optional(ERROR)],
  },
  {
    type: MessageType.AUTH,
    name: "auth",
    what: "an auth",
    fields: [PROOF, optional(check("credentials", (value) => value), true)],
  },
  {
    type: MessageType.AUTH_OK,
    name: "authOk",
    what: "an auth-ok",
    fields: [PROOF],
  },
  {
    type: MessageType.ITEM,
    name: "item",
    what: "an item",
    fields: [ID, data("item"), optional(check("eventId", readEventId))],
  },
  {
    type: MessageType.END,
    name: "end",
    what: "a stream end",
    fields: [ID, optional(END_ERROR), ANSWER_META],
  },
  {
    type: MessageType.CREDIT,
    name: "credit",
    what: "a credit",
    fields: [ID, COUNT, optional(BYTE_COUNT)],
  },
  {
    type: MessageType.INPUT,
    name: "input",
    what: "an input item",
    fields: [ID, data("item")],
  },
  {
    type: MessageType.INPUT_END,
    name: "inputEnd",
    what: "an input end",
    fields: [ID, optional(ERROR)],
  },
  {
    type: MessageType.INPUT_CREDIT,
    name: "inputCredit",
    what: "an input credit",
    fields: [ID, COUNT, optional(BYTE_COUNT)],
  },
  {
    type: MessageType.INPUT_STOP,
    name: "inputStop",
    what: "an input stop",
    fields: [ID],
  },
  {
    type: MessageType.FRAGMENT,
    name: "fragment",
    what: "a fragment",
    fields: [
      ID,
      check("total", (total) => {
        if (!isCount(total)) throw malformed(FRAGMENT_SHAPE);
        return total;
      }),
      check("bytes", (bytes) => {
        if (!(bytes instanceof Uint8Array)) throw malformed(FRAGMENT_SHAPE);
        return bytes;
      }),
    ],
  },
  {
    type: MessageType.ITEMS,
    name: "items",
    what: "a batch of items",
    fields: [ID, data("items"), optional(check("eventId", readEventId))],
  },
  {
    type: MessageType.INPUTS,
    name: "inputs",
    what: "a batch of input items",
    fields: [ID, data("items")],
  },
] as const;

/** One row of the table. */
export type MessageRow = typeof MESSAGE_TABLE[number];

/** The row of one message type. */
export type RowOf<T extends MessageTypeTag> = Extract<MessageRow, { type: T }>;

// ---------------------------------------------------------------------------
// Types derived from the table.

/** Spells an intersection out as one object type. */
export type Simplify<T> = { [K in keyof T]: T[K] };

/** The type a sender puts in an item. */
export type SentOf<F> = F extends Field<string, infer S, infer _R> ? S : never;

/** The items a sender writes after the type tag, optional ones marked so. */
export type SentItems<Fs> = Fs extends readonly [infer F, ...infer Rest]
  ? F extends { readonly optional: true } ? [SentOf<F>?, ...SentItems<Rest>]
  : [SentOf<F>, ...SentItems<Rest>]
  : [];

/** The properties one item gives the decoded message. */
export type ReadProps<F> = F extends
  Field<infer N, infer _S, infer R, infer K, infer O> ? K extends "merge" ? R
  : K extends "data" ? { [P in N]: R } & { [P in `${N}Error`]?: CodecError }
  : O extends true ? { [P in N]?: R }
  : { [P in N]: R }
  : never;

/** The properties all items give the decoded message. */
export type ReadAll<Fs> = Fs extends readonly [infer F, ...infer Rest]
  ? ReadProps<F> & ReadAll<Rest>
  : unknown;

/**
 * A decoded message of type `T`, as {@linkcode MessageCodec.decode} gives
 * it: the type tag, then a property per item (a request's meta fields
 * merged in; a data item's decoding failure as `<name>Error`).
 */
export type MessageOf<T extends MessageTypeTag> = T extends MessageTypeTag
  ? Simplify<{ type: T } & ReadAll<RowOf<T>["fields"]>>
  : never;

/** Any message after the hello, as decoded. */
export type Message = MessageOf<MessageTypeTag>;

/** A request to run an action. */
export type RequestMessage = MessageOf<typeof MessageType.REQUEST>;
/** The successful answer to a request. */
export type ResultMessage = MessageOf<typeof MessageType.RESULT>;
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
/** A piece of a large message, sent in pieces so other messages can pass between them. */
export type FragmentMessage = MessageOf<typeof MessageType.FRAGMENT>;
/** The peer is closing this connection; `error` says why when it is not a clean shutdown. */
export type GoodbyeMessage = MessageOf<typeof MessageType.GOODBYE>;

// Outgoing messages: one builder per row of the message table, taking the
// row's items in order. Their type is derived from the table and branded,
// so `MessageCodec.encode` takes only what a builder made.

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
 * import { outgoing } from "./message_table.ts";
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
