/**
 * The decoding side of isock's own extension types (PROTOCOL.md,
 * "Extension types"): markers (`undefined`, array holes), `Date`, typed
 * arrays and `DataView`, and the values built from a decoded payload
 * (`Map`, `Set`, `Error`, `RegExp`). Each checks its payload as strictly as
 * the rest of the decoder; the encoding side is encode_builtins.ts.
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";
import { decodeError, hex } from "./byte_reader.ts";
import { TYPED_ARRAY_KINDS } from "./extension.ts";

/** The largest time a `Date` holds, in milliseconds either side of 1970. */
const MAX_DATE_TIME = 8.64e15;
const TWO_POW_32 = 0x1_0000_0000;

const ERROR_CLASSES: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/**
 * Checks the payload of a marker extension: exactly one zero byte.
 *
 * @param bytes The input.
 * @param start Where the payload starts (its type byte just before).
 * @param length The payload's length.
 * @param what What the marker stands for, for the error.
 * @throws {CodecError} `DECODE_FAILED` for any other payload.
 */
export function expectMarker(
  bytes: Uint8Array,
  start: number,
  length: number,
  what: string,
): void {
  if (length !== 1 || bytes[start] !== 0) {
    throw decodeError(`${what} must be written d4 ${hex(bytes[start - 1])} 00`);
  }
}

/**
 * Reads MessagePack's timestamp, in any of its three sizes.
 *
 * @param view The input.
 * @param start Where the payload starts.
 * @param length The payload's length: 4, 8 or 12.
 * @returns The date.
 * @throws {CodecError} `DECODE_FAILED` for another length, nanoseconds
 * past a second, or a time beyond a `Date`'s range.
 *
 * @example
 * ```ts
 * import { readTimestamp } from "./decode_builtins.ts";
 * import assert from "node:assert/strict";
 *
 * const view = new DataView(new Uint8Array([0, 0, 0, 1]).buffer);
 * assert.deepEqual(readTimestamp(view, 0, 4), new Date(1000));
 * ```
 */
export function readTimestamp(
  view: DataView,
  start: number,
  length: number,
): Date {
  let seconds: number;
  let nanoseconds: number;
  if (length === 4) {
    seconds = view.getUint32(start);
    nanoseconds = 0;
  } else if (length === 8) {
    const high = view.getUint32(start);
    nanoseconds = high >>> 2;
    seconds = (high & 0x3) * TWO_POW_32 + view.getUint32(start + 4);
  } else if (length === 12) {
    nanoseconds = view.getUint32(start);
    seconds = Number(view.getBigInt64(start + 4));
  } else {
    throw decodeError(`a timestamp of ${length} bytes`);
  }
  if (nanoseconds >= 1_000_000_000) {
    throw decodeError(`a timestamp with ${nanoseconds} nanoseconds`);
  }
  const time = seconds * 1000 + Math.floor(nanoseconds / 1_000_000);
  // Beyond Date's range: an invalid date travels as extension 9 instead.
  if (!(Math.abs(time) <= MAX_DATE_TIME)) {
    throw decodeError(`a timestamp of ${seconds} seconds, beyond a Date`);
  }
  return new Date(time);
}

/**
 * Reads an invalid `Date`, whose payload is empty.
 *
 * @param length The payload's length.
 * @returns A `Date` whose time is `NaN`.
 * @throws {CodecError} `DECODE_FAILED` for a payload that is not empty.
 */
export function readInvalidDate(length: number): Date {
  if (length !== 0) {
    throw decodeError(`an invalid Date with a payload of ${length} bytes`);
  }
  return new Date(NaN);
}

/**
 * Reads a typed array or `DataView`: a kind byte, then the bytes, copied
 * (the frame's offset rarely fits the element alignment).
 *
 * @param bytes The input.
 * @param start Where the payload starts.
 * @param end Where it ends.
 * @returns The view, over a buffer of its own.
 * @throws {CodecError} `DECODE_FAILED` without a known kind, or for bytes
 * that do not make whole elements.
 */
export function readTypedArray(
  bytes: Uint8Array,
  start: number,
  end: number,
): ArrayBufferView {
  if (start === end) throw decodeError("a typed array without its kind");
  const Kind = TYPED_ARRAY_KINDS[bytes[start]];
  if (Kind === undefined) {
    throw decodeError(`unknown typed array kind ${bytes[start]}`);
  }
  const buffer = bytes.slice(start + 1, end).buffer;
  if (Kind === DataView) return new DataView(buffer);
  const elementSize = (Kind as { BYTES_PER_ELEMENT: number })
    .BYTES_PER_ELEMENT;
  if (buffer.byteLength % elementSize !== 0) {
    throw decodeError(
      `${buffer.byteLength} bytes do not make a whole ${Kind.name}`,
    );
  }
  return new (Kind as Int8ArrayConstructor)(buffer);
}

