/**
 * isock's memory and startup, measured from outside each process: the
 * server's RSS with many idle clients, the peak RSS of both ends of one
 * large echo, and the time from spawning a process to its server
 * listening, next to bare Deno. Memory is read from /proc/<pid>/status, so
 * those measures need Linux.
 *
 * @module
 */

import { BenchProcess, START_TIMEOUT_MS } from "./bench_process.ts";
import type { ServerConfig } from "./child.ts";
import type { IdleClientsConfig } from "./isock_idle_clients.ts";
import type { LargeEchoConfig, LargeEchoReport } from "./isock_large_client.ts";
import type { StartupReport } from "./startup_bare.ts";
import { alignRows, formatNumber } from "./table.ts";
import { median } from "./workloads.ts";

/** What to measure. */
export interface FootprintPlan {
  /** Idle clients held by the server; 0 skips the measure. */
  readonly idleConnections: number;
  /** The large echo's payload in bytes; 0 skips the measure. */
  readonly largePayloadBytes: number;
  /** Timed starts of each program, after one untimed; 0 skips the measure. */
  readonly startupRuns: number;
}

/** The server's memory with many idle clients. */
export interface IdleMeasure {
  readonly connections: number;
  readonly clientProcesses: number;
  /** Listening, before any client. */
  readonly serverRssBeforeBytes: number;
  /** With every client connected and idle. */
  readonly serverRssAfterBytes: number;
  /** The server's peak, while the clients connected. */
  readonly serverPeakBytes: number;
  /** From starting the client processes to every client connected. */
  readonly connectSeconds: number;
}

/** Both ends' memory around one large echo. */
export interface LargeEchoMeasure {
  readonly payloadBytes: number;
  readonly seconds: number;
  readonly server: EchoSideMemory;
  readonly client: EchoSideMemory;
}

/** One end's memory around the large echo. */
export interface EchoSideMemory {
  /** Connected, before the payload was made. */
  readonly rssBeforeBytes: number;
  /** The peak, the echo included. */
  readonly peakBytes: number;
}

/** Milliseconds from spawning a program to its line saying it listens. */
export interface StartupMeasure {
  readonly runs: number;
  /** The median, seen by the orchestrator (process start included). */
  readonly isockMs: number;
  readonly bareMs: number;
  /** The median of the programs' own `performance.now()` at listen. */
  readonly isockInProcessMs: number;
  readonly bareInProcessMs: number;
}

/** Every footprint measure; one skipped or failed is absent. */
export interface Footprint {
  readonly idle?: IdleMeasure;
  readonly largeEcho?: LargeEchoMeasure;
  readonly startup?: StartupMeasure;
  /** Why a measure failed, by its name ("idle connections", …). */
  readonly failures: Readonly<Record<string, string>>;
}

const MIB = 1024 * 1024;
const ISOCK_SERVER = new URL("./isock_server.ts", import.meta.url);
const IDLE_CLIENTS = new URL("./isock_idle_clients.ts", import.meta.url);
const LARGE_CLIENT = new URL("./isock_large_client.ts", import.meta.url);
const STARTUP_ISOCK = new URL("./startup_isock.ts", import.meta.url);
const STARTUP_BARE = new URL("./startup_bare.ts", import.meta.url);

/**
 * Idle clients per client process: spread over a few processes, which
 * connect them in parallel, each well within common open-file limits.
 */
const IDLE_CLIENTS_PER_PROCESS = 2_500;
/** How long the idle clients may take to connect. */
const IDLE_CONNECT_TIMEOUT_MS = 120_000;
/** How long the server is left alone before its idle RSS is read. */
const IDLE_SETTLE_MS = 1_000;
/** How long the large echo may take. */
const LARGE_ECHO_TIMEOUT_MS = 60_000;

/**
 * Runs the measures the plan asks for, one after another.
 *
 * @param plan What to measure.
 * @param onProgress Called as each measure is done, for the progress log.
 * @returns The measures.
 */
