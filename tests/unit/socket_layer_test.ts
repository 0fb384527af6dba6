/**
 * The socket layer's `node:net` side (what Node and Bun use) run under
 * Deno: frames both ways over TCP, a refused connection and a taken port
 * with Node's error codes; and bytes read from node sockets (TLS on every
 * runtime) decode to plain `Uint8Array`s and whole typed arrays.
 */

import assert from "node:assert/strict";
import { action, Client, Server } from "../../mod.ts";
import { deferred } from "../../src/base/deferred.ts";
import { classifyNetError, SocketError } from "../../src/wire/net_errors.ts";
import { nodeDial, nodeListen } from "../../src/wire/node_sockets.ts";
import { dialSocket } from "../../src/wire/sockets.ts";
import type { Transport } from "../../src/wire/transport.ts";

const FRAMES = { maxFrameSize: 1 << 20, maxFirstFrameSize: 1 << 16 };

function dialOptions(port: number) {
  return {
    hostname: "127.0.0.1",
    port,
    timeout: 2000,
    signal: new AbortController().signal,
    ...FRAMES,
  };
}

Deno.test("node sockets: frames go both ways, and a second bind is EADDRINUSE", async () => {
  const accepted: Transport[] = [];
  const listener = await nodeListen({
    hostname: "127.0.0.1",
    port: 0,
    frames: FRAMES,
  }, {
    connection(transport) {
      accepted.push(transport);
      transport.start({
        frame: (body) => transport.send([body.slice(), new Uint8Array([9])]),
        closed: () => transport.close(),
      });
    },
    error: (error) => assert.fail(String(error)),
  });
  const client = await nodeDial(dialOptions(listener.port));
  const echoed = deferred<Uint8Array>();
  const ended = deferred<unknown>();
  client.start({
    frame: (body) => echoed.resolve(body.slice()),
    closed: (error) => ended.resolve(error),
  });
  client.send([new Uint8Array([1, 2]), new Uint8Array([3])]);
  assert.deepEqual([...await echoed.promise], [1, 2, 3, 9]);
  assert.equal(client.peer.port, listener.port);
  assert.equal(client.peer.transport, "tcp");

  await assert.rejects(
    nodeListen({ hostname: "127.0.0.1", port: listener.port, frames: FRAMES }, {
      connection: () => {},
      error: () => {},
    }),
    (error) => classifyNetError(error) === "addr-in-use",
  );
  client.close();
  await ended.promise;
  for (const transport of accepted) transport.close();
  await listener.close();
});

Deno.test("node sockets: nothing listening is a refused connection", async () => {
  const listener = await nodeListen({
    hostname: "127.0.0.1",
    port: 0,
    frames: FRAMES,
  }, {
    connection: (transport) => transport.close(),
    error: () => {},
  });
  const { port } = listener;
  await listener.close();
  await assert.rejects(
    nodeDial(dialOptions(port)),
    (error) => classifyNetError(error) === "refused",
  );
});

Deno.test("node sockets: typed arrays read from a TLS connection arrive whole and as plain arrays", async () => {
  const read = (name: string) =>
    Deno.readTextFile(new URL(`../fixtures/tls/${name}`, import.meta.url));
  const cert = await read("cert.pem");
  await using server = new Server({
    tls: { cert, key: await read("key.pem") },
  });
  server.addAction(action("echo", (data: unknown) => data));
  const { port } = await server.listen();
  await using client = new Client({
    hostname: "localhost",
    port,
    tls: { caCerts: [cert] },
  });
  const sent = {
    bytes: new Uint8Array([1, 2, 3]),
    floats: new Float64Array([0.5, -2]),
  };
  const got = await client.runAction("echo", sent) as typeof sent;
  assert.equal(Object.getPrototypeOf(got.bytes), Uint8Array.prototype);
  assert.deepEqual([...got.bytes], [1, 2, 3]);
  assert.ok(got.floats instanceof Float64Array);
  assert.equal(got.floats.buffer.byteLength, 16);
  assert.deepEqual([...got.floats], [0.5, -2]);
});

Deno.test("dial: an attempt that times out fails with the timeout kind, one whose signal aborts with the interrupted kind", async () => {
  // Accepts every connection and never answers: a TLS handshake never ends.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) conns.push(conn);
  })();
  try {
    const { port } = listener.addr;
    const started = performance.now();
    await assert.rejects(
      dialSocket({ ...dialOptions(port), tls: true, timeout: 100 }),
      (error) => {
        assert.ok(error instanceof SocketError, String(error));
        assert.equal(error.kind, "timeout", error.message);
        assert.equal(classifyNetError(error), "timeout");
        return true;
      },
    );
    assert.ok(performance.now() - started < 100 + 5_000);
    const stop = new AbortController();
    const dialing = dialSocket({
      ...dialOptions(port),
      tls: true,
      timeout: 30_000,
      signal: stop.signal,
    });
    setTimeout(() => stop.abort(), 20);
    await assert.rejects(
      dialing,
      (error) => error instanceof SocketError && error.kind === "interrupted",
    );
  } finally {
    listener.close();
    await accepting;
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // Closed by the client already.
      }
    }
  }
});
