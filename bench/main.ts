/**
 * `deno task bench [--quick]`: how fast isock is next to a minimal
 * hand-written RPC over the same framing and codec (the baseline), the
 * same with msgpackr as codec, and raw loopback TCP (the limit). Each
 * system runs as a server process and a client process on 127.0.0.1, in
 * one run, so the numbers compare; the table goes to stdout and every
 * round's results to bench/results/<timestamp>.json.
 *
 * @module
 */

import { BenchProcess } from "./bench_process.ts";
import type {
  ClientConfig,
  ClientReport,
  ServerConfig,
  ServerReady,
} from "./child.ts";
import type { CodecName } from "./codecs.ts";
import { ensurePeers } from "./peers.ts";
import {
  type Measures,
  type RatioRow,
  renderTable,
  type SystemRow,
} from "./table.ts";
import {
  METRICS,
  type Timing,
  type WorkloadResult,
  WORKLOADS,
} from "./workloads.ts";

/** One row of the table: a server program and a client program. */
interface System {
  readonly id: string;
  readonly label: string;
  readonly server: URL;
  readonly client: URL;
  readonly codec?: CodecName;
}

const SYSTEMS: readonly System[] = [
  {
    id: "isock",
    label: "isock",
    server: new URL("./isock_server.ts", import.meta.url),
    client: new URL("./isock_client.ts", import.meta.url),
  },
  {
    id: "baseline",
    label: "baseline",
    server: new URL("./baseline_server.ts", import.meta.url),
    client: new URL("./baseline_client.ts", import.meta.url),
    codec: "isock",
  },
  {
    id: "baseline-msgpackr",
    label: "baseline (msgpackr)",
    server: new URL("./baseline_server.ts", import.meta.url),
    client: new URL("./baseline_client.ts", import.meta.url),
    codec: "msgpackr",
  },
  {
    id: "loopback",
    label: "loopback limit",
    server: new URL("./raw_server.ts", import.meta.url),
    client: new URL("./raw_client.ts", import.meta.url),
  },
];

const RATIOS: readonly RatioRow[] = [
  { over: "isock", under: "baseline", workloads: ["w1", "w2", "w3"] },
  { over: "baseline", under: "loopback", workloads: ["w1", "w3"] },
];

/** How much to measure. */
interface Mode {
  readonly name: "quick" | "full";
  /** Each system runs once per round; rounds alternate the order. */
  readonly rounds: number;
  readonly timing: Timing;
}

const MODES: Record<Mode["name"], Mode> = {
  quick: {
    name: "quick",
    rounds: 1,
    timing: { warmupMs: 300, durationMs: 1_500 },
  },
  full: {
    name: "full",
    rounds: 2,
    timing: { warmupMs: 1_000, durationMs: 5_000 },
  },
};

/** How long a server may take to start (the first run compiles). */
const SERVER_START_TIMEOUT_MS = 30_000;
/** Slack beyond the planned time before a client is given up on. */
const CLIENT_SLACK_MS = 60_000;

const USAGE = `Usage: deno task bench [--quick]

  --quick   1 round of 1.5 s per workload (about 20 s in all);
            the default is 2 rounds of 5 s (about 2.5 min).`;

function parseMode(args: readonly string[]): Mode | undefined {
  let mode = MODES.full;
  for (const arg of args) {
    if (arg === "--quick") mode = MODES.quick;
    else if (arg === "--help" || arg === "-h") return undefined;
    else throw new Error(`Unknown argument ${arg}.\n${USAGE}`);
  }
  return mode;
}

/** Runs one system's server and client and returns what the client measured. */
async function runSystem(
  system: System,
  timing: Timing,
): Promise<WorkloadResult[]> {
  const serverConfig: ServerConfig = { codec: system.codec };
  await using server = new BenchProcess(
    `${system.label} server`,
    system.server,
    serverConfig,
  );
  const ready = JSON.parse(
    await server.readLine("its port", SERVER_START_TIMEOUT_MS),
  ) as ServerReady;
  const clientConfig: ClientConfig = {
    ...timing,
    codec: system.codec,
    port: ready.port,
    workloads: WORKLOADS.map((workload) => workload.id),
  };
  await using client = new BenchProcess(
    `${system.label} client`,
    system.client,
    clientConfig,
  );
  const plannedMs = WORKLOADS.length * (timing.warmupMs + timing.durationMs);
  const report = JSON.parse(
    await client.readLine("its results", plannedMs + CLIENT_SLACK_MS),
  ) as ClientReport;
  await client.close();
  await server.close();
  return [...report.results];
}

