/**
 * Streams over a connection, with credit-based flow control (PROTOCOL.md,
 * "Streams"). The receiving side grants credit, a number of items (and,
 * between peers that send batches, of bytes); the sending side pulls from
 * its source only while it has credit. So a slow consumer makes the
 * producer wait, and no side ever holds more than a window.
 *
 * The same two classes serve both directions: a handler's streamed result
 * and a caller's streamed input; they live in stream_sender.ts and
 * stream_receiver.ts. This file holds what both read: the windows, and the
 * items tagged with an id so a stream can resume after them.
 *
 * @module
 */

// Items tagged with an id so a stream can resume after them
// (PROTOCOL.md, "Streams"), and what counts as a stream source.

/**
 * An item of a stream tagged with an id, so that a stream can resume after
 * it; made by {@linkcode tracked}.
 *
 * @example
 * ```ts
 * import { Tracked, tracked } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const item = tracked("event-7", { temperature: 21.5 });
 * assert.ok(item instanceof Tracked);
 * assert.equal(item.id, "event-7");
 * ```
 */
export class Tracked<T = unknown> {
  /**
   * Creates a `Tracked`.
   *
   * @param id The item's id: where a resumed stream goes on from.
   * @param value The item.
   */
  constructor(readonly id: string | number, readonly value: T) {}
}

/**
 * Tags a streamed item with an id. When the connection drops, the client
 * reconnects and calls the action again with the last id it received as
 * `context.lastEventId`, and the handler goes on after it: the consumer's
 * loop sees no gap and no duplicate.
 *
 * @param id The item's id, unique within the stream.
 * @param value The item.
 * @returns The tagged item; the consumer receives `value`.
 *
 * @example A resumable counter
 * ```ts
 * import { action, tracked } from "@isock/isock";
 *
 * const counter = action("counter", async function* (_: undefined, context) {
 *   for (let n = Number(context.lastEventId ?? 0) + 1; n <= 3; n++) {
 *     yield tracked(n, n);
 *   }
 * });
 * ```
 */
export function tracked<T>(id: string | number, value: T): Tracked<T> {
  return new Tracked(id, value);
}

/** The item type of a streamed action's result: what `client.stream()` yields. */
export type StreamItem<O> = O extends AsyncIterable<infer T>
  ? (T extends Tracked<infer V> ? V : T)
  : O;

/** Whether `value` can be sent as a stream: an async iterable, or a `ReadableStream`. */
export function isStreamSource(
  value: unknown,
): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[
        Symbol.asyncIterator
      ] === "function";
}

// The numbers of stream flow control (PROTOCOL.md, "Streams"): how many
// items, and between peers that send batches how many bytes, a receiver
// takes before it grants more, and how long a sender may keep the event
// loop to itself.

/**
 * The default window: items a receiver takes before it must grant more,
 * for a peer that counts items only (it did not announce `batch` in its
 * hello).
 */
export const DEFAULT_WINDOW = 16;

/**
 * The default item window between peers that both announced `batch`: with
 * the byte window below, it bounds what a slow consumer lets pile up. Small
 * items are held by this one (1,024 items of 60 bytes is about 64 KiB, the
 * window of HTTP/2), large ones by the bytes.
 */
export const BATCH_WINDOW = 1024;

/**
 * The default byte window between peers that both announced `batch`: the
 * bytes of item messages a receiver takes before it must grant more. An
 * item larger than the window still goes, alone, when any byte credit is
 * left.
 */
export const BYTE_WINDOW = 1024 * 1024;

/**
 * How long a sender may keep the event loop to itself, in milliseconds: a
 * source that yields without waiting for I/O (a generator counting up)
 * would otherwise send its whole window in one go while every other
 * connection waits. After this much time it lets other work run.
 */
export const TIME_SLICE = 4;

/**
 * The input items a caller may send before the handler grants more
 * (PROTOCOL.md, "Input streams"), to a peer that counts items only;
 * between peers that send batches it is `BATCH_WINDOW` items and
 * `BYTE_WINDOW` bytes.
 */
export const INPUT_WINDOW = 16;
