/**
 * The rows of `deno task attacks` where the victim is the command line: a
 * hostile server (tests/hostile_server.ts, served from this process) and
 * `isock` run against it as a process of its own. For each: the CLI's
 * exit code, how long it ran, its peak resident memory (GNU time's
 * maximum RSS), how much it printed, and whether a control character a
 * terminal acts on reached its stdout or stderr.
 *
 * `deno task attacks cli` runs only these rows.
 *
 * @module
 */

import {
  CONTROL_BYTES,
  explodingAction,
  HOSTILE_NAME,
  hostileActions,
  hostileServer,
  manyActions,
  rawErrorServer,
} from "../tests/hostile_server.ts";
import { runCli } from "../tests/helpers.ts";

/** How long one run of the CLI may take before it is killed. */
const DEADLINE_MS = 120_000;

/** One run of the CLI against a hostile server. */
export interface CliRow {
  attack: string;
  command: string;
  exitCode: number;
  /** Killed at the deadline. */
  killed: boolean;
  ms: number;
  peakRssMiB: number;
  stdoutBytes: number;
  stderrBytes: number;
  /** Whether a control character (C0 but LF, DEL, C1) was printed. */
  rawControls: boolean;
  /** The last line of stderr, when it printed one. */
  error?: string;
}

interface CliAttack {
  name: string;
  /** Starts the server; the CLI's arguments get its target. */
  serve(): Promise<AsyncDisposable & { target: string }>;
  args(target: string): string[];
}

const CLI_ATTACKS: CliAttack[] = [
  {
    name: "cli-escapes-ls",
    serve: () => hostileServer(hostileActions()),
    args: (target) => ["ls", target],
  },
  {
    name: "cli-escapes-describe",
    serve: () => hostileServer(hostileActions()),
    args: (target) => ["describe", target, HOSTILE_NAME],
  },
  {
    name: "cli-escapes-call-error",
    serve: () => hostileServer(hostileActions()),
    args: (target) => ["call", target, HOSTILE_NAME, "{}"],
  },
  {
    name: "cli-escapes-raw-error",
    serve: () => Promise.resolve(rawErrorServer()),
    args: (target) => ["call", target, "x"],
  },
  {
    name: "cli-escapes-ping",
    serve: () => Promise.resolve(rawErrorServer()),
    args: (target) => ["ping", target, "-c", "1"],
  },
  {
    name: "cli-schema-explode-ls",
    serve: () => hostileServer([explodingAction()]),
    args: (target) => ["ls", target],
  },
  {
    name: "cli-200k-actions-ls",
    serve: () => hostileServer(manyActions(200_000)),
    args: (target) => ["ls", target],
  },
  {
    name: "cli-200k-actions-ls-json",
    serve: () => hostileServer(manyActions(200_000)),
    args: (target) => ["ls", target, "--json"],
  },
];

/** Runs the CLI under GNU time: its exit code, output and peak RSS. */
async function runTimed(args: string[]): Promise<Omit<CliRow, "attack">> {
  const timeFile = await Deno.makeTempFile({ prefix: "isock-cli-time-" });
  try {
    const output = await runCli(args, {
      deadlineMs: DEADLINE_MS,
      wrapper: ["/usr/bin/time", "-f", "%M", "-o", timeFile],
    });
    const { stdout, stderr } = output;
    const peakKiB = Number(
      (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1),
    );
    const lastError = stderr.trimEnd().split("\n").at(-1);
    return {
      command: `isock ${args[0]}${args.includes("--json") ? " --json" : ""}`,
      exitCode: output.code,
      killed: output.killed,
      ms: Math.round(output.ms),
      peakRssMiB: Number.isFinite(peakKiB) ? Math.round(peakKiB / 1024) : NaN,
      stdoutBytes: new TextEncoder().encode(stdout).length,
      stderrBytes: new TextEncoder().encode(stderr).length,
      rawControls: CONTROL_BYTES.test(stdout) || CONTROL_BYTES.test(stderr),
      ...(lastError ? { error: lastError.slice(0, 120) } : {}),
    };
  } finally {
    await Deno.remove(timeFile);
  }
}

/**
 * Runs the CLI rows whose names start with one of `filters` (every row
 * when there are none), printing progress on stderr.
 *
 * @param filters Name prefixes, as `deno task attacks` takes them.
 * @returns The rows.
 */
export async function runCliAttacks(
  filters: readonly string[],
): Promise<CliRow[]> {
  const chosen = filters.length
    ? CLI_ATTACKS.filter((a) => filters.some((f) => a.name.startsWith(f)))
    : CLI_ATTACKS;
  const rows: CliRow[] = [];
  for (const attack of chosen) {
    console.error(`… ${attack.name}`);
    await using server = await attack.serve();
    const row = {
      attack: attack.name,
      ...await runTimed(attack.args(server.target)),
    };
    console.error(
      `  exit ${row.exitCode} in ${row.ms} ms, peak RSS ${row.peakRssMiB} MiB, ${row.stdoutBytes} bytes out${
        row.rawControls ? ", RAW CONTROLS" : ""
      }`,
    );
    rows.push(row);
  }
  return rows;
}

/**
 * The rows as a Markdown table.
 *
 * @param rows The rows.
 * @returns The table.
 */
export function cliTable(rows: readonly CliRow[]): string {
  const lines = [
    "| attack (victim: the CLI) | command | exit | time (ms) | CLI peak RSS (MiB) | stdout / stderr (bytes) | raw controls printed |",
    "|---|---|---:|---:|---:|---|---|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.attack} | ${row.command} | ${
        row.killed ? "killed" : row.exitCode
      } | ${row.ms} | ${row.peakRssMiB} | ${row.stdoutBytes} / ${row.stderrBytes} | ${
        row.rawControls ? "YES" : "no"
      } |`,
    );
  }
  return lines.join("\n");
}
