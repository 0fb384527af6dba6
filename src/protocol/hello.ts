/**
 * The hello, the first frame each peer sends (PROTOCOL.md, "Hello"): the
 * magic bytes, the version, and a map of what the peer says about itself.
 *
 * @module
 */

import type { Decoder } from "../codec/decoder.ts";
import type { Encoder } from "../codec/encoder.ts";
import { ProtocolError } from "../base/errors.ts";
import { isCount, isRecord } from "./malformed.ts";
import { PROTOCOL_VERSION } from "./message_type.ts";

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
  /**
   * Whether this side reads metadata on answers (PROTOCOL.md, "Metadata"):
   * a peer sends an answer's metadata only to a side that says so, so an
   * older peer never sees the item it does not know.
   */
  metadata?: boolean;
  /**
   * Whether this side takes several stream items in one message and counts
   * stream credit in bytes as well as items (PROTOCOL.md, "Batches"): a
   * peer sends batches and byte credit only when both sides say so, so an
   * older peer sees single items and item credit.
   */
  batch?: boolean;
}

/**
 * Writes a hello frame body.
 *
 * @param encoder The encoder of the connection's codec.
 * @param hello What this side says about itself.
 * @returns The frame body.
 */
export function encodeHello(encoder: Encoder, hello: Hello): Uint8Array {
  const fields = encoder.encodeParts({
    maxFrameSize: hello.maxFrameSize,
    ...(hello.nonce.length > 0 ? { nonce: hello.nonce } : {}),
    ...(hello.authRequired ? { authRequired: true } : {}),
    ...(hello.serves ? { serves: true } : {}),
    ...(hello.metadata ? { metadata: true } : {}),
    ...(hello.batch ? { batch: true } : {}),
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
 * @param decoder The decoder of the connection's codec.
 * @param frame The first frame body.
 * @returns What the peer says about itself.
 * @throws {ProtocolError} `PROTOCOL` when it is not an isock hello of this version.
 */
export function decodeHello(decoder: Decoder, frame: Uint8Array): Hello {
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
    fields = decoder.decode(frame.subarray(magic + 1));
  } catch (error) {
    throw new ProtocolError("PROTOCOL", "The peer's hello is malformed.", {
      cause: error,
    });
  }
  if (!isRecord(fields)) {
    throw new ProtocolError("PROTOCOL", "The peer's hello has no fields.");
  }
  const { maxFrameSize, nonce, authRequired, serves, metadata, batch } = fields;
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
    metadata: metadata === true,
    batch: batch === true,
  };
}
