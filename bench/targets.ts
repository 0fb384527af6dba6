/**
 * The performance targets isock is held to, and their verdicts on one
 * run: each a measure from the table or the footprint, a bound, and PASS
 * or MISS (or SKIP when the run did not measure it).
 *
 * @module
 */

import type { BundleSizes } from "./bundle_size.ts";
import type { Footprint } from "./footprint.ts";
import { alignRows, type Measures } from "./table.ts";
import type { Metric, WorkloadId } from "./workloads.ts";

/** What the targets are judged on. */
export interface TargetInputs {
  /** Each system's measures, by system id. */
  readonly measures: ReadonlyMap<string, Measures>;
  readonly footprint: Footprint;
  /**
   * Whether every server and its client shared one CPU (`--same-cpu`):
   * the same-CPU targets are judged only then.
   */
  readonly isSameCpu?: boolean;
  /** The browser bundles' sizes, when they were measured. */
  readonly bundles?: BundleSizes;
}

/** One target's verdict. */
export interface TargetVerdict {
  readonly name: string;
  /** The measure; absent when the run did not take it. */
  readonly measured?: number;
  readonly unit: Unit;
  /** How the measure must compare with the bound. */
  readonly comparison: Comparison;
  readonly bound: number;
  readonly status: "PASS" | "MISS" | "SKIP";
}

type Unit = "×" | "MiB" | "ms" | "kB";
type Comparison = "≥" | "≤" | "<";

interface Target {
  readonly name: string;
  readonly unit: Unit;
  readonly comparison: Comparison;
  readonly bound: number;
  readonly measure: (inputs: TargetInputs) => number | undefined;
}

const MIB = 1024 * 1024;

/** A ratio of one measure between two systems. */
function ratio(
  over: string,
  under: string,
  workload: WorkloadId,
  metric: Metric,
): Target["measure"] {
  return ({ measures }) => {
    const top = measures.get(over)?.[workload]?.[metric];
    const bottom = measures.get(under)?.[workload]?.[metric];
    return top === undefined || bottom === undefined || !(bottom > 0)
      ? undefined
      : top / bottom;
  };
}

/** A ratio judged only in a `--same-cpu` run. */
function sameCpu(measure: Target["measure"]): Target["measure"] {
  return (inputs) => inputs.isSameCpu === true ? measure(inputs) : undefined;
}

/**
 * How much the client's RSS grew in the 64 MiB echo, from connected to
 * its peak, in payloads: the payload it made and the answer it got are 2.
 */
function largeEchoClientGrowth(): Target["measure"] {
  return ({ footprint: { largeEcho } }) =>
    largeEcho?.payloadBytes === 64 * MIB
      ? (largeEcho.client.peakBytes - largeEcho.client.rssBeforeBytes) /
        largeEcho.payloadBytes
      : undefined;
}

/** One side's peak RSS in the 64 MiB echo, in payloads. */
function largeEchoPeak(side: "server" | "client"): Target["measure"] {
  return ({ footprint: { largeEcho } }) =>
    largeEcho?.payloadBytes === 64 * MIB
      ? largeEcho[side].peakBytes / largeEcho.payloadBytes
      : undefined;
}

