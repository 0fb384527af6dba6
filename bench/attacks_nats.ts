/**
 * The NATS rows of `deno task attacks`: floods of a service on NATS from a
 * hostile process on the bus (raw NATS publishes with made-up inboxes,
 * tests/fixtures/nats_floods.ts), each against a fresh nats-server and a
 * fresh isock server with default options in a process of its own
 * (tests/fixtures/nats_flood_server.ts). For each: what the attacker got,
 * the server's resident memory (sampled by the server itself every 50 ms)
 * before, at its highest and at the end, what it still holds after a full
 * collection, the latency of a good client's echo calls over NATS before
 * and during, how many handlers run 10 s after, whether a fresh client is
 * served, and how long the server takes to exit on SIGTERM.
 *
 * Loopback only; every loop is bounded in count and time; every process it
 * starts, it stops.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import { action, Client } from "../mod.ts";
import { natsTransport } from "../nats.ts";
import {
  type FloodServerStats,
  startFloodServer,
} from "../tests/fixtures/nats_flood_server.ts";
import {
  floodInboxes,
  floodPieces,
  floodSilentCalls,
  type FloodTarget,
  type GoodCalls,
  goodCalls,
  overloaded,
} from "../tests/fixtures/nats_floods.ts";
import { startNatsServer } from "../tests/fixtures/nats_server.ts";

const MiB = 1024 * 1024;
const echo = action("echo", (data: unknown) => data);
const statsRef = action("stats", (_reset: boolean): FloodServerStats => {
  throw new Error("runs on the server");
});
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What one flood did, as a row of the attacks table (bench/attacks.ts). */
export interface NatsAttackRow {
  attack: string;
  issueItem: string;
  got: string;
  refusedMs: number;
  refused: boolean;
  note?: string;
  rssMiB: { before: number; peak: number; end: number };
  /** Open files are not read over NATS: the server's are its NATS socket. */
  fds: { before: number; peak: number; end: number };
  baseline: GoodCalls;
  during: GoodCalls;
  benchLagMs: number;
  servesAfter: string;
  serverDied: boolean;
  exitMs: number | null;
}

interface FloodOutcome {
  got: string;
  refused: boolean;
  note?: string;
}

interface NatsAttack {
  name: string;
  /** Publishes the flood; `attacker` may listen on the flood's inboxes. */
  run(target: FloodTarget, attacker: NatsConnection): Promise<() => string>;
  /** Whether the row counts as refused, from what the server did. */
  judge(after: Settled): FloodOutcome;
}

/** The server 10 s after the flood. */
interface Settled {
  readonly stats: FloodServerStats;
  readonly before: FloodServerStats;
  readonly heard: string;
}

const liveMiB = (settled: Settled) =>
  Math.round((settled.stats.live - settled.before.live) / MiB);

/** The floods, at the scale they were first measured at. */
export const NATS_ATTACKS: readonly NatsAttack[] = [
  {
    name: "nats-inboxes-1M",
    async run(target) {
      await floodInboxes(target, 1_000_000);
      return () => "1,000,000 requests from as many inboxes, answered";
    },
    judge: (settled) => ({
      got: settled.heard,
      refused: liveMiB(settled) < 32,
      note: `holds ${
        liveMiB(settled)
      } MiB more 10 s after (live heap and buffers)`,
    }),
  },
  {
    name: "nats-pieces-31x16x4MiB",
    async run(target, attacker) {
      const refusals = await overloaded(attacker, target.tag);
      await floodPieces(target, 31, 16, 4 * MiB, MiB - 1024);
      await delay(500);
      const { calls } = refusals.stop();
      return () => `${calls} of 496 first pieces refused OVERLOADED`;
    },
    judge: (settled) => ({
      got: settled.heard,
      refused: liveMiB(settled) < 32,
      note: `holds ${liveMiB(settled)} MiB more 10 s after`,
    }),
  },
  {
    name: "nats-silent-100x1000",
    async run(target, attacker) {
      const refusals = await overloaded(attacker, target.tag);
      await floodSilentCalls(target, 100, 1_000);
      await delay(500);
      const { calls } = refusals.stop();
      return () => `${calls} of 100,000 calls refused OVERLOADED`;
    },
    judge: (settled) => ({
      got: `${settled.heard}; ${settled.stats.started} ran`,
      refused: settled.stats.running === 0,
      note: `${settled.stats.running} handlers still run 10 s after`,
    }),
  },
];

