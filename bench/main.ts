/**
 * `deno task bench [--quick] [--against <ref>] [--only W1,…] [--same-cpu]`: how fast isock is next to a minimal
 * hand-written RPC over the same framing and codec (the baseline), the
 * same with msgpackr as codec, raw loopback TCP (the limit), and the RPC
 * libraries users would pick instead on Node (gRPC, JSON-RPC, capnweb),
 * isock over NATS next to a bare nats.js request/reply (W1–W3, through a
 * nats-server the bench starts: bench/nats_bench.ts), and, in a table of
 * their own, isock's streams next to gRPC's (W5).
 * Each system runs as a server process and a client process on 127.0.0.1,
 * in one run, so the numbers compare. Then isock's memory and startup
 * (bench/footprint.ts), and the targets isock is held to
 * (bench/targets.ts). Everything goes to stdout and, with every round's
 * results, to bench/results/<timestamp>.json. With `--against <ref>`, the
 * isock of an earlier commit runs beside the current one in the same rounds
 * (bench/against.ts), and the run ends with the ratio of the two.
 *
 * @module
 */

import {
  type AgainstRow,
  checkOutRef,
  compareAgainst,
  type RefTree,
  renderAgainst,
} from "./against.ts";
import { BenchProcess, type Runtime } from "./bench_process.ts";
import type { ClientConfig, ClientReport, ServerConfig } from "./child.ts";
import type { CodecName } from "./codecs.ts";
import {
  type Footprint,
  type FootprintPlan,
  measureFootprint,
  renderFootprint,
} from "./footprint.ts";
import { startBenchNats } from "./nats_bench.ts";
import { bundleNodeScripts } from "./node_scripts.ts";
import { measureBundles, renderBundles } from "./bundle_size.ts";
import { ensurePeers } from "./peers.ts";
import { ensureRuntimeTools } from "../tests/runtimes/install.ts";
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
  /** The workloads it runs; every one if absent. */
  readonly workloads?: readonly WorkloadId[];
  /** Runs through the bench's nats-server (whose port its server gets). */
  readonly isOverNats?: boolean;
}

/** The workloads isock runs on Node and on Bun: the targets compare W1 and W2. */
const OTHER_RUNTIME_WORKLOADS: readonly WorkloadId[] = ["w1", "w2"];
/** The workloads of the NATS rows (bench/nats_bench.ts). */
const NATS_WORKLOADS: readonly WorkloadId[] = ["w1", "w2", "w3"];

