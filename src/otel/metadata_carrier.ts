/**
 * The call's metadata as the carrier of the trace context: how a
 * propagator reads it on the server and writes it on the client.
 *
 * @module
 */

import type { TextMapGetter, TextMapSetter } from "@opentelemetry/api";
import type { Metadata } from "../protocol/metadata.ts";

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
