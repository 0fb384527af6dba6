/**
 * TLS under hostile or broken peers: connections that never finish their
 * handshake are closed by `handshakeTimeout` and release their sockets,
 * count against `maxConnections`, a client facing a silent server gives up
 * by its deadline, and a certificate error fails at once.
 */

import assert from "node:assert/strict";
import {
  action,
  Client,
  ClientError,
  RemoteError,
  Server,
  ServerError,
} from "../mod.ts";
import { delay, readUntilClosed } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);

/** A self-signed certificate for localhost and 127.0.0.1, made for these tests (see fixtures/tls/README.md). */
async function testCertificate(): Promise<{ cert: string; key: string }> {
  const read = (name: string) =>
    Deno.readTextFile(new URL(`./fixtures/tls/${name}`, import.meta.url));
  return { cert: await read("cert.pem"), key: await read("key.pem") };
}

/**
 * How many files this process has open. Deno reads `/proc/self` only with
 * `--allow-all`, so `ls` reads it (the pipe it adds is there every time).
 */
function openFiles(): number {
  const { stdout } = new Deno.Command("ls", {
    args: [`/proc/${Deno.pid}/fd`],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return new TextDecoder().decode(stdout).split("\n").filter(Boolean).length;
}

/**
 * The open-file count once earlier tests' sockets are done closing: two
 * reads 50 ms apart that agree.
 */
async function settledOpenFiles(): Promise<number> {
  let last = openFiles();
  for (let tries = 0; tries < 40; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = openFiles();
    if (now === last) return now;
    last = now;
  }
  return last;
}

const isLinux = Deno.build.os === "linux";

/** Waits until `condition` holds, polling; fails after `timeout` ms. */
async function until(
  condition: () => boolean,
  timeout: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) {
      assert.fail(
        `Timed out waiting for ${typeof what === "string" ? what : what()}.`,
      );
    }
    await delay(25);
  }
}

/** Opens `count` raw TCP connections that never say anything. */
async function silentConnections(
  port: number,
  count: number,
): Promise<Deno.TcpConn[]> {
  // All at once: opened one by one on a loaded machine, the first would
  // meet the handshake timeout before the last is accepted.
  return await Promise.all(
    Array.from(
      { length: count },
      () => Deno.connect({ hostname: "127.0.0.1", port }),
    ),
  );
}

function closeAll(conns: readonly Deno.Conn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // Closed by readUntilClosed already.
    }
  }
}

Deno.test({
  name:
    "tls: connections that never start their handshake are closed by handshakeTimeout and release their sockets",
  ignore: !isLinux,
  async fn() {
    const { cert, key } = await testCertificate();
    // Long enough that every connection is accepted before the first is
    // cut, even on a loaded machine; the test still takes about this long.
    const handshakeTimeout = 1_500;
    const count = 200;
    await using server = new Server({ tls: { cert, key }, handshakeTimeout })
      .addAction(echo);
    const { port } = await server.listen();
    const before = await settledOpenFiles();
    const silent = await silentConnections(port, count);
    try {
      await until(
        () => server.connectionCount === count,
        5_000,
        "the server to accept every connection",
      );
      // Both ends of each connection are in this process.
      assert.ok(openFiles() >= before + 2 * count);
      // Each is closed by the server once the handshake timeout passes.
      const results = await Promise.all(
        silent.map((conn) => readUntilClosed(conn, handshakeTimeout + 5_000)),
      );
      assert.equal(results.filter((result) => result.closed).length, count);
      assert.equal(server.connectionCount, 0);
      // readUntilClosed closed our ends: the server's must be gone too.
      await until(
        () => openFiles() <= before + 5,
        5_000,
        () => `open files back to ${before} (now ${openFiles()})`,
      );
    } finally {
      closeAll(silent);
    }
    // A real client is served as before.
    await using client = new Client({
      hostname: "localhost",
      port,
      tls: { caCerts: [cert] },
    });
    assert.equal(await client.runAction(echo, "still here"), "still here");
  },
});

Deno.test({
  name:
    "tls: the server's own ends of half-open connections are closed, not only forgotten",
  ignore: !isLinux,
  async fn() {
    // Our ends stay open here: only the server can free its own.
    const { cert, key } = await testCertificate();
    const handshakeTimeout = 1_000;
    const count = 50;
    await using server = new Server({ tls: { cert, key }, handshakeTimeout });
    const { port } = await server.listen();
    const before = await settledOpenFiles();
    const silent = await silentConnections(port, count);
    try {
      await until(
        () => server.connectionCount === count,
        5_000,
        "the server to accept every connection",
      );
      // Both ends of each connection are in this process. A few files of
      // earlier tests may still be closing meanwhile: hence the slack.
      const peak = openFiles();
      assert.ok(peak >= before + 2 * count - 10, `${peak - before} opened`);
      await until(
        () => server.connectionCount === 0,
        handshakeTimeout + 5_000,
        "the handshake timeout",
      );
      await until(
        () => peak - openFiles() >= count - 5,
        5_000,
        () => `the server's ends to close (${peak - openFiles()} closed)`,
      );
    } finally {
      closeAll(silent);
    }
  },
});

