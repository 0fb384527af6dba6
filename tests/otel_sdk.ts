/**
 * An OpenTelemetry SDK for the tests, kept in memory: spans in an
 * in-memory exporter, metrics read on demand, W3C trace context. Passed
 * to `instrument()` explicitly, so no global state is touched.
 *
 * @module
 */

import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** A span as the tests compare it, also across processes (JSON). */
export interface SpanRecord {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
}

/** A histogram's data points: each one's attributes and count. */
export interface HistogramRecord {
  name: string;
  unit: string;
  points: { attributes: Record<string, unknown>; count: number }[];
}

/** Makes an in-memory SDK. */
export function memorySdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const metricExporter = new InMemoryMetricExporter(
    AggregationTemporality.CUMULATIVE,
  );
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    options: {
      tracerProvider,
      meterProvider,
      propagator: new W3CTraceContextPropagator(),
    },
    /** The spans ended so far. */
    spans: (): SpanRecord[] => spans.getFinishedSpans().map(spanRecord),
    /** The histograms recorded so far. */
    async histograms(): Promise<HistogramRecord[]> {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.flatMap((scope) =>
        scope.metrics.map((metric) => ({
          name: metric.descriptor.name,
          unit: metric.descriptor.unit,
          points: metric.dataPoints.map((point) => ({
            attributes: { ...point.attributes },
            count: (point.value as { count: number }).count,
          })),
        }))
      );
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

function spanRecord(span: ReadableSpan): SpanRecord {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: { ...span.attributes },
    status: { ...span.status },
  };
}