/**
 * Builds a `Map` from its decoded payload.
 *
 * @param payload A map: a `Map` when some key is not a string, an object otherwise.
 * @returns The map.
 * @throws {CodecError} `DECODE_FAILED` for anything else.
 */
export function toMap(payload: unknown): Map<unknown, unknown> {
  if (payload instanceof Map) return payload;
  if (
    payload !== null && typeof payload === "object" && !Array.isArray(payload)
  ) {
    return new Map(Object.entries(payload));
  }
  throw decodeError("a Map must hold a map");
}

/**
 * Builds a `Set` from its decoded payload.
 *
 * @param payload An array.
 * @returns The set.
 * @throws {CodecError} `DECODE_FAILED` for anything else.
 */
export function toSet(payload: unknown): Set<unknown> {
  if (!Array.isArray(payload)) throw decodeError("a Set must hold an array");
  return new Set(payload);
}

/**
 * Builds a `RegExp` from its decoded payload.
 *
 * @param payload `[source, flags]`.
 * @returns The pattern.
 * @throws {CodecError} `DECODE_FAILED` for another shape or a pattern
 * this runtime refuses.
 */
export function toRegExp(payload: unknown): RegExp {
  if (
    !Array.isArray(payload) || typeof payload[0] !== "string" ||
    typeof payload[1] !== "string"
  ) {
    throw decodeError("a RegExp must hold [source, flags]");
  }
  try {
    return new RegExp(payload[0], payload[1]);
  } catch (error) {
    throw new CodecError("DECODE_FAILED", `Invalid RegExp: ${error}`, {
      cause: error,
    });
  }
}

const ERROR_FIELDS = new Set(["name", "message", "stack", "cause", "errors"]);

/**
 * Builds a decoded `Error`. It is made with `Error.stackTraceLimit` at 0:
 * its stack is the one that came over the wire, and capturing a local one
 * would cost a kilobyte and microseconds for three bytes of input. Other
 * fields become own properties, except names the error inherits
 * (`toString`, `constructor`…): a peer must not be able to make
 * `String(error)` throw in the code that receives it.
 *
 * @param payload A map of the error's fields.
 * @returns The error, of the standard class its name gives (else `Error`).
 * @throws {CodecError} `DECODE_FAILED` when the payload is not a map.
 *
 * @example
 * ```ts
 * import { toError } from "./decode_builtins.ts";
 * import assert from "node:assert/strict";
 *
 * const error = toError({ name: "RangeError", message: "far", toString: 1 });
 * assert.ok(error instanceof RangeError);
 * assert.equal(String(error), "RangeError: far");
 * ```
 */
export function toError(payload: unknown): Error {
  if (
    payload === null || typeof payload !== "object" || Array.isArray(payload)
  ) {
    throw decodeError("an Error must hold a map");
  }
  const fields = payload as Record<string, unknown>;
  const name = typeof fields.name === "string" ? fields.name : "Error";
  const message = typeof fields.message === "string" ? fields.message : "";
  const error = withoutStackTrace(() => {
    const options = "cause" in fields ? { cause: fields.cause } : undefined;
    return name === "AggregateError"
      ? new AggregateError(
        Array.isArray(fields.errors) ? fields.errors : [],
        message,
        options,
      )
      : new (Object.hasOwn(ERROR_CLASSES, name) ? ERROR_CLASSES[name] : Error)(
        message,
        options,
      );
  });
  if (error.name !== name) error.name = name;
  // Assigned, not defined: redefining V8's own `stack` property turns the
  // error into a slow dictionary object three times the size.
  error.stack = typeof fields.stack === "string" ? fields.stack : undefined;
  for (const key of Object.keys(fields)) {
    if (!ERROR_FIELDS.has(key) && !(key in error)) {
      Object.defineProperty(error, key, {
        value: fields[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return error;
}

/** Runs `make` with V8's stack capture off, when the runtime lets us turn it off. */
function withoutStackTrace<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 0;
  } catch {
    // Frozen by the application (a hardened realm): capture as usual.
    return make();
  }
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
