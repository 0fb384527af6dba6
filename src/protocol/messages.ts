/**
 * The messages peers exchange, how they are written, and the checks every
 * incoming message passes before anything acts on it. PROTOCOL.md is the
 * description of record; section names below point into it.
 *
 * @module
 */

import { Decoder } from "../codec/decoder.ts";
import { Encoder } from "../codec/encoder.ts";
import { CodecError, ProtocolError } from "../base/errors.ts";
import type { Extension } from "../codec/extension.ts";
import type { SchemaIssue } from "../base/schema.ts";

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

/** The bytes every hello starts with: "isock" in ASCII. */
export const HELLO_MAGIC: Uint8Array = new Uint8Array([
  0x69,
  0x73,
  0x6f,
  0x63,
  0x6b,
]);

/** The largest hello a peer accepts; a first frame above it is not isock. */
export const MAX_HELLO_SIZE = 4096;

/** Message type tags, the first item of every message (PROTOCOL.md, "Messages"). */
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
} as const;

/**
 * The largest stream window (PROTOCOL.md, "Streams"): a request asking for
 * more is a protocol breach, and credit never adds up to more.
 */
export const MAX_WINDOW = 65_536;

/** The length of the random nonce each hello carries, for authentication. */
export const NONCE_SIZE = 32;

/** What a peer says about itself in its hello. */
export interface Hello {
  /** The protocol version the peer speaks. */
  version: number;
  /** The largest frame body the peer accepts, in bytes. */
  maxFrameSize: number;
  /** Random bytes the other side's authentication proof must cover. */
  nonce: Uint8Array;
  /** Whether this (server) side runs no request before the peer authenticates. */
  authRequired: boolean;
  /**
   * Whether this (client) side offers actions to its peer. A server does
   * not close such a connection for being idle: its quiet is the server's
   * own.
   */
  serves?: boolean;
}

/** An error as it travels (PROTOCOL.md, "Error object"). */
export interface WireError {
  /** A stable code such as `"ACTION_FAILED"`. */
  code: string;
  /** The name of the error raised, such as `"TypeError"`. */
  name: string;
  /** Its message. */
  message: string;
  /** Its stack, when the sender chose to share it. */
  stack?: string;
  /** Its cause, when there was one and it could be encoded. */
  cause?: unknown;
  /** For `INVALID_INPUT` (and output checks): what the schema found wrong. */
  issues?: SchemaIssue[];
  /** The error's own fields, such as an HTTP `status` (PROTOCOL.md, "Error object"). */
  fields?: Record<string, unknown>;
}

/** A request to run an action. */
export interface RequestMessage {
  type: typeof MessageType.REQUEST;
  id: number;
  action: string;
  data: unknown;
  /** Milliseconds the caller will wait for the answer, when it set a deadline. */
  timeout?: number;
  /** For a streamed result: how many items the caller takes before granting more. */
  stream?: number;
  /** Whether the data comes as a stream of INPUT messages. */
  input?: boolean;
  /** For a resumed stream: the id of the last item the caller received. */
  lastEventId?: string | number;
  /** Set when the data could not be decoded: the request is answered with an error. */
  dataError?: CodecError;
}

/** The successful answer to a request. */
export interface ResultMessage {
  type: typeof MessageType.RESULT;
  id: number;
  value: unknown;
  /** Set when the value could not be decoded: the call fails, the connection lives. */
  valueError?: CodecError;
}

/** The failed answer to a request. */
export interface ErrorMessage {
  type: typeof MessageType.ERROR;
  id: number;
  error: WireError;
}

/** One item of a streamed result, or of a streamed input. */
export interface ItemMessage {
  type: typeof MessageType.ITEM | typeof MessageType.INPUT;
  id: number;
  item: unknown;
  /** The item's id, when the stream tracks them (results only). */
  eventId?: string | number;
  /** Set when the item could not be decoded: the stream fails, the connection lives. */
  itemError?: CodecError;
}

/** A stream ended: `END` for a result stream, `INPUT_END` for an input stream (with `error` when its source failed). */
export interface EndMessage {
  type: typeof MessageType.END | typeof MessageType.INPUT_END;
  id: number;
  error?: WireError;
}

/** More items are welcome: `CREDIT` for a result stream, `INPUT_CREDIT` for an input stream. */
export interface CreditMessage {
  type: typeof MessageType.CREDIT | typeof MessageType.INPUT_CREDIT;
  id: number;
  count: number;
}

/** A piece of a large message, sent in pieces so other messages can pass between them. */
export interface FragmentMessage {
  type: typeof MessageType.FRAGMENT;
  /** Which large message this is a piece of. */
  id: number;
  /** The large message's full length, in bytes. */
  total: number;
  /** The next bytes of it. */
  bytes: Uint8Array;
}

