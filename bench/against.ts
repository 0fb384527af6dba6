/**
 * `deno task bench --against <ref>`: the isock of an earlier commit,
 * checked out into a temporary git worktree, measured beside the current
 * tree's in the same run, and the verdict on the speed a restructuring must
 * keep (W1 and W2 at least 0.95× the old code, W3 at least 0.9×).
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { CHILD_PROTOCOL } from "./child.ts";
import { alignRows, formatNumber } from "./table.ts";
import {
  median,
  type Metric,
  type Workload,
  type WorkloadId,
  type WorkloadResult,
  WORKLOADS,
} from "./workloads.ts";

/** The programs, in any commit, that make up the isock system. */
const SERVER_PATH = "bench/isock_server.ts";
const CLIENT_PATH = "bench/isock_client.ts";
/** The files that say what the programs speak and measure. */
const CHILD_PATH = "bench/child.ts";
const WORKLOADS_PATH = "bench/workloads.ts";

/**
 * Commits from before {@linkcode CHILD_PROTOCOL} existed speak its first
 * version: the config and report have not changed since the bench began.
 */
const PROTOCOL_BEFORE_VERSIONING = 1;

/** An earlier commit's tree, checked out for the run. */
export interface RefTree extends AsyncDisposable {
  /** The ref as given. */
  readonly ref: string;
  /** The commit it names. */
  readonly sha: string;
  readonly shortSha: string;
  /** Where it is checked out. */
  readonly dir: string;
  /** Its isock server and client programs. */
  readonly server: URL;
  readonly client: URL;
  /** Removes the worktree; safe to call more than once. */
  remove(): Promise<void>;
}

/** A git command's trimmed stdout; throws with its stderr when it fails. */
async function git(cwd: string, args: readonly string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command("git", {
    args: [...args],
    cwd,
    stdin: "null",
  }).output();
  if (!success) {
    throw new Error(
      `git ${args.join(" ")} failed: ${
        new TextDecoder().decode(stderr).trim()
      }`,
    );
  }
  return new TextDecoder().decode(stdout).trim();
}

/**
 * Checks `ref` out, detached, into a temporary worktree of the repository
 * this bench lives in, and checks that its isock programs can be run by
 * this bench for `workloads`. The worktree is removed by
 * {@linkcode RefTree.remove} (or disposal), and, if the process is
 * interrupted (SIGINT, SIGTERM, SIGHUP) before that, by the signal handler,
 * which then exits.
 *
 * @param ref A commit, branch, tag or `HEAD~n`.
 * @param workloads The workloads the run measures.
 * @returns The checked-out tree.
 * @throws {Error} When the ref names no commit, lacks the programs, or
 * speaks another child protocol or measures other workloads.
 */
