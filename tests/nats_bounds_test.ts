/**
 * A server on NATS under floods from a hostile process on the bus (raw
 * NATS publishes with made-up inboxes, tests/fixtures/nats_floods.ts): its
 * memory stays bounded (read in its own process), a good client's calls
 * meanwhile succeed, and nothing the floods started is left running.
 *
 * @module
 */

import { action, Client } from "@isock/isock";
import { connect } from "@nats-io/transport-node";
import assert from "node:assert/strict";
import { natsTransport, type NatsTransportOptions } from "../nats.ts";
import {
  floodInboxes,
  floodPieces,
  floodSilentCalls,
  type FloodTarget,
  goodCalls,
  overloaded,
} from "./fixtures/nats_floods.ts";
import {
  type FloodServerStats,
  startFloodServer,
} from "./fixtures/nats_flood_server.ts";
import { startNatsServer } from "./fixtures/nats_server.ts";

const MiB = 1024 * 1024;
const HEARTBEAT = 500;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const echo = action("echo", (data: unknown) => data);
const stats = action("stats", (_reset: boolean): FloodServerStats => {
  throw new Error("runs on the server");
});

/** A nats-server, the flood server in its own process, an attacker and a good client. */
async function floodSetup(
  options: Partial<NatsTransportOptions>,
  nats: { maxPayload?: number } = {},
) {
  const natsServer = await startNatsServer(nats);
  const server = await startFloodServer(natsServer.hostPort, {
    heartbeat: HEARTBEAT,
    ...options,
  });
  const attacker = await connect({ servers: natsServer.hostPort });
  const bus = natsTransport({
    servers: natsServer.hostPort,
    service: "flood",
    heartbeat: HEARTBEAT,
  });
  const client = new Client({ transport: bus, timeout: 10_000 });
  const target: FloodTarget = { nats: attacker, service: "flood", tag: "x" };
  return {
    target,
    client,
    attacker,
    stats: (reset = false) => client.runAction(stats, reset),
    async [Symbol.asyncDispose]() {
      await client.close();
      await bus.close();
      await attacker.close();
      await server.stop();
      await natsServer.stop();
    },
  };
}

/** How much the server may grow by, in MiB. */
interface Growth {
  /** Its resident memory, at its highest. */
  readonly rss: number;
  /** Its heap and buffers, garbage included, at their highest. */
  readonly held: number;
  /** What it still holds 2 s after the flood (unchecked when left out). */
  readonly live?: number;
}

/** Runs `flood` while a good client calls; checks the good calls and the memory. */
async function underFlood(
  setup: Awaited<ReturnType<typeof floodSetup>>,
  flood: () => Promise<void>,
  most: Growth,
) {
  for (let i = 0; i < 20; i++) await setup.client.runAction(echo, "warm");
  const before = await setup.stats(true);
  const good = goodCalls(setup.client);
  await flood();
  // What comes after the flood counts too: the server may still be at it.
  await wait(2_000);
  const { calls, p99, errors: failures } = await good.stop();
  const after = await setup.stats();
  assert.deepEqual(failures, [], "good calls failed");
  assert.ok(calls >= 10, `only ${calls} good calls`);
  assert.ok(p99 < 2_000, `good calls' p99 is ${p99.toFixed(0)} ms`);
  const growth = {
    rss: (after.peakRss - before.rss) / MiB,
    held: (after.peakHeld - before.live) / MiB,
    live: (after.live - before.live) / MiB,
  };
  for (const key of ["rss", "held", "live"] as const) {
    assert.ok(
      growth[key] < (most[key] ?? Infinity),
      `the server's ${key} grew by ${growth[key].toFixed(0)} MiB (at most ${
        most[key]
      })`,
    );
  }
  return before;
}

Deno.test("nats bounds: 100,000 callers of one call each: the server keeps at most maxCallers, its memory bounded", async () => {
  await using setup = await floodSetup({ maxCallers: 1_000 });
  await underFlood(setup, () => floodInboxes(setup.target, 100_000), {
    rss: 400,
    held: 400,
    live: 16,
  });
});

Deno.test("nats bounds: large messages whose pieces never come: bounded by maxReassemblyBytes, freed once their callers are silent", async () => {
  await using setup = await floodSetup(
    { maxReassemblyBytes: 16 * MiB },
    { maxPayload: 256 * 1024 },
  );
  // 40 callers × 16 messages announcing 4 MiB each (2.5 GiB if set aside
  // whole), of which the first piece alone (200 KB) comes: 83 fit at once
  // (more as silent callers' pieces are dropped, if the flood is slow).
  const refusals = await overloaded(setup.attacker, "x");
  const before = await underFlood(
    setup,
    () => floodPieces(setup.target, 40, 16, 4 * MiB, 200_000),
    // Its NATS client may still be reading the flood 2 s after.
    { rss: 400, held: 400 },
  );
  assert.ok(
    refusals.stop().calls >= 320,
    "the pieces beyond the budget were refused",
  );
  const until = Date.now() + 8_000;
  let live = Infinity;
  while (live >= 8 && Date.now() < until) {
    await wait(200);
    live = ((await setup.stats()).live - before.live) / MiB;
  }
  assert.ok(live < 8, `the server still holds ${live.toFixed(0)} MiB more`);
  // The abandoned pieces are gone: a large call of a good client fits.
  const large = new Uint8Array(3 * MiB).fill(5);
  const back = await setup.client.runAction(echo, large) as Uint8Array;
  assert.equal(back.length, large.length);
});

Deno.test("nats bounds: calls whose caller went silent are stopped by the heartbeats; beyond maxCalls they are refused OVERLOADED, unrun", async () => {
  await using setup = await floodSetup({ maxCalls: 1_000 });
  // 20 callers × 40 calls to a handler that runs until its signal aborts,
  // then the callers are gone: they never ping.
  await underFlood(setup, () => floodSilentCalls(setup.target, 20, 40), {
    rss: 200,
    held: 200,
    live: 16,
  });
  const started = Date.now();
  let left = await setup.stats();
  assert.equal(left.started, 800);
  while (left.running > 0 && Date.now() - started < 10_000) {
    await wait(100);
    left = await setup.stats();
  }
  assert.equal(left.running, 0, "handlers still run 10 s after");

  // More than maxCalls at once (from callers each within maxInFlight):
  // the rest are refused, unrun.
  const refusals = await overloaded(setup.attacker, "y");
  await floodSilentCalls({ ...setup.target, tag: "y" }, 3, 500);
  // Every call is refused while the instance is full, `stats` too.
  const until = Date.now() + 10_000;
  let after: FloodServerStats | undefined;
  while (after?.running !== 0 && Date.now() < until) {
    await wait(100);
    after = await setup.stats().catch((error) => {
      assert.equal(error.code, "OVERLOADED");
      return undefined;
    });
  }
  assert.equal(after?.running, 0, "handlers still run 10 s after");
  assert.equal(after.started, 800 + 1_000);
  // Exactly the flood's calls beyond maxCalls, each answered once.
  const refused = refusals.stop();
  assert.equal(refused.calls, 500, "the calls beyond maxCalls were refused");
  assert.equal(refused.answers, 500, "a refused call was answered twice");
});
