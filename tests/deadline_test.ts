/**
 * Deadlines and cancellation: a caller never waits longer than it asked,
 * and the handler on the server hears that it gave up.
 */

import assert from "node:assert/strict";
import { action, type ActionContext, ClientError } from "../mod.ts";
import { delay, serve } from "./helpers.ts";

/** An action that waits until its signal aborts, and reports why. */
function abortable() {
  const aborted = Promise.withResolvers<unknown>();
  const started = Promise.withResolvers<ActionContext>();
  const wait = action("wait", (_: undefined, context) => {
    started.resolve(context);
    return new Promise<string>((_resolve, reject) => {
      context.signal.addEventListener("abort", () => {
        aborted.resolve(context.signal.reason);
        reject(context.signal.reason);
      });
    });
  });
  return { wait, aborted: aborted.promise, started: started.promise };
}

function isClientError(code: string) {
  return (error: unknown) =>
    error instanceof ClientError && error.code === code;
}

Deno.test("deadline: a call past its timeout rejects TIMEOUT, and the handler's signal aborts", async () => {
  const { wait, aborted } = abortable();
  await using served = await serve([wait]);
  const started = performance.now();
  await assert.rejects(
    served.client().runAction(wait, undefined, { timeout: 100 }),
    isClientError("TIMEOUT"),
  );
  assert.ok(performance.now() - started < 1000);
  const reason = await aborted;
  assert.ok(reason instanceof ClientError && reason.code === "ABORTED");
});

Deno.test("deadline: the client-wide timeout applies to every call; a call's own timeout wins", async () => {
  const sleep = action("sleep", (ms: number) => delay(ms).then(() => ms));
  await using served = await serve([sleep]);
  const client = served.client({ timeout: 80 });
  await assert.rejects(client.runAction(sleep, 300), isClientError("TIMEOUT"));
  assert.equal(await client.runAction(sleep, 200, { timeout: 2000 }), 200);
  assert.equal(await client.runAction(sleep, 1), 1);
});

Deno.test("deadline: the handler sees how long it has in context.deadline", async () => {
  const seen = action("seen", (_: undefined, context) => context.deadline);
  await using served = await serve([seen]);
  const client = served.client();
  const before = Date.now();
  const deadline = await client.runAction(seen, undefined, { timeout: 5000 });
  assert.ok(typeof deadline === "number");
  assert.ok(
    deadline >= before + 4000 && deadline <= Date.now() + 5000,
    String(deadline - before),
  );
  assert.equal(await client.runAction(seen), undefined);
});

Deno.test("cancel: aborting the signal rejects ABORTED with its reason, and aborts the handler", async () => {
  const { wait, aborted, started } = abortable();
  await using served = await serve([wait]);
  const controller = new AbortController();
  const call = served.client().runAction(wait, undefined, {
    signal: controller.signal,
  });
  await started;
  const reason = new Error("the user pressed stop");
  controller.abort(reason);
  await assert.rejects(
    call,
    (error) =>
      isClientError("ABORTED")(error) && (error as Error).cause === reason,
  );
  assert.ok(await aborted instanceof ClientError);
});

Deno.test("cancel: an already aborted signal rejects at once, and nothing runs", async () => {
  let runs = 0;
  const count = action("count", () => ++runs);
  await using served = await serve([count]);
  const client = served.client();
  await client.runAction(count);
  await assert.rejects(
    client.runAction(count, undefined, { signal: AbortSignal.abort("no") }),
    (error) =>
      isClientError("ABORTED")(error) && (error as Error).cause === "no",
  );
  await delay(20);
  assert.equal(runs, 1);
});

Deno.test("cancel: the late answer of a cancelled call is dropped without noise", async () => {
  const late = action("late", async (ms: number) => {
    await delay(ms);
    return "too late";
  });
  await using served = await serve([late]);
  const client = served.client();
  await assert.rejects(
    client.runAction(late, 100, { timeout: 20 }),
    isClientError("TIMEOUT"),
  );
  await delay(150); // The answer arrives now, for a call nobody waits for.
  assert.equal(await client.runAction(late, 1), "too late");
});

Deno.test("cancel: a handler that never looks at its signal still finishes normally", async () => {
  const plain = action("plain", (n: number) => n + 1);
  await using served = await serve([plain]);
  const client = served.client();
  const results = await Promise.all(
    Array.from(
      { length: 100 },
      (_, i) => client.runAction(plain, i, { timeout: 5000 }),
    ),
  );
  assert.deepStrictEqual(results, Array.from({ length: 100 }, (_, i) => i + 1));
});
