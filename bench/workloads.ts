/**
 * The workloads every system runs, and how a client measures one: a
 * warm-up, then calls for a fixed time (and at most a fixed count), every
 * 100th answer checked against what was sent. W4 differs: many clients,
 * each its own connection, make a fixed number of calls each. W5 and W5b
 * differ too: each call asks for a stream, and what counts is the items
 * received, for the systems whose client can ask for one.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The workloads, in table order. */
export type WorkloadId = "w1" | "w2" | "w3" | "w3x4" | "w4" | "w5" | "w5b";

/**
 * What a system echoes: a structured `value` (the RPC systems) or raw
 * `bytes` (the loopback limit, which has no framing or codec).
 */
export type PayloadShape = "value" | "bytes";

/** Sends a payload to the server and resolves with what came back. */
export type Echo = (payload: unknown) => Promise<unknown>;

/**
 * What a stream workload asks the server for: `count` items, each the
 * {@linkcode streamItem} of its index.
 */
export interface StreamRequest {
  readonly count: number;
  /** Each item's size, a chunk of {@linkcode patternedBytes}; W1's object when absent. */
  readonly chunkBytes?: number;
}

/** Asks the server for a stream and iterates its items; leaving the loop early ends it. */
export type OpenStream = (request: StreamRequest) => AsyncIterable<unknown>;

/** A connected client of the system under test. */
export interface EchoClient {
  readonly echo: Echo;
  /** Present when the system has streams (W5, W5b). */
  readonly stream?: OpenStream;
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
  /** The hard cap on measured calls (a stream is one call), whatever the duration. */
  readonly maxCalls: number;
  /**
   * Whether every client makes its share of `maxCalls` and the measure
   * ends then (or at {@linkcode Timing.fixedCountTimeoutMs}), with no
   * warm-up but the one call that connects each client.
   */
  readonly isFixedCount?: boolean;
  /** The payload per shape; a shape the workload has no form for is left out. */
  readonly payloads: Partial<Record<PayloadShape, () => unknown>>;
  /** Payload bytes per call (per item, for a stream) when the measure is MB/s. */
  readonly payloadBytes?: number;
  /**
   * For a stream workload, what each call asks for; the client takes
   * every item with `for await`, and `payloads` is empty.
   */
  readonly stream?: StreamRequest;
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
  /** Measured calls (warm-up excluded); for a stream workload, streams asked for. */
  readonly calls: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  /** For a stream workload: items received, and per second. */
  readonly items?: number;
  readonly itemsPerSecond?: number;
  /** Payload megabytes (10^6 bytes) per second, one way, for payload-bound workloads. */
  readonly payloadMBPerSecond?: number;
  /** Latency percentiles in microseconds, for sequential workloads. */
  readonly p50Us?: number;
  readonly p99Us?: number;
  /** How many answers (or streamed items) were compared with what was sent. */
  readonly checkedAnswers: number;
  /** Whether the call cap, not the duration, ended the measurement. */
  readonly reachedMaxCalls: boolean;
  /** For W4: seconds to connect every client (one call each), before measuring. */
  readonly connectSeconds?: number;
}

/** The measures a result holds, by field name. */
export type Metric =
  | "callsPerSecond"
  | "itemsPerSecond"
  | "payloadMBPerSecond"
  | "p50Us"
  | "p99Us";

/** Every measure, for summing up rounds. */
export const METRICS: readonly Metric[] = [
  "callsPerSecond",
  "itemsPerSecond",
  "payloadMBPerSecond",
  "p50Us",
  "p99Us",
];

const MIB = 1024 * 1024;
const KIB = 1024;
/** Every this many calls (or streamed items), the answer is compared with what was sent. */
const CHECK_EVERY = 100;
/** How many W4 clients may be connecting at once (a burst of thousands overflows the listen backlog). */
const CONNECTING_AT_ONCE = 100;
/** Byte arrays longer than this are checked at a few places, not in full. */
const FULL_CHECK_MAX_BYTES = 4096;

function sampleObject(id = 1): unknown {
  return { id, name: "hello", tags: ["a", "b"], ts: 1234567890 };
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
    id: "w3x4",
    name: "W3×4 large, 4 in flight",
    clients: 1,
    concurrency: 4,
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
  {
    id: "w5",
    name: "W5 stream of small items",
    clients: 1,
    concurrency: 1,
    // 5,000,000 items.
    maxCalls: 500,
    payloads: {},
    stream: { count: 10_000 },
  },
  {
    id: "w5b",
    name: "W5b stream of chunks",
    clients: 1,
    concurrency: 1,
    // 32 GiB.
    maxCalls: 2_000,
    payloads: {},
    payloadBytes: 64 * KIB,
    stream: { count: 256, chunkBytes: 64 * KIB },
  },
];

