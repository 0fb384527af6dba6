/**
 * Extension types: how values that MessagePack has no type for travel.
 * isock's own types use the ids in {@linkcode ExtensionType}; user classes
 * use ids from {@linkcode FIRST_USER_EXTENSION_TYPE} to 127. See PROTOCOL.md,
 * "Extension types".
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";

/**
 * A user class that travels as itself: both peers register the same
 * extension (same `type`, same class), and instances arrive as instances.
 *
 * `encode` turns an instance into any value isock can send (its fields, an
 * array, a string…); `decode` builds the instance back from that value.
 *
 * @typeParam T The class's instance type.
 * @typeParam D The value an instance is sent as.
 */
export interface Extension<T = unknown, D = unknown> {
  /** The extension type id, from 32 to 127, unique among your extensions. */
  readonly type: number;
  /** The class whose instances (and subclass instances) this extension sends. */
  // deno-lint-ignore no-explicit-any
  readonly class: abstract new (...args: any[]) => T;
  /** Turns an instance into a value isock can send. */
  encode(value: T): D;
  /** Builds an instance back from what {@linkcode Extension.encode} returned. */
  decode(data: D): T;
}

/**
 * Declares an extension with its types inferred: `decode` receives what
 * `encode` returned.
 *
 * @param extension The type id, the class, and how to encode and decode it.
 * @returns The same extension, checked.
 * @throws {CodecError} `INVALID_EXTENSION` when the type id is not an integer from 32 to 127.
 *
 * @example Send a class as itself
 * ```ts
 * import { Codec, defineExtension } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * class Point {
 *   constructor(readonly x: number, readonly y: number) {}
 * }
 * const point = defineExtension({
 *   type: 40,
 *   class: Point,
 *   encode: (p) => [p.x, p.y],
 *   decode: ([x, y]) => new Point(x, y),
 * });
 *
 * const codec = new Codec({ extensions: [point] });
 * const back = codec.decode(codec.encode(new Point(1, 2)));
 * assert.ok(back instanceof Point);
 * assert.deepEqual(back, new Point(1, 2));
 * ```
 */
export function defineExtension<T, D>(
  extension: Extension<T, D>,
): Extension<T, D> {
  checkExtensionType(extension.type);
  return extension;
}

/** The lowest extension type id a user extension may use. */
export const FIRST_USER_EXTENSION_TYPE = 32;

/** The extension type ids isock itself uses (PROTOCOL.md, "Extension types"). */
export const ExtensionType = {
  /** MessagePack's own timestamp type, for `Date`. */
  TIMESTAMP: -1,
  /** `undefined`; payload one zero byte. */
  UNDEFINED: 0,
  /** A missing element of a sparse array; payload one zero byte. */
  HOLE: 1,
  /** `bigint`; payload the two's complement, big-endian, fewest bytes. */
  BIGINT: 2,
  /** `Map`; payload a MessagePack map with keys of any type. */
  MAP: 3,
  /** `Set`; payload a MessagePack array. */
  SET: 4,
  /** `Error`; payload a MessagePack map: name, message, stack, cause, more. */
  ERROR: 5,
  /** A typed array other than `Uint8Array`, or a `DataView`; payload a kind byte then the bytes, little-endian. */
  TYPED_ARRAY: 6,
  /** `ArrayBuffer`; payload its bytes. */
  ARRAY_BUFFER: 7,
  /** `RegExp`; payload a MessagePack array `[source, flags]`. */
  REGEXP: 8,
  /** A `Date` whose time is `NaN`; empty payload. */
  INVALID_DATE: 9,
} as const;

/**
 * The kind byte that starts a {@linkcode ExtensionType.TYPED_ARRAY} payload:
 * the index of the constructor in this list.
 */
export const TYPED_ARRAY_KINDS = [
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
] as const;

/** Throws unless `type` may be used by a user extension. */
export function checkExtensionType(type: number): void {
  if (
    !Number.isInteger(type) || type < FIRST_USER_EXTENSION_TYPE || type > 127
  ) {
    throw new CodecError(
      "INVALID_EXTENSION",
      `Extension type ${type} is not allowed: use an integer from ${FIRST_USER_EXTENSION_TYPE} to 127 (lower ids are isock's own).`,
    );
  }
}

/**
 * Runs `extension.encode` on `value`.
 *
 * @throws {CodecError} `ENCODE_FAILED` when `encode` throws.
 */
export function encodeExtension(extension: Extension, value: object): unknown {
  try {
    return extension.encode(value);
  } catch (error) {
    throw new CodecError(
      "ENCODE_FAILED",
      `Extension ${extension.type} (${extension.class.name}) failed to encode a value: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
}

/** Checks that every extension has a class and its own allowed type id. */
export function checkExtensions(
  extensions: readonly Extension[],
): readonly Extension[] {
  const types = new Set<number>();
  for (const extension of extensions) {
    checkExtensionType(extension.type);
    if (types.has(extension.type)) {
      throw new CodecError(
        "INVALID_EXTENSION",
        `Two extensions use type ${extension.type}: give each class its own id.`,
      );
    }
    if (typeof extension.class !== "function") {
      throw new CodecError(
        "INVALID_EXTENSION",
        `Extension ${extension.type} has no class.`,
      );
    }
    types.add(extension.type);
  }
  // The encoder takes the first extension whose class an instance belongs
  // to: subclasses go first, so a Point3D is not sent as the Point it extends.
  return Object.freeze(
    [...extensions].sort((a, b) => depthOf(b.class) - depthOf(a.class)),
  );
}

/** How many classes a class descends from. */
function depthOf(constructor: { prototype: unknown }): number {
  let depth = 0;
  for (
    let prototype = Object.getPrototypeOf(constructor.prototype);
    prototype !== null;
    prototype = Object.getPrototypeOf(prototype)
  ) depth++;
  return depth;
}
