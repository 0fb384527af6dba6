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
import { runChaos, summarize } from "./chaos/workload.ts";

const SEED_VARIABLE = "ISOCK_CHAOS_SEED";

/** The seeds to run: the one in ISOCK_CHAOS_SEED when it may be read, else 1 to 4. */
function seeds(): number[] {
  const permission = Deno.permissions.querySync({
    name: "env",
    variable: SEED_VARIABLE,
  });
  const chosen = permission.state === "granted"
    ? Deno.env.get(SEED_VARIABLE)
    : undefined;
  if (chosen === undefined || chosen === "") return [1, 2, 3, 4];
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
  });
}