const TARGETS: readonly Target[] = [
  {
    name: "W1 calls/s, isock ÷ baseline",
    unit: "×",
    comparison: "≥",
    bound: 0.9,
    measure: ratio("isock", "baseline", "w1", "callsPerSecond"),
  },
  {
    name: "W1 p99, isock ÷ baseline",
    unit: "×",
    comparison: "≤",
    bound: 1.3,
    measure: ratio("isock", "baseline", "w1", "p99Us"),
  },
  {
    name: "W2 calls/s, isock ÷ baseline",
    unit: "×",
    comparison: "≥",
    bound: 0.85,
    measure: ratio("isock", "baseline", "w2", "callsPerSecond"),
  },
  {
    name: "W3 MB/s, isock ÷ loopback limit",
    unit: "×",
    comparison: "≥",
    bound: 0.5,
    measure: ratio("isock", "loopback", "w3", "payloadMBPerSecond"),
  },
  {
    name: "W1 calls/s, isock over WebSocket ÷ bare WebSocket echo",
    unit: "×",
    comparison: "≥",
    bound: 0.8,
    measure: ratio("isock-ws", "ws-echo", "w1", "callsPerSecond"),
  },
  {
    name: "W2 calls/s, isock over WebSocket ÷ bare WebSocket echo",
    unit: "×",
    comparison: "≥",
    bound: 0.8,
    measure: ratio("isock-ws", "ws-echo", "w2", "callsPerSecond"),
  },
  {
    name: "browser bundle of action, Client and the errors, gzipped",
    unit: "kB",
    comparison: "≤",
    bound: 20,
    measure: ({ bundles }) =>
      bundles === undefined ? undefined : bundles.clientGzipBytes / 1000,
  },
  {
    name: "W1 calls/s, isock over NATS ÷ NATS floor",
    unit: "×",
    comparison: "≥",
    bound: 0.8,
    measure: ratio("isock-nats", "nats-floor", "w1", "callsPerSecond"),
  },
  {
    name: "W2 calls/s, isock over NATS ÷ NATS floor",
    unit: "×",
    comparison: "≥",
    bound: 0.8,
    measure: ratio("isock-nats", "nats-floor", "w2", "callsPerSecond"),
  },
  {
    name: "W3 MB/s, isock ÷ store-and-forward limit",
    unit: "×",
    comparison: "≥",
    bound: 0.85,
    measure: ratio("isock", "store-and-forward", "w3", "payloadMBPerSecond"),
  },
  {
    name: "W3×4 MB/s, isock ÷ loopback limit",
    unit: "×",
    comparison: "≥",
    bound: 0.75,
    measure: ratio("isock", "loopback", "w3x4", "payloadMBPerSecond"),
  },
  {
    name: "W1 calls/s on one CPU, isock ÷ baseline",
    unit: "×",
    comparison: "≥",
    bound: 0.9,
    measure: sameCpu(ratio("isock", "baseline", "w1", "callsPerSecond")),
  },
  {
    name: "W2 calls/s on one CPU, isock ÷ baseline",
    unit: "×",
    comparison: "≥",
    bound: 0.9,
    measure: sameCpu(ratio("isock", "baseline", "w2", "callsPerSecond")),
  },
  {
    name: "W1 calls/s, isock ÷ gRPC",
    unit: "×",
    comparison: "≥",
    bound: 3,
    measure: ratio("isock", "grpc", "w1", "callsPerSecond"),
  },
  {
    name: "W2 calls/s, isock ÷ gRPC",
    unit: "×",
    comparison: "≥",
    bound: 20,
    measure: ratio("isock", "grpc", "w2", "callsPerSecond"),
  },
  {
    name: "W5 items/s, isock ÷ gRPC",
    unit: "×",
    comparison: "≥",
    bound: 5,
    measure: ratio("isock", "grpc", "w5", "itemsPerSecond"),
  },
  {
    name: "W5b MB/s, isock ÷ loopback limit (W3's)",
    unit: "×",
    comparison: "≥",
    bound: 0.6,
    measure: ({ measures }) => {
      const stream = measures.get("isock")?.w5b?.payloadMBPerSecond;
      const limit = measures.get("loopback")?.w3?.payloadMBPerSecond;
      return stream === undefined || limit === undefined || !(limit > 0)
        ? undefined
        : stream / limit;
    },
  },
  {
    name: "W1 calls/s, isock on Node ÷ gRPC",
    unit: "×",
    comparison: "≥",
    bound: 3,
    measure: ratio("isock-node", "grpc", "w1", "callsPerSecond"),
  },
  {
    name: "W2 calls/s, isock on Node ÷ gRPC",
    unit: "×",
    comparison: "≥",
    bound: 20,
    measure: ratio("isock-node", "grpc", "w2", "callsPerSecond"),
  },
  {
    name: "W2 calls/s, isock on Node ÷ on Deno",
    unit: "×",
    comparison: "≥",
    bound: 0.7,
    measure: ratio("isock-node", "isock", "w2", "callsPerSecond"),
  },
  {
    name: "W2 calls/s, isock on Bun ÷ on Deno",
    unit: "×",
    comparison: "≥",
    bound: 0.7,
    measure: ratio("isock-bun", "isock", "w2", "callsPerSecond"),
  },
  {
    name: "server RSS with 10,000 idle clients",
    unit: "MiB",
    comparison: "<",
    bound: 200,
    measure: ({ footprint: { idle } }) =>
      idle?.connections === 10_000 ? idle.serverRssAfterBytes / MIB : undefined,
  },
  {
    name: "server peak RSS, 64 MiB echo ÷ payload",
    unit: "×",
    comparison: "<",
    bound: 4,
    measure: largeEchoPeak("server"),
  },
  {
    name: "client peak RSS, 64 MiB echo ÷ payload",
    unit: "×",
    comparison: "<",
    bound: 4,
    measure: largeEchoPeak("client"),
  },
  {
    name: "client peak RSS − connected RSS, 64 MiB echo ÷ payload",
    unit: "×",
    comparison: "≤",
    bound: 2.5,
    measure: largeEchoClientGrowth(),
  },
  {
    name: "startup to listen, isock − bare Deno",
    unit: "ms",
    comparison: "<",
    bound: 50,
    measure: ({ footprint: { startup } }) =>
      startup && startup.isockMs - startup.bareMs,
  },
];

/**
 * Judges every target.
 *
 * @param inputs The run's measures.
 * @returns One verdict per target, in order.
 */
export function judgeTargets(inputs: TargetInputs): TargetVerdict[] {
  return TARGETS.map(({ name, unit, comparison, bound, measure }) => {
    const measured = measure(inputs);
    const isMet = measured !== undefined && (
      comparison === "≥"
        ? measured >= bound
        : comparison === "≤"
        ? measured <= bound
        : measured < bound
    );
    return {
      name,
      measured,
      unit,
      comparison,
      bound,
      status: measured === undefined ? "SKIP" : isMet ? "PASS" : "MISS",
    };
  });
}

/**
 * Lays the verdicts out as plain text.
 *
 * @param verdicts The verdicts.
 * @returns The section, without a trailing newline.
 */
export function renderTargets(verdicts: readonly TargetVerdict[]): string {
  const rows = [
    ["targets", "measured", "target", ""],
    ...verdicts.map((verdict) => [
      verdict.name,
      verdict.measured === undefined
        ? "—"
        : withUnit(verdict.measured, verdict.unit),
      `${verdict.comparison} ${withUnit(verdict.bound, verdict.unit)}`,
      verdict.status,
    ]),
  ];
  const passed = verdicts.filter((verdict) => verdict.status === "PASS");
  const judged = verdicts.filter((verdict) => verdict.status !== "SKIP");
  return [
    ...alignRows(rows),
    `${passed.length} of ${judged.length} targets met${
      judged.length < verdicts.length
        ? `; ${verdicts.length - judged.length} not measured in this run`
        : ""
    }.`,
  ].join("\n");
}

function withUnit(value: number, unit: Unit): string {
  return unit === "×" ? `${value.toFixed(2)}×` : `${value.toFixed(1)} ${unit}`;
}
