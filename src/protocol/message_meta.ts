/**
 * The meta maps of the message table: a request's optional fields
 * (deadline, stream window, input, resume point, metadata) and an answer's
 * metadata, with how each is read and checked into the decoded message.
 * Unknown keys are ignored, so later versions can add fields.
 *
 * @module
 */

import type { ClientError } from "../base/errors.ts";
import { type Metadata, metadataFromWire } from "./metadata.ts";
import { isCount, isRecord, malformed } from "./malformed.ts";
import { MAX_WINDOW } from "./message_type.ts";

/** A message being decoded (the table's `Draft`). */
type Draft = Record<string, unknown>;

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
