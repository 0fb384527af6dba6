/**
 * The workloads every system runs, and how a client measures one: a
 * warm-up, then calls for a fixed time (and at most a fixed count), every
 * 100th answer checked against what was sent. W4 differs: many clients,
 * each its own connection, make a fixed number of calls each.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The workloads, in table order. */
export type WorkloadId = "w1" | "w2" | "w3" | "w4";

/**
 * What a system echoes: a structured `value` (the RPC systems) or raw
 * `bytes` (the loopback limit, which has no framing or codec).
 */
export type PayloadShape = "value" | "bytes";

/** Sends a payload to the server and resolves with what came back. */
export type Echo = (payload: unknown) => Promise<unknown>;

/** A connected client of the system under test. */
export interface EchoClient {
  readonly echo: Echo;
  close(): Promise<void> | void;
}

/** Opens a new client, with a connection of its own. */
export type Connect = () => Promise<EchoClient>;

/** One column group of the table. */
export interface Workload {
  readonly id: WorkloadId;
  /** The name shown in the table. */
  readonly name: string;
  /** Clients calling at once, each with a connection of its own. */
  readonly clients: number;
  /** Calls in flight at once, per client. */
  readonly concurrency: number;
  /** The hard cap on measured calls, whatever the duration. */
  readonly maxCalls: number;
  /**
   * Whether every client makes its share of `maxCalls` and the measure
   * ends then (or at {@linkcode Timing.fixedCountTimeoutMs}), with no
   * warm-up but the one call that connects each client.
   */
  readonly isFixedCount?: boolean;
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
  /** The most milliseconds a fixed-count workload (W4) may take; calls not started by then are not made. */
  readonly fixedCountTimeoutMs: number;
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
  /** For W4: seconds to connect every client (one call each), before measuring. */
  readonly connectSeconds?: number;
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
/** How many W4 clients may be connecting at once (a burst of thousands overflows the listen backlog). */
const CONNECTING_AT_ONCE = 100;
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
    clients: 1,
    concurrency: 1,
    maxCalls: 1_000_000,
    payloads: { value: sampleObject, bytes: () => patternedBytes(64) },
  },
  {
    id: "w2",
    name: "W2 concurrent",
    clients: 1,
    concurrency: 64,
    maxCalls: 4_000_000,
    payloads: { value: sampleObject },
  },
  {
    id: "w3",
    name: "W3 large",
    clients: 1,
    concurrency: 1,
    maxCalls: 50_000,
    payloads: {
      value: () => patternedBytes(MIB),
      bytes: () => patternedBytes(MIB),
    },
    payloadBytes: MIB,
  },
  {
    id: "w4",
    name: "W4 many clients",
    clients: 1_000,
    concurrency: 1,
    maxCalls: 100_000,
    isFixedCount: true,
    payloads: { value: sampleObject, bytes: () => patternedBytes(64) },
  },
];

/**
 * Runs, one after another, the workloads asked for that have a payload of
 * this shape: W1–W3 on one client, W4 on clients of its own.
 *
 * @param connect Opens a client.
 * @param shape The payload shape the system echoes.
 * @param ids The workloads to run.
 * @param timing Warm-up and measuring time per workload.
 * @returns One result per workload run.
 * @throws {Error} On the first wrong answer.
 */
export async function runWorkloads(
  connect: Connect,
  shape: PayloadShape,
  ids: readonly WorkloadId[],
  timing: Timing,
): Promise<WorkloadResult[]> {
  const results: WorkloadResult[] = [];
  let shared: EchoClient | undefined;
  try {
    for (const workload of WORKLOADS) {
      const payload = workload.payloads[shape]?.();
      if (!ids.includes(workload.id) || payload === undefined) continue;
      if (workload.clients > 1) {
        results.push(await measureClients(workload, connect, payload, timing));
      } else {
        shared ??= await connect();
        results.push(await measure(workload, [shared], payload, timing));
      }
    }
  } finally {
    await shared?.close();
  }
  return results;
}

