/**
 * Large messages in pieces (PROTOCOL.md, "Fragments"): how a message is cut,
 * so that other messages can pass between its pieces.
 *
 * @module
 */

import { concat } from "../base/bytes.ts";

/** Messages larger than this go in fragments, so that other messages pass between them. */
export const FRAGMENT_THRESHOLD = 1536 * 1024;
/** The size of a fragment. */
export const FRAGMENT_SIZE = 1024 * 1024;
/**
 * How many fragmented messages may be arriving at once on one connection;
 * their totals together may not exceed the receiver's maxFrameSize either.
 */
export const MAX_FRAGMENTED = 16;

/** Cuts a message's parts into pieces of at most `size` bytes: views where a piece lies in one part. */
export function* pieces(
  parts: readonly Uint8Array[],
  size: number,
): Generator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  for (const part of parts) {
    for (let offset = 0; offset < part.length;) {
      const take = Math.min(size - pendingLength, part.length - offset);
      pending.push(part.subarray(offset, offset + take));
      pendingLength += take;
      offset += take;
      if (pendingLength === size) {
        yield concat(pending);
        pending = [];
        pendingLength = 0;
      }
    }
  }
  if (pendingLength > 0) yield concat(pending);
}
