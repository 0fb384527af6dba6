/**
 * Deadlines and cancellation reach the handler: a call that times out or is
 * aborted rejects on the client, and the handler's `context.signal` aborts
 * on the server.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, Server } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { deferred, HOST, rejectsWith, serving, within } from "./support.ts";

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
}];