/** Connects a workload's clients, measures it, and closes them. */
async function measureClients(
  workload: Workload,
  connect: Connect,
  payload: unknown,
  timing: Timing,
): Promise<WorkloadResult> {
  const clients: EchoClient[] = [];
  try {
    const started = performance.now();
    await connectClients(clients, workload.clients, connect, payload);
    const connectSeconds = (performance.now() - started) / 1000;
    return {
      ...await measure(workload, clients, payload, timing),
      connectSeconds,
    };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

/**
 * Opens clients, a bounded number at a time, each making one call so that
 * its connection is up (and, for isock, its handshake done).
 *
 * @param clients Where the clients go as they connect, for the caller to
 * close on every path, this one's failure included.
 * @param count How many to open.
 * @param connect Opens one.
 * @param payload What each one's first call sends.
 * @returns Resolves once all are connected.
 * @throws {Error} The first failure to connect or call; the others stop.
 */
export async function connectClients(
  clients: EchoClient[],
  count: number,
  connect: Connect,
  payload: unknown,
): Promise<void> {
  let started = 0;
  // On a failure the other lanes stop too, so that no client is still
  // connecting once the caller closes those it knows of.
  let failure: { error: unknown } | undefined;
  const connecting = async () => {
    try {
      while (started < count && failure === undefined) {
        started++;
        const client = await connect();
        clients.push(client);
        await client.echo(payload);
      }
    } catch (error) {
      failure ??= { error };
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(count, CONNECTING_AT_ONCE) }, connecting),
  );
  if (failure !== undefined) throw failure.error;
}

async function measure(
  workload: Workload,
  clients: readonly EchoClient[],
  payload: unknown,
  timing: Timing,
): Promise<WorkloadResult> {
  const check = echoCheck(workload.name, payload);
  // One lane per call in flight: each client's echo, `concurrency` times.
  const lanes = clients.flatMap((client) =>
    Array.from({ length: workload.concurrency }, () => client.echo)
  );
  if (!workload.isFixedCount) {
    await drive(lanes, payload, check, {
      durationMs: timing.warmupMs,
      maxCalls: Math.ceil(workload.maxCalls / 10),
    });
  }
  const latencies = workload.concurrency === 1
    ? new Float64Array(workload.maxCalls)
    : undefined;
  const started = performance.now();
  const calls = await drive(lanes, payload, check, {
    durationMs: workload.isFixedCount
      ? timing.fixedCountTimeoutMs
      : timing.durationMs,
    maxCalls: workload.maxCalls,
    maxCallsPerLane: workload.isFixedCount
      ? Math.ceil(workload.maxCalls / lanes.length)
      : undefined,
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
  /** The most calls one lane makes. */
  maxCallsPerLane?: number;
  /** Where to put each call's latency in milliseconds, by call number. */
  latencies?: Float64Array;
}

/**
 * Keeps one call in flight per lane until the time is up or a cap is
 * reached, then waits for the calls under way.
 *
 * @returns How many calls were made.
 */
async function drive(
  lanes: readonly Echo[],
  payload: unknown,
  check: (answer: unknown, call: number) => void,
  { durationMs, maxCalls, maxCallsPerLane = Infinity, latencies }: DriveLimits,
): Promise<number> {
  const deadline = performance.now() + durationMs;
  let calls = 0;
  const lane = async (echo: Echo) => {
    for (
      let laneCalls = 0;
      laneCalls < maxCallsPerLane && calls < maxCalls &&
      performance.now() < deadline;
      laneCalls++
    ) {
      const call = calls++;
      const sent = performance.now();
      const answer = await echo(payload);
      if (latencies !== undefined) latencies[call] = performance.now() - sent;
      if (call % CHECK_EVERY === 0) check(answer, call);
    }
  };
  await Promise.all(lanes.map(lane));
  return calls;
}

/**
 * Makes the check of an answer against what was sent: byte arrays by
 * length and sampled bytes, values in depth.
 *
 * @param name What is checked, for errors.
 * @param sent What was sent.
 * @returns The check; it throws on a wrong answer.
 */
export function echoCheck(
  name: string,
  sent: unknown,
): (answer: unknown, call: number) => void {
  const fail = (call: number, what: string, cause?: unknown): never => {
    throw new Error(`${name}: wrong answer to call ${call}: ${what}`, {
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

/**
 * Bytes with a pattern that does not repeat every 256, so shifted data is
 * caught.
 *
 * @param length How many bytes.
 * @returns New bytes.
 */
export function patternedBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) {
    bytes[index] = Math.imul(index + 1, 0x9e3779b1) >>> 24;
  }
  return bytes;
}

/**
 * The median of some numbers.
 *
 * @param values The numbers; at least one.
 * @returns Their median.
 */
export function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
