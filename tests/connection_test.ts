/**
 * Connections that die: heartbeats find a peer that vanished without
 * closing, idle connections are let go, a client reconnects, idempotent
 * calls are sent again, and both ends report what happens as events.
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, Server } from "../mod.ts";
import { delay, freePort, readUntilClosed, serve, wire } from "./helpers.ts";
import { MessageType } from "../src/protocol/message_type.ts";

const echo = action("echo", (data: unknown) => data);

/**
 * A server that answers the hello and then plays dead: it reads what comes
 * (so the client's writes succeed) but never answers, not even pings.
 */
function deadServer(): { port: number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      await conn.write(wire.hello());
      readUntilClosed(conn, 10_000);
    }
  })();
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed by the client already.
        }
      }
      await serving;
    },
  };
}

Deno.test("heartbeat: a server that vanished fails the calls in flight within a few intervals", async () => {
  await using dead = deadServer();
  await using client = new Client({ port: dead.port, heartbeatInterval: 50 });
  const started = performance.now();
  await assert.rejects(
    client.runAction(echo, "anyone?"),
    (e) =>
      e instanceof ClientError && e.code === "CONNECTION_CLOSED" &&
      /sign of life/.test(e.message),
  );
  // Taken for dead after 2¾ silent intervals, checked four times an interval.
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 137 && elapsed < 1000, `${elapsed} ms`);
});

