/**
 * Graceful shutdown: a call in progress finishes with its answer, the
 * server's `finished` resolves, and the port is free afterwards.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, Server } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { deferred, HOST, rejectsWith, sleep, within } from "./support.ts";

export const shutdownCases: Case[] = [{
  name: "graceful shutdown: running calls finish, then the port is free",
  run: async () => {
    const started = deferred();
    const slow = action("slow", async (ms: number) => {
      started.resolve();
      await sleep(ms);
      return "finished";
    });
    const server = new Server({ hostname: HOST, port: 0 }).addAction(slow);
    const { port } = await server.listen();
    const client = new Client({ hostname: HOST, port, retry: 1 });
    try {
      const running = client.runAction(slow, 200);
      await within(started.promise, 10_000, "the slow call starting");
      const shutdown = server.shutdown({ timeout: 10_000 });
      assert.equal(await running, "finished");
      await within(shutdown, 10_000, "shutdown");
      await within(server.finished, 10_000, "server.finished");
      // The client heard the goodbye: its next call fails fast.
      await rejectsWith(client.runAction(slow, 0), "CONNECTION_CLOSED");
      // The port is free again: a new server can take it.
      const again = new Server({ hostname: HOST, port });
      await again.listen();
      await again.shutdown();
    } finally {
      await client.close();
      await server.shutdown();
    }
  },
}];
