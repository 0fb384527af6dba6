/**
 * Everything a session sends goes out here: encoding, the size check
 * against the peer's `maxFrameSize`, fragmentation of large messages within
 * the peer's reassembly budget, and the guard that drops what is sent once
 * the connection is closed.
 *
 * @module
 */

import { ClientError, CodecError, type IsockError } from "../base/errors.ts";
import {
  FRAGMENT_SIZE,
  FRAGMENT_THRESHOLD,
  MAX_FRAGMENTED,
  pieces,
} from "../protocol/fragments.ts";
import type { Hello } from "../protocol/hello.ts";
import {
  safeString,
  type WireError,
  wireError,
} from "../protocol/wire_error.ts";
import {
  type AnswerMeta,
  outgoing,
  type OutgoingMessage,
} from "../protocol/message_table.ts";
import type { Metadata } from "../protocol/metadata.ts";
import type { MessageOut, PeerFeatures } from "./connection.ts";

/** Where an {@linkcode Outbox} writes frames: the transport, or a fake. */
export interface FrameSink {
  /** Queues a frame, its body given as parts; never throws. */
  send(body: readonly Uint8Array[]): void;
  /** Resolves once everything queued is written. */
  drain(): Promise<void>;
}

/** How an {@linkcode Outbox} writes messages: the message codec, or a fake. */
export interface MessageEncoder {
  /** Encodes a message into frame body parts. */
  encode(message: OutgoingMessage): Uint8Array[];
  /** Encodes a hello frame body. */
  encodeHello(hello: Hello): Uint8Array;
}

/**
 * Sends a session's messages.
 *
 * @example
 * ```ts
 * import { Outbox } from "./outbox.ts";
 * import { MessageCodec } from "../protocol/message_codec.ts";
 * import { outgoing } from "../protocol/message_table.ts";
 * import assert from "node:assert/strict";
 *
 * const frames: Uint8Array[][] = [];
 * const sink = { send: (parts: readonly Uint8Array[]) => void frames.push([...parts]), drain: () => Promise.resolve() };
 * const outbox = new Outbox(sink, new MessageCodec([]), true);
 * outbox.send(outgoing.ping(1));
 * outbox.close();
 * outbox.sendIfOpen(outgoing.ping(2));
 * assert.equal(frames.length, 1);
 * ```
 */
export class Outbox implements MessageOut {
  readonly #sink: FrameSink;
  readonly #codec: MessageEncoder;
  readonly #exposeStack: boolean;
  /** The largest frame the peer accepts, once its hello said. */
  #peerLimit = Infinity;
  /** Whether the peer's hello said it reads answers' metadata: else none is sent. */
  #peerTakesMetadata = false;
  #isClosed = false;
  #nextFragment = 1;
  /** Fragmented messages on their way, and their total size: kept within the peer's budget. */
  #fragmentsOut = 0;
  #fragmentBytesOut = 0;
  #fragmentWaiters: (() => void)[] = [];

  /**
   * Sends through `sink`, encoding with `codec`.
   *
   * @param sink Where frames go.
   * @param codec How messages are encoded.
   * @param exposeStack Whether error stacks are sent; they are when omitted.
   */
  constructor(sink: FrameSink, codec: MessageEncoder, exposeStack = true) {
    this.#sink = sink;
    this.#codec = codec;
    this.#exposeStack = exposeStack;
  }

  /** Whether the connection is gone: messages are dropped. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /**
   * The peer's hello arrived: frames above its `maxFrameSize` are refused
   * before they go, fragmented messages stay within it, and answers carry
   * their metadata if it reads it.
   *
   * @param features What the peer's hello settled.
   */
  negotiated(features: PeerFeatures): void {
    this.#peerLimit = features.maxFrameSize;
    this.#peerTakesMetadata = features.metadata;
  }