/** What isock over WebSocket is measured on, next to a bare WebSocket echo. */
const WEBSOCKET_WORKLOADS: readonly WorkloadId[] = ["w1", "w2"];
const SYSTEMS: readonly System[] = [
  {
    id: "isock",
    label: "isock",
    server: new URL("./isock_server.ts", import.meta.url),
    client: new URL("./isock_client.ts", import.meta.url),
  },
  {
    id: "isock-node",
    label: "isock (Node)",
    server: new URL("./isock_node_server.ts", import.meta.url),
    client: new URL("./isock_node_client.ts", import.meta.url),
    runtime: "node-tsx",
    workloads: OTHER_RUNTIME_WORKLOADS,
  },
  {
    id: "isock-bun",
    label: "isock (Bun)",
    server: new URL("./isock_node_server.ts", import.meta.url),
    client: new URL("./isock_node_client.ts", import.meta.url),
    runtime: "bun",
    workloads: OTHER_RUNTIME_WORKLOADS,
  },
  {
    id: "isock-ws",
    label: "isock over WebSocket",
    server: new URL("./websocket_server.ts", import.meta.url),
    client: new URL("./websocket_client.ts", import.meta.url),
    workloads: WEBSOCKET_WORKLOADS,
  },
  {
    id: "ws-echo",
    label: "bare WebSocket echo",
    server: new URL("./websocket_echo_server.ts", import.meta.url),
    client: new URL("./websocket_echo_client.ts", import.meta.url),
    workloads: WEBSOCKET_WORKLOADS,
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
    id: "isock-nats",
    label: "isock over NATS",
    server: new URL("./isock_nats_server.ts", import.meta.url),
    client: new URL("./isock_nats_client.ts", import.meta.url),
    workloads: NATS_WORKLOADS,
    isOverNats: true,
  },
  {
    id: "nats-floor",
    label: "NATS floor (nats.js)",
    server: new URL("./nats_floor_server.ts", import.meta.url),
    client: new URL("./nats_floor_client.ts", import.meta.url),
    workloads: NATS_WORKLOADS,
    isOverNats: true,
  },
  {
    id: "store-and-forward",
    label: "store-and-forward limit",
    server: new URL("./raw_store_server.ts", import.meta.url),
    client: new URL("./raw_store_client.ts", import.meta.url),
    workloads: ["w3"],
  },
  {
    id: "store-and-forward-fresh",
    label: "store-and-forward, new buffers",
    server: new URL("./raw_store_fresh_server.ts", import.meta.url),
    client: new URL("./raw_store_fresh_client.ts", import.meta.url),
    workloads: ["w3"],
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

/** The systems an `--only` run keeps, besides the earlier isock. */
const ONLY_SYSTEMS: readonly string[] = [
  "isock",
  "isock-ws",
  "ws-echo",
  "baseline",
  "isock-nats",
  "nats-floor",
  "loopback",
  "store-and-forward",
  "store-and-forward-fresh",
];
/**
 * The systems an `--only` run keeps for some workloads: what their targets
 * compare with (W5 and W5b with gRPC).
 */
const ONLY_SYSTEMS_FOR: Readonly<Record<string, readonly WorkloadId[]>> = {
  grpc: ["w5", "w5b"],
};
/** The id of the earlier commit's isock. */
const EARLIER_ID = "isock-earlier";

/** The workloads of the main table, calls; the others, streams, have a table of their own. */
const CALL_WORKLOADS: readonly WorkloadId[] = WORKLOADS
  .filter((workload) => workload.stream === undefined)
  .map((workload) => workload.id);
const STREAM_WORKLOADS: readonly WorkloadId[] = WORKLOADS
  .filter((workload) => workload.stream !== undefined)
  .map((workload) => workload.id);

const RATIOS: readonly RatioRow[] = [
  {
    over: "isock",
    under: EARLIER_ID,
    workloads: WORKLOADS.map(({ id }) => id),
  },
  { over: "isock", under: "baseline", workloads: CALL_WORKLOADS },
  ...["isock-node", "isock-bun"].map((other) => ({
    over: other,
    under: "isock",
    workloads: OTHER_RUNTIME_WORKLOADS,
  })),
  { over: "isock-node", under: "grpc", workloads: OTHER_RUNTIME_WORKLOADS },
  {
    over: "baseline",
    under: "loopback",
    workloads: ["w1", "w3", "w3x4", "w4"],
  },
  { over: "isock", under: "loopback", workloads: ["w3", "w3x4"] },
  { over: "isock", under: "store-and-forward", workloads: ["w3"] },
  { over: "isock", under: "store-and-forward-fresh", workloads: ["w3"] },
  { over: "isock-ws", under: "ws-echo", workloads: WEBSOCKET_WORKLOADS },
  { over: "isock-nats", under: "nats-floor", workloads: NATS_WORKLOADS },
  { over: "isock-nats", under: "isock", workloads: NATS_WORKLOADS },
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
  /**
   * The rounds with `--against`: more, as the ratio of two isocks is
   * judged against bounds 5–10 % below 1 and one short measure on a busy
   * machine can be off by 2×; odd, so the median is a round's.
   */
  readonly againstRounds: number;
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
    againstRounds: 5,
    timing: { warmupMs: 200, durationMs: 800, fixedCountTimeoutMs: 2_500 },
    footprint: FOOTPRINT,
  },
  full: {
    name: "full",
    rounds: 2,
    againstRounds: 5,
    timing: { warmupMs: 1_000, durationMs: 4_000, fixedCountTimeoutMs: 10_000 },
    footprint: FOOTPRINT,
  },
};

/** Slack beyond the planned time before a client is given up on. */
const CLIENT_SLACK_MS = 60_000;

const USAGE =
  `Usage: deno task bench [--quick] [--against <ref>] [--only W1,W2,…] [--same-cpu]

  --quick           1 round of 0.8 s per workload (W4 cut at 2.5 s), then
                    the memory and startup measures in full (about 50 s in
                    all); the default is 2 rounds of 4 s (W4 cut at 10 s),
                    then the same (about 5 min).
  --against <ref>   Also measures the isock of an earlier commit (checked
                    out into a temporary git worktree, removed at the end),
                    in the same rounds as the current one (5), the two
                    taking turns workload by workload. Ends with the ratio of the two per
                    workload and the speed a restructuring must keep
                    (W1, W2 ≥ 0.95×, W3 ≥ 0.9×).
  --only W1,W2,…    Measures only these workloads, on isock, the earlier
                    isock, the baseline, the raw limits and (W1–W3) the
                    NATS rows, and skips memory and startup.
                    With --against --quick and W1,W2,W3: about 1 min.
  --same-cpu        Pins every server and client to CPU 0 (taskset), so
                    each pair shares one CPU; the default pins servers to
                    CPU 0 and clients to CPU 1.`;

/** What the command line asks for. */
interface Options {
  readonly mode: Mode;
  /** The earlier commit to measure beside the current tree. */
  readonly against?: string;
  /** The workloads to measure; all if absent. */
  readonly only?: readonly WorkloadId[];
  readonly isSameCpu: boolean;
}

function parseOptions(args: readonly string[]): Options | undefined {
  let mode = MODES.full;
  let against: string | undefined;
  let only: WorkloadId[] | undefined;
  let isSameCpu = false;
  // "--name value" or "--name=value".
  const valueOf = (name: string, i: number): [string, number] => {
    const arg = args[i];
    if (arg.startsWith(`${name}=`)) return [arg.slice(name.length + 1), i];
    const value = args[i + 1];
    if (value === undefined || value.startsWith("--")) {
      throw new Error(`${name} needs a value.\n${USAGE}`);
    }
    return [value, i + 1];
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = arg.split("=", 1)[0];
    if (arg === "--quick") mode = MODES.quick;
    else if (arg === "--same-cpu") isSameCpu = true;
    else if (arg === "--help" || arg === "-h") return undefined;
    else if (name === "--against") [against, i] = valueOf(name, i);
    else if (name === "--only") {
      let list: string;
      [list, i] = valueOf(name, i);
      only = list.split(",").map((item) => {
        const id = item.trim().toLowerCase();
        if (!WORKLOADS.some((workload) => workload.id === id)) {
          throw new Error(
            `--only: no workload ${item}; there are ${
              WORKLOADS.map(({ id }) => id.toUpperCase()).join(", ")
            }.`,
          );
        }
        return id as WorkloadId;
      });
    } else throw new Error(`Unknown argument ${arg}.\n${USAGE}`);
  }
  return { mode, against, only, isSameCpu };
}

/** Which CPUs the servers and clients run on. */
type Pinning = "split" | "same" | "none";

function cpusOf(pinning: Pinning): { server?: number; client?: number } {
  return pinning === "split"
    ? { server: 0, client: 1 }
    : pinning === "same"
    ? { server: 0, client: 0 }
    : {};
}

/** Runs one system's server and client and returns what the client measured. */
async function runSystem(
  system: System,
  timing: Timing,
  workloads: readonly WorkloadId[],
  pinning: Pinning,
  natsPort: number | undefined,
): Promise<WorkloadResult[]> {
  const chosen = WORKLOADS.filter(({ id }) => workloads.includes(id));
  // W4's clients each hold a connection, on both sides.
  const options = {
    runtime: system.runtime,
    connections: Math.max(...chosen.map((workload) => workload.clients)),
  };
  const cpus = cpusOf(pinning);
  const serverConfig: ServerConfig = {
    codec: system.codec,
    ...(system.isOverNats && { natsPort }),
  };
  await using server = new BenchProcess(
    `${system.label} server`,
    system.server,
    serverConfig,
    { ...options, cpu: cpus.server },
  );
  const port = await server.readPort();
  const clientConfig: ClientConfig = {
    ...timing,
    codec: system.codec,
    port,
    workloads,
  };
  await using client = new BenchProcess(
    `${system.label} client`,
    system.client,
    clientConfig,
    { ...options, cpu: cpus.client },
  );
  const plannedMs = chosen.reduce(
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
  // An earlier commit's client that speaks another protocol (which
  // against.ts could not tell) says so here rather than as a blank row.
  if (!Array.isArray(report?.results)) {
    throw new Error(
      `The ${system.label} client printed no results array: its child protocol differs from this bench's.`,
    );
  }
  if (system.id === EARLIER_ID) {
    const missing = workloads.filter((id) =>
      !report.results.some((result) => result.workload === id)
    );
    if (missing.length > 0) {
      throw new Error(
        `The ${system.label} client measured no ${
          missing.join(", ").toUpperCase()
        }: its child protocol differs from this bench's.`,
      );
    }
  }
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
  /** Whether taskset is there to pin processes to CPUs. */
  readonly hasTaskset: boolean;
}

/**
 * Where the servers and clients run: on CPU 0 and CPU 1 ("split"), both
 * on CPU 0 ("same", --same-cpu), or where the scheduler puts them. Left to
 * the scheduler, a server and its client share one CPU in some runs and
 * not in others, and on a small VM that alone moves W1's latency 2–3×;
 * pinned, every system runs the same way.
 */
function choosePinning(machine: Machine, isSameCpu: boolean): Pinning {
  if (!machine.hasTaskset) return "none";
  if (isSameCpu) return "same";
  return navigator.hardwareConcurrency >= 2 ? "split" : "none";
}

function describeRun(
  mode: Mode,
  rounds: number,
  machine: Machine,
  pinning: Pinning,
  tree: RefTree | undefined,
): string {
  const { timing } = mode;
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
    pinning === "split"
      ? ", pinned to CPU 0 and CPU 1 (taskset)"
      : pinning === "same"
      ? ", both pinned to CPU 0 (taskset, --same-cpu)"
      : ""
  }${
    tree === undefined
      ? ""
      : `; isock @${tree.shortSha} is ${tree.ref} (${tree.sha}), checked out in a temporary worktree and run in the same rounds, adjacent to isock`
  }`;
}

/** A load average above this, before the run, is worth a warning. */
const BUSY_LOAD = 0.5;

function footer(
  mode: Mode,
  rounds: number,
  systems: readonly System[],
  workloads: readonly WorkloadId[],
  failures: ReadonlyMap<string, string>,
  results: ReadonlyMap<string, readonly WorkloadResult[][]>,
): string[] {
  const labelOf = (id: string) =>
    systems.find((system) => system.id === id)!.label;
  const cut = [...results].filter(([, rounds]) =>
    rounds.flat().some((result) =>
      result.workload === "w4" && !result.reachedMaxCalls
    )
  ).map(([id]) => labelOf(id));
  const earlier = systems.find((system) => system.id === EARLIER_ID);
  // Each note is about a workload or a system, or about the run (none);
  // only those of the run's workloads and systems are shown.
  const notes: [WorkloadId | string | undefined, string][] = [
    [
      "w1",
      "W1 sequential: one call at a time, echo of { id, name, tags, ts }; loopback limit: a 64-byte raw echo.",
    ],
    [
      "w2",
      "W2 concurrent: 64 calls in flight on one connection, same object; raw bytes have no framing to tell calls apart.",
    ],
    [
      "w3",
      "W3 large: a 1 MiB Uint8Array echoed one call at a time; MB/s = 10^6 bytes of payload per second, one way; loopback limit: a 1 MiB raw echo.",
    ],
    [
      "w3",
      "  The raw echo streams each chunk back as it arrives; an RPC answers only once the whole request is in, so about 0.5× is its ceiling there. The store-and-forward limit is the ceiling of that shape: a 4-byte length, then the server reads the whole 1 MiB before it writes it back; the same with new buffers gives each message a buffer of its own, as an RPC's handler and caller own what they receive.",
    ],
    [
      "w3x4",
      "W3×4: W3's 1 MiB echo with 4 calls in flight on one connection, so that sending one overlaps receiving another; loopback limit: the raw echo, 4 payloads in flight, written one after another and read back in order.",
    ],
    [
      "w4",
      `W4 many clients: 1,000 clients in one process, each with its own connection, make 100 sequential calls each, all at once (W1's object; loopback: 64 raw bytes); p99 over all calls; connecting (one call each) is not timed.${
        cut.length > 0
          ? ` Cut at ${
            mode.timing.fixedCountTimeoutMs / 1000
          } s before all calls were made: ${cut.join(", ")}.`
          : ""
      }`,
    ],
    [
      "w5",
      "W5 stream of small items: one stream after another, each of W1's object 10,000 times with the item's index as id, taken with for await; items/s; every item's id is checked for order, every 100th item in full. The stream under way when the time is up is left early, which cancels it.",
    ],
    [
      "w5b",
      "W5b stream of chunks: the same with streams of 256 chunks of 64 KiB (the same bytes each time); MB/s = 10^6 bytes of payload per second; every 100th chunk's length and sampled bytes checked.",
    ],
    [
      "w5b",
      "  isock: client.stream() with its default window (between isock peers 1,024 items and 1 MiB, several items to a message when they are ready); gRPC: server-streaming calls (below); the other systems have no streams (—).",
    ],
    [
      undefined,
      "Ratios: below 1× in calls/s, items/s and MB/s, or above 1× in µs, the first system is the slower.",
    ],
    [
      EARLIER_ID,
      `${earlier?.label}: the same programs (bench/isock_server.ts, bench/isock_client.ts) and library of that commit, run from a temporary git worktree; in each round the two isocks take turns workload by workload, each pair back to back, its order alternating; new ÷ old below is the median of the rounds' ratios.`,
    ],
    [
      "baseline",
      "baseline: hand-written length-prefixed frames with isock's codec, [id, value] requests, one connection; (msgpackr): the same with msgpackr.",
    ],
    [
      "nats-floor",
      "Over NATS: one nats-server (2.9, Debian's, max_payload 8 MiB so that W3 is one message each way; not pinned) started by the bench; NATS floor: bare nats.js, a subscription answering each request with the payload decoded and encoded again by isock's codec, the client publishing each request with a reply subject of its own under one inbox and one wildcard subscription taking the answers (what nc.request() does, less its per-request timer and async-trace error, which make nc.request() about half as fast in W1); isock over NATS: server.listen(natsTransport(…)) and new Client({ transport }), the same echo action.",
    ],
    [
      "grpc",
      "gRPC: @grpc/grpc-js unary calls, server and client on Node; the service is bench/peers/echo.proto loaded with @grpc/proto-loader (as most Node users define one), objects as a protobuf message, W3's bytes as a bytes field; each client its own connection (grpc.use_local_subchannel_pool). W5: a server-streaming method per item type, the server writing while the call's Node Writable takes more (16 messages queued) and then waiting for 'drain', the client reading the call with for await.",
    ],
    [
      "jsonrpc",
      "JSON-RPC: jayson over TCP (newline-delimited JSON-RPC 2.0), server and client on Node; jayson's TCP client opens a new connection for every call, so W2 has 64 connections at a time; W3's bytes travel as base64 strings, as JSON-RPC users send them; jayson scans its whole input buffer for the newline again on every chunk read, which makes W3 slow.",
    ],
    [
      "capnweb",
      "capnweb: Cloudflare's capnweb over WebSocket (the ws package, with its class as the global WebSocket capnweb reads, which Node 20 lacks), server and client on Node; bytes travel as base64 in its JSON.",
    ],
  ];
  return [
    ...notes.filter(([about]) =>
      about === undefined ||
      workloads.includes(about as WorkloadId) ||
      systems.some((system) => system.id === about)
    ).map(([, note]) => note),
    rounds > 1
      ? `Values are medians over ${rounds} rounds.`
      : `Quick: one round of short measures (the default runs ${MODES.full.rounds} rounds of ${
        MODES.full.timing.durationMs / 1000
      } s, W4 cut at ${
        MODES.full.timing.fixedCountTimeoutMs / 1000
      } s), so expect noise of 10–30 % in W1; the memory and startup measures are the same as in a full run.`,
    ...[...failures].map(([id, message]) =>
      `${labelOf(id)} failed, so its row is incomplete: ${message}`
    ),
  ];
}

