/**
 * Unix sockets and mutual TLS: a round trip over a Unix socket path (and
 * the path in use, and a missing one), and a server that requires client
 * certificates serving a client with one its authority signed while
 * refusing one without a certificate and one from another authority with
 * `UNAUTHORIZED`, the same on every runtime.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import process from "node:process";
import { action, Client, ClientError, Server, ServerError } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { HOST, rejectsWith, serving } from "./support.ts";

const echo = action("echo", (data: string) => data);
const whereFrom = action(
  "whereFrom",
  (_: undefined, context) => context.peer.transport,
);

/** A fresh socket path under /tmp (short: Unix socket paths are limited to about 100 bytes). */
export function socketPath(): string {
  return `/tmp/isock-${process.pid}-${
    Math.random().toString(36).slice(2, 10)
  }.sock`;
}

/** The mutual-TLS fixtures (tests/fixtures/tls/mtls). */
export async function mtlsFixture(): Promise<Record<string, string>> {
  const names = [
    "ca",
    "server",
    "server_key",
    "client",
    "client_key",
    "stranger",
    "stranger_key",
  ];
  const texts = await Promise.all(
    names.map((name) =>
      readFile(
        new URL(`../fixtures/tls/mtls/${name}.pem`, import.meta.url),
        "utf8",
      )
    ),
  );
  return Object.fromEntries(names.map((name, i) => [name, texts[i]]));
}

export const socketCases: Case[] = [{
  name:
    "Unix socket: a round trip over a path; the path in use is ADDR_IN_USE, a missing one CONNECT_FAILED",
  run: async () => {
    const path = socketPath();
    const server = new Server({ path }).addAction(echo).addAction(whereFrom);
    const address = await server.listen();
    try {
      assert.equal(address.path, path);
      assert.equal(address.hostname, path);
      const client = new Client({ path });
      const connected = new Promise<unknown>((resolve) =>
        client.addEventListener("connect", (event) => resolve(event.detail))
      );
      try {
        assert.equal(await client.runAction(echo, "over unix"), "over unix");
        assert.equal(await client.runAction(whereFrom), "unix");
        assert.deepStrictEqual(await connected, {
          hostname: path,
          port: 0,
          path,
        });
      } finally {
        await client.close();
      }
      const second = new Server({ path });
      await assert.rejects(
        second.listen(),
        (error) => error instanceof ServerError && error.code === "ADDR_IN_USE",
      );
    } finally {
      await server.shutdown({ timeout: 1_000 });
    }
    const missing = new Client({ path: socketPath(), retry: 1 });
    try {
      const error = await rejectsWith(
        missing.runAction(echo, "x"),
        "CONNECT_FAILED",
      );
      assert.match(error.message, /Is the server running there\?/);
    } finally {
      await missing.close();
    }
  },
}, {
  name:
    "mutual TLS: a client certificate the server's authority signed is served; none, or another authority's, is refused UNAUTHORIZED at the first try",
  run: async () => {
    const pem = await mtlsFixture();
    const server = new Server({
      hostname: HOST,
      port: 0,
      tls: { cert: pem.server, key: pem.server_key, caCerts: [pem.ca] },
    }).addAction(echo);
    const refusals: unknown[] = [];
    server.addEventListener(
      "error",
      (event) => refusals.push(event.detail.error),
    );
    await serving(server, async (port) => {
      const trust = { caCerts: [pem.ca] };
      const client = new Client({
        hostname: "localhost",
        port,
        tls: { ...trust, cert: pem.client, key: pem.client_key },
      });
      const without = new Client({
        hostname: "localhost",
        port,
        tls: trust,
        retry: 3,
        retryDelay: 1,
      });
      const stranger = new Client({
        hostname: "localhost",
        port,
        tls: { ...trust, cert: pem.stranger, key: pem.stranger_key },
        retry: 3,
        retryDelay: 1,
      });
      try {
        assert.equal(await client.runAction(echo, "mutual"), "mutual");
        for (const refused of [without, stranger]) {
          // The same on every runtime: the server's UNAUTHORIZED goodbye.
          const error = await rejectsWith(
            refused.runAction(echo, "x"),
            "UNAUTHORIZED",
          );
          assert.ok(error instanceof ClientError, String(error));
          assert.match(error.message, /tls\.cert and tls\.key/);
        }
        // One refusal each: a refused certificate is not tried again.
        assert.equal(
          refusals.length,
          2,
          `server error events: ${refusals.map(String).join("; ")}`,
        );
        // The trusted client is still served.
        assert.equal(await client.runAction(echo, "again"), "again");
      } finally {
        await Promise.all([client.close(), without.close(), stranger.close()]);
      }
    });
  },
}];
