/**
 * Sends isock messages over the bus: encoded once, checked against this
 * side's `maxFrameSize`, and cut into FRAGMENT pieces when they are larger
 * than the NATS server's `max_payload` (PROTOCOL.md, "Over NATS").
 *
 * @module
 */

import { concat } from "../base/bytes.ts";
import { ClientError } from "../base/errors.ts";
import type { MessageCodec } from "../protocol/message_codec.ts";
import { pieces } from "../protocol/fragments.ts";
import { outgoing, type OutgoingMessage } from "../protocol/message_table.ts";
import type { BusConnection } from "./bus.ts";

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
