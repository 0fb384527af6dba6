/** A call's deadline: what is left of it, what a REQUEST carries, and how a wait for a connection ends under it. */

import assert from "node:assert/strict";
import { ClientError } from "../../mod.ts";
import { CLOCK_SLACK, Deadline, setupEnds } from "../../src/base/deadline.ts";

Deno.test("deadline: what is left shrinks from the start; none without a timeout", () => {
  const started = performance.now() - 300;
  const deadline = Deadline.after(1_000, undefined, started);
  assert.equal(deadline.timeout, 1_000);
  assert.ok(deadline.left() <= 700 && deadline.left() > 0);
  const wire = deadline.toWire()!;
  assert.ok(Number.isInteger(wire) && wire <= 700 && wire >= 1);
  assert.equal(deadline.isPast(), false);
  const past = Deadline.after(10, undefined, performance.now() - 50);
  assert.equal(past.isPast(), true);
  assert.equal(past.toWire(), 1, "a REQUEST never carries 0 or less");
  for (const none of [undefined, 0, -5, Number.NaN]) {
    const deadline = Deadline.after(none);
    assert.equal(deadline, Deadline.NONE);
    assert.equal(deadline.isSet, false);
    assert.equal(deadline.left(), Infinity);
    assert.equal(deadline.isPast(CLOCK_SLACK), false);
    assert.equal(deadline.toWire(), undefined);
  }
  const signal = new AbortController().signal;
  assert.equal(Deadline.after(undefined, signal).signal, signal);
  assert.equal(Deadline.after(undefined, signal).isSet, false);
});

Deno.test("deadline: min keeps the earlier of the call's and an attempt's own", () => {
  const call = Deadline.after(10_000);
  const attempt = call.min(100);
  assert.ok(attempt.left() <= 100);
  assert.equal(call.min(60_000), call);
  assert.equal(Deadline.NONE.min(0), Deadline.NONE);
});

Deno.test("deadline: a wait for a connection times out, aborts, or turns a failure at the deadline into a TIMEOUT", async () => {
  const never = new Promise<never>(() => {});
  const short = Deadline.after(20);
  await assert.rejects(
    short.race(never, setupEnds(short, 2)),
    (error) =>
      error instanceof ClientError && error.code === "TIMEOUT" &&
      error.wasRun === false && /any of the 2 servers within the call's 20 ms/
        .test(error.message),
  );
  const stop = new AbortController();
  const aborting = Deadline.after(undefined, stop.signal);
  const waiting = aborting.race(never, setupEnds(aborting));
  stop.abort("enough");
  await assert.rejects(
    waiting,
    (error) =>
      error instanceof ClientError && error.code === "ABORTED" &&
      error.cause === "enough",
  );
  // A refusal that comes once the deadline passed: the deadline ended it.
  const past = Deadline.after(10, undefined, performance.now() - 50);
  const refused = new ClientError("CONNECT_FAILED", "refused");
  await assert.rejects(
    past.race(Promise.reject(refused), {
      ...setupEnds(past),
      timedOut: () => new Error("not this one"),
    }),
    (error) =>
      error instanceof ClientError && error.code === "TIMEOUT" &&
      error.cause === refused,
  );
  // Before the deadline it stays what it was.
  const early = Deadline.after(10_000);
  await assert.rejects(
    early.race(Promise.reject(refused), setupEnds(early)),
    (error) => error === refused,
  );
  // Without a time or a signal there is nothing to race.
  const given = Promise.resolve(1);
  assert.equal(Deadline.NONE.race(given, setupEnds(Deadline.NONE)), given);
});
