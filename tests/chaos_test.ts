/**
 * The chaos suite: a seeded mix of calls through a proxy that cuts,
 * stalls, blackholes, trickles and delays connections, with the invariants
 * of `tests/chaos/workload.ts` checked after each run.
 *
 * A failure names its seed; replay it alone with
 *
 *     ISOCK_CHAOS_SEED=3 deno test --allow-net --allow-read --allow-env=ISOCK_CHAOS_SEED tests/chaos_test.ts
 *
 * (without `--allow-env` the default seeds run). `bench/soak.ts` runs the
 * same workload for minutes.
 */

import assert from "node:assert/strict";
import { action, Client, Server, tracked } from "../mod.ts";
import { FaultProxy } from "./fault_proxy.ts";
import { runChaos, summarize } from "./chaos/workload.ts";

const SEED_VARIABLE = "ISOCK_CHAOS_SEED";

/**
 * The seeds to run: those in ISOCK_CHAOS_SEED when it may be read, else
 * four that, on the code this suite was written against, met every failure
 * the issue lists (a plain seed, 4, and three with a secret).
 */
function seeds(): number[] {
  const permission = Deno.permissions.querySync({
    name: "env",
    variable: SEED_VARIABLE,
  });
  const chosen = permission.state === "granted"
    ? Deno.env.get(SEED_VARIABLE)
    : undefined;
  if (chosen === undefined || chosen === "") return [3, 4, 9, 13];
  return chosen.split(",").map((seed) => {
    const parsed = Number(seed);
    assert.ok(
      Number.isSafeInteger(parsed),
      `${SEED_VARIABLE}: not a seed: ${seed}`,
    );
    return parsed;
  });
}

for (const seed of seeds()) {
  Deno.test(`chaos: seed ${seed} — every call settles in time, with its own answer, at most once; nothing left behind`, async () => {
    const report = await runChaos({ seed, calls: 160, duration: 5000 });
    if (report.violations.length > 0) {
      const lines = report.violations.map(({ invariant, call, detail }) =>
        `  [${invariant}] ${call}: ${detail}`
      );
      assert.fail(
        `chaos seed ${seed}: ${report.violations.length} broken invariant(s) ` +
          `(replay: ${SEED_VARIABLE}=${seed} deno test --allow-net --allow-read --allow-env=${SEED_VARIABLE} tests/chaos_test.ts)\n` +
          `${lines.join("\n")}\n${summarize(report)}`,
      );
    }
    // The default seeds fault one of their first four connections (one a client).
    assert.ok(
      [...report.faults.keys()].some((kind) => kind !== "pass"),
      `no connection met a fault: ${summarize(report)}`,
    );
  });
}

// Found by seed 3: a resumed request refused unrun (its server was shutting
// down) made the stream start over from its first item.
Deno.test("chaos: a tracked stream whose resumed request is refused unrun still goes on after its last item", async () => {
  const ticks = action("ticks", async function* (_: undefined, context) {
    for (let n = Number(context.lastEventId ?? 0) + 1; n <= 10; n++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      yield tracked(n, n);
    }
  });
  await using first = new Server({ hostname: "127.0.0.1", port: 0 })
    .addAction(ticks);
  await using second = new Server({ hostname: "127.0.0.1", port: 0 })
    .addAction(ticks);
  await using proxy = new FaultProxy({ target: (await first.listen()).port });
  const secondPort = (await second.listen()).port;
  await using client = new Client({
    hostname: "127.0.0.1",
    port: proxy.port,
    retry: 3,
    retryDelay: 10,
  });
  let connects = 0;
  let shuttingDown: Promise<void> | undefined;
  client.addEventListener("connect", () => {
    // The reconnect after the drop: the first server shuts down as the
    // resumed request goes out (so refuses it unrun), the second takes over.
    if (++connects === 2) {
      proxy.target = secondPort;
      shuttingDown = first.shutdown({ timeout: 100 });
    }
  });
  const seen: number[] = [];
  for await (const n of client.stream(ticks)) {
    seen.push(n);
    if (n === 5 && connects === 1) proxy.cut();
  }
  await shuttingDown;
  assert.deepStrictEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.ok(connects >= 2, "the stream never resumed");
});