/**
 * Runs, one after another, the workloads asked for that have a payload of
 * this shape: W1–W3 on one client, W4 on clients of its own, W5 and W5b on
 * the first client if it has streams.
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
      if (!ids.includes(workload.id)) continue;
      if (workload.stream !== undefined) {
        shared ??= await connect();
        if (shared.stream === undefined) continue;
        results.push(
          await measureStreams(
            workload,
            workload.stream,
            shared.stream,
            timing,
          ),
        );
        continue;
      }
      const payload = workload.payloads[shape]?.();
      if (payload === undefined) continue;
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
    payloadMBPerSecond: payloadMBPerSecond(workload, calls, seconds),
    p50Us: sorted && percentile(sorted, 0.5) * 1000,
    p99Us: sorted && percentile(sorted, 0.99) * 1000,
    checkedAnswers: Math.ceil(calls / CHECK_EVERY),
    reachedMaxCalls: calls >= workload.maxCalls,
  };
}

/** MB/s of payload for `count` calls (or items), if the workload measures it. */
function payloadMBPerSecond(
  { payloadBytes }: Workload,
  count: number,
  seconds: number,
): number | undefined {
  return payloadBytes === undefined
    ? undefined
    : count * payloadBytes / seconds / 1e6;
}

/** Takes streams one after another (a warm-up, then the measure) and counts their items. */
async function measureStreams(
  workload: Workload,
  request: StreamRequest,
  stream: OpenStream,
  timing: Timing,
): Promise<WorkloadResult> {
  await takeStreams(workload.name, request, stream, {
    durationMs: timing.warmupMs,
    maxCalls: Math.ceil(workload.maxCalls / 10),
  });
  const started = performance.now();
  const { streams, items, checked } = await takeStreams(
    workload.name,
    request,
    stream,
    { durationMs: timing.durationMs, maxCalls: workload.maxCalls },
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    workload: workload.id,
    calls: streams,
    seconds,
    callsPerSecond: streams / seconds,
    items,
    itemsPerSecond: items / seconds,
    payloadMBPerSecond: payloadMBPerSecond(workload, items, seconds),
    checkedAnswers: checked,
    reachedMaxCalls: streams >= workload.maxCalls,
  };
}

/**
 * Asks for one stream after another until the time is up or the cap is
 * reached; the stream under way when the time is up is left early.
 *
 * @returns How many streams were asked for, how many items came, and how
 * many of those were checked in full.
 * @throws {Error} On a wrong item, or a stream that ends short.
 */
async function takeStreams(
  name: string,
  request: StreamRequest,
  stream: OpenStream,
  { durationMs, maxCalls }: DriveLimits,
): Promise<{ streams: number; items: number; checked: number }> {
  const check = streamCheck(name, request);
  const deadline = performance.now() + durationMs;
  let streams = 0;
  let items = 0;
  let checked = 0;
  let isTimeUp = false;
  while (streams < maxCalls && !isTimeUp) {
    streams++;
    let index = 0;
    for await (const item of stream(request)) {
      check(item, index);
      index++;
      // The clock is read only now and then: items can come faster than it is cheap to.
      if (index % CHECK_EVERY === 0 && performance.now() >= deadline) break;
    }
    items += index;
    // Items 0, 100, 200, … (see streamCheck).
    checked += Math.ceil(index / CHECK_EVERY);
    isTimeUp = performance.now() >= deadline;
    if (index < request.count && !isTimeUp) {
      throw new Error(
        `${name}: a stream of ${request.count} items ended after ${index}`,
      );
    }
  }
  return { streams, items, checked };
}

/**
 * Makes the check of a streamed item: no more than asked for, W1's
 * objects each in its place (by `id`), and every 100th item in full
 * (a chunk by its length and sampled bytes).
 */
function streamCheck(
  name: string,
  request: StreamRequest,
): (item: unknown, index: number) => void {
  const isObject = request.chunkBytes === undefined;
  return (item, index) => {
    if (index >= request.count) {
      throw new Error(
        `${name}: more than the ${request.count} items asked for`,
      );
    }
    const id = isObject ? (item as { id?: unknown } | null)?.id : index;
    if (id !== index) {
      throw new Error(
        `${name}: item ${index} has id ${id}; items are missing or out of order`,
      );
    }
    if (index % CHECK_EVERY === 0) {
      echoCheck(name, streamItem(request, index), "item")(item, index);
    }
  };
}

/** The chunks streamed so far, by size: every stream sends the same one. */
const chunks = new Map<number, Uint8Array>();

/**
 * The item a stream sends at an index: W1's object with the index as
 * `id`, or the one chunk of {@linkcode patternedBytes} of the size asked
 * for, shared (not to be changed).
 *
 * @param request The stream asked for.
 * @param index The item's index, from 0.
 * @returns The item.
 */
export function streamItem(request: StreamRequest, index: number): unknown {
  const size = request.chunkBytes;
  if (size === undefined) return sampleObject(index);
  let chunk = chunks.get(size);
  if (chunk === undefined) {
    chunk = patternedBytes(size);
    chunks.set(size, chunk);
  }
  return chunk;
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
 * @param subject What is wrong when the check fails, before its number, for errors.
 * @returns The check; it throws on a wrong answer.
 */
export function echoCheck(
  name: string,
  sent: unknown,
  subject: "answer to call" | "item" = "answer to call",
): (answer: unknown, call: number) => void {
  const fail = (call: number, what: string, cause?: unknown): never => {
    throw new Error(`${name}: wrong ${subject} ${call}: ${what}`, {
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
