/**
 * Writes and reads messages with one set of extensions: outgoing messages
 * come from the table's builders, incoming ones are checked against the
 * table before anything acts on them.
 *
 * @module
 */

import { Decoder } from "../codec/decoder.ts";
import { Encoder } from "../codec/encoder.ts";
import { ProtocolError } from "../base/errors.ts";
import type { Extension } from "../codec/extension.ts";
import { decodeHello, encodeHello, type Hello } from "./hello.ts";
import { asCodecError, describeType, isCount, malformed } from "./malformed.ts";
import {
  type Draft,
  type Field,
  type Message,
  MESSAGE_TABLE,
  type OutgoingMessage,
} from "./message_table.ts";

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

/** A table row with its item counts worked out once. */
interface Shape {
  readonly what: string;
  readonly fields: readonly Field[];
  /** The fewest items, type tag included. */
  readonly min: number;
  /** The most items, type tag included. */
  readonly max: number;
  /** Whether the first item is an id (read inline: most messages have one). */
  readonly hasId: boolean;
}

/** The table as the decoder walks it, indexed by type tag. */
const SHAPES: readonly Shape[] = MESSAGE_TABLE.map((row, type): Shape => {
  if (row.type !== type) {
    throw new Error(`Message table row ${type} is out of order.`);
  }
  const fields: readonly Field[] = row.fields;
  const required = fields.filter((field) => !field.optional).length;
  return {
    what: row.what,
    fields,
    min: 1 + required,
    max: 1 + fields.length,
    hasId: fields[0]?.name === "id",
  };
});

/**
 * Writes and reads messages with one set of extensions.
 *
 * @example
 * ```ts
 * import { MessageCodec } from "./message_codec.ts";
 * import { outgoing } from "./message_table.ts";
 * import { MessageType } from "./message_type.ts";
 * import assert from "node:assert/strict";
 *
 * const codec = new MessageCodec([]);
 * const [body] = codec.encode(outgoing.request(1, "echo", "hi"));
 * assert.deepStrictEqual(codec.decode(body), {
 *   type: MessageType.REQUEST,
 *   id: 1,
 *   action: "echo",
 *   data: "hi",
 * });
 * ```
 */
export class MessageCodec {
  readonly #encoder: Encoder;
  readonly #decoder: Decoder;

  /**
   * Makes a codec for one connection.
   *
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

  /**
   * Encodes a hello frame body (PROTOCOL.md, "Hello").
   *
   * @param hello What this side says about itself.
   * @returns The frame body.
   */
  encodeHello(hello: Hello): Uint8Array {
    return encodeHello(this.#encoder, hello);
  }

  /**
   * Reads the peer's hello.
   *
   * @param frame The first frame body.
   * @returns What the peer says about itself.
   * @throws {ProtocolError} `PROTOCOL` when it is not an isock hello of this version.
   */
  decodeHello(frame: Uint8Array): Hello {
    return decodeHello(this.#decoder, frame);
  }

  /**
   * Encodes a message, made by one of `outgoing`'s builders, as frame body parts.
   *
   * @param message The message.
   * @returns The frame body, in parts (large binary values are not copied).
   * @throws {CodecError} `ENCODE_FAILED` when a value in it cannot be encoded.
   */
  encode(message: OutgoingMessage): Uint8Array[] {
    return this.#encoder.encodeParts(message);
  }

  /**
   * Encodes any array as a message, unchecked: for tests and tools that
   * play a peer breaking the protocol on purpose.
   *
   * @param items The message's items, type tag first.
   * @returns The frame body, in parts.
   * @throws {CodecError} `ENCODE_FAILED` when a value in it cannot be encoded.
   */
  encodeRaw(items: readonly unknown[]): Uint8Array[] {
    return this.#encoder.encodeParts(items);
  }

  /**
   * Reads and checks one message against the message table. A request
   * whose data, or a result or item whose value, cannot be decoded still
   * comes back, with the error attached, so that only that call fails.
   *
   * @param frame The frame body.
   * @param isBorrowed Whether the frame's memory is reused afterwards (no
   * value may keep a view of it).
   * @returns The message.
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
    try {
      return this.#decodeBody(type, length) as Message;
    } catch (error) {
      // Whatever a check trips over, the peer broke the protocol: a
      // goodbye always carries a code.
      if (error instanceof ProtocolError) throw error;
      throw malformed("a message cannot be read", error);
    }
  }

  /** Reads the items after the type tag, as the table lists them. */
  #decodeBody(type: unknown, length: number): Draft {
    const shape = typeof type === "number" ? SHAPES[type] : undefined;
    if (shape === undefined) {
      throw malformed(`unknown message type ${describeType(type)}`);
    }
    if (length < shape.min || length > shape.max) {
      throw malformed(
        `${shape.what} has ${
          shape.min === shape.max ? shape.min : `${shape.min} to ${shape.max}`
        } items, not ${length}`,
      );
    }
    const decoder = this.#decoder;
    const message: Draft = { type };
    const fields = shape.fields;
    let i = 0;
    if (shape.hasId) {
      const id = this.#readEnvelope();
      if (!isCount(id)) throw malformed("a request id must be a whole number");
      message.id = id;
      i = 1;
    }
    for (; i < fields.length; i++) {
      const field = fields[i];
      if (i + 1 >= length) {
        if (field.present) message[field.name] = undefined;
      } else if (field.kind === "data") {
        if (!this.#readData(message, field)) return message;
      } else {
        field.read(this.#readEnvelope(), message);
      }
    }
    if (!decoder.isAtEnd) throw malformed("bytes follow the message");
    return message;
  }

  /** Reads a user value; when it cannot be decoded, only its call fails: what follows is left unread. */
  #readData(message: Draft, field: Field): boolean {
    let value: unknown;
    try {
      value = this.#decoder.readValue();
    } catch (error) {
      message[field.name] = undefined;
      message[field.errorName] = asCodecError(error);
      return false;
    }
    message[field.name] = value;
    return true;
  }

  /** Reads an item of the envelope, where any decoding failure is a protocol failure. */
  #readEnvelope(): unknown {
    try {
      return this.#decoder.readValue();
    } catch (error) {
      throw malformed("an item of the message cannot be decoded", error);
    }
  }
}
