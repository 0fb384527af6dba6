/**
 * Deadlines and cancellation reach the handler: a call that times out or is
 * aborted rejects on the client, and the handler's `context.signal` aborts
 * on the server; a `TIMEOUT` says the timeout the caller asked for, even
 * when connecting took some of it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, Server } from "../../mod.ts";
import type { Case } from "./runner.ts";
import {
  deferred,
  HOST,
  rejectsWith,
  serving,
  sleep,
  within,
} from "./support.ts";

export const deadlineCases: Case[] = [{
  name: "deadlines and cancellation: the handler's signal aborts",
  run: async () => {
    const started = [deferred(), deferred()];
    const aborted = [deferred(), deferred()];
    const deadlines: (number | undefined)[] = [];
    const wait = action("wait", (n: number, context) => {
      deadlines[n] = context.deadline;
      started[n].resolve();
      return new Promise<string>((resolve) => {
        context.signal.addEventListener("abort", () => {
          aborted[n].resolve();
          resolve("late");
        }, { once: true });
      });
    });
    const server = new Server({ hostname: HOST, port: 0 }).addAction(wait);
    await serving(server, async (port) => {
      const client = new Client({ hostname: HOST, port });
      try {
        const before = Date.now();
        await rejectsWith(
          client.runAction(wait, 0, { timeout: 150 }),
          "TIMEOUT",
        );
        await within(
          aborted[0].promise,
          10_000,
          "the timed-out handler's signal",
        );
        const deadline = deadlines[0];
        assert.ok(
          deadline !== undefined && deadline >= before &&
            deadline <= Date.now() + 1_000,
          `context.deadline ${deadline}`,
        );

        const stop = new AbortController();
        const call = client.runAction(wait, 1, { signal: stop.signal });
        await within(started[1].promise, 10_000, "the second handler starting");
        stop.abort(new Error("changed my mind"));
        const error = await rejectsWith(call, "ABORTED");
        assert.equal((error.cause as Error).message, "changed my mind");
        await within(
          aborted[1].promise,
          10_000,
          "the aborted handler's signal",
        );
        assert.equal(deadlines[1], undefined, "no timeout, no deadline");
      } finally {
        await client.close();
      }
    });
  },
}, {
  name:
    "deadlines: a TIMEOUT says the timeout asked for, not what connecting left of it",
  run: async () => {
    const never = action(
      "never",
      (_: undefined, context) =>
        new Promise<never>((_resolve, reject) =>
          context.signal.addEventListener(
            "abort",
            () => reject(context.signal.reason),
            { once: true },
          )
        ),
    );
    const oneThenNothing = action(
      "oneThenNothing",
      async function* (_: undefined, context) {
        yield 1;
        await new Promise((resolve) =>
          context.signal.addEventListener("abort", resolve, { once: true })
        );
      },
    );
    // Connecting takes at least 50 ms: the server checks credentials slowly.
    const server = new Server({
      hostname: HOST,
      port: 0,
      authenticate: async () => {
        await sleep(50);
        return "slow";
      },
    }).addAction(never).addAction(oneThenNothing);
    await serving(server, async (port) => {
      const connect = () =>
        new Client({ hostname: HOST, port, credentials: "me" });
      const calling = connect();
      const streaming = connect();
      try {
        const error = await rejectsWith(
          calling.runAction(never, undefined, { timeout: 300 }),
          "TIMEOUT",
        );
        assert.match(error.message, /did not answer within 300 ms\./);
        const items: unknown[] = [];
        const streamError = await rejectsWith(
          (async () => {
            for await (
              const item of streaming.stream(oneThenNothing, undefined, {
                timeout: 300,
              })
            ) items.push(item);
          })(),
          "TIMEOUT",
        );
        assert.deepStrictEqual(items, [1]);
        assert.match(streamError.message, /its 300 ms were up/);
      } finally {
        await Promise.all([calling.close(), streaming.close()]);
      }
    });
  },
}];
