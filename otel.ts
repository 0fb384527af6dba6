/**
 * OpenTelemetry for isock: one call traces and measures every call a client
 * makes or a server answers, following the OpenTelemetry RPC semantic
 * conventions, and carries the W3C trace context in the call's metadata so
 * the server's span is a child of the client's, across processes and
 * runtimes.
 *
 * It depends only on `@opentelemetry/api`: spans and metrics go wherever
 * the registered SDK sends them (Deno's built-in OpenTelemetry with
 * `OTEL_DENO=true`, or an SDK you register). With none registered, the API's
 * no-op implementations answer and the cost is a few function calls per call.
 *
 * What is recorded, for each call (each try of it, on the client):
 *
 * - a span named after the action, `SpanKind.CLIENT` or `SpanKind.SERVER`,
 *   with `rpc.system.name` = `"isock"`, `rpc.method`, and on the client
 *   `server.address` / `server.port`, on the server `network.peer.address` /
 *   `network.peer.port`; on failure the status is `ERROR` and `error.type`
 *   and `rpc.response.status_code` hold the isock error code (for another
 *   error, `error.type` is its name). A stream is one span, from the call to
 *   its last item, with `isock.stream.item_count`.
 * - `rpc.client.call.duration` or `rpc.server.call.duration`: histograms in
 *   seconds, with the same attributes (less the peer's address).
 *
 * @example Trace a client and a server
 * ```ts
 * import { action, Client, Server } from "@isock/isock";
 * import { instrument } from "@isock/isock/otel";
 * import assert from "node:assert/strict";
 *
 * await using server = instrument(new Server())
 *   .addAction(action("echo", (text: string) => text));
 * const { port } = await server.listen();
 * await using client = instrument(new Client({ port }));
 * assert.equal(await client.runAction("echo", "hi"), "hi");
 * ```
 *
 * @module
 */

import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  trace,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { IsockError } from "./src/base/errors.ts";
import { isStreamSource } from "./src/protocol/stream.ts";
import { counted, getter, setter } from "./src/otel/tracing.ts";
import {
  durationHistograms,
  isSdkRegistered,
  SCOPE,
  SCOPE_VERSION,
} from "./src/otel/metrics.ts";

export type { CallInfo, Middleware, Next } from "./src/dispatch/middleware.ts";
import type { CallInfo, Middleware, Next } from "./src/dispatch/middleware.ts";

/**
 * An OpenTelemetry `TracerProvider` (from `@opentelemetry/api`), as far
 * as the instrumentation uses it.
 */
export interface TracerProviderLike {
  /**
   * Returns a tracer.
   *
   * @param name The instrumentation scope's name.
   * @param version Its version.
   * @returns An OpenTelemetry `Tracer`.
   */
  getTracer(name: string, version?: string): unknown;
}

/**
 * An OpenTelemetry `MeterProvider` (from `@opentelemetry/api`), as far as
 * the instrumentation uses it.
 */
export interface MeterProviderLike {
  /**
   * Returns a meter.
   *
   * @param name The instrumentation scope's name.
   * @param version Its version.
   * @returns An OpenTelemetry `Meter`.
   */
  getMeter(name: string, version?: string): unknown;
}

/**
 * An OpenTelemetry `TextMapPropagator` (from `@opentelemetry/api`), as far
 * as the instrumentation uses it.
 */
export interface PropagatorLike {
  /**
   * Writes a context into a carrier.
   *
   * @param context An OpenTelemetry `Context`.
   * @param carrier Where it goes (the call's metadata).
   * @param setter How to write to the carrier.
   */
  inject(context: unknown, carrier: unknown, setter: unknown): void;
  /**
   * Reads a context from a carrier.
   *
   * @param context The context to add to.
   * @param carrier Where it comes from (the call's metadata).
   * @param getter How to read the carrier.
   * @returns An OpenTelemetry `Context`.
   */
  extract(context: unknown, carrier: unknown, getter: unknown): unknown;
}

/**
 * Where the instrumentation sends what it records. The types are those of
 * `@opentelemetry/api`, declared here only as far as they are used.
 */
export interface OtelOptions {
  /**
   * Makes the tracer; by default the global one (`trace.getTracerProvider()`),
   * which follows an SDK registered later.
   */
  readonly tracerProvider?: TracerProviderLike;
  /**
   * Makes the meter; by default the global one, looked up again when it
   * changes (an SDK registered after the middleware was made).
   */
  readonly meterProvider?: MeterProviderLike;
  /**
   * Writes and reads the trace context in the call's metadata; by default
   * the global one (`propagation`), which with Deno's built-in
   * OpenTelemetry, or an SDK's defaults, is W3C Trace Context
   * (`traceparent`, `tracestate`) and Baggage.
   */
  readonly propagator?: PropagatorLike;
}

/** A client or a server: anything middleware can be installed on. */
export interface Instrumentable {
  /**
   * Installs middleware.
   *
   * @param middleware The middleware.
   * @returns The same object.
   */
  use(middleware: Middleware): unknown;
}

