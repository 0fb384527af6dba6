/**
 * What the tracing middleware needs besides the API: a streamed result seen
 * through its span (the items pass on, counted, each produced in the span's
 * context, and the span ends with the stream), and the call's metadata as
 * the carrier of the trace context.
 *
 * @module
 */

import {
  type Context,
  context,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import type { Metadata } from "../protocol/metadata.ts";

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

// The call's metadata as the carrier of the trace context: how a
// propagator reads it on the server and writes it on the client.

/** Reads the trace context from a call's metadata. */
export const getter: TextMapGetter<Metadata> = {
  keys: (carrier) => [...carrier].map(([key]) => key),
  get: (carrier, key) => carrier.get(key),
};

/** Writes the trace context into a call's metadata. */
export const setter: TextMapSetter<Metadata> = {
  set(carrier, key, value) {
    try {
      carrier.set(key, value);
    } catch {
      // Metadata already full (or a propagator's odd key): the call goes
      // untraced downstream rather than failing for the sake of tracing.
    }
  },
};