/** The requester gave up on a request: its handler's signal aborts. */
export interface CancelMessage {
  type: typeof MessageType.CANCEL | typeof MessageType.INPUT_STOP;
  id: number;
}

/** A heartbeat, answered with a pong carrying the same number. */
export interface PingMessage {
  type: typeof MessageType.PING | typeof MessageType.PONG;
  id: number;
}

/** The peer is closing this connection; `error` says why when it is not a clean shutdown. */
export interface GoodbyeMessage {
  type: typeof MessageType.GOODBYE;
  error?: WireError;
}

/** A client proves who it is (PROTOCOL.md, "Authentication"). */
export interface AuthMessage {
  type: typeof MessageType.AUTH;
  /** HMAC-SHA256 over the nonces with the shared secret, when the client has one. */
  proof: Uint8Array | undefined;
  /** Whatever the client passes to the server's `authenticate` function. */
  credentials: unknown;
}

/** The server accepted the client; its proof shows it knows the secret too. */
export interface AuthOkMessage {
  type: typeof MessageType.AUTH_OK;
  proof: Uint8Array | undefined;
}

/** Any message after the hello. */
export type Message =
  | RequestMessage
  | ResultMessage
  | ErrorMessage
  | CancelMessage
  | PingMessage
  | GoodbyeMessage
  | AuthMessage
  | AuthOkMessage
  | ItemMessage
  | EndMessage
  | CreditMessage
  | FragmentMessage;

/** Options of {@linkcode MessageCodec}. */
export interface MessageCodecOptions {
  /**
   * Whether the `Error`s in what this side sends keep their stacks. A
   * server with `exposeStack` off sets it to `false`.
   *
   * @default {true}
   */
  stacks?: boolean;
}

/** Writes and reads messages with one set of extensions. */
export class MessageCodec {
  readonly #encoder: Encoder;
  readonly #decoder: Decoder;

  /**
   * @param extensions User extensions, already checked.
   * @param options Whether stacks are sent.
   */
  constructor(
    extensions: readonly Extension[],
    options: MessageCodecOptions = {},
  ) {
    this.#encoder = new Encoder({ extensions, stacks: options.stacks });
    this.#decoder = new Decoder({ extensions });
  }

