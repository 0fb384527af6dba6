/** A server's listener: bind errors name the address, IPv6 in brackets. */

import assert from "node:assert/strict";
import { Server, ServerError } from "../../mod.ts";
import { bindError } from "../../src/endpoint/server_connections.ts";

Deno.test("listener: a bind error writes an IPv6 address in brackets", () => {
  const taken = bindError(new Deno.errors.AddrInUse("taken"), {
    hostname: "::1",
    port: 4440,
  });
  assert.equal(taken.code, "ADDR_IN_USE");
  assert.match(taken.message, /^Cannot listen on \[::1\]:4440: /);
  const other = bindError(new Error("no"), { hostname: "10.0.0.1", port: 1 });
  assert.equal(other.code, "LISTEN_FAILED");
  assert.equal(other.message, "Cannot listen on 10.0.0.1:1: no");
});

Deno.test("listener: a port taken on ::1 is ADDR_IN_USE, naming [::1]:port", async () => {
  await using first = new Server({ hostname: "::1" });
  const { port } = await first.listen();
  const second = new Server({ hostname: "::1", port });
  await assert.rejects(
    second.listen(),
    (error) =>
      error instanceof ServerError && error.code === "ADDR_IN_USE" &&
      error.message.startsWith(`Cannot listen on [::1]:${port}:`),
  );
});
