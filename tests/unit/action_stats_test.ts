import assert from "node:assert/strict";
import { ActionStatsTable } from "../../src/dispatch/action_stats.ts";

Deno.test("action stats: counters are made once per name and listed offered first", () => {
  const table = new ActionStatsTable();
  const a = table.counters("a");
  assert.equal(table.counters("a"), a, "one counters object per name");
  const b = table.counters("b");
  a.finish(a.start(), undefined);
  const started = b.start();
  b.finish(started, { code: "ACTION_FAILED", name: "Error", message: "no" });
  b.start(); // still running
  table.counters("never"); // looked up, never finished: not listed
  table.unknownAction();
  const stats = table.snapshot(["z", "a"]);
  assert.deepEqual(stats.actions.map((entry) => entry.name), ["z", "a", "b"]);
  assert.equal(stats.actions[0].calls, 0);
  assert.equal(stats.actions[1].calls, 1);
  const bStats = stats.actions[2];
  assert.equal(bStats.calls, 1);
  assert.equal(bStats.errors, 1);
  assert.equal(bStats.running, 1);
  assert.equal(bStats.lastError?.code, "ACTION_FAILED");
  assert.equal(bStats.lastError?.message, "no");
  assert.equal(stats.unknownActions, 1);
});

Deno.test("action stats: a reset keeps the running calls, which count when they end", () => {
  const table = new ActionStatsTable();
  const a = table.counters("a");
  a.finish(a.start(), { code: "X", name: "Error", message: "m" });
  const startedAt = a.start();
  table.snapshot([], true);
  let [entry] = table.snapshot([]).actions;
  assert.equal(entry.calls, 0);
  assert.equal(entry.running, 1);
  assert.equal(entry.lastError, undefined);
  a.finish(startedAt, undefined);
  [entry] = table.snapshot([]).actions;
  assert.equal(entry.calls, 1);
  assert.equal(entry.running, 0);
  assert.equal(entry.averageProcessingTime, entry.processingTime);
});
