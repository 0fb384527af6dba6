/**
 * Map keys read recently, so that objects of one shape do not build their
 * keys again. A key found here is the same string as last time: no new
 * string is built, and V8 stores the property by the identity of an
 * already internalized name instead of hashing a fresh string on every
 * store. Shared by every decoder (strings are immutable); keys whose
 * hashes collide take turns in a slot.
 *
 * @module
 */

/** How many map keys the cache holds; a power of two. */
const KEY_CACHE_SIZE = 4096;

/** The cached keys, ASCII fixstr only, by a hash of their bytes. */
const keyCache: (string | undefined)[] = new Array(KEY_CACHE_SIZE).fill(
  undefined,
);

/**
 * Returns the ASCII key that `bytes[start, end)` encode, from the cache
 * when it is there (and puts it there when not).
 *
 * @param bytes The input.
 * @param start Where the key's bytes start.
 * @param end Where they end; at most 31 bytes (a fixstr).
 * @returns The key, or `undefined` when a byte is not ASCII (the caller
 * decodes it as UTF-8).
 *
 * @example
 * ```ts
 * import { cachedAsciiKey } from "./key_cache.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("name");
 * assert.equal(cachedAsciiKey(bytes, 0, 4), "name");
 * assert.equal(cachedAsciiKey(new Uint8Array([0xc3, 0xa9]), 0, 2), undefined);
 * ```
 */
export function cachedAsciiKey(
  bytes: Uint8Array,
  start: number,
  end: number,
): string | undefined {
  let hash = end - start;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte >= 0x80) return undefined;
    hash = (hash * 31 + byte) | 0;
  }
  const slot = hash & (KEY_CACHE_SIZE - 1);
  const cached = keyCache[slot];
  if (cached !== undefined && isAscii(cached, bytes, start, end)) {
    return cached;
  }
  const key = readAscii(bytes, start, end);
  keyCache[slot] = key;
  return key;
}

/** Whether `text`, all ASCII, is the string that `bytes[start, end)` encode. */
function isAscii(
  text: string,
  bytes: Uint8Array,
  start: number,
  end: number,
): boolean {
  if (text.length !== end - start) return false;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i - start) !== bytes[i]) return false;
  }
  return true;
}

/** Builds the string of ASCII bytes; for short runs this beats TextDecoder. */
function readAscii(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
  return text;
}
