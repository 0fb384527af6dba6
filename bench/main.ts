/**
 * `deno task bench [--quick]`: how fast isock is next to a minimal
 * hand-written RPC over the same framing and codec (the baseline), the
 * same with msgpackr as codec, raw loopback TCP (the limit), and the RPC
 * libraries users would pick instead on Node (gRPC, JSON-RPC, capnweb),
 * and, in a table of their own, isock's streams next to gRPC's (W5).
 * Each system runs as a server process and a client process on 127.0.0.1,
 * in one run, so the numbers compare. Then isock's memory and startup
 * (bench/footprint.ts), and the targets isock is held to
 * (bench/targets.ts). Everything goes to stdout and, with every round's
 * results, to bench/results/<timestamp>.json.
 *
 * @module
 */

import { BenchProcess, type Runtime } from "./bench_process.ts";
import type { ClientConfig, ClientReport, ServerConfig } from "./child.ts";
import type { CodecName } from "./codecs.ts";
import {
  type Footprint,
  type FootprintPlan,
  measureFootprint,
  renderFootprint,
} from "./footprint.ts";
import { bundleNodeScripts } from "./node_scripts.ts";
import { ensurePeers } from "./peers.ts";
import {
  type Measures,
  type RatioRow,
  renderTable,
  type SystemRow,
} from "./table.ts";
import { judgeTargets, renderTargets, type TargetVerdict } from "./targets.ts";
import {
  median,
  METRICS,
  type Timing,
  type WorkloadId,
  type WorkloadResult,
  WORKLOADS,
} from "./workloads.ts";

/** One row of the table: a server program and a client program. */
interface System {
  readonly id: string;
  readonly label: string;
  readonly server: URL;
  readonly client: URL;
  /** @default {"deno"} */
  readonly runtime?: Runtime;
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
  {
    id: "grpc",
    label: "gRPC (Node)",
    server: new URL("./grpc_server.ts", import.meta.url),
    client: new URL("./grpc_client.ts", import.meta.url),
    runtime: "node",
  },
  {
    id: "jsonrpc",
    label: "JSON-RPC (Node)",
    server: new URL("./jsonrpc_server.ts", import.meta.url),
    client: new URL("./jsonrpc_client.ts", import.meta.url),
    runtime: "node",
  },
  {
    id: "capnweb",
    label: "capnweb (Node)",
    server: new URL("./capnweb_server.ts", import.meta.url),
    client: new URL("./capnweb_client.ts", import.meta.url),
    runtime: "node",
  },
];

/** The workloads of the main table, calls; the others, streams, have a table of their own. */
const CALL_WORKLOADS: readonly WorkloadId[] = WORKLOADS
  .filter((workload) => workload.stream === undefined)
  .map((workload) => workload.id);
const STREAM_WORKLOADS: readonly WorkloadId[] = WORKLOADS
  .filter((workload) => workload.stream !== undefined)
  .map((workload) => workload.id);

const RATIOS: readonly RatioRow[] = [
  { over: "isock", under: "baseline", workloads: CALL_WORKLOADS },
  { over: "baseline", under: "loopback", workloads: ["w1", "w3", "w4"] },
  // Of the peers, only gRPC has streams.
  { over: "isock", under: "grpc", workloads: WORKLOADS.map(({ id }) => id) },
  ...["jsonrpc", "capnweb"].map((peer) => ({
    over: "isock",
    under: peer,
    workloads: CALL_WORKLOADS,
  })),
];

/** How much to measure. */
interface Mode {
  readonly name: "quick" | "full";
  /** Each system runs once per round; rounds alternate the order. */
  readonly rounds: number;
  readonly timing: Timing;
  readonly footprint: FootprintPlan;
}

const MIB = 1024 * 1024;

/** The memory and startup measures; the same in both modes, as the targets name these sizes. */
const FOOTPRINT: FootprintPlan = {
  idleConnections: 10_000,
  largePayloadBytes: 64 * MIB,
  startupRuns: 10,
};

