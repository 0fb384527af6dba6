/**
 * Graceful shutdown: a call in progress finishes with its answer, the
 * server's `finished` resolves, and the port is free afterwards; handlers
 * that outlive the shutdown's timeout, whether they honour their signal or
 * ignore it, have had their signals aborted by the time it resolves, and
 * every connection is closed by then.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, Server } from "../../mod.ts";
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
}, {
  name:
    "shutdown past its timeout: when it resolves, every handler still running has had its signal aborted, and every connection is closed",
  run: async () => {
    const timeout = 300;
    const started = { honouring: deferred(), stubborn: deferred() };
    let honouringEnded = false;
    const reasons: Record<string, unknown> = {};
    const honouring = action("honouring", async (_: undefined, context) => {
      started.honouring.resolve();
      try {
        await new Promise((_resolve, reject) =>
          context.signal.addEventListener(
            "abort",
            () => reject(context.signal.reason),
          )
        );
      } finally {
        reasons.honouring = context.signal.reason;
        honouringEnded = true;
      }
    });
    let release = () => {};
    const stubborn = action("stubborn", async (_: undefined, context) => {
      started.stubborn.resolve();
      context.signal.addEventListener(
        "abort",
        () => reasons.stubborn = context.signal.reason,
      );
      // Ignores its signal: it returns only when the case lets it.
      await new Promise<void>((resolve) => release = resolve);
      return "late";
    });
    const server = new Server({ hostname: HOST, port: 0 })
      .addAction(honouring).addAction(stubborn);
    const { port } = await server.listen();
    const clients = [
      new Client({ hostname: HOST, port, retry: 1 }),
      new Client({ hostname: HOST, port, retry: 1 }),
    ];
    try {
      const calls = [
        clients[0].runAction(honouring),
        clients[1].runAction(stubborn),
      ];
      for (const call of calls) call.catch(() => {});
      await within(
        Promise.all([started.honouring.promise, started.stubborn.promise]),
        10_000,
        "the calls starting",
      );
      const shutdownAt = Date.now();
      await within(server.shutdown({ timeout }), 10_000, "shutdown");
      const took = Date.now() - shutdownAt;
      for (const name of ["honouring", "stubborn"]) {
        const reason = reasons[name];
        assert.ok(
          reason instanceof ClientError &&
            reason.code === "CONNECTION_CLOSED" &&
            /shutdown timeout/.test(reason.message),
          `${name}'s signal when shutdown resolved: ${reason}`,
        );
      }
      assert.ok(honouringEnded, "the honouring handler's finally ran");
      assert.equal(server.connectionCount, 0);
      assert.ok(took >= timeout, `shutdown took ${took} ms`);
      assert.ok(took < timeout + 2_000, `shutdown took ${took} ms`);
      // Both calls were given up on: they fail as on a lost connection,
      // whatever their handlers answered.
      for (const call of calls) {
        const error = await rejectsWith(call, "CONNECTION_CLOSED");
        assert.equal((error as ClientError).wasRun, "maybe");
      }
    } finally {
      release();
      await Promise.all(clients.map((client) => client.close()));
      await server.shutdown();
    }
  },
}];