export async function measureFootprint(
  plan: FootprintPlan,
  onProgress: (what: string) => void,
): Promise<Footprint> {
  const failures: Record<string, string> = {};
  // One measure failing leaves the others worth having.
  const run = async <T>(
    what: string,
    size: number,
    measure: () => Promise<T>,
  ) => {
    if (size === 0) return undefined;
    const started = performance.now();
    try {
      return await measure();
    } catch (error) {
      failures[what] = (error as Error)?.message ?? String(error);
    } finally {
      const seconds = (performance.now() - started) / 1000;
      onProgress(
        `${what} (${seconds.toFixed(1)} s)${
          failures[what] === undefined ? "" : " FAILED"
        }`,
      );
    }
  };
  return {
    idle: await run(
      "idle connections",
      plan.idleConnections,
      () => measureIdle(plan.idleConnections),
    ),
    largeEcho: await run(
      "large echo",
      plan.largePayloadBytes,
      () => measureLargeEcho(plan.largePayloadBytes),
    ),
    startup: await run(
      "startup",
      plan.startupRuns,
      () => measureStartup(plan.startupRuns),
    ),
    failures,
  };
}

async function measureIdle(connections: number): Promise<IdleMeasure> {
  await using processes = new AsyncDisposableStack();
  const server = processes.use(
    new BenchProcess("isock server", ISOCK_SERVER, {} satisfies ServerConfig, {
      connections,
    }),
  );
  const port = await server.readPort();
  const before = await readMemory(server.pid);
  const started = performance.now();
  const clients = splitEvenly(connections, IDLE_CLIENTS_PER_PROCESS).map(
    (count, i) => {
      const config: IdleClientsConfig = { port, clients: count };
      return processes.use(
        new BenchProcess(`idle clients ${i + 1}`, IDLE_CLIENTS, config, {
          connections: count,
        }),
      );
    },
  );
  await Promise.all(
    clients.map((client) =>
      client.readLine("that its clients connected", IDLE_CONNECT_TIMEOUT_MS)
    ),
  );
  const connectSeconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  const after = await readMemory(server.pid);
  await Promise.all(clients.map((client) => client.close()));
  await server.close();
  return {
    connections,
    clientProcesses: clients.length,
    serverRssBeforeBytes: before.rssBytes,
    serverRssAfterBytes: after.rssBytes,
    serverPeakBytes: after.peakBytes,
    connectSeconds,
  };
}

async function measureLargeEcho(
  payloadBytes: number,
): Promise<LargeEchoMeasure> {
  // Room for the request around the payload.
  const maxFrameSize = payloadBytes + MIB;
  const serverConfig: ServerConfig = { maxFrameSize };
  await using server = new BenchProcess(
    "isock server",
    ISOCK_SERVER,
    serverConfig,
  );
  const port = await server.readPort();
  const serverBefore = await readMemory(server.pid);
  const clientConfig: LargeEchoConfig = { port, payloadBytes, maxFrameSize };
  await using client = new BenchProcess(
    "large echo client",
    LARGE_CLIENT,
    clientConfig,
  );
  const report = await client.readJson<LargeEchoReport>(
    "its result",
    LARGE_ECHO_TIMEOUT_MS,
  );
  const [serverAfter, clientAfter] = await Promise.all([
    readMemory(server.pid),
    readMemory(client.pid),
  ]);
  await client.close();
  await server.close();
  return {
    payloadBytes,
    seconds: report.seconds,
    server: {
      rssBeforeBytes: serverBefore.rssBytes,
      peakBytes: serverAfter.peakBytes,
    },
    client: {
      rssBeforeBytes: report.rssBeforeBytes,
      peakBytes: clientAfter.peakBytes,
    },
  };
}

async function measureStartup(runs: number): Promise<StartupMeasure> {
  const samples = {
    isock: { wall: [] as number[], inProcess: [] as number[] },
    bare: { wall: [] as number[], inProcess: [] as number[] },
  };
  // Run 0 warms the caches (compiled modules) and is not counted; the
  // order alternates so that neither program always goes first.
  for (let run = 0; run <= runs; run++) {
    const order = run % 2 === 0
      ? ["isock", "bare"] as const
      : ["bare", "isock"] as const;
    for (const which of order) {
      const started = performance.now();
      await using child = new BenchProcess(
        `${which} startup program`,
        which === "isock" ? STARTUP_ISOCK : STARTUP_BARE,
        {},
      );
      const report = await child.readJson<StartupReport>(
        "its port",
        START_TIMEOUT_MS,
      );
      const wall = performance.now() - started;
      await child.close();
      if (run === 0) continue;
      samples[which].wall.push(wall);
      samples[which].inProcess.push(report.listenedAtMs);
    }
  }
  return {
    runs,
    isockMs: median(samples.isock.wall),
    bareMs: median(samples.bare.wall),
    isockInProcessMs: median(samples.isock.inProcess),
    bareInProcessMs: median(samples.bare.inProcess),
  };
}

