/**
 * One server of several, as its place in the rotation goes: probation
 * after a drop, and where the backoff resumes after a connection that died
 * on probation (a crash loop), stayed up, or ended with a goodbye.
 */

import assert from "node:assert/strict";
import { Backoff } from "../../src/endpoint/backoff.ts";
import { Stability, stablePeriod } from "../../src/endpoint/stability.ts";

/** A server's record on a clock of the test's: `advance(ms)` moves it on. */
function stabilityOn(period: number) {
  let now = 0;
  const stability = new Stability(period, () => now);
  return { stability, advance: (ms: number) => void (now += ms) };
}

Deno.test("stability: a crash loop resumes one step further up each flap, to the cap", () => {
  const { stability, advance } = stabilityOn(1_000);
  const backoff = new Backoff(100, 2_000, () => 0);
  stability.opened();
  advance(5);
  assert.deepStrictEqual(stability.closed(), { isFlapping: false, attempt: 1 });
  const waits = [];
  for (let flap = 0; flap < 8; flap++) {
    stability.opened();
    assert.equal(stability.isOnProbation, true);
    advance(5);
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

Deno.test("stability: a connection that stayed up the stable period ends probation and the flaps", () => {
  const { stability, advance } = stabilityOn(1_000);
  stability.opened();
  advance(10);
  stability.closed();
  for (let flap = 0; flap < 2; flap++) {
    stability.opened();
    advance(10);
    assert.equal(stability.closed().isFlapping, true);
  }
  stability.opened(); // At 30: on probation until 1 030.
  advance(999);
  assert.equal(stability.isOnProbation, true);
  advance(1);
  assert.equal(stability.isOnProbation, false);
  assert.equal(stability.isOnProbation, false, "asking again changes nothing");
  advance(3_970);
  assert.deepStrictEqual(stability.closed(), { isFlapping: false, attempt: 1 });
  // Back again: on probation, but its first flap starts from the bottom.
  stability.opened();
  assert.equal(stability.isOnProbation, true);
  advance(10);
  assert.deepStrictEqual(stability.closed(), { isFlapping: true, attempt: 2 });
});

Deno.test("stability: a goodbye on probation is no flap, and keeps the flaps counted so far", () => {
  const { stability, advance } = stabilityOn(1_000);
  stability.opened();
  advance(10);
  stability.closed();
  stability.opened();
  advance(10);
  assert.deepStrictEqual(stability.closed(), { isFlapping: true, attempt: 2 });
  for (let restart = 0; restart < 2; restart++) {
    stability.opened();
    assert.equal(stability.isOnProbation, true);
    advance(10);
    assert.deepStrictEqual(stability.closed(true), {
      isFlapping: false,
      attempt: 2,
    });
  }
  stability.opened();
  advance(10);
  assert.deepStrictEqual(stability.closed(), { isFlapping: true, attempt: 3 });
  // A goodbye after a connection that stayed up: the flaps are forgiven.
  stability.opened();
  advance(1_000);
  assert.deepStrictEqual(stability.closed(true), {
    isFlapping: false,
    attempt: 1,
  });
});

Deno.test("stability: the first connection is trusted, whatever its length", () => {
  const { stability, advance } = stabilityOn(1_000);
  stability.opened();
  assert.equal(stability.isOnProbation, false);
  advance(1);
  assert.deepStrictEqual(stability.closed(), { isFlapping: false, attempt: 1 });
});

Deno.test("stability: the stable period is three heartbeat intervals, 30 s without heartbeats", () => {
  assert.equal(stablePeriod(10_000), 30_000);
  assert.equal(stablePeriod(1_000), 3_000);
  assert.equal(stablePeriod(0), 30_000);
});
