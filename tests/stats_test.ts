/**
 * Per-action stats (`server.stats()`): calls, errors, running calls,
 * processing time and the last error, over every connection of a server.
 *
 * @module
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { action, type ActionStats, RemoteError } from "../mod.ts";
import { deferred } from "../src/base/deferred.ts";
import { delay, serve } from "./helpers.ts";

function entry(stats: { actions: readonly ActionStats[] }, name: string) {
  const found = stats.actions.find((action) => action.name === name);
  assert.ok(found, `no stats for ${name}`);
  return found;
}

Deno.test("stats: offered actions start at zero; unary calls count when answered", async () => {
  const echo = action("echo", (data: string) => data);
  const slow = action("slow", async (ms: number) => {
    await delay(ms);
    return ms;
  });
  await using served = await serve([echo, slow]);
  const before = served.server.stats();
  assert.deepEqual(before.actions, [
    {
      name: "echo",
      calls: 0,
      errors: 0,
      running: 0,
      processingTime: 0,
      averageProcessingTime: 0,
    },
    {
      name: "slow",
      calls: 0,
      errors: 0,
      running: 0,
      processingTime: 0,
      averageProcessingTime: 0,
    },
  ]);
  assert.equal(before.unknownActions, 0);
  assert.ok(before.started instanceof Date);

  const client = served.client();
  for (let i = 0; i < 5; i++) await client.runAction(echo, "hi");
  await client.runAction(slow, 30);
  await client.runAction(slow, 30);
  const stats = served.server.stats();
  const echoStats = entry(stats, "echo");
  assert.equal(echoStats.calls, 5);
  assert.equal(echoStats.errors, 0);
  assert.equal(echoStats.running, 0);
  assert.equal(echoStats.lastError, undefined);
  const slowStats = entry(stats, "slow");
  assert.equal(slowStats.calls, 2);
  // Each call waited 30 ms on a timer: a lower bound the handler forces.
  assert.ok(slowStats.processingTime >= 50, `${slowStats.processingTime}`);
  assert.equal(slowStats.averageProcessingTime, slowStats.processingTime / 2);
  assert.ok(
    slowStats.averageProcessingTime > echoStats.averageProcessingTime,
    "a handler that waits takes longer than one that does not",
  );
  // A snapshot: later calls do not change it.
  await client.runAction(echo, "again");
  assert.equal(echoStats.calls, 5);
  assert.equal(entry(served.server.stats(), "echo").calls, 6);
});

Deno.test("stats: a failing handler and a schema refusal count as errors, with the last error", async () => {
  const half = action("half", (n: number) => {
    if (n % 2 !== 0) throw new Error(`${n} is odd`);
    return n / 2;
  });
  const percent = action("percent", {
    input: z.number().int().min(0).max(100),
  });
  await using served = await serve([half]);
  served.server.addAction(percent, (n) => n / 100);
  const client = served.client();
  await client.runAction(half, 4);
  const before = Date.now();
  await assert.rejects(client.runAction(half, 3), RemoteError);
  await assert.rejects(
    client.runAction(percent, 400),
    (e) => e instanceof RemoteError && e.code === "INVALID_INPUT",
  );
  await client.runAction(percent, 40);
  const stats = served.server.stats();
  const halfStats = entry(stats, "half");
  assert.equal(halfStats.calls, 2);
  assert.equal(halfStats.errors, 1);
  assert.equal(halfStats.lastError?.code, "ACTION_FAILED");
  assert.equal(halfStats.lastError?.message, "3 is odd");
  assert.ok(halfStats.lastError.time.getTime() >= before - 1);
  assert.ok(halfStats.lastError.time.getTime() <= Date.now() + 1);
  const percentStats = entry(stats, "percent");
  assert.equal(percentStats.calls, 2);
  assert.equal(
    percentStats.errors,
    1,
    "INVALID_INPUT is an error of the action",
  );
  assert.equal(percentStats.lastError?.code, "INVALID_INPUT");
  // A later success keeps the last error.
  await client.runAction(half, 8);
  assert.equal(
    entry(served.server.stats(), "half").lastError?.code,
    "ACTION_FAILED",
  );
});

Deno.test("stats: a streamed result runs until its stream ends; a stream that fails is an error", async () => {
  const gate = deferred<void>();
  const started = deferred<void>();
  const count = action("count", async function* (n: number) {
    started.resolve();
    await gate.promise;
    for (let i = 0; i < n; i++) yield i;
  });
  const broken = action("broken", async function* () {
    yield 1;
    throw new Error("source broke");
  });
  await using served = await serve([count, broken]);
  const client = served.client();
  const items: number[] = [];
  const reading = (async () => {
    for await (const item of client.stream(count, 3)) items.push(item);
  })();
  await started.promise;
  let stats = entry(served.server.stats(), "count");
  assert.equal(stats.running, 1);
  assert.equal(stats.calls, 0);
  await delay(20);
  gate.resolve();
  await reading;
  assert.deepEqual(items, [0, 1, 2]);
  stats = entry(served.server.stats(), "count");
  assert.equal(stats.running, 0);
  assert.equal(stats.calls, 1);
  assert.equal(stats.errors, 0);
  // The stream was held open 20 ms at least before its end.
  assert.ok(stats.processingTime >= 15, `${stats.processingTime}`);

  await assert.rejects(async () => {
    for await (const _ of client.stream(broken)) { /* read on */ }
  }, RemoteError);
  stats = entry(served.server.stats(), "broken");
  assert.equal(stats.calls, 1);
  assert.equal(stats.errors, 1);
  assert.equal(stats.running, 0);
  assert.equal(stats.lastError?.code, "ACTION_FAILED");
  assert.equal(stats.lastError?.message, "source broke");
});

