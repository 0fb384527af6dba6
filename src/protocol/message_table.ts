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

import type { CodecError } from "../base/errors.ts";
import { toWireError, type WireError } from "./error_object.ts";
import { isCount, malformed } from "./malformed.ts";
import { MessageType, type MessageTypeTag } from "./message_type.ts";
import {
  type AnswerMeta,
  type ReadAnswerMeta,
  readAnswerMeta,
  readEventId,
  readMeta,
  type ReadRequestMeta,
  type RequestMeta,
} from "./message_meta.ts";

export type {
  AnswerMeta,
  ReadAnswerMeta,
  ReadRequestMeta,
  RequestMeta,
} from "./message_meta.ts";

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