const MODES: Record<Mode["name"], Mode> = {
  quick: {
    name: "quick",
    rounds: 1,
    timing: { warmupMs: 200, durationMs: 800, fixedCountTimeoutMs: 2_500 },
    footprint: FOOTPRINT,
  },
  full: {
    name: "full",
    rounds: 2,
    timing: { warmupMs: 1_000, durationMs: 4_000, fixedCountTimeoutMs: 10_000 },
    footprint: FOOTPRINT,
  },
};

/** Slack beyond the planned time before a client is given up on. */
const CLIENT_SLACK_MS = 60_000;

const USAGE = `Usage: deno task bench [--quick]

  --quick   1 round of 0.8 s per workload (W4 cut at 2.5 s), then the
            memory and startup measures in full (about 50 s in all);
            the default is 2 rounds of 4 s (W4 cut at 10 s), then the
            same (about 5 min).`;

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
  canPin: boolean,
): Promise<WorkloadResult[]> {
  // W4's clients each hold a connection, on both sides.
  const options = {
    runtime: system.runtime,
    connections: Math.max(...WORKLOADS.map((workload) => workload.clients)),
  };
  const serverConfig: ServerConfig = { codec: system.codec };
  await using server = new BenchProcess(
    `${system.label} server`,
    system.server,
    serverConfig,
    { ...options, cpu: canPin ? 0 : undefined },
  );
  const port = await server.readPort();
  const clientConfig: ClientConfig = {
    ...timing,
    codec: system.codec,
    port,
    workloads: WORKLOADS.map((workload) => workload.id),
  };
  await using client = new BenchProcess(
    `${system.label} client`,
    system.client,
    clientConfig,
    { ...options, cpu: canPin ? 1 : undefined },
  );
  const plannedMs = WORKLOADS.reduce(
    (sum, workload) =>
      sum +
      (workload.isFixedCount
        ? timing.fixedCountTimeoutMs
        : timing.warmupMs + timing.durationMs),
    0,
  );
  const report = await client.readJson<ClientReport>(
    "its results",
    plannedMs + CLIENT_SLACK_MS,
  );
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

/** What the machine is, for the header and the results file. */
interface Machine {
  readonly nodeVersion: string;
  /** The 1-minute load average before the run; other work skews the numbers. */
  readonly loadAverage?: number;
  /**
   * Whether servers run on CPU 0 and clients on CPU 1. Left to the
   * scheduler, a server and its client share one CPU in some runs and not
   * in others, and on a small VM that alone moves W1's latency 2–3×; pinned,
   * every system runs the same way.
   */
  readonly canPin: boolean;
}

function describeRun(mode: Mode, machine: Machine): string {
  const { rounds, timing } = mode;
  const load = machine.loadAverage;
  return `isock bench, ${mode.name}: ${rounds} round${
    rounds === 1 ? "" : "s"
  } of ${timing.warmupMs / 1000} s warm-up + ${
    timing.durationMs / 1000
  } s measured per workload (W4: a fixed count, cut at ${
    timing.fixedCountTimeoutMs / 1000
  } s); Deno ${Deno.version.deno}, Node ${machine.nodeVersion}, ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs${
    load === undefined
      ? ""
      : `, load average ${load.toFixed(2)} before the run${
        load > BUSY_LOAD ? " (other work on the machine skews the numbers)" : ""
      }`
  }; server and client in separate processes on 127.0.0.1${
    machine.canPin ? ", pinned to CPU 0 and CPU 1 (taskset)" : ""
  }`;
}

/** A load average above this, before the run, is worth a warning. */
const BUSY_LOAD = 0.5;

function footer(
  mode: Mode,
  failures: ReadonlyMap<string, string>,
  results: ReadonlyMap<string, readonly WorkloadResult[][]>,
): string[] {
  const cut = [...results].filter(([, rounds]) =>
    rounds.flat().some((result) =>
      result.workload === "w4" && !result.reachedMaxCalls
    )
  ).map(([id]) => SYSTEMS.find((system) => system.id === id)!.label);
  return [
    "W1 sequential: one call at a time, echo of { id, name, tags, ts }; loopback limit: a 64-byte raw echo.",
    "W2 concurrent: 64 calls in flight on one connection, same object; raw bytes have no framing to tell calls apart.",
    "W3 large: a 1 MiB Uint8Array echoed one call at a time; MB/s = 10^6 bytes of payload per second, one way; loopback limit: a 1 MiB raw echo.",
    "  The raw echo streams each chunk back as it arrives; an RPC answers only once the whole request is in, so about 0.5× is its ceiling there.",
    `W4 many clients: 1,000 clients in one process, each with its own connection, make 100 sequential calls each, all at once (W1's object; loopback: 64 raw bytes); p99 over all calls; connecting (one call each) is not timed.${
      cut.length > 0
        ? ` Cut at ${
          mode.timing.fixedCountTimeoutMs / 1000
        } s before all calls were made: ${cut.join(", ")}.`
        : ""
    }`,
    "W5 stream of small items: one stream after another, each of W1's object 10,000 times with the item's index as id, taken with for await; items/s; every item's id is checked for order, every 100th item in full. The stream under way when the time is up is left early, which cancels it.",
    "W5b stream of chunks: the same with streams of 256 chunks of 64 KiB (the same bytes each time); MB/s = 10^6 bytes of payload per second; every 100th chunk's length and sampled bytes checked.",
    "  isock: client.stream() with its default window of 16 items; gRPC: server-streaming calls (below); the other systems have no streams (—).",
    "Ratios: below 1× in calls/s, items/s and MB/s, or above 1× in µs, the first system is the slower.",
    "baseline: hand-written length-prefixed frames with isock's codec, [id, value] requests, one connection; (msgpackr): the same with msgpackr.",
    "gRPC: @grpc/grpc-js unary calls, server and client on Node; the service is bench/peers/echo.proto loaded with @grpc/proto-loader (as most Node users define one), objects as a protobuf message, W3's bytes as a bytes field; each client its own connection (grpc.use_local_subchannel_pool). W5: a server-streaming method per item type, the server writing while the call's Node Writable takes more (16 messages queued) and then waiting for 'drain', the client reading the call with for await.",
    "JSON-RPC: jayson over TCP (newline-delimited JSON-RPC 2.0), server and client on Node; jayson's TCP client opens a new connection for every call, so W2 has 64 connections at a time; W3's bytes travel as base64 strings, as JSON-RPC users send them; jayson scans its whole input buffer for the newline again on every chunk read, which makes W3 slow.",
    "capnweb: Cloudflare's capnweb over WebSocket (the ws package, with its class as the global WebSocket capnweb reads, which Node 20 lacks), server and client on Node; bytes travel as base64 in its JSON.",
    mode.rounds > 1
      ? `Values are medians over ${mode.rounds} rounds.`
      : `Quick: one round of short measures (the default runs ${MODES.full.rounds} rounds of ${
        MODES.full.timing.durationMs / 1000
      } s, W4 cut at ${
        MODES.full.timing.fixedCountTimeoutMs / 1000
      } s), so expect noise of 10–30 % in W1; the memory and startup measures are the same as in a full run.`,
    ...[...failures].map(([id, message]) =>
      `${
        SYSTEMS.find((system) => system.id === id)!.label
      } failed, so its row is incomplete: ${message}`
    ),
  ];
}

async function writeResults(
  startedAt: Date,
  mode: Mode,
  machine: Machine,
  rounds: ReadonlyMap<string, readonly WorkloadResult[][]>,
  rows: readonly SystemRow[],
  failures: ReadonlyMap<string, string>,
  footprint: Footprint,
  targets: readonly TargetVerdict[],
  table: string,
  text: string,
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
    footprintPlan: mode.footprint,
    runtime: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      node: machine.nodeVersion,
      loadAverage: machine.loadAverage,
      pinned: machine.canPin,
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
    },
    workloads: WORKLOADS.map((
      { id, name, clients, concurrency, maxCalls, payloadBytes, stream },
    ) => ({
      id,
      name,
      clients,
      concurrency,
      maxCalls,
      payloadBytes,
      stream,
    })),
    systems: SYSTEMS.map((system, i) => ({
      id: system.id,
      label: system.label,
      runtime: system.runtime ?? "deno",
      codec: system.codec,
      failure: failures.get(system.id),
      median: rows[i].measures,
      rounds: rounds.get(system.id),
    })),
    footprint,
    targets,
    table,
    text,
  };
  await Deno.writeTextFile(file, JSON.stringify(results, null, 2) + "\n");
  const path = decodeURIComponent(file.pathname);
  const cwd = `${Deno.cwd()}/`;
  return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}