Deno.test("tls: half-open connections count against maxConnections until their handshake times out", async () => {
  const { cert, key } = await testCertificate();
  const handshakeTimeout = 400;
  await using server = new Server({
    tls: { cert, key },
    handshakeTimeout,
    maxConnections: 3,
  }).addAction(echo);
  const { port } = await server.listen();
  const refusals: unknown[] = [];
  server.addEventListener("error", (event) => {
    const { error } = event.detail;
    if (error instanceof Error && "code" in error) refusals.push(error.code);
  });
  const silent = await silentConnections(port, 3);
  try {
    await until(
      () => server.connectionCount === 3,
      5_000,
      "the server to accept the silent connections",
    );
    await using client = new Client({
      hostname: "localhost",
      port,
      tls: { caCerts: [cert] },
      retry: 1,
    });
    await assert.rejects(
      client.runAction(echo, 1),
      (error) => error instanceof RemoteError && error.code === "OVERLOADED",
    );
    assert.ok(refusals.includes("OVERLOADED"));
    // Once the silent ones are gone, the same client gets in.
    await until(
      () => server.connectionCount === 0,
      handshakeTimeout + 5_000,
      "the handshake timeout",
    );
    assert.equal(await client.runAction(echo, "in"), "in");
  } finally {
    closeAll(silent);
  }
});

Deno.test("tls: a client facing a server that never answers the handshake fails by handshakeTimeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })().catch(() => {});
  const handshakeTimeout = 300;
  const client = new Client({
    hostname: "localhost",
    port: listener.addr.port,
    tls: true,
    retry: 1,
    handshakeTimeout,
  });
  try {
    const started = Date.now();
    const outcome = await Promise.race([
      client.runAction(echo, 1).then(
        () => "resolved",
        (error: unknown) => error,
      ),
      delay(handshakeTimeout + 10_000).then(() => "still waiting"),
    ]);
    const elapsed = Date.now() - started;
    assert.ok(
      outcome instanceof ClientError && outcome.code === "CONNECT_FAILED",
      `expected CONNECT_FAILED, got ${String(outcome)}`,
    );
    assert.match(outcome.message, /handshake/);
    assert.ok(elapsed >= handshakeTimeout - 50, `gave up after ${elapsed} ms`);
    assert.ok(elapsed < handshakeTimeout * 10, `gave up after ${elapsed} ms`);
    // The client let go of its socket: the server's end sees it close.
    assert.equal(accepted.length, 1);
    const { closed } = await readUntilClosed(accepted[0], 5_000);
    assert.ok(closed, "the client's socket stayed open");
  } finally {
    await client.close();
    closeAll(accepted);
    listener.close();
    await accepting;
  }
});

Deno.test("tls: a certificate the client does not trust fails at once with TLS_FAILED, without retries", async () => {
  const { cert, key } = await testCertificate();
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
  });
  let accepted = 0;
  const handshakes: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      accepted++;
      handshakes.push(
        conn.handshake().then(() => {}, () => {}).finally(() => conn.close()),
      );
    }
  })().catch(() => {});
  // Without caCerts, the self-signed certificate is not trusted.
  const client = new Client({
    hostname: "localhost",
    port: listener.addr.port,
    tls: true,
    retry: 5,
    retryDelay: 20,
  });
  try {
    await assert.rejects(
      client.runAction(echo, 1),
      (error) =>
        error instanceof ClientError && error.code === "TLS_FAILED" &&
        /1 attempt/.test(error.message) &&
        /with a certificate this client trusts \(tls\.caCerts\)/.test(
          error.message,
        ),
    );
    // A retry would have come within a few retry delays.
    await delay(200);
    assert.equal(accepted, 1);
  } finally {
    await client.close();
    listener.close();
    await accepting;
    await Promise.all(handshakes);
  }
});

/** A fresh P-256 private key in PEM: a key that belongs to no certificate here. */
async function otherKey(): Promise<string> {
  const { privateKey } = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const der = new Uint8Array(
    await crypto.subtle.exportKey("pkcs8", privateKey),
  );
  const base64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN PRIVATE KEY-----\n${
    base64.match(/.{1,64}/g)!.join("\n")
  }\n-----END PRIVATE KEY-----\n`;
}

Deno.test("tls: a certificate or key that cannot be used fails listen() with LISTEN_FAILED", async () => {
  // Deno's node:tls takes any text and fails every handshake later; Node
  // and Bun refuse at once. listen() refuses on every runtime.
  const { cert, key } = await testCertificate();
  const cases = [
    { tls: { cert: "junk", key }, says: /tls\.cert is not a PEM certificate/ },
    { tls: { cert, key: "junk" }, says: /tls\.key is not a PEM private key/ },
    { tls: { cert: key, key }, says: /tls\.cert is not a PEM certificate/ },
    {
      tls: { cert, key: await otherKey() },
      says: /tls\.key is not the key of the certificate/,
    },
  ];
  for (const { tls, says } of cases) {
    const server = new Server({ tls });
    await assert.rejects(server.listen(), (error) => {
      assert.ok(error instanceof ServerError);
      assert.equal(error.code, "LISTEN_FAILED");
      assert.match(error.message, says);
      return true;
    });
    await server.shutdown();
  }
});
