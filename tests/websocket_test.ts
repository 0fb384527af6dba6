/**
 * isock over WebSocket between Deno peers: a server served by `Deno.serve`
 * through `server.upgrade` (or `server.accept`), clients made with
 * `new Client({ url })`. Everything a TCP client does works the same.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import {
  action,
  Client,
  ClientError,
  type ClientOptions,
  RemoteError,
  Server,
  tracked,
} from "../mod.ts";
import { delay, wire } from "./helpers.ts";
import { serveWebSocket } from "./websocket_helpers.ts";

const echo = action("echo", (data: unknown) => data);

async function until(condition: () => boolean, timeout = 3000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeout) {
      throw new Error("timed out waiting");
    }
    await delay(2);
  }
}

Deno.test("websocket: rich data goes both ways unchanged", async () => {
  await using served = await serveWebSocket([echo]);
  const client = served.client();
  const value = {
    text: "héllo 🌍",
    big: 2n ** 70n,
    date: new Date(1_700_000_000_000),
    bytes: new Uint8Array([0, 1, 254, 255]),
    map: new Map<unknown, unknown>([[1, "one"], ["two", [2]]]),
    set: new Set([1, 2, 3]),
    nested: { list: [1.5, -3, null, true, undefined] },
  };
  assert.deepStrictEqual(await client.runAction(echo, value), value);
  assert.equal(served.server.connectionCount, 1);
});

Deno.test("websocket: an error with fields arrives as a RemoteError; a schema's INVALID_INPUT too", async () => {
  const fail = action("fail", () => {
    throw Object.assign(new RangeError("too far"), { limit: 10, unit: "km" });
  });
  const typed = action(
    "typed",
    { input: z.object({ n: z.number() }) },
    ({ n }) => n * 2,
  );
  await using served = await serveWebSocket([fail, typed]);
  const client = served.client();
  await assert.rejects(client.runAction(fail), (error) => {
    assert.ok(error instanceof RemoteError);
    assert.equal(error.code, "ACTION_FAILED");
    assert.equal(error.remoteName, "RangeError");
    assert.equal(error.message, "too far");
    assert.deepStrictEqual(error.remoteFields, { limit: 10, unit: "km" });
    return true;
  });
  assert.equal(await client.runAction(typed, { n: 21 }), 42);
  await assert.rejects(
    client.runAction("typed", { n: "no" }),
    (error) => error instanceof RemoteError && error.code === "INVALID_INPUT",
  );
});

Deno.test("websocket: a call's timeout and signal reach the handler", async () => {
  const seen: string[] = [];
  const slow = action("slow", async (_: unknown, { signal }) => {
    await new Promise<void>((resolve) => {
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    seen.push("aborted");
  });
  await using served = await serveWebSocket([slow]);
  const client = served.client();
  await assert.rejects(
    client.runAction(slow, undefined, { timeout: 100 }),
    (error) => error instanceof ClientError && error.code === "TIMEOUT",
  );
  await until(() => seen.length === 1);
  const controller = new AbortController();
  const call = client.runAction(slow, undefined, {
    signal: controller.signal,
  });
  await delay(50);
  controller.abort();
  await assert.rejects(
    call,
    (error) => error instanceof ClientError && error.code === "ABORTED",
  );
  await until(() => seen.length === 2);
});

Deno.test("websocket: a stream keeps its generator within the window of a slow reader; break runs its finally", async () => {
  const state = { produced: 0, finished: false };
  const count = action("count", async function* (to: number) {
    try {
      for (let n = 1; n <= to; n++) {
        state.produced = n;
        yield n;
      }
    } finally {
      state.finished = true;
    }
  });
  await using served = await serveWebSocket([count]);
  const client = served.client();
  const items: number[] = [];
  for await (const n of client.stream(count, 5_000)) items.push(n);
  assert.deepStrictEqual(items, Array.from({ length: 5_000 }, (_, i) => i + 1));
  state.finished = false;
  const window = 8;
  let consumed = 0;
  let worst = 0;
  for await (const n of client.stream(count, 1_000_000, { window })) {
    consumed++;
    assert.equal(n, consumed);
    await delay(1);
    worst = Math.max(worst, state.produced - consumed);
    if (consumed === 200) break;
  }
  assert.ok(worst <= window + 1, `the generator ran ${worst} items ahead`);
  await until(() => state.finished);
});

Deno.test("websocket: an upload reaches the handler with flow control", async () => {
  const sum = action("sum", async (numbers: AsyncIterable<number>) => {
    let total = 0;
    for await (const n of numbers) total += n;
    return total;
  });
  await using served = await serveWebSocket([sum]);
  async function* source() {
    for (let n = 1; n <= 2_000; n++) yield n;
  }
  assert.equal(await served.client().runAction(sum, source()), 2_001_000);
});

Deno.test("websocket: a secret is checked with no listen(); a wrong one is UNAUTHORIZED", async () => {
  await using served = await serveWebSocket([echo], { secret: "s3cret" });
  assert.equal(
    await served.client({ secret: "s3cret" }).runAction(echo, 1),
    1,
  );
  await assert.rejects(
    served.client({ secret: "wrong", retry: 1 }).runAction(echo, 1),
    (error) => error instanceof ClientError && error.code === "UNAUTHORIZED",
  );
  await assert.rejects(
    served.client({ retry: 1 }).runAction(echo, 1),
    (error) => error instanceof ClientError && error.code === "UNAUTHORIZED",
  );
});

Deno.test("websocket: the server calls the client's action back; metadata and middleware apply", async () => {
  const confirm = action("confirm", (question: string) => question.length);
  const ask = action(
    "ask",
    (question: string, context) => context.peer.runAction(confirm, question),
  );
  const who = action("who", (_: unknown, context) => ({
    user: context.metadata.get("user"),
    transport: context.peer.transport,
  }));
  await using served = await serveWebSocket([ask, who]);
  const calls: string[] = [];
  served.server.use((call, next) => {
    calls.push(call.action);
    return next();
  });
  const client = served.client().addAction(confirm);
  assert.equal(await client.runAction(ask, "sure?"), 5);
  assert.deepStrictEqual(
    await client.runAction(who, undefined, { metadata: { user: "ada" } }),
    { user: "ada", transport: "websocket" },
  );
  assert.deepStrictEqual(calls, ["ask", "who"]);
});

Deno.test("websocket: a TCP and a WebSocket client share one server, its stats and its limits", async () => {
  await using served = await serveWebSocket([echo], { port: 0 });
  const tcp = new Client({ port: served.server.addr!.port });
  try {
    const ws = served.client();
    const calls = Array.from(
      { length: 200 },
      (_, i) => (i % 2 ? tcp : ws).runAction(echo, i),
    );
    assert.deepStrictEqual(
      await Promise.all(calls),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(served.server.connectionCount, 2);
    assert.equal(
      served.server.stats().actions.find((stats) => stats.name === "echo")
        ?.calls,
      200,
    );
  } finally {
    await tcp.close();
  }
});

Deno.test("websocket: server.accept serves a WebSocket from Deno.upgradeWebSocket", async () => {
  const server = new Server();
  server.addAction(echo);
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      server.accept(socket);
      return response;
    },
  );
  const client = new Client({ url: `ws://127.0.0.1:${http.addr.port}` });
  try {
    assert.equal(await client.runAction(echo, "accepted"), "accepted");
  } finally {
    await client.close();
    await server.shutdown();
    await http.shutdown();
  }
});

Deno.test("websocket: a request that is not an upgrade gets 426, and all get 503 after shutdown", async () => {
  await using served = await serveWebSocket([echo]);
  const plain = await fetch(`http://127.0.0.1:${served.port}/isock`);
  assert.equal(plain.status, 426);
  assert.match(await plain.text(), /WebSocket/);
  const client = served.client({ retry: 1 });
  assert.equal(await client.runAction(echo, 1), 1);
  await served.server.shutdown({ timeout: 0 });
  const refused = await fetch(`http://127.0.0.1:${served.port}/isock`, {
    headers: { upgrade: "websocket" },
  });
  assert.equal(refused.status, 503);
  await refused.body?.cancel();
  const started = Date.now();
  await assert.rejects(
    client.runAction(echo, 2),
    (error) => error instanceof ClientError,
  );
  assert.ok(Date.now() - started < 5_000, "the call took too long to fail");
});

Deno.test("websocket: after the server restarts on its port, the next call succeeds and a tracked stream resumes with no gap or duplicate", async () => {
  const ticks = action("ticks", async function* (to: number, context) {
    const start = Number(context.lastEventId ?? 0) + 1;
    for (let n = start; n <= to; n++) {
      await delay(1);
      yield tracked(n, `tick ${n}`);
    }
  });
  const clients: Client[] = [];
  const first = await serveWebSocket([ticks, echo], { clients });
  let second: Awaited<ReturnType<typeof serveWebSocket>> | undefined;
  try {
    const client = first.client({ retry: 20, retryDelay: 20 });
    assert.equal(await client.runAction(echo, "before"), "before");
    const seen: string[] = [];
    for await (const tick of client.stream(ticks, 120)) {
      seen.push(tick);
      if (seen.length === 40) {
        await first.stop();
        second = await serveWebSocket([ticks, echo], {
          httpPort: first.port,
          clients,
        });
      }
    }
    assert.deepStrictEqual(
      seen,
      Array.from({ length: 120 }, (_, i) => `tick ${i + 1}`),
    );
    assert.equal(await client.runAction(echo, "after"), "after");
  } finally {
    await first[Symbol.asyncDispose]();
    await second?.[Symbol.asyncDispose]();
  }
});

Deno.test("websocket: a url that is not ws: or wss:, or given with a port, is INVALID_OPTIONS", () => {
  for (
    const options of [
      { url: "http://127.0.0.1:1" },
      { url: "not a url" },
      { url: "ws://127.0.0.1:1", port: 1 },
      { url: "ws://127.0.0.1:1", hostname: "x" },
    ]
  ) {
    assert.throws(
      // A JavaScript caller, whom the types do not stop.
      () => new Client(options as unknown as ClientOptions),
      (error) =>
        error instanceof ClientError && error.code === "INVALID_OPTIONS",
    );
  }
});

Deno.test("websocket: the types take a url alone, and refuse it with a port", () => {
  const alone: ClientOptions = { url: "ws://127.0.0.1:1" };
  // @ts-expect-error: url and port exclude each other.
  const withPort: ClientOptions = { url: "ws://127.0.0.1:1", port: 1 };
  // @ts-expect-error: url and tls exclude each other.
  const withTls: ClientOptions = { url: "wss://127.0.0.1:1", tls: true };
  for (const options of [alone, withPort, withTls]) {
    assert.equal(typeof options.url, "string");
  }
});

Deno.test("websocket: nothing listening fails CONNECT_FAILED after the retries", async () => {
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("no"),
  );
  const port = http.addr.port;
  await http.shutdown();
  const client = new Client({
    url: `ws://127.0.0.1:${port}`,
    retry: 2,
    retryDelay: 10,
  });
  try {
    await assert.rejects(
      client.runAction(echo, 1),
      (error) =>
        error instanceof ClientError && error.code === "CONNECT_FAILED",
    );
  } finally {
    await client.close();
  }
});

Deno.test("websocket: await client.close() closes its WebSocket: the server sees the client leave at once", async () => {
  await using served = await serveWebSocket([echo]);
  const client = served.client();
  assert.equal(await client.runAction(echo, 1), 1);
  assert.equal(served.server.connectionCount, 1);
  const left = new Promise((resolve) =>
    served.server.addEventListener("disconnect", resolve, { once: true })
  );
  const started = Date.now();
  await client.close();
  await left;
  assert.ok(Date.now() - started < 2_000, "the server heard late");
  await until(() => served.server.connectionCount === 0);
});

Deno.test("websocket: heartbeats keep an idle connection up, and a server that goes silent is taken for dead within three intervals", async () => {
  await using served = await serveWebSocket([echo]);
  const client = served.client({ heartbeatInterval: 100 });
  assert.equal(await client.runAction(echo, 1), 1);
  await delay(600);
  assert.equal(served.server.connectionCount, 1, "the idle connection dropped");
  assert.equal(await client.runAction(echo, 2), 2);

  // A server that says hello, then nothing more.
  const sockets: WebSocket[] = [];
  const silent = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.onopen = () => socket.send(wire.hello());
      sockets.push(socket);
      return response;
    },
  );
  const victim = new Client({
    url: `ws://127.0.0.1:${silent.addr.port}`,
    heartbeatInterval: 100,
    retry: 1,
  });
  try {
    const started = Date.now();
    await assert.rejects(
      victim.runAction(echo, 3),
      (error) => error instanceof ClientError,
    );
    assert.ok(
      Date.now() - started < 3_000,
      "the silent server was noticed late",
    );
  } finally {
    await victim.close();
    for (const socket of sockets) socket.close();
    await silent.shutdown();
  }
});
