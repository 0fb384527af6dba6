/**
 * Connections cut and stalled under calls (found by a chaos run): a cut
 * handshake is retried like a refused connection, deadlines are fixed at
 * the first try, the server's frames right behind its auth-ok are not a
 * breach, a consumed input stream is never replayed, and a dead peer is
 * found within three heartbeat intervals.
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, Server, tracked } from "../mod.ts";
import { importSecret, NONCE_LABELS, prove } from "../src/protocol/auth.ts";
import { concat } from "../src/base/bytes.ts";
import { FrameDecoder } from "../src/wire/framing.ts";
import type { Message } from "../src/protocol/message_table.ts";
import { MessageType, PROTOCOL_VERSION } from "../src/protocol/message_type.ts";
import { Session } from "../src/session/session.ts";
import type { FrameReceiver, Transport } from "../src/wire/transport.ts";
import { delay, serve, tcpProxy, wire } from "./helpers.ts";
import { FaultProxy } from "./fault_proxy.ts";

Deno.test("reconnect: a cut handshake is retried; a plain call that was never sent succeeds", async () => {
  const echo = action("echo", (data: unknown) => data);
  await using served = await serve([echo], { secret: "s3cret" });
  await using proxy = new FaultProxy({ target: served.port });
  proxy.mode = "cut";
  setTimeout(() => proxy.mode = "pass", 150);
  await using client = served.client({
    port: proxy.port,
    secret: "s3cret",
    retry: 10,
    retryDelay: 50,
  });
  assert.equal(await client.runAction(echo, "sent once"), "sent once");
  assert.ok(proxy.accepted >= 2);
});

Deno.test("reconnect: a handshake that never completes fails CONNECT_FAILED after the retries", async () => {
  const echo = action("echo", (data: unknown) => data);
  await using served = await serve([echo]);
  await using proxy = new FaultProxy({ target: served.port });
  proxy.mode = "blackhole";
  await using client = served.client({
    port: proxy.port,
    retry: 2,
    retryDelay: 10,
    handshakeTimeout: 100,
  });
  await assert.rejects(
    client.runAction(echo, 1),
    (e) => e instanceof ClientError && e.code === "CONNECT_FAILED",
  );
  assert.equal(proxy.accepted, 2);
});

/**
 * A server behind a {@linkcode FaultProxy} said goodbye and shut down, a
 * new one took its port, and the client knows of the goodbye.
 */
async function restartedBehindProxy(retry: number) {
  const echo = action("echo", (data: unknown) => data);
  const first = new Server({ hostname: "127.0.0.1", port: 0 }).addAction(echo);
  const { port } = await first.listen();
  const proxy = new FaultProxy({ target: port });
  const client = new Client({ port: proxy.port, retry, retryDelay: 10 });
  assert.equal(await client.runAction(echo, 0), 0);
  const disconnected = new Promise((resolve) =>
    client.addEventListener("disconnect", resolve, { once: true })
  );
  await first.shutdown();
  await disconnected;
  const second = new Server({ hostname: "127.0.0.1", port }).addAction(echo);
  await second.listen();
  return {
    echo,
    proxy,
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await proxy[Symbol.asyncDispose]();
      await second.shutdown();
    },
  };
}

Deno.test("reconnect: after the server's goodbye, a cut handshake with its successor is retried; the call never sent succeeds", async () => {
  await using restarted = await restartedBehindProxy(3);
  const { proxy, client, echo } = restarted;
  proxy.mode = "cut";
  proxy.cutsLeft = 1;
  assert.equal(await client.runAction(echo, "sent once"), "sent once");
  assert.equal(proxy.accepted, 3); // Before the restart, cut, passed.
});

Deno.test("reconnect: after the server's goodbye, handshakes cut until the retries are spent fail CONNECT_FAILED, not CONNECTION_CLOSED", async () => {
  await using restarted = await restartedBehindProxy(2);
  const { proxy, client, echo } = restarted;
  proxy.mode = "cut";
  await assert.rejects(
    client.runAction(echo, "never sent"),
    (e) => e instanceof ClientError && e.code === "CONNECT_FAILED",
  );
  assert.equal(proxy.accepted, 3); // Before the restart, then 2 cut.
});

Deno.test("reconnect: an idempotent call sent again keeps its first deadline", async () => {
  const slow = action(
    "slow",
    { idempotent: true },
    async (_: undefined) => {
      await delay(600);
      proxy.cut(); // Every result is lost with its connection.
      return "late";
    },
  );
  await using served = await serve([slow]);
  // The handlers above cut through it: they run only after this line.
  await using proxy = tcpProxy(served.port);
  await using client = served.client({ port: proxy.port, retryDelay: 20 });
  const started = performance.now();
  await assert.rejects(
    client.runAction(slow, undefined, { timeout: 1000 }),
    (e) => e instanceof ClientError && e.code === "TIMEOUT",
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 1400, `rejected after ${elapsed.toFixed(0)} ms`);
});

Deno.test("reconnect: a tracked stream that reconnects keeps its first deadline", async () => {
  const ticks = action("ticks", async function* (_: undefined, context) {
    for (let n = Number(context.lastEventId ?? 0) + 1;; n++) {
      await delay(20);
      yield tracked(n, n);
    }
  });
  await using served = await serve([ticks]);
  await using proxy = new FaultProxy({ target: served.port });
  await using client = served.client({
    port: proxy.port,
    retryDelay: 20,
    handshakeTimeout: 5000,
  });
  const started = performance.now();
  let seen = 0;
  await assert.rejects(
    (async () => {
      for await (
        const _ of client.stream(ticks, undefined, { timeout: 1000 })
      ) {
        if (++seen === 30) {
          proxy.mode = "blackhole"; // The next handshake is swallowed.
          proxy.cut();
        }
      }
    })(),
    (e) => e instanceof ClientError && e.code === "TIMEOUT",
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 1400, `rejected after ${elapsed.toFixed(0)} ms`);
});