Deno.test("stats: a call with streamed input runs until its handler answers", async () => {
  const started = deferred<void>();
  const sum = action("sum", async (numbers: AsyncIterable<number>) => {
    started.resolve();
    let total = 0;
    for await (const n of numbers) total += n;
    return total;
  });
  await using served = await serve([sum]);
  const more = deferred<void>();
  async function* source() {
    yield 1;
    await more.promise;
    yield 2;
  }
  const call = served.client().runAction(sum, source());
  await started.promise;
  assert.equal(entry(served.server.stats(), "sum").running, 1);
  more.resolve();
  assert.equal(await call, 3);
  const stats = entry(served.server.stats(), "sum");
  assert.equal(stats.running, 0);
  assert.equal(stats.calls, 1);
  assert.equal(stats.errors, 0);
});

Deno.test("stats: concurrent calls from two connections feed one table; unknown actions count apart", async () => {
  const gate = deferred<void>();
  let entered = 0;
  const allIn = deferred<void>();
  const wait = action("wait", async (n: number) => {
    if (++entered === 20) allIn.resolve();
    await gate.promise;
    return n;
  });
  await using served = await serve([wait]);
  const clients = [served.client(), served.client()];
  const calls = Array.from(
    { length: 20 },
    (_, i) => clients[i % 2].runAction(wait, i),
  );
  await allIn.promise;
  assert.equal(served.server.connectionCount, 2);
  let stats = entry(served.server.stats(), "wait");
  assert.equal(stats.running, 20);
  assert.equal(stats.calls, 0);
  gate.resolve();
  await Promise.all(calls);
  stats = entry(served.server.stats(), "wait");
  assert.equal(stats.running, 0);
  assert.equal(stats.calls, 20);

  const nope = action<null, null>("nope");
  await assert.rejects(
    clients[0].runAction(nope, null),
    (e) => e instanceof RemoteError && e.code === "UNKNOWN_ACTION",
  );
  const all = served.server.stats();
  assert.equal(all.unknownActions, 1);
  assert.deepEqual(all.actions.map((action) => action.name), ["wait"]);
});

Deno.test("stats: reset starts afresh; calls running go on and count when they end", async () => {
  const gate = deferred<void>();
  const started = deferred<void>();
  const held = action("held", async () => {
    started.resolve();
    await gate.promise;
    throw new Error("late failure");
  });
  const echo = action("echo", (data: string) => data);
  await using served = await serve([held, echo]);
  const client = served.client();
  await client.runAction(echo, "a");
  await assert.rejects(client.runAction(action<null, null>("nope"), null));
  const call = assert.rejects(client.runAction(held), RemoteError);
  await started.promise;
  const before = served.server.stats({ reset: true });
  assert.equal(entry(before, "echo").calls, 1);
  assert.equal(entry(before, "held").running, 1);
  assert.equal(before.unknownActions, 1);

  const after = served.server.stats();
  assert.ok(after.started.getTime() >= before.started.getTime());
  assert.equal(after.unknownActions, 0);
  assert.deepEqual(entry(after, "echo"), {
    name: "echo",
    calls: 0,
    errors: 0,
    running: 0,
    processingTime: 0,
    averageProcessingTime: 0,
  });
  assert.equal(entry(after, "held").running, 1);
  gate.resolve();
  await call;
  const held2 = entry(served.server.stats(), "held");
  assert.equal(held2.running, 0);
  assert.equal(held2.calls, 1);
  assert.equal(held2.errors, 1);
  assert.equal(held2.lastError?.message, "late failure");
});

Deno.test("stats: a removed action keeps its numbers until a reset", async () => {
  const echo = action("echo", (data: string) => data);
  await using served = await serve([echo]);
  await served.client().runAction(echo, "a");
  served.server.removeAction(echo);
  assert.equal(entry(served.server.stats(), "echo").calls, 1);
  served.server.stats({ reset: true });
  assert.deepEqual(served.server.stats().actions, []);
});