async function readMachine(): Promise<Machine> {
  // What a program prints, or undefined if it fails or is not there.
  const output = async (program: string, args: string[]) => {
    try {
      const { success, stdout } = await new Deno.Command(program, {
        args,
        stdin: "null",
        stderr: "null",
      }).output();
      return success ? new TextDecoder().decode(stdout).trim() : undefined;
    } catch {
      return undefined;
    }
  };
  // Through cat: Deno reads /proc only with every permission.
  const loadAverage = parseFloat(await output("cat", ["/proc/loadavg"]) ?? "");
  return {
    nodeVersion: await output("node", ["--version"]) ?? "(not found)",
    loadAverage: Number.isNaN(loadAverage) ? undefined : loadAverage,
    canPin: navigator.hardwareConcurrency >= 2 &&
      await output("taskset", ["--version"]) !== undefined,
  };
}

async function main(): Promise<void> {
  const mode = parseMode(Deno.args);
  if (mode === undefined) {
    console.log(USAGE);
    return;
  }
  await ensurePeers();
  const machine = await readMachine();
  await bundleNodeScripts(
    SYSTEMS.filter((system) => system.runtime === "node")
      .flatMap((system) => [system.server, system.client]),
  );
  const startedAt = new Date();
  const rounds = new Map(
    SYSTEMS.map((system) => [system.id, [] as WorkloadResult[][]]),
  );
  const failures = new Map<string, string>();
  for (let round = 1; round <= mode.rounds; round++) {
    // Alternate the order so that drift (heat, other load) does not
    // always favour the same system.
    const order = round % 2 === 1 ? SYSTEMS : SYSTEMS.toReversed();
    for (const system of order) {
      if (failures.has(system.id)) continue;
      const started = performance.now();
      try {
        rounds.get(system.id)!.push(
          await runSystem(system, mode.timing, machine.canPin),
        );
      } catch (error) {
        // One system failing leaves the others' results worth having.
        failures.set(system.id, (error as Error)?.message ?? String(error));
      }
      const seconds = (performance.now() - started) / 1000;
      console.error(
        `round ${round}/${mode.rounds}: ${system.label} (${
          seconds.toFixed(1)
        } s)${failures.has(system.id) ? " FAILED" : ""}`,
      );
    }
  }
  const footprint = await measureFootprint(
    mode.footprint,
    (what) => console.error(`footprint: ${what}`),
  );
  const rows: SystemRow[] = SYSTEMS.map((system) => ({
    id: system.id,
    label: system.label,
    measures: summarize(rounds.get(system.id)!),
  }));
  const targets = judgeTargets({
    measures: new Map(rows.map((row) => [row.id, row.measures])),
    footprint,
  });
  const table = [
    renderTable(rows, RATIOS, CALL_WORKLOADS),
    "",
    renderTable(rows, RATIOS, STREAM_WORKLOADS, "streams"),
  ].join("\n");
  const text = [
    describeRun(mode, machine),
    "",
    table,
    "",
    ...footer(mode, failures, rounds),
    "",
    renderFootprint(footprint),
    "",
    renderTargets(targets),
  ].join("\n");
  const path = await writeResults(
    startedAt,
    mode,
    machine,
    rounds,
    rows,
    failures,
    footprint,
    targets,
    table,
    text,
  );
  console.log(`${text}\n\nresults: ${path}`);
  if (failures.size > 0 || Object.keys(footprint.failures).length > 0) {
    Deno.exitCode = 1;
  }
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