export async function checkOutRef(
  ref: string,
  workloads: readonly WorkloadId[],
): Promise<RefTree> {
  const benchDir = new URL(".", import.meta.url).pathname;
  const top = await git(benchDir, ["rev-parse", "--show-toplevel"]);
  let sha: string;
  try {
    sha = await git(top, [
      "rev-parse",
      "--verify",
      "--quiet",
      `${ref}^{commit}`,
    ]);
  } catch {
    throw new Error(`--against ${ref}: no such commit in ${top}.`);
  }
  const shortSha = await git(top, ["rev-parse", "--short", sha]);
  for (const path of [SERVER_PATH, CLIENT_PATH, CHILD_PATH, WORKLOADS_PATH]) {
    try {
      await git(top, ["cat-file", "-e", `${sha}:${path}`]);
    } catch {
      throw new Error(
        `--against ${ref}: commit ${shortSha} has no ${path}, so this bench cannot run its isock.`,
      );
    }
  }
  const parent = await Deno.makeTempDir({ prefix: "isock-bench-" });
  const dir = `${parent}/tree`;
  let isRemoved = false;
  // Synchronous, so that a signal handler can run it before exiting.
  const removeSync = () => {
    if (isRemoved) return;
    isRemoved = true;
    for (
      const args of [["worktree", "remove", "--force", dir], [
        "worktree",
        "prune",
      ]]
    ) {
      try {
        new Deno.Command("git", {
          args,
          cwd: top,
          stdin: "null",
          stdout: "null",
          stderr: "null",
        })
          .outputSync();
      } catch {
        // Removing the directory below, and the prune, still clean up.
      }
    }
    try {
      Deno.removeSync(parent, { recursive: true });
    } catch {
      // Already gone.
    }
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = () => {
    removeSync();
    console.error(`interrupted; removed the worktree of ${shortSha}`);
    Deno.exit(130);
  };
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  const remove = () => {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    removeSync();
    return Promise.resolve();
  };
  try {
    await git(top, ["worktree", "add", "--detach", dir, sha]);
    await checkCompatible(dir, shortSha, workloads);
  } catch (error) {
    await remove();
    throw error;
  }
  const tree = new URL(`file://${dir}/`);
  return {
    ref,
    sha,
    shortSha,
    dir,
    server: new URL(SERVER_PATH, tree),
    client: new URL(CLIENT_PATH, tree),
    remove,
    [Symbol.asyncDispose]: remove,
  };
}

/**
 * Fails unless the tree's programs speak this bench's child protocol and
 * its workloads are the ones this bench measures, so that its numbers
 * compare with the current tree's.
 */
async function checkCompatible(
  dir: string,
  shortSha: string,
  workloads: readonly WorkloadId[],
): Promise<void> {
  const child = await import(`file://${dir}/${CHILD_PATH}`) as {
    CHILD_PROTOCOL?: unknown;
  };
  const theirs = child.CHILD_PROTOCOL ?? PROTOCOL_BEFORE_VERSIONING;
  if (theirs !== CHILD_PROTOCOL) {
    throw new Error(
      `--against: commit ${shortSha}'s bench programs speak child protocol ${theirs}, this bench speaks ${CHILD_PROTOCOL} (bench/child.ts): they cannot be run side by side. Pick a commit with the same protocol, or run each commit's own bench.`,
    );
  }
  const { WORKLOADS: theirWorkloads } = await import(
    `file://${dir}/${WORKLOADS_PATH}`
  ) as { WORKLOADS?: readonly Workload[] };
  for (const id of workloads) {
    const ours = WORKLOADS.find((workload) => workload.id === id)!;
    const other = theirWorkloads?.find((workload) => workload.id === id);
    if (other === undefined || !isDeepStrictEqual(shape(ours), shape(other))) {
      throw new Error(
        `--against: ${ours.name} is ${
          other === undefined ? "missing" : "defined differently"
        } in commit ${shortSha}'s bench/workloads.ts, so its numbers would not compare; leave it out with --only.`,
      );
    }
  }
}

/** What a workload measures, without its functions. */
function shape(workload: Workload): unknown {
  return {
    clients: workload.clients,
    concurrency: workload.concurrency,
    maxCalls: workload.maxCalls,
    isFixedCount: workload.isFixedCount ?? false,
    payloadBytes: workload.payloadBytes,
    stream: workload.stream,
    // The isock client sends the value form.
    payload: workload.payloads.value?.(),
  };
}

/** The measure each workload is compared on, higher is better. */
const COMPARED: Readonly<
  Record<WorkloadId, { metric: Metric; unit: string; bound?: number }>
> = {
  w1: { metric: "callsPerSecond", unit: "calls/s", bound: 0.95 },
  w2: { metric: "callsPerSecond", unit: "calls/s", bound: 0.95 },
  w3: { metric: "payloadMBPerSecond", unit: "MB/s", bound: 0.9 },
  w3x4: { metric: "payloadMBPerSecond", unit: "MB/s" },
  w4: { metric: "callsPerSecond", unit: "calls/s" },
  w5: { metric: "itemsPerSecond", unit: "items/s" },
  w5b: { metric: "payloadMBPerSecond", unit: "MB/s" },
};

/** One workload of the side-by-side verdict. */
export interface AgainstRow {
  readonly workload: WorkloadId;
  readonly metric: Metric;
  readonly unit: string;
  /** The current tree's measure. */
  readonly current?: number;
  /** The earlier commit's. */
  readonly earlier?: number;
  /** current ÷ earlier, each round's (the two measured back to back). */
  readonly roundRatios: readonly number[];
  /** The median of the rounds' ratios. */
  readonly ratio?: number;
  /** The least ratio the restructuring must keep, where there is one. */
  readonly bound?: number;
  /** Whether the ratio reaches the bound; absent without a bound or a ratio. */
  readonly isMet?: boolean;
}

/**
 * Compares the current isock with the earlier commit's, workload by
 * workload: the ratio is the median of each round's ratio, as the two were
 * measured back to back within a round and a burst of other load is more
 * alike within a pair than across rounds.
 *
 * @param current The current tree's results, per round.
 * @param earlier The earlier commit's, per round.
 * @param workloads The workloads measured.
 * @returns One row per workload.
 */
export function compareAgainst(
  current: readonly (readonly WorkloadResult[])[],
  earlier: readonly (readonly WorkloadResult[])[],
  workloads: readonly WorkloadId[],
): AgainstRow[] {
  const valueOf = (
    round: readonly WorkloadResult[] | undefined,
    workload: WorkloadId,
    metric: Metric,
  ) => round?.find((result) => result.workload === workload)?.[metric];
  return workloads.map((workload) => {
    const { metric, unit, bound } = COMPARED[workload];
    const values = (rounds: readonly (readonly WorkloadResult[])[]) =>
      rounds.map((round) => valueOf(round, workload, metric))
        .filter((value) => value !== undefined);
    const nows = values(current);
    const befores = values(earlier);
    const roundRatios = current.flatMap((round, i) => {
      const now = valueOf(round, workload, metric);
      const before = valueOf(earlier[i], workload, metric);
      return now !== undefined && before !== undefined && before > 0
        ? [now / before]
        : [];
    });
    const ratio = roundRatios.length > 0 ? median(roundRatios) : undefined;
    return {
      workload,
      metric,
      unit,
      current: nows.length > 0 ? median(nows) : undefined,
      earlier: befores.length > 0 ? median(befores) : undefined,
      roundRatios,
      ratio,
      bound,
      isMet: bound === undefined || ratio === undefined
        ? undefined
        : ratio >= bound,
    };
  });
}

/**
 * Lays the comparison out as plain text.
 *
 * @param rows The rows.
 * @param earlierLabel The earlier system's label ("isock @1a2b3c4").
 * @returns The section, without a trailing newline.
 */
export function renderAgainst(
  rows: readonly AgainstRow[],
  earlierLabel: string,
): string {
  const judged = rows.filter((row) => row.bound !== undefined);
  const spreads = rows.map(spreadOf).filter((spread) => spread !== undefined);
  const widest = Math.max(0, ...spreads);
  const met = judged.filter((row) => row.isMet === true);
  return [
    ...alignRows([
      [
        "workload",
        "isock",
        earlierLabel,
        "new ÷ old",
        "each round",
        "target",
        "",
      ],
      ...rows.map((row) => {
        return [
          `${row.workload.toUpperCase()} ${row.unit}`,
          formatNumber(row.current, 0),
          formatNumber(row.earlier, 0),
          row.ratio === undefined ? "—" : `${row.ratio.toFixed(3)}×`,
          row.roundRatios.map((ratio) => ratio.toFixed(2)).join(" "),
          row.bound === undefined ? "—" : `≥ ${row.bound.toFixed(2)}×`,
          row.bound === undefined
            ? ""
            : row.isMet === undefined
            ? "SKIP"
            : row.isMet
            ? "met"
            : "NOT MET",
        ];
      }),
    ]),
    `${met.length} of ${judged.length} speed targets against ${earlierLabel} met (new ÷ old: the median of the rounds' ratios, each of two runs back to back).`,
    ...(widest > NOISY_SPREAD
      ? [
        `The rounds' ratios differ by up to ${
          (widest * 100).toFixed(0)
        } % of their median: the machine was too busy (or the measures too short) for a verdict within 5 %; run again without --quick on a quiet machine.`,
      ]
      : []),
  ].join("\n");
}

/** A spread of the rounds' ratios (of their median) beyond which the verdict is not to be trusted. */
const NOISY_SPREAD = 0.1;

/** (largest − smallest) ÷ median of a row's round ratios, given two or more. */
function spreadOf(row: AgainstRow): number | undefined {
  const { roundRatios, ratio } = row;
  if (roundRatios.length < 2 || ratio === undefined) return undefined;
  return (Math.max(...roundRatios) - Math.min(...roundRatios)) / ratio;
}
