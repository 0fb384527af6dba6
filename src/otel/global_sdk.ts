/**
 * Whether an OpenTelemetry SDK is registered globally: without one, the
 * API answers with no-op providers, and the middleware skips its work.
 *
 * @module
 */

import {
  createNoopMeter,
  metrics,
  ProxyTracerProvider,
  trace,
} from "@opentelemetry/api";
import { SCOPE } from "./metrics.ts";

/** The provider the API answers with when no SDK is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** The class of the meter the API answers with when no SDK is registered. */
const NOOP_METER_CLASS = createNoopMeter().constructor;

/**
 * Whether a global tracer or meter provider is registered. Providers of
 * another copy of the API count as registered: better a no-op middleware
 * than no spans.
 *
 * @returns True when either is.
 */
export function isSdkRegistered(): boolean {
  const tracerProvider = trace.getTracerProvider();
  const noTracer = tracerProvider instanceof ProxyTracerProvider &&
    tracerProvider.getDelegate() === NOOP_TRACER_PROVIDER;
  const noMeter = metrics.getMeterProvider().getMeter(SCOPE).constructor ===
    NOOP_METER_CLASS;
  return !noTracer || !noMeter;
}