Deno.test("reconnect: an upload cut after its stream was sent fails NOT_RESENDABLE instead of replaying it empty", async () => {
  const upload = action(
    "upload",
    { idempotent: true },
    async (chunks: AsyncIterable<Uint8Array>) => {
      let bytes = 0;
      for await (const chunk of chunks) bytes += chunk.length;
      if (bytes > 0) proxy.cut(); // The first result is lost.
      return { bytes };
    },
  );
  await using served = await serve([upload]);
  // The handlers above cut through it: they run only after this line.
  await using proxy = tcpProxy(served.port);
  await using client = served.client({ port: proxy.port, retryDelay: 20 });
  async function* source() {
    for (let i = 0; i < 4; i++) yield new Uint8Array(1000);
  }
  await assert.rejects(
    client.runAction(upload, source()),
    (e) => e instanceof ClientError && e.code === "NOT_RESENDABLE",
  );
});

/** A server played by hand: authentication with `secret`, then whatever `after` sends. */
async function handServer(
  secret: string,
  after: (conn: Deno.Conn, proof: Uint8Array) => Promise<void>,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const key = await importSecret(secret);
  const serverNonce = crypto.getRandomValues(new Uint8Array(32));
  const received: Message[] = [];
  const serving = (async () => {
    const conn = await listener.accept();
    const decoder = new FrameDecoder();
    const frames: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    const nextFrame = async () => {
      while (frames.length === 0) {
        const count = await conn.read(buffer);
        if (count === null) return undefined;
        decoder.push(buffer.subarray(0, count), (b) => frames.push(b.slice()));
      }
      return frames.shift();
    };
    const hello = wire.codec.decodeHello((await nextFrame())!);
    await conn.write(wire.frame(wire.codec.encodeHello({
      version: PROTOCOL_VERSION,
      maxFrameSize: 1 << 20,
      nonce: serverNonce,
      authRequired: true,
    })));
    await nextFrame(); // The client's AUTH.
    const proof = await prove(
      key,
      NONCE_LABELS.server,
      hello.nonce,
      serverNonce,
    );
    await after(conn, proof);
    for (let frame = await nextFrame(); frame; frame = await nextFrame()) {
      received.push(wire.codec.decode(frame));
    }
    conn.close();
  })();
  return {
    port: listener.addr.port,
    received,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving;
    },
  };
}

Deno.test("reconnect: a ping right behind the server's auth-ok, in one segment, is answered, not a breach", async () => {
  await using server = await handServer("s3cret", async (conn, proof) => {
    await conn.write(concat([
      wire.message([MessageType.AUTH_OK, proof]),
      wire.message([MessageType.PING, 77]),
    ]));
  });
  const { Client } = await import("../mod.ts");
  const client = new Client({ port: server.port, secret: "s3cret", retry: 1 });
  try {
    await client.connect();
    for (let i = 0; i < 100 && server.received.length === 0; i++) {
      await delay(10);
    }
    assert.deepStrictEqual(server.received[0], {
      type: MessageType.PONG,
      id: 77,
    });
  } finally {
    await client.close();
  }
});

/** A transport whose peer says hello and then nothing at all. */
function silentTransport() {
  let receiver: FrameReceiver | undefined;
  const transport: Transport = {
    peer: { hostname: "silent", port: 1, transport: "tcp" },
    lastActivity: Date.now(),
    isCongested: false,
    start: (r) => receiver = r,
    send() {},
    drain: () => Promise.resolve(),
    close() {
      const closing = receiver;
      receiver = undefined;
      queueMicrotask(() => closing?.closed());
    },
    ref() {},
    unref() {},
  };
  const hello = () =>
    receiver!.frame(
      wire.codec.encodeHello({
        version: PROTOCOL_VERSION,
        maxFrameSize: 1 << 20,
        nonce: new Uint8Array(32),
        authRequired: false,
      }),
      false,
    );
  return { transport, hello };
}

Deno.test("reconnect: a silent peer is taken for dead within three heartbeat intervals", async () => {
  const interval = 200;
  // The heartbeat timers never keep a process alive by themselves.
  const keepAlive = setInterval(() => {}, 1000);
  // Sessions started at different moments see the shared timer at different phases.
  const detections = await Promise.all([0, 50, 100, 150].map(async (wait) => {
    await delay(wait);
    const silent = silentTransport();
    const session = new Session(silent.transport, {
      codec: wire.codec,
      role: "client",
      maxFrameSize: 1 << 20,
      handshakeTimeout: 5000,
      heartbeatInterval: interval,
    });
    silent.hello();
    await session.ready;
    await session.closed;
    return Date.now() - silent.transport.lastActivity;
  }));
  clearInterval(keepAlive);
  for (const detection of detections) {
    assert.ok(
      detection <= 3 * interval + 40,
      `found dead after ${detection} ms (interval ${interval} ms): ${detections}`,
    );
  }
});

Deno.test("reconnect: a stream's own timeout after items says so", async () => {
  const ticks = action("ticks", async function* () {
    for (let n = 1;; n++) {
      yield n;
      await delay(n < 3 ? 1 : 5000);
    }
  });
  await using served = await serve([ticks]);
  const client = served.client();
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const n of client.stream(ticks, undefined, { timeout: 200 })) {
        seen.push(n);
      }
    })(),
    (e) =>
      e instanceof ClientError && e.code === "TIMEOUT" &&
      /timed out after 3 items/.test(e.message),
  );
  assert.deepStrictEqual(seen, [1, 2, 3]);
});
