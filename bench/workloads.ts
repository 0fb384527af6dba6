/**
 * The workloads every system runs, and how a client measures one: a
 * warm-up, then calls for a fixed time (and at most a fixed count), every
 * 100th answer checked against what was sent.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The workloads, in table order. */
export type WorkloadId = "w1" | "w2" | "w3";

/**
 * What a system echoes: a structured `value` (the RPC systems) or raw
 * `bytes` (the loopback limit, which has no framing or codec).
 */
export type PayloadShape = "value" | "bytes";

/** Sends a payload to the server and resolves with what came back. */
export type Echo = (payload: unknown) => Promise<unknown>;

/** One column group of the table. */
export interface Workload {
  readonly id: WorkloadId;
  /** The name shown in the table. */
  readonly name: string;
  /** Calls in flight at once. */
  readonly concurrency: number;
  /** The hard cap on measured calls, whatever the duration. */
  readonly maxCalls: number;
  /** The payload per shape; a shape the workload has no form for is left out. */
  readonly payloads: Partial<Record<PayloadShape, () => unknown>>;
  /** Payload bytes per call when the measure is MB/s rather than calls/s. */
  readonly payloadBytes?: number;
}

/** How long to warm up and to measure each workload. */
export interface Timing {
  /** Milliseconds of calls before measuring, to let the JIT settle. */
  readonly warmupMs: number;
  /** Milliseconds of measured calls. */
  readonly durationMs: number;
}

/** What a client reports for one workload. */
export interface WorkloadResult {
  readonly workload: WorkloadId;
  /** Measured calls (warm-up excluded). */
  readonly calls: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  /** Payload megabytes (10^6 bytes) per second, one way, for payload-bound workloads. */
  readonly payloadMBPerSecond?: number;
  /** Latency percentiles in microseconds, for sequential workloads. */
  readonly p50Us?: number;
  readonly p99Us?: number;
  /** How many answers were compared with what was sent. */
  readonly checkedAnswers: number;
  /** Whether the call cap, not the duration, ended the measurement. */
  readonly reachedMaxCalls: boolean;
}

/** The measures a result holds, by field name. */
export type Metric =
  | "callsPerSecond"
  | "payloadMBPerSecond"
  | "p50Us"
  | "p99Us";

/** Every measure, for summing up rounds. */
export const METRICS: readonly Metric[] = [
  "callsPerSecond",
  "payloadMBPerSecond",
  "p50Us",
  "p99Us",
];

const MIB = 1024 * 1024;
/** Every this many calls, the answer is compared with what was sent. */
const CHECK_EVERY = 100;
/** Byte arrays longer than this are checked at a few places, not in full. */
const FULL_CHECK_MAX_BYTES = 4096;

function sampleObject(): unknown {
  return { id: 1, name: "hello", tags: ["a", "b"], ts: 1234567890 };
}

/** Every workload, in table order. */
export const WORKLOADS: readonly Workload[] = [
  {
    id: "w1",
    name: "W1 sequential",
    concurrency: 1,
    maxCalls: 1_000_000,
    payloads: { value: sampleObject, bytes: () => patternedBytes(64) },
  },
  {
    id: "w2",
    name: "W2 concurrent",
    concurrency: 64,
    maxCalls: 4_000_000,
    payloads: { value: sampleObject },
  },
  {
    id: "w3",
    name: "W3 large",
    concurrency: 1,
    maxCalls: 50_000,
    payloads: {
      value: () => patternedBytes(MIB),
      bytes: () => patternedBytes(MIB),
    },
    payloadBytes: MIB,
  },
];

/**
 * Runs, one after another, the workloads asked for that have a payload of
 * this shape.
 *
 * @param echo The system's echo call.
 * @param shape The payload shape the system echoes.
 * @param ids The workloads to run.
 * @param timing Warm-up and measuring time per workload.
 * @returns One result per workload run.
 * @throws {Error} On the first wrong answer.
 */
export async function runWorkloads(
  echo: Echo,
  shape: PayloadShape,
  ids: readonly WorkloadId[],
  timing: Timing,
): Promise<WorkloadResult[]> {
  const results: WorkloadResult[] = [];
  for (const workload of WORKLOADS) {
    const payload = workload.payloads[shape]?.();
    if (!ids.includes(workload.id) || payload === undefined) continue;
    results.push(await measure(workload, echo, payload, timing));
  }
  return results;
}

