/**
 * The waits between a client's tries: doubling, capped, jittered by up to
 * half; and for one server of several, where they resume after a
 * connection that died on probation (a crash loop) or stayed up.
 */

import assert from "node:assert/strict";
import { Backoff, pause } from "../../src/endpoint/backoff.ts";
import { Stability, stablePeriod } from "../../src/endpoint/stability.ts";

Deno.test("backoff: each wait is from half the capped delay to all of it", () => {
  const lowest = new Backoff(100, 1_000, () => 0);
  const highest = new Backoff(100, 1_000, () => 1 - Number.EPSILON);
  const capped = [100, 200, 400, 800, 1_000, 1_000];
  capped.forEach((delay, index) => {
    const attempt = index + 1;
    assert.equal(lowest.delay(attempt), delay / 2);
    assert.ok(highest.delay(attempt) < delay);
    assert.ok(highest.delay(attempt) > delay * 0.99);
  });
});

Deno.test("backoff: random waits stay within their bounds", () => {
  const backoff = new Backoff(50, 400);
  for (let attempt = 1; attempt <= 10; attempt++) {
    const delay = Math.min(400, 50 * 2 ** (attempt - 1));
    for (let i = 0; i < 100; i++) {
      const wait = backoff.delay(attempt);
      assert.ok(wait >= delay / 2 && wait <= delay, `${wait} for ${attempt}`);
    }
  }
});

Deno.test("backoff: no delay means no wait", () => {
  assert.equal(new Backoff(0, 2_000).delay(5), 0);
});

Deno.test("backoff: a pause ends at once when the client closes", async () => {
  const closing = new AbortController();
  const started = Date.now();
  const waiting = pause(60_000, closing.signal);
  closing.abort();
  await waiting;
  assert.ok(Date.now() - started < 30_000);
});

/** A server's record with a clock the test sets: `at(ms)` moves it. */
function stabilityAt(period: number) {
  let now = 0;
  const stability = new Stability(period, () => now);
  return { stability, at: (ms: number) => now = ms };
}

Deno.test("backoff: a crash loop resumes one step further up each flap, to the cap", () => {
  const { stability, at } = stabilityAt(1_000);
  const backoff = new Backoff(100, 2_000, () => 0);
  let now = 0;
  stability.opened();
  at(now += 5);
  assert.deepStrictEqual(stability.closed(), { isFlapping: false, attempt: 1 });
  const waits = [];
  for (let flap = 0; flap < 8; flap++) {
    stability.opened();
    assert.equal(stability.isOnProbation, true);
    at(now += 5);
    const { isFlapping, attempt } = stability.closed();
    assert.equal(isFlapping, true);
    waits.push(backoff.delay(attempt));
  }
  assert.deepStrictEqual(waits, [
    100,
    200,
    400,
    800,
    1_000,
    1_000,
    1_000,
    1_000,
  ]);
});

Deno.test("backoff: a connection that stayed up the stable period ends probation and the flaps", () => {
  const { stability, at } = stabilityAt(1_000);
  stability.opened();
  at(10);
  stability.closed();
  for (const end of [20, 30]) {
    stability.opened();
    at(end);
    assert.equal(stability.closed().isFlapping, true);
  }
  stability.opened(); // At 30: on probation until 1 030.
  at(1_029);
  assert.equal(stability.isOnProbation, true);
  at(1_030);
  assert.equal(stability.isOnProbation, false);
  at(5_000);
  assert.deepStrictEqual(stability.closed(), { isFlapping: false, attempt: 1 });
  // Back again: on probation, but its first flap starts from the bottom.
  stability.opened();
  assert.equal(stability.isOnProbation, true);
  at(5_010);
  assert.deepStrictEqual(stability.closed(), { isFlapping: true, attempt: 2 });
});

Deno.test("backoff: the first connection is trusted, whatever its length", () => {
  const { stability, at } = stabilityAt(1_000);
  stability.opened();
  assert.equal(stability.isOnProbation, false);
  at(1);
  assert.deepStrictEqual(stability.closed(), { isFlapping: false, attempt: 1 });
});

Deno.test("backoff: the stable period is three heartbeat intervals, 30 s without heartbeats", () => {
  assert.equal(stablePeriod(10_000), 30_000);
  assert.equal(stablePeriod(1_000), 3_000);
  assert.equal(stablePeriod(0), 30_000);
});
