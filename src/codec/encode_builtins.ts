/**
 * The encoding side of isock's own extension types (PROTOCOL.md,
 * "Extension types"): `Date`, `bigint`, typed arrays and `DataView`,
 * `ArrayBuffer`, `RegExp`, `Map`, `Set`, and the fields an `Error` is sent
 * with. Each writes through a {@linkcode MessagePackWriter}; the decoding
 * side is decode_builtins.ts.
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";
import { bigIntToBytes } from "./bigint_bytes.ts";
import { ExtensionType, TYPED_ARRAY_KINDS } from "./extension.ts";
import { type MessagePackWriter, TWO_POW_32 } from "./msgpack_writer.ts";

/** Fields that hold stack traces: an error's, and a `RemoteError`'s from its server. */
export const STACK_FIELDS: ReadonlySet<string> = new Set([
  "stack",
  "remoteStack",
]);

/**
 * Writes a `Date` as MessagePack's timestamp (the shortest of its three
 * sizes that holds it), or an invalid one as {@linkcode ExtensionType.INVALID_DATE}.
 *
 * @param writer Where to write.
 * @param value The date.
 */
export function writeDate(writer: MessagePackWriter, value: Date): void {
  writer.ensure(18);
  const time = value.getTime();
  if (Number.isNaN(time)) {
    writer.writeExtensionHeader(0, ExtensionType.INVALID_DATE);
    return;
  }
  const seconds = Math.floor(time / 1000);
  const nanoseconds = (time - seconds * 1000) * 1_000_000;
  if (seconds >= 0 && seconds < 0x4_0000_0000) {
    if (nanoseconds === 0 && seconds < TWO_POW_32) {
      writer.writeExtensionHeader(4, ExtensionType.TIMESTAMP);
      writer.view.setUint32(writer.position, seconds);
      writer.position += 4;
    } else {
      // timestamp 64: 30 bits of nanoseconds, then 34 bits of seconds.
      writer.writeExtensionHeader(8, ExtensionType.TIMESTAMP);
      const high = nanoseconds * 4 + Math.floor(seconds / TWO_POW_32);
      writer.view.setUint32(writer.position, high);
      writer.view.setUint32(writer.position + 4, seconds >>> 0);
      writer.position += 8;
    }
  } else {
    writer.writeExtensionHeader(12, ExtensionType.TIMESTAMP);
    writer.view.setUint32(writer.position, nanoseconds);
    writer.view.setBigInt64(writer.position + 4, BigInt(seconds));
    writer.position += 12;
  }
}

/**
 * Writes a `bigint` as its two's complement bytes.
 *
 * @param writer Where to write.
 * @param value The bigint.
 */
export function writeBigInt(writer: MessagePackWriter, value: bigint): void {
  const bytes = bigIntToBytes(value);
  writer.writeExtensionHeader(bytes.length, ExtensionType.BIGINT);
  writer.writeBytes(bytes);
}

/**
 * Writes a typed array other than `Uint8Array`, or a `DataView`: its kind
 * byte, then its bytes.
 *
 * @param writer Where to write.
 * @param value The view.
 * @throws {CodecError} `ENCODE_FAILED` for a view class ECMAScript does not define.
 */
export function writeTypedArray(
  writer: MessagePackWriter,
  value: ArrayBufferView,
): void {
  const kind = TYPED_ARRAY_KINDS.findIndex((type) => value instanceof type);
  if (kind < 0) {
    throw new CodecError(
      "ENCODE_FAILED",
      `Cannot encode a ${value.constructor.name}: isock sends the typed arrays of ECMAScript and DataView.`,
    );
  }
  const bytes = new Uint8Array(
    value.buffer,
    value.byteOffset,
    value.byteLength,
  );
  writer.writeExtensionHeader(1 + bytes.byteLength, ExtensionType.TYPED_ARRAY);
  writer.ensure(1);
  writer.arena[writer.position++] = kind;
  writer.writeBytes(bytes);
}

/**
 * Writes an `ArrayBuffer`'s bytes.
 *
 * @param writer Where to write.
 * @param value The buffer.
 */
export function writeArrayBuffer(
  writer: MessagePackWriter,
  value: ArrayBuffer,
): void {
  writer.writeExtensionHeader(value.byteLength, ExtensionType.ARRAY_BUFFER);
  writer.writeBytes(new Uint8Array(value));
}

/**
 * Writes a `RegExp` as `[source, flags]`.
 *
 * @param writer Where to write.
 * @param value The pattern.
 */
export function writeRegExp(writer: MessagePackWriter, value: RegExp): void {
  writer.writePatchedExtension(ExtensionType.REGEXP, () => {
    writer.writeArrayHeader(2);
    writer.writeString(value.source);
    writer.writeString(value.flags);
  });
}

/**
 * Writes a `Map` as a MessagePack map whose keys may be any value.
 *
 * @param writer Where to write.
 * @param value The map.
 * @param depth How deep the map sits.
 */
export function writeMap(
  writer: MessagePackWriter,
  value: Map<unknown, unknown>,
  depth: number,
): void {
  writer.writePatchedExtension(ExtensionType.MAP, () => {
    writer.writeMapHeader(value.size);
    for (const [key, item] of value) {
      writer.writeValue(key, depth + 1);
      writer.writeValue(item, depth + 1);
    }
  });
}

/**
 * Writes a `Set` as a MessagePack array.
 *
 * @param writer Where to write.
 * @param value The set.
 * @param depth How deep the set sits.
 */
export function writeSet(
  writer: MessagePackWriter,
  value: Set<unknown>,
  depth: number,
): void {
  writer.writePatchedExtension(ExtensionType.SET, () => {
    writer.writeArrayHeader(value.size);
    for (const item of value) writer.writeValue(item, depth + 1);
  });
}

/**
 * Gathers what an `Error` is sent with: its name, message, stack (unless
 * withheld), cause, an `AggregateError`'s errors, and its own fields.
 *
 * @param value The error.
 * @param hasStacks Whether stacks go (`stack`, and a `RemoteError`'s `remoteStack`).
 * @returns The fields, as a plain object to write as the extension's payload.
 *
 * @example
 * ```ts
 * import { errorFields } from "./encode_builtins.ts";
 * import assert from "node:assert/strict";
 *
 * const error = Object.assign(new RangeError("far"), { code: 7 });
 * assert.deepEqual(errorFields(error, false), { name: "RangeError", message: "far", code: 7 });
 * ```
 */
export function errorFields(
  value: Error,
  hasStacks: boolean,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    name: value.name,
    message: value.message,
  };
  if (hasStacks && typeof value.stack === "string") {
    fields.stack = value.stack;
  }
  if ("cause" in value) fields.cause = value.cause;
  if (value instanceof AggregateError) fields.errors = value.errors;
  for (const key of Object.keys(value)) {
    if (!hasStacks && STACK_FIELDS.has(key)) continue;
    if (!(key in fields)) {
      fields[key] = (value as unknown as Record<string, unknown>)[key];
    }
  }
  return fields;
}