  /** The connection is gone: later messages are dropped, fragments stop. */
  close(): void {
    this.#isClosed = true;
    for (const wake of this.#fragmentWaiters.splice(0)) wake();
  }

  /**
   * Sends this side's hello.
   *
   * @param hello The hello.
   */
  hello(hello: Hello): void {
    this.#sink.send([this.#codec.encodeHello(hello)]);
  }

  /**
   * Encodes and sends a small control message, even while closing (a
   * goodbye, a pong, an authentication message).
   *
   * @param message The message.
   */
  send(message: OutgoingMessage): void {
    // A failed write closes the connection; the session hears of it.
    this.#sink.send(this.#codec.encode(message));
  }

  /**
   * Encodes and sends a small control message, unless the connection is gone.
   *
   * @param message The message.
   */
  sendIfOpen(message: OutgoingMessage): void {
    if (!this.#isClosed) this.#sink.send(this.#codec.encode(message));
  }

  /**
   * Encodes a message that carries user data and checks its size.
   *
   * @param message The message.
   * @param what What it is, for the error.
   * @returns The frame body parts.
   * @throws {CodecError} When it cannot be encoded.
   * @throws {ClientError} `FRAME_TOO_LARGE` when the peer would refuse it.
   */
  encodeChecked(message: OutgoingMessage, what: string): Uint8Array[] {
    const parts = this.#codec.encode(message);
    this.#checkSize(parts, what);
    return parts;
  }

  /**
   * Encodes and sends a stream item (or input), unless the connection is gone.
   *
   * @param message The message.
   * @returns A promise while a large message goes out in fragments.
   * @throws {CodecError} When it cannot be encoded.
   * @throws {ClientError} `FRAME_TOO_LARGE` when the peer would refuse it.
   */
  sendChecked(message: OutgoingMessage): void | Promise<void> {
    if (this.#isClosed) return;
    return this.sendData(this.encodeChecked(message, "A stream item"));
  }

  /**
   * Encodes and sends a batch of stream items (or inputs), unless the
   * connection is gone, and says how large it was: the byte credit counts
   * it (PROTOCOL.md, "Batches").
   *
   * @param message The message.
   * @returns Its size in bytes; a promise of it while a large one goes out in fragments.
   * @throws {CodecError} When it cannot be encoded.
   * @throws {ClientError} `FRAME_TOO_LARGE` when the peer would refuse it.
   */
  sendMeasured(message: OutgoingMessage): number | Promise<number> {
    if (this.#isClosed) return 0;
    const parts = this.encodeChecked(message, "A batch of stream items");
    const size = byteLength(parts);
    const sending = this.sendData(parts);
    return sending === undefined ? size : sending.then(() => size);
  }

  /**
   * Sends a message that may be large. Over 1.5 MiB it goes in 1 MiB
   * fragments, one write round each, so that other calls' messages pass
   * between them.
   *
   * @param parts The encoded message.
   * @returns A promise that says when the last fragment is queued, for a large one.
   */
  sendData(parts: Uint8Array[]): void | Promise<void> {
    const size = byteLength(parts);
    if (size <= FRAGMENT_THRESHOLD) return this.#sink.send(parts);
    return this.#sendFragments(parts, size);
  }

  /**
   * Answers request `id` with its result; a result that cannot be encoded
   * or is too large is answered with an error instead.
   *
   * @param id The request id.
   * @param value The result.
   * @param metadata The answer's metadata, if any.
   */
  result(id: number, value: unknown, metadata?: Metadata): void {
    if (this.#isClosed) return;
    let parts: Uint8Array[];
    try {
      parts = this.#codec.encode(
        outgoing.result(id, value, this.answerMeta(metadata)),
      );
    } catch (error) {
      return this.error(
        id,
        this.wireError(
          "ACTION_FAILED",
          new CodecError(
            "ENCODE_FAILED",
            `The action's result cannot be sent: ${(error as Error).message}`,
          ),
        ),
      );
    }
    try {
      this.#checkSize(parts, "The result");
    } catch (error) {
      return this.error(id, {
        code: "FRAME_TOO_LARGE",
        name: "RemoteError",
        message: (error as Error).message,
      });
    }
    this.sendData(parts);
  }

  /**
   * Answers request `id` with an error, unless the connection is gone.
   *
   * @param id The request id.
   * @param error The error object.
   * @param metadata The answer's metadata, if any.
   */
  error(id: number, error: WireError, metadata?: Metadata): void {
    if (this.#isClosed) return;
    this.#sink.send(this.#encodeError(id, error, this.answerMeta(metadata)));
  }

  /**
   * The meta item of an answer: `undefined` (left out) without metadata,
   * or when the peer did not say it reads it.
   *
   * @param metadata The answer's metadata.
   * @returns The item.
   */
  answerMeta(metadata: Metadata | undefined): AnswerMeta | undefined {
    return metadata === undefined || metadata.size === 0 ||
        !this.#peerTakesMetadata
      ? undefined
      : { metadata: metadata.toJSON() };
  }

  /**
   * Says this side is leaving, and why when it closes for an error: code
   * and message only, never a stack or a cause.
   *
   * @param error Why, if for an error.
   */
  goodbye(error?: IsockError): void {
    if (error === undefined) return this.send(outgoing.goodbye());
    this.send(outgoing.goodbye({
      code: error.code,
      name: error.name,
      message: error.message,
    }));
  }

  /** Encodes an ERROR message, dropping from its error object what cannot be encoded. */
  #encodeError(
    id: number,
    error: WireError,
    meta: AnswerMeta | undefined,
  ): Uint8Array[] {
    try {
      return this.#codec.encode(outgoing.error(id, error, meta));
    } catch {
      const { cause: _cause, fields: _fields, ...plain } = error;
      return this.#codec.encode(outgoing.error(id, {
        ...plain,
        message: safeString(plain.message),
      }, meta));
    }
  }

  /**
   * The error object sent for a thrown value; stacks only when allowed.
   *
   * @param code The error code.
   * @param thrown What was thrown.
   * @returns The error object.
   */
  wireError(code: string, thrown: unknown): WireError {
    return wireError(code, thrown, this.#exposeStack);
  }

  async #sendFragments(parts: Uint8Array[], size: number): Promise<void> {
    // The peer holds at most its maxFrameSize in messages being
    // reassembled, and MAX_FRAGMENTED of them: wait for room.
    const budget = this.#peerLimit;
    while (
      !this.#isClosed &&
      (this.#fragmentsOut >= MAX_FRAGMENTED ||
        (this.#fragmentsOut > 0 && this.#fragmentBytesOut + size > budget))
    ) {
      await new Promise<void>((resolve) => this.#fragmentWaiters.push(resolve));
    }
    this.#fragmentsOut++;
    this.#fragmentBytesOut += size;
    try {
      const id = this.#nextFragment++;
      for (const piece of pieces(parts, FRAGMENT_SIZE)) {
        if (this.#isClosed) return;
        this.#sink.send(
          this.#codec.encode(outgoing.fragment(id, size, piece)),
        );
        await this.#sink.drain();
      }
    } finally {
      this.#fragmentsOut--;
      this.#fragmentBytesOut -= size;
      for (const wake of this.#fragmentWaiters.splice(0)) wake();
    }
  }

  /** @throws {ClientError} `FRAME_TOO_LARGE` when the peer would refuse a frame this large. */
  #checkSize(parts: readonly Uint8Array[], what: string): void {
    const size = byteLength(parts);
    const limit = this.#peerLimit;
    if (size > limit) {
      throw new ClientError(
        "FRAME_TOO_LARGE",
        `${what} is ${size} bytes; the peer accepts frames of at most ${limit} bytes (its maxFrameSize).`,
      );
    }
  }
}

function byteLength(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  return length;
}