/**
 * Runs the NATS floods whose names start with one of `names` (all when
 * none is given).
 *
 * @param names Name prefixes.
 * @returns One row each.
 */
export async function runNatsAttacks(
  names: readonly string[],
): Promise<NatsAttackRow[]> {
  const chosen = names.length
    ? NATS_ATTACKS.filter((a) => names.some((name) => a.name.startsWith(name)))
    : NATS_ATTACKS;
  const rows: NatsAttackRow[] = [];
  for (const attack of chosen) {
    console.error(`… ${attack.name}`);
    const row = await runOne(attack);
    console.error(
      `  ${row.got}; RSS ${row.rssMiB.before} → ${row.rssMiB.peak} → ${row.rssMiB.end} MiB; good p99 ${
        row.baseline.p99.toFixed(1)
      } → ${row.during.p99.toFixed(1)} ms; ${row.note}`,
    );
    rows.push(row);
  }
  return rows;
}

async function runOne(attack: NatsAttack): Promise<NatsAttackRow> {
  await using nats = await startNatsServer();
  const server = await startFloodServer(nats.hostPort);
  const attacker = await connect({ servers: nats.hostPort });
  const bus = natsTransport({ servers: nats.hostPort, service: "flood" });
  const client = new Client({ transport: bus, timeout: 5_000 });
  const stats = async (reset = false) => {
    // Refused while the server is full: ask again.
    for (let tries = 0;; tries++) {
      try {
        return await client.runAction(statsRef, reset, { timeout: 30_000 });
      } catch (error) {
        if (tries >= 100) throw error;
        await delay(200);
      }
    }
  };
  const toMiB = (bytes: number) => Math.round(bytes / MiB);
  let exitMs: number | null = null;
  try {
    for (let i = 0; i < 50; i++) await client.runAction(echo, "warm");
    const baselineLoop = goodCalls(client);
    await delay(1_000);
    const baseline = await baselineLoop.stop();
    const before = await stats(true);
    const started = performance.now();
    const loop = goodCalls(client);
    const target = { nats: attacker, service: "flood", tag: "attack" };
    const heard = await attack.run(target, attacker);
    const floodMs = performance.now() - started;
    await delay(2_000);
    const during = await loop.stop();
    await delay(8_000);
    const settled: Settled = { stats: await stats(), before, heard: heard() };
    const outcome = attack.judge(settled);
    let servesAfter: string;
    const fresh = new Client({ transport: bus, timeout: 5_000 });
    try {
      const t = performance.now();
      await fresh.runAction(echo, "after");
      servesAfter = `yes (${(performance.now() - t).toFixed(0)} ms)`;
    } catch (error) {
      servesAfter = `NO: ${(error as { code?: string }).code ?? error}`;
    } finally {
      await fresh.close();
    }
    await client.close();
    exitMs = await server.stop();
    return {
      attack: attack.name,
      issueItem: "nats",
      got: outcome.got,
      refusedMs: Math.round(floodMs),
      refused: outcome.refused,
      note: `${outcome.note}; flood published in ${
        (floodMs / 1000).toFixed(1)
      } s; ${during.failures} good calls failed (${
        during.errors.join(", ") || "none"
      })`,
      rssMiB: {
        before: toMiB(before.rss),
        peak: toMiB(settled.stats.peakRss),
        end: toMiB(settled.stats.rss),
      },
      fds: { before: NaN, peak: NaN, end: NaN },
      baseline,
      during,
      benchLagMs: 0,
      servesAfter,
      serverDied: false,
      exitMs: exitMs === null ? null : Math.round(exitMs),
    };
  } finally {
    await client.close();
    await bus.close();
    await attacker.close();
    await server.stop(); // Again on the way out of an error; a no-op otherwise.
  }
}
