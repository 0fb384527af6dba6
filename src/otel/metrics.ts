/**
 * The call-duration histograms of the OpenTelemetry RPC conventions
 * (`rpc.client.call.duration`, `rpc.server.call.duration`), made on the
 * meter of the provider given, or of the global one, again when the global
 * one changes; and whether an SDK is registered at all.
 *
 * @module
 */

import {
  createNoopMeter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  trace,
} from "@opentelemetry/api";

/** The name spans and metrics are recorded under. */
export const SCOPE = "@isock/isock";
/** The version spans and metrics are recorded under. */
export const SCOPE_VERSION = "0.1.0";

/** The bucket boundaries the RPC conventions advise for call durations, in seconds. */
const DURATION_BUCKETS = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
];

/** The histograms of one meter. */
export interface Instruments {
  /** The provider the meter came from. */
  readonly provider: MeterProvider;
  /** `rpc.client.call.duration`. */
  readonly client: Histogram;
  /** `rpc.server.call.duration`. */
  readonly server: Histogram;
}

/** Where the histograms are made: the middleware's options. */
export interface MeterSource {
  /** An OpenTelemetry `MeterProvider`; the global one when omitted. */
  readonly meterProvider?: unknown;
}

/**
 * Makes the lookup of the duration histograms, made once per meter.
 *
 * @param options The provider, or none for the global one.
 * @returns The histograms of the provider in use now.
 */
export function durationHistograms(options: MeterSource): () => Instruments {
  let instruments: Instruments | undefined;
  return (): Instruments => {
    const provider = (options.meterProvider ??
      metrics.getMeterProvider()) as MeterProvider;
    if (instruments?.provider !== provider) {
      const meter: Meter = provider.getMeter(SCOPE, SCOPE_VERSION);
      const histogram = (side: "client" | "server") =>
        meter.createHistogram(`rpc.${side}.call.duration`, {
          description: `How long ${
            side === "client" ? "outgoing" : "incoming"
          } isock calls took.`,
          unit: "s",
          advice: { explicitBucketBoundaries: DURATION_BUCKETS },
        });
      instruments = {
        provider,
        client: histogram("client"),
        server: histogram("server"),
      };
    }
    return instruments;
  };
}

// Whether an OpenTelemetry SDK is registered globally: without one, the
// API answers with no-op providers, and the middleware skips its work.

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
