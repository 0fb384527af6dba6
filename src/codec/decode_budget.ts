/**
 * The decode budget: what a MessagePack value may cost to decode, measured
 * before anything is built. A few bytes can stand for a lot of memory (an
 * empty array is one byte in, 40 bytes of heap out; an empty binary two
 * bytes in, 200 out), so {@linkcode Decoder} walks a large value's bytes
 * once, adding up an estimate of the memory its values will take, and
 * refuses it with `DECODE_BUDGET` when the estimate exceeds
 * {@linkcode BUDGET_PER_BYTE} units per byte plus {@linkcode BUDGET_BASE},
 * or {@linkcode MAX_BUDGET} whatever the size.
 * The walk allocates nothing and takes a few nanoseconds per value, so a
 * hostile message is refused for about the cost of reading it.
 *
 * A unit is about one pointer of heap (8 bytes): a small integer in an
 * array costs 1, an empty array 6, an empty map 8, a binary 26, an `Error`
 * 80 (it is slow to build too). Ordinary data stays under the budget:
 * arrays of numbers cost about 1 unit per byte, arrays of small objects or
 * of pairs 2 to 3.5.
 *
 * @module
 */

import { CodecError } from "../base/errors.ts";
import { ExtensionType } from "./extension.ts";

/** Units a value may cost per byte of its encoding. */
export const BUDGET_PER_BYTE = 4;

/** Units any value may cost, whatever its size: small values are never refused. */
export const BUDGET_BASE = 1 << 18;

/**
 * Values this long or shorter are not measured: even the densest bytes
 * (errors of an empty map, `d4 05 80`, about 30 units a byte) cannot
 * exceed {@linkcode BUDGET_BASE}.
 */
export const UNMEASURED_BYTES = 8 * 1024;

/**
 * Units no value may exceed, however large: about 64 MiB of heap and, for
 * the densest ordinary data (arrays of small numbers), well under a second
 * of decoding. Decoding runs in one go, so this bounds how long one message
 * can keep every other connection waiting. Large strings and binaries cost
 * a few units each and are not limited by it.
 */
export const MAX_BUDGET = 1 << 23;

/** The most units a value of `byteLength` bytes may cost. */
export function budgetFor(byteLength: number): number {
  return Math.min(BUDGET_PER_BYTE * byteLength + BUDGET_BASE, MAX_BUDGET);
}

/** What {@linkcode measureValue} found. */
export interface Measure {
  /** The estimated cost, in units (see the module doc). */
  cost: number;
  /** Where the value ends: `end` when its bytes end early. */
  end: number;
}

// Costs, in units, of what each kind of value adds to the slot it fills.
const STRING = 2;
const ARRAY = 5;
const MAP = 7;
const MAP_ENTRY = 3;
const BINARY = 26;
const DATE = 13;
const BIGINT = 4;
const COLLECTION = 25;
const COLLECTION_ENTRY = 3;
const ERROR = 80;
const TYPED_ARRAY = 26;
const ARRAY_BUFFER = 14;
const REGEXP = 10;
const USER_EXTENSION = 8;

/**
 * Walks one MessagePack value from `start`, without building it, and adds
 * up what building it would cost. Malformed bytes end the walk early: the
 * decoder refuses them anyway.
 *
 * @param bytes The input.
 * @param start Where the value starts.
 * @param end Where the input ends.
 * @param maxCost The walk stops as soon as the cost exceeds this.
 * @returns The cost and where the value ends.
 */
export function measureValue(
  bytes: Uint8Array,
  start: number,
  end: number,
  maxCost: number,
): Measure {
  const walk = new Walk(bytes, start, end);
  while (walk.pending > 0 && walk.at < end && walk.cost <= maxCost) {
    if (!walk.step()) break;
  }
  return { cost: walk.cost, end: Math.min(walk.at, end) };
}

/**
 * Refuses the value at `start` when building it would exceed the budget of
 * its size.
 *
 * @param bytes The input.
 * @param start Where the value starts.
 * @param end Where the input ends.
 * @throws {CodecError} `DECODE_BUDGET` when the value costs too much.
 *
 * @example
 * ```ts
 * import { checkBudget } from "./decode_budget.ts";
 * import assert from "node:assert/strict";
 *
 * // An array of a million empty arrays: 1 MB that would cost 40 MB.
 * const bytes = new Uint8Array(1_000_006).fill(0x90);
 * bytes.set([0xdd, 0x00, 0x0f, 0x42, 0x41]);
 * assert.throws(() => checkBudget(bytes, 0, bytes.length), { code: "DECODE_BUDGET" });
 * ```
 */
export function checkBudget(
  bytes: Uint8Array,
  start: number,
  end: number,
): void {
  const measure = measureValue(bytes, start, end, budgetFor(end - start));
  const byteLength = measure.end - start;
  const budget = budgetFor(byteLength);
  if (measure.cost > budget) {
    throw new CodecError(
      "DECODE_BUDGET",
      `Cannot decode: ${byteLength} bytes of a value already stand for more than ${budget} units (about ${
        Math.ceil(budget * 8 / (1 << 20))
      } MiB of memory), the budget of that many bytes: too many small values (empty arrays or maps, errors, binaries…) for their size, or more than ${MAX_BUDGET} units in one message (send large arrays of numbers as typed arrays).`,
    );
  }
}