async function writeResults(
  startedAt: Date,
  mode: Mode,
  roundCount: number,
  workloads: readonly WorkloadId[],
  systems: readonly System[],
  tree: RefTree | undefined,
  against: readonly AgainstRow[] | undefined,
  machine: Machine,
  pinning: Pinning,
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
    rounds: roundCount,
    timing: mode.timing,
    footprintPlan: mode.footprint,
    runtime: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      node: machine.nodeVersion,
      loadAverage: machine.loadAverage,
      pinning,
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
    },
    workloads: WORKLOADS.filter(({ id }) => workloads.includes(id)).map((
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
    systems: systems.map((system, i) => ({
      id: system.id,
      label: system.label,
      server: system.server.href,
      client: system.client.href,
      runtime: system.runtime ?? "deno",
      codec: system.codec,
      failure: failures.get(system.id),
      median: rows[i].measures,
      rounds: rounds.get(system.id),
    })),
    against: tree === undefined ? undefined : {
      ref: tree.ref,
      sha: tree.sha,
      rows: against,
    },
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
    hasTaskset: await output("taskset", ["--version"]) !== undefined,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  if (options === undefined) {
    console.log(USAGE);
    return;
  }
  const { mode, against, only, isSameCpu } = options;
  const workloads = only ?? WORKLOADS.map(({ id }) => id);
  // Removed on every path: by disposal here, by its signal handler on
  // Ctrl+C (bench/against.ts).
  await using tree = against === undefined
    ? undefined
    : await checkOutRef(against, workloads);
  const systems = chooseSystems(tree, only);
  const roundCount = tree === undefined ? mode.rounds : mode.againstRounds;
  // The Node peers and msgpackr live in bench/peers; a run without them
  // (--only) does not install them.
  if (
    systems.some(({ runtime, codec }) =>
      runtime === "node" || codec === "msgpackr"
    )
  ) {
    await ensurePeers();
  }
  const machine = await readMachine();
  const pinning = choosePinning(machine, isSameCpu);
  if (isSameCpu && pinning !== "same") {
    console.error("--same-cpu: taskset is not there; nothing is pinned.");
  }
  if (
    systems.some(({ runtime }) => runtime === "node-tsx" || runtime === "bun")
  ) {
    await ensureRuntimeTools();
  }
  await bundleNodeScripts(
    systems.filter((system) => system.runtime === "node")
      .flatMap((system) => [system.server, system.client]),
  );
  const startedAt = new Date();
  const rounds = new Map(
    systems.map((system) => [system.id, [] as WorkloadResult[][]]),
  );
  const failures = new Map<string, string>();
  // One nats-server for the NATS rows, up for the whole run (not pinned).
  const natsStart = systems.some(({ isOverNats }) => isOverNats)
    ? await startBenchNats().then(
      (server) => ({ server, error: undefined }),
      (error: Error) => ({ server: undefined, error }),
    )
    : undefined;
  await using nats = natsStart?.server;
  for (const system of systems) {
    if (system.isOverNats && natsStart?.error !== undefined) {
      failures.set(system.id, natsStart.error.message);
    }
  }
  /** Runs a system on some workloads, adding to its results of this round. */
  const measureSystem = async (
    round: number,
    system: System,
    ids: readonly WorkloadId[],
  ) => {
    if (failures.has(system.id) || ids.length === 0) return;
    const started = performance.now();
    const results = rounds.get(system.id)!;
    if (results.length < round) results.push([]);
    try {
      results[round - 1].push(
        ...await runSystem(system, mode.timing, ids, pinning, nats?.port),
      );
    } catch (error) {
      // One system failing leaves the others' results worth having.
      failures.set(system.id, (error as Error)?.message ?? String(error));
    }
    const seconds = (performance.now() - started) / 1000;
    console.error(
      `round ${round}/${roundCount}: ${system.label}${
        ids.length < workloads.length ? ` ${ids.join(",").toUpperCase()}` : ""
      } (${seconds.toFixed(1)} s)${failures.has(system.id) ? " FAILED" : ""}`,
    );
  };
  for (let round = 1; round <= roundCount; round++) {
    // Alternate the order so that drift (heat, other load) does not
    // always favour the same system.
    const order = round % 2 === 1 ? systems : systems.toReversed();
    for (const system of order) {
      if (system.id === EARLIER_ID) continue;
      if (system.id !== "isock" || tree === undefined) {
        await measureSystem(
          round,
          system,
          workloads.filter((id) => system.workloads?.includes(id) ?? true),
        );
        continue;
      }
      // The two isocks take turns workload by workload, each pair back to
      // back and its order alternating, so that a burst of other load
      // lasting seconds falls on both alike.
      const earlier = systems.find(({ id }) => id === EARLIER_ID)!;
      for (const [k, id] of workloads.entries()) {
        const pair = (round + k) % 2 === 1
          ? [system, earlier]
          : [earlier, system];
        for (const one of pair) await measureSystem(round, one, [id]);
      }
    }
  }
  // --only is for a short run: memory and startup are left out.
  const footprint: Footprint = only === undefined
    ? await measureFootprint(
      mode.footprint,
      (what) => console.error(`footprint: ${what}`),
    )
    : { failures: {} };
  const rows: SystemRow[] = systems.map((system) => ({
    id: system.id,
    label: system.label,
    measures: summarize(rounds.get(system.id)!),
  }));
  const bundles = await measureBundles();
  const targets = judgeTargets({
    measures: new Map(rows.map((row) => [row.id, row.measures])),
    footprint,
    isSameCpu: pinning === "same",
    bundles,
  });
  const ratios = RATIOS.filter((ratio) =>
    rows.some((row) => row.id === ratio.over) &&
    rows.some((row) => row.id === ratio.under)
  );
  const table = [CALL_WORKLOADS, STREAM_WORKLOADS]
    .map((group) => group.filter((id) => workloads.includes(id)))
    .filter((group) => group.length > 0)
    .map((group, i) =>
      renderTable(rows, ratios, group, i === 0 ? "system" : "streams")
    )
    .join("\n\n");
  const againstRows = tree === undefined ? undefined : compareAgainst(
    rounds.get("isock")!,
    rounds.get(EARLIER_ID)!,
    workloads,
  );
  const text = [
    describeRun(mode, roundCount, machine, pinning, tree),
    "",
    table,
    "",
    ...footer(mode, roundCount, systems, workloads, failures, rounds),
    "",
    ...(only === undefined ? [renderFootprint(footprint), ""] : []),
    renderBundles(bundles),
    "",
    renderTargets(targets),
    ...(againstRows === undefined
      ? []
      : ["", renderAgainst(againstRows, `isock @${tree!.shortSha}`)]),
  ].join("\n");
  const path = await writeResults(
    startedAt,
    mode,
    roundCount,
    workloads,
    systems,
    tree,
    againstRows,
    machine,
    pinning,
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

/**
 * The systems of this run: all, or with `--only` those of
 * {@linkcode ONLY_SYSTEMS} (and gRPC for a stream workload); and the
 * earlier isock, if any, right after the current one.
 */
function chooseSystems(
  tree: RefTree | undefined,
  only: readonly WorkloadId[] | undefined,
): System[] {
  const systems = SYSTEMS.filter((system) =>
    only === undefined || ONLY_SYSTEMS.includes(system.id) ||
    (ONLY_SYSTEMS_FOR[system.id] ?? []).some((id) => only.includes(id))
  );
  if (tree !== undefined) {
    systems.splice(1, 0, {
      id: EARLIER_ID,
      label: `isock @${tree.shortSha}`,
      server: tree.server,
      client: tree.client,
    });
  }
  return systems;
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