  /** Encodes a hello frame body (PROTOCOL.md, "Hello"). */
  encodeHello(hello: Hello): Uint8Array {
    const fields = this.#encoder.encodeParts({
      maxFrameSize: hello.maxFrameSize,
      ...(hello.nonce.length > 0 ? { nonce: hello.nonce } : {}),
      ...(hello.authRequired ? { authRequired: true } : {}),
      ...(hello.serves ? { serves: true } : {}),
    })[0];
    const body = new Uint8Array(HELLO_MAGIC.length + 1 + fields.length);
    body.set(HELLO_MAGIC);
    body[HELLO_MAGIC.length] = hello.version;
    body.set(fields, HELLO_MAGIC.length + 1);
    return body;
  }

  /**
   * Reads the peer's hello.
   *
   * @throws {ProtocolError} `PROTOCOL` when it is not an isock hello of this version.
   */
  decodeHello(frame: Uint8Array): Hello {
    const magic = HELLO_MAGIC.length;
    if (
      frame.length <= magic ||
      !HELLO_MAGIC.every((byte, i) => frame[i] === byte)
    ) {
      throw new ProtocolError(
        "PROTOCOL",
        "The peer is not an isock peer: its first frame is not an isock hello.",
      );
    }
    const version = frame[magic];
    if (version !== PROTOCOL_VERSION) {
      throw new ProtocolError(
        "PROTOCOL",
        `The peer speaks isock protocol version ${version}; this side speaks version ${PROTOCOL_VERSION}. Upgrade the older side.`,
      );
    }
    let fields: unknown;
    try {
      fields = this.#decoder.decode(frame.subarray(magic + 1));
    } catch (error) {
      throw new ProtocolError("PROTOCOL", "The peer's hello is malformed.", {
        cause: error,
      });
    }
    if (!isRecord(fields)) {
      throw new ProtocolError("PROTOCOL", "The peer's hello has no fields.");
    }
    const { maxFrameSize, nonce, authRequired, serves } = fields;
    if (!isCount(maxFrameSize) || maxFrameSize < MAX_HELLO_SIZE) {
      throw new ProtocolError(
        "PROTOCOL",
        "The peer's hello has no valid maxFrameSize.",
      );
    }
    return {
      version,
      maxFrameSize,
      nonce: nonce instanceof Uint8Array ? nonce : new Uint8Array(0),
      authRequired: authRequired === true,
      serves: serves === true,
    };
  }

  /**
   * Encodes a message as frame body parts.
   *
   * @throws {CodecError} `ENCODE_FAILED` when a value in it cannot be encoded.
   */
  encode(message: readonly unknown[]): Uint8Array[] {
    return this.#encoder.encodeParts(message);
  }

  /**
   * Reads and checks one message. A request whose data, or a result whose
   * value, cannot be decoded still comes back, with the error attached, so
   * that only that call fails.
   *
   * @param frame The frame body.
   * @param isBorrowed Whether the frame's memory is reused afterwards (no
   * value may keep a view of it).
   * @throws {ProtocolError} `PROTOCOL` when the message is malformed.
   */
  decode(frame: Uint8Array, isBorrowed = false): Message {
    const decoder = this.#decoder;
    let length: number;
    let type: unknown;
    try {
      decoder.open(frame, isBorrowed);
      length = decoder.readArrayLength();
      type = length > 0 ? decoder.readValue() : undefined;
    } catch (error) {
      throw malformed("a message must be a MessagePack array", error);
    }
    let message: Message;
    try {
      message = this.#decodeBody(type, length);
    } catch (error) {
      // Whatever a check trips over, the peer broke the protocol: a
      // goodbye always carries a code.
      if (error instanceof ProtocolError) throw error;
      throw malformed("a message cannot be read", error);
    }
    if (!decoder.isAtEnd && !hasFailedItem(message)) {
      throw malformed("bytes follow the message");
    }
    return message;
  }

  #decodeBody(type: unknown, length: number): Message {
    switch (type) {
      case MessageType.REQUEST: {
        expectLength(length, 3, 5, "a request");
        const id = this.#readId();
        const action = this.#readEnvelope();
        if (typeof action !== "string") {
          throw malformed("a request's action name must be a string");
        }
        const message: RequestMessage = { type, id, action, data: undefined };
        if (length >= 4) {
          try {
            message.data = this.#decoder.readValue();
          } catch (error) {
            message.dataError = asCodecError(error);
            return message;
          }
        }
        if (length === 5) readMeta(this.#readEnvelope(), message);
        return message;
      }
      case MessageType.RESULT: {
        expectLength(length, 3, 3, "a result");
        const id = this.#readId();
        const message: ResultMessage = { type, id, value: undefined };
        try {
          message.value = this.#decoder.readValue();
        } catch (error) {
          message.valueError = asCodecError(error);
        }
        return message;
      }
      case MessageType.ERROR: {
        expectLength(length, 3, 3, "an error");
        const id = this.#readId();
        return { type, id, error: toWireError(this.#readEnvelope()) };
      }
      case MessageType.ITEM:
      case MessageType.INPUT: {
        expectLength(length, 3, type === MessageType.ITEM ? 4 : 3, "an item");
        const id = this.#readId();
        const message: ItemMessage = { type, id, item: undefined };
        try {
          message.item = this.#decoder.readValue();
        } catch (error) {
          message.itemError = asCodecError(error);
          return message;
        }
        if (length === 4) message.eventId = readEventId(this.#readEnvelope());
        return message;
      }
      case MessageType.END:
      case MessageType.INPUT_END: {
        expectLength(length, 2, 3, "a stream end");
        const id = this.#readId();
        return length === 3
          ? { type, id, error: toWireError(this.#readEnvelope()) }
          : { type, id };
      }
      case MessageType.CREDIT:
      case MessageType.INPUT_CREDIT: {
        expectLength(length, 3, 3, "a credit");
        const id = this.#readId();
        const count = this.#readEnvelope();
        if (!isCount(count) || count === 0) {
          throw malformed("a credit must be a positive whole number");
        }
        return { type, id, count };
      }
      case MessageType.FRAGMENT: {
        expectLength(length, 4, 4, "a fragment");
        const id = this.#readId();
        const total = this.#readEnvelope();
        const bytes = this.#readEnvelope();
        if (!isCount(total) || !(bytes instanceof Uint8Array)) {
          throw malformed("a fragment is [16, id, total, bytes]");
        }
        return { type, id, total, bytes };
      }
      case MessageType.CANCEL:
      case MessageType.INPUT_STOP:
      case MessageType.PING:
      case MessageType.PONG:
        expectLength(length, 2, 2, "a cancel, ping or pong");
        return { type, id: this.#readId() };
      case MessageType.GOODBYE: {
        expectLength(length, 1, 2, "a goodbye");
        return length === 2
          ? { type, error: toWireError(this.#readEnvelope()) }
          : { type };
      }
      case MessageType.AUTH: {
        expectLength(length, 2, 3, "an auth");
        const proof = readProof(this.#readEnvelope());
        const credentials = length === 3 ? this.#readEnvelope() : undefined;
        return { type, proof, credentials };
      }
      case MessageType.AUTH_OK:
        expectLength(length, 2, 2, "an auth-ok");
        return { type, proof: readProof(this.#readEnvelope()) };
      default:
        throw malformed(`unknown message type ${describeType(type)}`);
    }
  }

  /** Reads an item of the envelope, where any decoding failure is a protocol failure. */
  #readEnvelope(): unknown {
    try {
      return this.#decoder.readValue();
    } catch (error) {
      throw malformed("an item of the message cannot be decoded", error);
    }
  }

  #readId(): number {
    const id = this.#readEnvelope();
    if (!isCount(id)) throw malformed("a request id must be a whole number");
    return id;
  }
}

/** Reads the request meta map into the request; unknown keys are ignored. */
function readMeta(meta: unknown, request: RequestMessage): void {
  if (meta === undefined || meta === null) return;
  if (!isRecord(meta)) throw malformed("a request's meta must be a map");
  const { timeout, stream, input, lastEventId } = meta;
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
  if (input === true) request.input = true;
  if (lastEventId !== undefined) request.lastEventId = readEventId(lastEventId);
}

function readEventId(id: unknown): string | number {
  if (typeof id !== "string" && typeof id !== "number") {
    throw malformed("an event id must be a string or a number");
  }
  return id;
}

function readProof(proof: unknown): Uint8Array | undefined {
  if (proof === null || proof === undefined) return undefined;
  if (!(proof instanceof Uint8Array)) {
    throw malformed("an authentication proof must be binary or nil");
  }
  return proof;
}

function hasFailedItem(message: Message): boolean {
  return (message.type === MessageType.REQUEST && !!message.dataError) ||
    (message.type === MessageType.RESULT && !!message.valueError) ||
    ((message.type === MessageType.ITEM ||
      message.type === MessageType.INPUT) && !!message.itemError);
}

function expectLength(
  length: number,
  min: number,
  max: number,
  what: string,
): void {
  if (length < min || length > max) {
    throw malformed(`${what} has ${min} to ${max} items, not ${length}`);
  }
}

/**
 * Checks the shape of an error object from the peer (PROTOCOL.md, "Error
 * object"). Anything off is a protocol breach: an error is built from it
 * without calling anything the peer sent.
 */
function toWireError(value: unknown): WireError {
  if (!isRecord(value)) throw malformed("an error object must be a map");
  const { code, name, message, stack, issues, fields } = value;
  if (typeof code !== "string" || code.length === 0) {
    throw malformed("an error object's code must be a non-empty string");
  }
  if (typeof name !== "string" || typeof message !== "string") {
    throw malformed("an error object's name and message must be strings");
  }
  const error: WireError = { code, name, message };
  if (stack !== undefined) {
    if (typeof stack !== "string") {
      throw malformed("an error object's stack must be a string");
    }
    error.stack = stack;
  }
  if ("cause" in value) error.cause = value.cause;
  if (issues !== undefined) error.issues = toIssues(issues);
  if (fields !== undefined) {
    if (!isPlainObject(fields)) {
      throw malformed("an error object's fields must be a map");
    }
    error.fields = fields;
  }
  return error;
}

const BAD_PATH = "an issue's path must be an array of strings and numbers";

function toIssues(value: unknown): SchemaIssue[] {
  if (!Array.isArray(value)) {
    throw malformed("an error object's issues must be an array");
  }
  const issues: SchemaIssue[] = [];
  // A plain loop: holes in the array are malformed issues too.
  for (let i = 0; i < value.length; i++) {
    const issue: unknown = value[i];
    if (!isRecord(issue) || typeof issue.message !== "string") {
      throw malformed("an issue must be a map with a string message");
    }
    const path: unknown = issue.path ?? [];
    if (!Array.isArray(path)) throw malformed(BAD_PATH);
    const keys: (string | number)[] = [];
    for (let j = 0; j < path.length; j++) {
      const key: unknown = path[j];
      if (typeof key !== "string" && typeof key !== "number") {
        throw malformed(BAD_PATH);
      }
      keys.push(key);
    }
    issues.push({ message: issue.message, path: keys });
  }
  return issues;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null &&
    Object.getPrototypeOf(value) === Object.prototype;
}

/** Names a message type for an error message, without calling into the value. */
function describeType(type: unknown): string {
  return typeof type === "number" ? String(type) : typeof type;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Map);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function asCodecError(error: unknown): CodecError {
  return error instanceof CodecError
    ? error
    : new CodecError("DECODE_FAILED", String(error), { cause: error });
}

function malformed(reason: string, cause?: unknown): ProtocolError {
  return new ProtocolError(
    "PROTOCOL",
    `The peer sent a malformed message: ${reason}.`,
    cause === undefined ? undefined : { cause },
  );
}
