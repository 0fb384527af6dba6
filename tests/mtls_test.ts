/**
 * Mutual TLS on Deno: a server with `tls.caCerts` serves clients whose
 * certificate its authority signed, refuses the others with an
 * `UNAUTHORIZED` goodbye once their hello arrives (an `error` event, and
 * the call fails without running, at the first try), and a client's
 * `tls.cert`/`tls.key` are checked when it is made.
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, Server } from "../mod.ts";
import { mtlsFixture } from "./conformance/sockets.ts";

const pem = await mtlsFixture();
let runs = 0;
const echo = action("echo", (data: unknown) => {
  runs++;
  return data;
});

function mtlsServer(): Server {
  return new Server({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pem.server, key: pem.server_key, caCerts: [pem.ca] },
  }).addAction(echo);
}

Deno.test("mtls: a client with a certificate the authority signed is served", async () => {
  await using server = mtlsServer();
  const { port } = await server.listen();
  await using client = new Client({
    hostname: "localhost",
    port,
    tls: { caCerts: [pem.ca], cert: pem.client, key: pem.client_key },
  });
  assert.equal(await client.runAction(echo, "hello"), "hello");
});

for (
  const [who, cert, key] of [
    ["no certificate", undefined, undefined],
    ["another authority's certificate", pem.stranger, pem.stranger_key],
  ] as const
) {
  Deno.test(`mtls: a client with ${who} is refused, and nothing runs`, async () => {
    await using server = mtlsServer();
    const errors: unknown[] = [];
    server.addEventListener(
      "error",
      (event) => errors.push(event.detail.error),
    );
    const { port } = await server.listen();
    await using refused = new Client({
      hostname: "localhost",
      port,
      tls: { caCerts: [pem.ca], cert, key },
      retry: 3,
      retryDelay: 1,
    });
    const before = runs;
    await assert.rejects(refused.runAction(echo, "x"), (error) => {
      assert.ok(error instanceof ClientError);
      // The same code on every runtime, and final: not tried again.
      assert.equal(error.code, "UNAUTHORIZED");
      assert.equal(error.wasRun, false);
      assert.match(
        error.message,
        cert === undefined
          ? /requires a client certificate, and none was presented/
          : /refused the client certificate \(not signed by a trusted authority\)/,
      );
      assert.match(error.message, /tls\.cert and tls\.key/);
      return true;
    });
    assert.equal(runs, before);
    // One connection refused: no retries.
    assert.equal(errors.length, 1, errors.map(String).join("; "));
    assert.match(
      String(errors[0]),
      cert === undefined ? /certificate/i : /not signed by a trusted authority/,
    );
    // A trusted client is still served.
    await using trusted = new Client({
      hostname: "localhost",
      port,
      tls: { caCerts: [pem.ca], cert: pem.client, key: pem.client_key },
    });
    assert.equal(await trusted.runAction(echo, "still"), "still");
  });
}

Deno.test("mtls: a server without caCerts takes clients with or without a certificate", async () => {
  await using server = new Server({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pem.server, key: pem.server_key },
  }).addAction(echo);
  const { port } = await server.listen();
  await using plain = new Client({
    hostname: "localhost",
    port,
    tls: { caCerts: [pem.ca] },
  });
  await using withCert = new Client({
    hostname: "localhost",
    port,
    tls: { caCerts: [pem.ca], cert: pem.stranger, key: pem.stranger_key },
  });
  assert.equal(await plain.runAction(echo, 1), 1);
  assert.equal(await withCert.runAction(echo, 2), 2);
});

Deno.test("mtls: tls.cert without tls.key, or a key of another certificate, is INVALID_OPTIONS", () => {
  for (
    const tls of [
      { cert: pem.client },
      { key: pem.client_key },
      { cert: pem.client, key: pem.stranger_key },
      { cert: "not a certificate", key: pem.client_key },
    ]
  ) {
    assert.throws(
      () => new Client({ port: 1, tls }),
      (error) =>
        error instanceof ClientError && error.code === "INVALID_OPTIONS" &&
        /tls\.(cert|key)/.test(error.message),
    );
  }
});