/** The median of each measure over the rounds. */
function summarize(rounds: readonly (readonly WorkloadResult[])[]): Measures {
  const measures: Measures = {};
  for (const { id } of WORKLOADS) {
    const results = rounds.flatMap((round) =>
      round.filter((result) => result.workload === id)
    );
    if (results.length === 0) continue;
    const values: Measures[typeof id] = {};
    for (const metric of METRICS) {
      const samples = results.map((result) => result[metric])
        .filter((value) => value !== undefined);
      if (samples.length > 0) values[metric] = median(samples);
    }
    measures[id] = values;
  }
  return measures;
}

function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

function describeRun(mode: Mode): string {
  const { rounds, timing } = mode;
  return `isock bench, ${mode.name}: ${rounds} round${
    rounds === 1 ? "" : "s"
  } of ${timing.warmupMs / 1000} s warm-up + ${
    timing.durationMs / 1000
  } s measured per workload; Deno ${Deno.version.deno}, ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs; server and client in separate processes on 127.0.0.1`;
}

function footer(mode: Mode): string[] {
  return [
    "W1 sequential: one call at a time, echo of { id, name, tags, ts }; loopback limit: a 64-byte raw echo.",
    "W2 concurrent: 64 calls in flight on one connection, same object; raw bytes have no framing to tell calls apart.",
    "W3 large: a 1 MiB Uint8Array echoed one call at a time; MB/s = 10^6 bytes of payload per second, one way; loopback limit: a 1 MiB raw echo.",
    "  The raw echo streams each chunk back as it arrives; an RPC answers only once the whole request is in, so about 0.5× is its ceiling there.",
    "Ratios: below 1× in calls/s and MB/s, or above 1× in µs, the first system is the slower.",
    "baseline: hand-written length-prefixed frames with isock's codec, [id, value] requests, one connection; (msgpackr): the same with msgpackr.",
    ...(mode.rounds > 1
      ? [`Values are medians over ${mode.rounds} rounds.`]
      : []),
  ];
}

async function writeResults(
  startedAt: Date,
  mode: Mode,
  systems: readonly System[],
  rounds: ReadonlyMap<string, readonly WorkloadResult[][]>,
  rows: readonly SystemRow[],
  table: string,
): Promise<string> {
  const dir = new URL("./results/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  // Colons are not allowed in file names everywhere.
  const file = new URL(
    `${startedAt.toISOString().replaceAll(":", "-")}.json`,
    dir,
  );
  const results = {
    startedAt: startedAt.toISOString(),
    mode: mode.name,
    rounds: mode.rounds,
    timing: mode.timing,
    runtime: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
    },
    workloads: WORKLOADS.map((
      { id, name, concurrency, maxCalls, payloadBytes },
    ) => ({
      id,
      name,
      concurrency,
      maxCalls,
      payloadBytes,
    })),
    systems: systems.map((system, i) => ({
      id: system.id,
      label: system.label,
      codec: system.codec,
      median: rows[i].measures,
      rounds: rounds.get(system.id),
    })),
    table,
  };
  await Deno.writeTextFile(file, JSON.stringify(results, null, 2) + "\n");
  const path = decodeURIComponent(file.pathname);
  const cwd = `${Deno.cwd()}/`;
  return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}

async function main(): Promise<void> {
  const mode = parseMode(Deno.args);
  if (mode === undefined) {
    console.log(USAGE);
    return;
  }
  await ensurePeers();
  const startedAt = new Date();
  const rounds = new Map(
    SYSTEMS.map((system) => [system.id, [] as WorkloadResult[][]]),
  );
  for (let round = 1; round <= mode.rounds; round++) {
    // Alternate the order so that drift (heat, other load) does not
    // always favour the same system.
    const order = round % 2 === 1 ? SYSTEMS : SYSTEMS.toReversed();
    for (const system of order) {
      const started = performance.now();
      rounds.get(system.id)!.push(await runSystem(system, mode.timing));
      const seconds = (performance.now() - started) / 1000;
      console.error(
        `round ${round}/${mode.rounds}: ${system.label} (${
          seconds.toFixed(1)
        } s)`,
      );
    }
  }
  const rows: SystemRow[] = SYSTEMS.map((system) => ({
    id: system.id,
    label: system.label,
    measures: summarize(rounds.get(system.id)!),
  }));
  const table = renderTable(rows, RATIOS);
  const path = await writeResults(
    startedAt,
    mode,
    SYSTEMS,
    rounds,
    rows,
    table,
  );
  console.log(
    [describeRun(mode), "", table, "", ...footer(mode), "", `results: ${path}`]
      .join("\n"),
  );
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(
      `bench failed: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exitCode = 1;
  }
}
