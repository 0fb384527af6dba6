/**
 * Items tagged with an id so a stream can resume after them
 * (PROTOCOL.md, "Streams"), and what counts as a stream source.
 *
 * @module
 */

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