/** The state of one {@linkcode measureValue}: a flat walk over tokens. */
class Walk {
  at: number;
  cost = 0;
  /** Values still to walk: containers add their items, so no stack is needed. */
  pending = 1;
  readonly #bytes: Uint8Array;
  readonly #end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.#bytes = bytes;
    this.at = start;
    this.#end = end;
  }

  /** Walks one token; `false` when the bytes end inside it. */
  step(): boolean {
    this.pending--;
    const byte = this.#bytes[this.at++];
    if (byte < 0x80 || byte >= 0xe0) {
      this.cost += 1;
    } else if (byte < 0x90) {
      const count = byte & 0x0f;
      this.pending += 2 * count;
      this.cost += 1 + MAP + count * MAP_ENTRY;
    } else if (byte < 0xa0) {
      this.pending += byte & 0x0f;
      this.cost += 1 + ARRAY;
    } else if (byte < 0xc0) {
      this.#string(byte & 0x1f);
    } else {
      const fixed = FIXED_SIZES[byte];
      if (fixed >= 0) {
        this.at += fixed;
        this.cost += 1;
        return true;
      }
      return this.#token(byte);
    }
    return true;
  }

  #string(length: number): void {
    this.at += length;
    // Strings of one ASCII character are V8's own, shared: no heap.
    this.cost += length <= 1 ? 1 : 1 + STRING;
  }

  /** The kinds whose size follows the type byte: binaries, strings, containers, extensions. */
  #token(byte: number): boolean {
    switch (byte) {
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        const length = this.#uint(1 << (byte - 0xc4));
        if (length < 0) return false;
        this.at += length;
        this.cost += 1 + BINARY;
        return true;
      }
      case 0xd9:
      case 0xda:
      case 0xdb: {
        const length = this.#uint(1 << (byte - 0xd9));
        if (length < 0) return false;
        this.#string(length);
        return true;
      }
      case 0xdc:
      case 0xdd: {
        const count = this.#uint(byte === 0xdc ? 2 : 4);
        if (count < 0) return false;
        this.pending += count;
        this.cost += 1 + ARRAY;
        return true;
      }
      case 0xde:
      case 0xdf: {
        const count = this.#uint(byte === 0xde ? 2 : 4);
        if (count < 0) return false;
        this.pending += 2 * count;
        this.cost += 1 + MAP + count * MAP_ENTRY;
        return true;
      }
      case 0xc7:
      case 0xc8:
      case 0xc9: {
        const length = this.#uint(byte === 0xc7 ? 1 : byte === 0xc8 ? 2 : 4);
        return length >= 0 && this.#extension(length);
      }
      default: {
        const length = FIXEXT_LENGTHS[byte];
        // 0xc1, the one byte MessagePack never uses: the decoder refuses it.
        return length > 0 && this.#extension(length);
      }
    }
  }

  /** Reads a big-endian unsigned integer; -1 past the end. */
  #uint(byteCount: number): number {
    const bytes = this.#bytes;
    const at = this.at;
    if (at + byteCount > this.#end) return -1;
    let value = 0;
    for (let i = 0; i < byteCount; i++) value = value * 256 + bytes[at + i];
    this.at = at + byteCount;
    return value;
  }

  /** An extension whose type byte is next, with a payload of `length` bytes after it. */
  #extension(length: number): boolean {
    if (this.at >= this.#end) return false;
    const type = (this.#bytes[this.at++] << 24) >> 24;
    this.cost += 1;
    switch (type) {
      case ExtensionType.UNDEFINED:
      case ExtensionType.HOLE:
        break;
      case ExtensionType.TIMESTAMP:
      case ExtensionType.INVALID_DATE:
        this.cost += DATE;
        break;
      case ExtensionType.BIGINT:
        this.cost += BIGINT + Math.ceil(length / 8);
        break;
      case ExtensionType.TYPED_ARRAY:
        this.cost += TYPED_ARRAY;
        break;
      case ExtensionType.ARRAY_BUFFER:
        this.cost += ARRAY_BUFFER;
        break;
      case ExtensionType.MAP:
      case ExtensionType.SET:
        this.cost += COLLECTION + COLLECTION_ENTRY * this.#itemCount();
        return this.#walkPayload();
      case ExtensionType.ERROR:
        this.cost += ERROR;
        return this.#walkPayload();
      case ExtensionType.REGEXP:
        this.cost += REGEXP;
        return this.#walkPayload();
      default:
        this.cost += USER_EXTENSION;
        return this.#walkPayload();
    }
    this.at += length;
    return true;
  }

  /** Payloads that are MessagePack are walked as the one value they hold. */
  #walkPayload(): boolean {
    this.pending++;
    return true;
  }

  /** The item count of the array or map header that comes next (entries for a map), unread. */
  #itemCount(): number {
    const at = this.at;
    if (at >= this.#end) return 0;
    const byte = this.#bytes[at];
    let count = 0;
    this.at = at + 1;
    if ((byte & 0xe0) === 0x80) count = byte & 0x0f;
    else if (byte === 0xdc || byte === 0xde) count = this.#uint(2);
    else if (byte === 0xdd || byte === 0xdf) count = this.#uint(4);
    this.at = at;
    return Math.max(count, 0);
  }
}

/** How many bytes follow each type byte of a number or constant; -1 for the other kinds. */
const FIXED_SIZES = new Int8Array(256).fill(-1);
for (
  const [byte, size] of [
    [0xc0, 0],
    [0xc2, 0],
    [0xc3, 0],
    [0xca, 4],
    [0xcb, 8],
    [0xcc, 1],
    [0xcd, 2],
    [0xce, 4],
    [0xcf, 8],
    [0xd0, 1],
    [0xd1, 2],
    [0xd2, 4],
    [0xd3, 8],
  ]
) FIXED_SIZES[byte] = size;

/** Lengths of the fixext kinds' payloads, by type byte; 0 for the other kinds. */
const FIXEXT_LENGTHS = new Uint8Array(256);
FIXEXT_LENGTHS.set([1, 2, 4, 8, 16], 0xd4);