async function measure(
  workload: Workload,
  echo: Echo,
  payload: unknown,
  timing: Timing,
): Promise<WorkloadResult> {
  const check = echoCheck(workload, payload);
  await drive(workload, echo, payload, check, {
    durationMs: timing.warmupMs,
    maxCalls: Math.ceil(workload.maxCalls / 10),
  });
  const latencies = workload.concurrency === 1
    ? new Float64Array(workload.maxCalls)
    : undefined;
  const started = performance.now();
  const calls = await drive(workload, echo, payload, check, {
    durationMs: timing.durationMs,
    maxCalls: workload.maxCalls,
    latencies,
  });
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies?.subarray(0, calls).sort();
  return {
    workload: workload.id,
    calls,
    seconds,
    callsPerSecond: calls / seconds,
    payloadMBPerSecond: workload.payloadBytes === undefined
      ? undefined
      : calls * workload.payloadBytes / seconds / 1e6,
    p50Us: sorted && percentile(sorted, 0.5) * 1000,
    p99Us: sorted && percentile(sorted, 0.99) * 1000,
    checkedAnswers: Math.ceil(calls / CHECK_EVERY),
    reachedMaxCalls: calls >= workload.maxCalls,
  };
}

interface DriveLimits {
  durationMs: number;
  maxCalls: number;
  /** Where to put each call's latency in milliseconds, by call number. */
  latencies?: Float64Array;
}

/**
 * Keeps `concurrency` calls in flight until the time is up or the cap is
 * reached, then waits for the calls under way.
 *
 * @returns How many calls were made.
 */
async function drive(
  workload: Workload,
  echo: Echo,
  payload: unknown,
  check: (answer: unknown, call: number) => void,
  { durationMs, maxCalls, latencies }: DriveLimits,
): Promise<number> {
  const deadline = performance.now() + durationMs;
  let calls = 0;
  const lane = async () => {
    while (calls < maxCalls && performance.now() < deadline) {
      const call = calls++;
      const sent = performance.now();
      const answer = await echo(payload);
      if (latencies !== undefined) latencies[call] = performance.now() - sent;
      if (call % CHECK_EVERY === 0) check(answer, call);
    }
  };
  await Promise.all(Array.from({ length: workload.concurrency }, lane));
  return calls;
}

/** Makes the check of an answer against `sent`: byte arrays by length and sampled bytes, values in depth. */
function echoCheck(
  workload: Workload,
  sent: unknown,
): (answer: unknown, call: number) => void {
  const fail = (call: number, what: string, cause?: unknown): never => {
    throw new Error(`${workload.name}: wrong answer to call ${call}: ${what}`, {
      cause,
    });
  };
  if (!(sent instanceof Uint8Array)) {
    return (answer, call) => {
      try {
        assert.deepStrictEqual(answer, sent);
      } catch (error) {
        fail(call, (error as Error).message, error);
      }
    };
  }
  const indexes = probeIndexes(sent.byteLength);
  return (answer, call) => {
    if (!(answer instanceof Uint8Array)) {
      return fail(call, `expected a Uint8Array, got ${typeof answer}`);
    }
    if (answer.byteLength !== sent.byteLength) {
      fail(call, `${answer.byteLength} bytes instead of ${sent.byteLength}`);
    }
    for (const index of indexes) {
      if (answer[index] !== sent[index]) {
        fail(call, `byte ${index} is ${answer[index]}, not ${sent[index]}`);
      }
    }
  };
}

/** The byte positions to compare: all of a short array, or the ends and a spread of a long one. */
function probeIndexes(length: number): number[] {
  if (length <= FULL_CHECK_MAX_BYTES) {
    return Array.from({ length }, (_, index) => index);
  }
  const indexes = [0, length - 1];
  for (let k = 1; k < 32; k++) indexes.push(Math.floor(length * k / 32) + k);
  return indexes;
}

/** Bytes with a pattern that does not repeat every 256, so shifted data is caught. */
function patternedBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) {
    bytes[index] = Math.imul(index + 1, 0x9e3779b1) >>> 24;
  }
  return bytes;
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