/**
 * Makes middleware that traces and measures calls, on a client or a
 * server (it looks at `call.side`): install it with `client.use()` and
 * `server.use()`, or use {@linkcode instrument}.
 *
 * Install it first (outermost), so that its span covers the other
 * middleware and the trace context it adds to the metadata is there
 * for them.
 *
 * @param options The tracer and meter providers; the global ones by default.
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { action, Client, Server } from "@isock/isock";
 * import { otelMiddleware } from "@isock/isock/otel";
 * import assert from "node:assert/strict";
 *
 * const tracing = otelMiddleware();
 * await using server = new Server().use(tracing)
 *   .addAction(action("add", ([a, b]: [number, number]) => a + b));
 * await using client = new Client({ port: (await server.listen()).port })
 *   .use(tracing);
 * assert.equal(await client.runAction("add", [1, 2]), 3);
 * ```
 */
export function otelMiddleware(options: OtelOptions = {}): Middleware {
  const propagator = (options.propagator ?? propagation) as TextMapPropagator;
  const tracer: Tracer =
    ((options.tracerProvider ?? trace.getTracerProvider()) as TracerProvider)
      .getTracer(SCOPE, SCOPE_VERSION);
  const histograms = durationHistograms(options);
  const followsGlobal = options.tracerProvider === undefined &&
    options.meterProvider === undefined;
  const middleware = (call: CallInfo, next: Next): Promise<unknown> => {
    // No SDK: nothing would be recorded or sent on; skip the work.
    if (followsGlobal && !isSdkRegistered()) return next();
    const started = performance.now();
    const isClient = call.side === "client";
    const peer = call.peer;
    const attributes: Attributes = {
      "rpc.system.name": "isock",
      "rpc.method": call.action,
    };
    let parent: Context;
    let spanAttributes: Attributes;
    if (isClient) {
      attributes["server.address"] = peer.hostname;
      if (peer.transport === "tcp") attributes["server.port"] = peer.port;
      spanAttributes = call.attempt > 1
        ? { ...attributes, "isock.attempt": call.attempt }
        : attributes;
      parent = context.active();
    } else {
      spanAttributes = {
        ...attributes,
        "network.peer.address": peer.hostname,
      };
      if (peer.transport === "tcp") {
        spanAttributes["network.peer.port"] = peer.port;
      }
      parent = propagator.extract(ROOT_CONTEXT, call.metadata, getter);
    }
    const span = tracer.startSpan(call.action, {
      kind: isClient ? SpanKind.CLIENT : SpanKind.SERVER,
      attributes: spanAttributes,
    }, parent);
    const active = trace.setSpan(parent, span);
    if (isClient) propagator.inject(active, call.metadata, setter);
    const finish = (error?: unknown, items?: number): void => {
      if (items !== undefined) {
        span.setAttribute("isock.stream.item_count", items);
      }
      if (error !== undefined) {
        const code = error instanceof IsockError ? error.code : undefined;
        attributes["error.type"] = code ??
          (error instanceof Error ? error.name : "_OTHER");
        if (code !== undefined) attributes["rpc.response.status_code"] = code;
        span.setAttributes(attributes);
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
      }
      span.end();
      const histogram = isClient ? histograms().client : histograms().server;
      histogram.record((performance.now() - started) / 1000, attributes);
    };
    return context.with(active, next).then(
      (result) => {
        if (call.kind === "stream" && isStreamSource(result)) {
          return counted(result, active, finish);
        }
        finish();
        return result;
      },
      (error) => {
        finish(error);
        throw error;
      },
    );
  };
  // Without an SDK the client and server skip the middleware path entirely,
  // and notice an SDK registered later at the next call.
  return Object.assign(middleware, {
    isActive: followsGlobal ? isSdkRegistered : () => true,
  });
}

/**
 * Installs {@linkcode otelMiddleware} on a client or a server, if there is
 * somewhere to send what it records: providers given in `options`, or an
 * OpenTelemetry SDK registered globally (Deno's built-in one with
 * `OTEL_DENO=true`, or yours: register it first). With none, it installs
 * nothing, so an uninstrumented run pays nothing; use `otelMiddleware()`
 * with `.use()` to install it regardless.
 *
 * @param target A `Client` or a `Server`.
 * @param options The tracer and meter providers, the propagator; the global ones by default.
 * @returns `target`, to chain calls.
 *
 * @example
 * ```ts
 * import { Client } from "@isock/isock";
 * import { instrument } from "@isock/isock/otel";
 *
 * using client = instrument(new Client({ port: 7000 }));
 * ```
 */
export function instrument<T extends Instrumentable>(
  target: T,
  options: OtelOptions = {},
): T {
  if (
    options.tracerProvider !== undefined ||
    options.meterProvider !== undefined || isSdkRegistered()
  ) {
    target.use(otelMiddleware(options));
  }
  return target;
}
