/**
 * A streamed result seen through its span: the items pass on, counted,
 * each produced in the span's context, and the span ends with the stream.
 *
 * @module
 */

import { type Context, context } from "@opentelemetry/api";

/**
 * Passes a stream's items on, counting them; the span ends with the stream.
 *
 * @param items The stream's items.
 * @param active The span's context.
 * @param finish Ends the span, with the error the stream failed with and the count.
 * @returns The same items.
 */
export async function* counted(
  items: AsyncIterable<unknown>,
  active: Context,
  finish: (error: unknown, items: number) => void,
): AsyncGenerator<unknown, void, undefined> {
  let count = 0;
  let failure: unknown;
  let done = false;
  const iterator = context.with(active, () => items[Symbol.asyncIterator]());
  // Each step runs in the span's context: calls the stream's producer
  // makes are children of its span.
  const step = () => iterator.next();
  try {
    while (true) {
      const next = await context.with(active, step);
      if (next.done) {
        done = true;
        return;
      }
      count++;
      yield next.value;
    }
  } catch (error) {
    done = true;
    failure = error;
    throw error;
  } finally {
    // Left early (break, cancel): let the source stop too.
    if (!done) await iterator.return?.();
    finish(failure, count);
  }
}

/**
 * Whether a value is an async iterable (a handler's streamed result).
 *
 * @param value The value.
 * @returns True when it has `Symbol.asyncIterator`.
 */
export function isAsyncIterable(
  value: unknown,
): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[
        Symbol.asyncIterator
      ] === "function";
}
