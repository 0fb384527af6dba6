/**
 * The waits between a client's tries: doubling, capped, jittered by up to
 * half, and a pause that ends when the client closes.
 */

import assert from "node:assert/strict";
import { Backoff, pause } from "../../src/endpoint/backoff.ts";

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