/**
 * Lays the measures out as plain text, with what was skipped.
 *
 * @param footprint The measures.
 * @returns Lines of text, without a trailing newline.
 */
export function renderFootprint(footprint: Footprint): string {
  const { idle, largeEcho, startup, failures } = footprint;
  const rows: string[][] = [["isock memory and startup", "value", "note"]];
  // A failure's first line only; the results file has all of it.
  const absent = (what: string) =>
    failures[what] === undefined
      ? [what, "skipped", ""]
      : [what, "FAILED", failures[what].split("\n", 1)[0]];
  if (idle === undefined) {
    rows.push(absent("idle connections"));
  } else {
    const perConnection = (idle.serverRssAfterBytes -
      idle.serverRssBeforeBytes) / idle.connections / 1024;
    rows.push(
      [
        `server RSS, listening`,
        mib(idle.serverRssBeforeBytes),
        "no client yet",
      ],
      [
        `server RSS, ${formatNumber(idle.connections, 0)} idle clients`,
        mib(idle.serverRssAfterBytes),
        `${perConnection.toFixed(1)} KiB more per connection; peak ${
          mib(idle.serverPeakBytes)
        }; connected in ${
          idle.connectSeconds.toFixed(1)
        } s from ${idle.clientProcesses} client processes`,
      ],
    );
  }
  if (largeEcho === undefined) {
    rows.push(absent("large echo"));
  } else {
    const size = mib(largeEcho.payloadBytes);
    for (const side of ["server", "client"] as const) {
      const { peakBytes: peak, rssBeforeBytes: before } = largeEcho[side];
      rows.push([
        `${side} peak RSS, ${size} echo`,
        mib(peak),
        `${(peak / largeEcho.payloadBytes).toFixed(2)}× the payload; ${
          ((peak - before) / largeEcho.payloadBytes).toFixed(2)
        }× above its ${mib(before)} before`,
      ]);
    }
  }
  if (startup === undefined) {
    rows.push(absent("startup"));
  } else {
    rows.push(
      [
        "startup to listen, bare Deno",
        ms(startup.bareMs),
        `in-process ${ms(startup.bareInProcessMs)}`,
      ],
      [
        "startup to listen, isock",
        ms(startup.isockMs),
        `in-process ${ms(startup.isockInProcessMs)}; +${
          ms(startup.isockMs - startup.bareMs)
        } over bare`,
      ],
    );
  }
  // The notes are prose: left-aligned, not padded.
  return alignRows(rows.map(([what, value]) => [what, value])).map((line, i) =>
    rows[i][2] === "" ? line : `${line}   ${rows[i][2]}`
  ).join("\n");
}

/** Memory of a process, from /proc/<pid>/status. */
interface ProcessMemory {
  /** Resident now (VmRSS). */
  readonly rssBytes: number;
  /** The highest resident so far (VmHWM). */
  readonly peakBytes: number;
}

async function readMemory(pid: number): Promise<ProcessMemory> {
  // Through cat: Deno lets a program read /proc only with every permission.
  const { success, stdout } = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdin: "null",
  }).output();
  const status = new TextDecoder().decode(stdout);
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s*(\\d+) kB$`, "m").exec(status);
    if (!success || match === null) {
      throw new Error(`No ${name} in /proc/${pid}/status.`);
    }
    return Number(match[1]) * 1024;
  };
  return { rssBytes: field("VmRSS"), peakBytes: field("VmHWM") };
}

/** `total` split into parts of at most `most`, as even as can be. */
function splitEvenly(total: number, most: number): number[] {
  const parts = Math.ceil(total / most);
  return Array.from(
    { length: parts },
    (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0),
  );
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

function ms(milliseconds: number): string {
  return `${milliseconds.toFixed(1)} ms`;
}
