/**
 * The checks that incoming messages share, and the one error a malformed
 * message raises: `PROTOCOL`, whose message says what was wrong.
 *
 * @module
 */

import { CodecError, ProtocolError } from "../base/errors.ts";

/**
 * The error for a message that breaks the protocol.
 *
 * @param reason What was wrong, as a phrase (no capital, no full stop).
 * @param cause The decoding error behind it, if any.
 * @returns A `PROTOCOL` error to throw.
 * @example
 * ```ts
 * import { malformed } from "./malformed.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   malformed("a credit must be a positive whole number").message,
 *   "The peer sent a malformed message: a credit must be a positive whole number.",
 * );
 * ```
 */
export function malformed(reason: string, cause?: unknown): ProtocolError {
  return new ProtocolError(
    "PROTOCOL",
    `The peer sent a malformed message: ${reason}.`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Whether a value is a whole number from 0 to 2^53 - 1 (an id, a count).
 *
 * @param value A decoded value.
 * @returns `true` for a safe non-negative integer.
 */
export function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Whether a value is a MessagePack map decoded as an object.
 *
 * @param value A decoded value.
 * @returns `true` for an object that is not an array nor a `Map`.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Map);
}

/**
 * Whether a value is a plain object (no class, no extension type).
 *
 * @param value A decoded value.
 * @returns `true` when its prototype is `Object.prototype`.
 */
export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
  return typeof value === "object" && value !== null &&
    Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Names a message type for an error message, without calling into the value.
 *
 * @param type The first item of a message.
 * @returns The number, or the type of what came instead.
 */
export function describeType(type: unknown): string {
  return typeof type === "number" ? String(type) : typeof type;
}

/**
 * The decoding error of a user value, as a `CodecError` to hand to its call.
 *
 * @param error What the decoder threw.
 * @returns It when it is a `CodecError`, else a `DECODE_FAILED` one.
 */
export function asCodecError(error: unknown): CodecError {
  return error instanceof CodecError
    ? error
    : new CodecError("DECODE_FAILED", String(error), { cause: error });
}

/**
 * The items of a batch message (PROTOCOL.md, "Batches"): an array of at
 * least one.
 *
 * @param items The `items` item as decoded.
 * @returns The items.
 * @throws {ProtocolError} `PROTOCOL` when it is not a non-empty array.
 */
export function batchItems(items: unknown): unknown[] {
  if (!Array.isArray(items) || items.length === 0) {
    throw malformed("a batch's items must be an array of at least one");
  }
  return items;
}
