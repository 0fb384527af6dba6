/**
 * TLS with the test certificate (and a plain-TCP client's clear error),
 * and the shared secret: the right one is
 * served, a wrong one is refused with UNAUTHORIZED while others go on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, Server } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { HOST, rejectsWith, serving, tlsFixture } from "./support.ts";

const echo = action("echo", (data: string) => data);

export const securityCases: Case[] = [{
  name:
    "TLS: a client trusting the certificate is served, one that does not fails TLS_FAILED",
  run: async () => {
    const { cert, key } = await tlsFixture();
    const server = new Server({ hostname: HOST, port: 0, tls: { cert, key } })
      .addAction(echo);
    await serving(server, async (port) => {
      const client = new Client({
        hostname: "localhost",
        port,
        tls: { caCerts: [cert] },
      });
      const byAddress = new Client({
        hostname: HOST,
        port,
        tls: { caCerts: [cert] },
      });
      const untrusting = new Client({
        hostname: "localhost",
        port,
        tls: true,
        retry: 1,
      });
      try {
        assert.equal(await client.runAction(echo, "over TLS"), "over TLS");
        assert.equal(
          await byAddress.runAction(echo, "by address"),
          "by address",
        );
        const error = await rejectsWith(
          untrusting.runAction(echo, "x"),
          "TLS_FAILED",
        );
        assert.ok(error instanceof ClientError);
        // The trusted client is still served.
        assert.equal(await client.runAction(echo, "again"), "again");
      } finally {
        await Promise.all([
          client.close(),
          byAddress.close(),
          untrusting.close(),
        ]);
      }
    });
  },
}, {
  name:
    "TLS: a plain-TCP client gets PROTOCOL with the hint to set its tls option; the server goes on serving",
  run: async () => {
    const { cert, key } = await tlsFixture();
    const server = new Server({ hostname: HOST, port: 0, tls: { cert, key } })
      .addAction(echo);
    await serving(server, async (port) => {
      // Retries allowed: the answer is final, not a cut handshake.
      const plain = new Client({ hostname: HOST, port, retry: 3 });
      const client = new Client({
        hostname: "localhost",
        port,
        tls: { caCerts: [cert] },
      });
      try {
        const error = await rejectsWith(plain.runAction(echo, "x"), "PROTOCOL");
        assert.match(error.message, /set the client's tls option/);
        assert.equal(await client.runAction(echo, "still"), "still");
      } finally {
        await Promise.all([plain.close(), client.close()]);
      }
    });
  },
}, {
  name: "secret: the right secret is served, a wrong one is UNAUTHORIZED",
  run: async () => {
    const secret = "correct horse battery staple";
    const server = new Server({ hostname: HOST, port: 0, secret }).addAction(
      echo,
    );
    await serving(server, async (port) => {
      const right = new Client({ hostname: HOST, port, secret });
      const wrong = new Client({
        hostname: HOST,
        port,
        secret: "wrong",
        retry: 1,
      });
      const none = new Client({ hostname: HOST, port, retry: 1 });
      try {
        assert.equal(await right.runAction(echo, "known"), "known");
        await rejectsWith(wrong.runAction(echo, "x"), "UNAUTHORIZED");
        await rejectsWith(none.runAction(echo, "x"), "UNAUTHORIZED");
        assert.equal(await right.runAction(echo, "still"), "still");
      } finally {
        await Promise.all([right.close(), wrong.close(), none.close()]);
      }
    });
  },
}];