Deno.test("heartbeat: a client that vanished is disconnected, and its handler's signal aborts", async () => {
  const aborted = Promise.withResolvers<void>();
  const hang = action("hang", (_: undefined, context) => {
    context.signal.addEventListener("abort", () => aborted.resolve());
    return new Promise<never>(() => {});
  });
  await using served = await serve([hang], { heartbeatInterval: 50 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  // Hello, a call, then silence: no pongs, no reads.
  await conn.write(
    new Uint8Array([...wire.hello(), ...wire.message([0, 1, "hang"])]),
  );
  const started = performance.now();
  await aborted.promise;
  assert.ok(performance.now() - started < 1000);
  for (let i = 0; i < 50 && served.server.connectionCount > 0; i++) {
    await delay(10);
  }
  assert.equal(served.server.connectionCount, 0);
  conn.close();
});

Deno.test("heartbeat: a healthy idle connection stays open across many intervals", async () => {
  await using served = await serve([echo], { heartbeatInterval: 20 });
  const client = served.client({ heartbeatInterval: 20 });
  let connects = 0;
  client.addEventListener("connect", () => connects++);
  await client.runAction(echo, 1);
  await delay(300); // 15 intervals: pings and pongs keep it alive.
  assert.equal(await client.runAction(echo, 2), 2);
  assert.equal(connects, 1);
  assert.equal(served.server.connectionCount, 1);
});

Deno.test("idle timeout: an idle connection is closed, and the next call reconnects by itself", async () => {
  await using served = await serve([echo], { idleTimeout: 100 });
  const client = served.client();
  let connects = 0;
  let disconnects = 0;
  client.addEventListener("connect", () => connects++);
  client.addEventListener("disconnect", () => disconnects++);
  await client.runAction(echo, 1);
  for (let i = 0; i < 100 && served.server.connectionCount > 0; i++) {
    await delay(10);
  }
  assert.equal(served.server.connectionCount, 0);
  assert.equal(disconnects, 1);
  assert.equal(await client.runAction(echo, 2), 2);
  assert.equal(connects, 2);
});

Deno.test("idle timeout: a connection with a call running is not idle", async () => {
  const slow = action("slow", () => delay(300).then(() => "done"));
  await using served = await serve([slow], { idleTimeout: 80 });
  assert.equal(await served.client().runAction(slow), "done");
});

Deno.test("events: the server reports connect and disconnect with the peer; the client too", async () => {
  await using served = await serve([echo]);
  const serverEvents: string[] = [];
  served.server.addEventListener(
    "connect",
    (event) => serverEvents.push(`connect ${event.detail.hostname}`),
  );
  served.server.addEventListener(
    "disconnect",
    (event) => serverEvents.push(`disconnect ${event.detail.peer.hostname}`),
  );
  const client = served.client();
  const clientEvents: string[] = [];
  client.addEventListener(
    "connect",
    (event) => clientEvents.push(`connect ${event.detail.port}`),
  );
  client.addEventListener("disconnect", () => clientEvents.push("disconnect"));
  await client.runAction(echo, 1);
  await client.close();
  for (let i = 0; i < 50 && serverEvents.length < 2; i++) await delay(10);
  assert.deepStrictEqual(serverEvents, [
    "connect 127.0.0.1",
    "disconnect 127.0.0.1",
  ]);
  assert.deepStrictEqual(clientEvents, [
    `connect ${served.port}`,
    "disconnect",
  ]);
});

Deno.test("events: the client reports a failed connection as an error event", async () => {
  await using client = new Client({ port: freePort(), retry: 1 });
  const errors: Error[] = [];
  client.addEventListener("error", (event) => errors.push(event.detail));
  await assert.rejects(client.runAction(echo, 1));
  assert.equal(errors.length, 1);
  assert.ok(
    errors[0] instanceof ClientError && errors[0].code === "CONNECT_FAILED",
  );
});

Deno.test("events: the server reports a peer that broke the protocol", async () => {
  await using served = await serve([echo]);
  const errors: unknown[] = [];
  served.server.addEventListener(
    "error",
    (event) => errors.push(event.detail.error),
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  await readUntilClosed(conn, 1000);
  for (let i = 0; i < 50 && errors.length === 0; i++) await delay(10);
  assert.equal(errors.length, 1);
});

Deno.test("reconnect: calls are never sent twice, unless the action is idempotent", async () => {
  const port = freePort();
  let reads = 0;
  let writes = 0;
  const readSensor = action("readSensor", { idempotent: true }, () => {
    reads++;
    return reads === 1 ? new Promise<never>(() => {}) : 21.5;
  });
  const writeValve = action("writeValve", () => {
    writes++;
    return new Promise<never>(() => {});
  });
  await using client = new Client({ port, retry: 5, retryDelay: 20 });
  const first = new Server({ port }).addAction(readSensor).addAction(
    writeValve,
  );
  await first.listen();
  const reading = client.runAction(readSensor);
  const writing = client.runAction(writeValve).then(
    () => "ran",
    (error) => error,
  );
  while (reads < 1 || writes < 1) await delay(5);
  await first.shutdown({ timeout: 0 }); // The connection drops under both calls.
  await using second = new Server({ port }).addAction(readSensor).addAction(
    writeValve,
  );
  await second.listen();
  assert.equal(await reading, 21.5);
  const failure = await writing;
  assert.ok(
    failure instanceof ClientError && failure.code === "CONNECTION_CLOSED",
  );
  assert.equal(reads, 2);
  assert.equal(writes, 1);
});

Deno.test("shutdown: once the server said goodbye, the next call fails fast with CONNECTION_CLOSED", async () => {
  await using served = await serve([echo]);
  const client = served.client({ retry: 10, retryDelay: 500 });
  await client.runAction(echo, 1);
  await served.server.shutdown();
  const started = performance.now();
  await assert.rejects(
    client.runAction(echo, 2),
    (e) =>
      e instanceof ClientError && e.code === "CONNECTION_CLOSED" &&
      /shut down/.test(e.message),
  );
  assert.ok(
    performance.now() - started < 400,
    "it did not wait for the retries",
  );
});

Deno.test("shutdown: calls still running when the timeout ends have their signals aborted", async () => {
  const aborted = Promise.withResolvers<void>();
  const stubborn = action("stubborn", (_: undefined, context) => {
    context.signal.addEventListener("abort", () => aborted.resolve());
    return new Promise<never>(() => {});
  });
  await using served = await serve([stubborn]);
  const call = served.client().runAction(stubborn);
  await delay(20);
  const started = performance.now();
  await served.server.shutdown({ timeout: 100 });
  assert.ok(performance.now() - started >= 90);
  await aborted.promise;
  await assert.rejects(
    call,
    (e) => e instanceof ClientError && e.code === "CONNECTION_CLOSED",
  );
});

Deno.test("idle timeout: calls that race the server's goodbye are resent, never lost", async () => {
  await using served = await serve([echo], { idleTimeout: 60 });
  const client = served.client();
  for (let i = 0; i < 25; i++) {
    assert.equal(await client.runAction(echo, i), i);
    await delay(50 + Math.random() * 40); // Around the moment the server lets the connection go.
  }
});

Deno.test("reconnect: a call the server refused unrun is sent again on a new connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    let connection = 0;
    for await (const conn of listener) {
      connection++;
      await conn.write(wire.hello());
      const buffer = new Uint8Array(4096);
      await conn.read(buffer); // The client's hello, and perhaps its request.
      await delay(20);
      await conn.read(buffer).catch(() => null);
      const reply = connection === 1
        ? [MessageType.ERROR, 1, {
          code: "CONNECTION_CLOSED",
          name: "ClientError",
          message: "closing; not run",
        }]
        : [MessageType.RESULT, 1, "ran on the second connection"];
      await conn.write(
        new Uint8Array([
          ...wire.message([MessageType.GOODBYE]),
          ...wire.message(reply),
        ]),
      );
      await readUntilClosed(conn, 1000);
      if (connection === 2) break;
    }
  })();
  await using client = new Client({ port: listener.addr.port });
  assert.equal(
    await client.runAction(echo, "x"),
    "ran on the second connection",
  );
  await serving; // Leaving the loop after the second connection closed the listener.
});
