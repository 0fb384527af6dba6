/**
 * Two-way calls: the server calls an action the client offers, from a
 * handler (`context.peer`) and from outside one (`server.peers`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, Server } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { HOST, serving, until } from "./support.ts";

export const confirm = action(
  "confirm",
  (question: string) => `yes: ${question}`,
);
export const remove = action("remove", async (path: string, context) => {
  const answer = await context.peer.runAction(confirm, `Delete ${path}?`, {
    timeout: 10_000,
  });
  return answer.startsWith("yes") ? `deleted ${path}` : "kept";
});

export const twoWayCases: Case[] = [{
  name: "two-way calls: the server calls the client back",
  run: () =>
    serving(
      new Server({ hostname: HOST, port: 0 }).addAction(remove),
      async (port) => {
        const server = { port };
        const client = new Client({ hostname: HOST, port: server.port })
          .addAction(confirm);
        try {
          assert.equal(
            await client.runAction(remove, "/tmp/old.log"),
            "deleted /tmp/old.log",
          );
        } finally {
          await client.close();
        }
      },
    ),
}, {
  name: "two-way calls: the server pushes to every connected client",
  run: async () => {
    const server = new Server({ hostname: HOST, port: 0 });
    await serving(server, async (port) => {
      const clients = [1, 2].map((n) =>
        new Client({ hostname: HOST, port }).addAction(
          action("confirm", (question: string) => `client ${n}: ${question}`),
        )
      );
      try {
        await Promise.all(clients.map((client) => client.connect()));
        // A client is connected once it has the server's hello; the server
        // may list it a moment later (on Bun it does).
        await until(
          () => server.peers.length === clients.length,
          10_000,
          "the server listing both clients",
        );
        const answers = await Promise.all(
          server.peers.map((peer) => peer.runAction(confirm, "still there?")),
        );
        assert.deepEqual(answers.sort(), [
          "client 1: still there?",
          "client 2: still there?",
        ]);
      } finally {
        await Promise.all(clients.map((client) => client.close()));
      }
    });
  },
}];
