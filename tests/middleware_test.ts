/**
 * Middleware on both ends: order, short-circuit, refusal with a code,
 * error pass-through, replaced results, streams observed to their end, one
 * middleware on client and server alike, and attempt numbers on resends.
 */

import assert from "node:assert/strict";
import {
  action,
  type CallInfo,
  ClientError,
  type Middleware,
  RemoteError,
  ServerError,
} from "../mod.ts";
import { delay, serve, tcpProxy } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);
const count = action("count", async function* (to: number) {
  for (let n = 1; n <= to; n++) yield n;
});

/** A middleware that notes when it enters and leaves. */
function tracer(name: string, log: string[]): Middleware {
  return async (_call, next) => {
    log.push(`${name}>`);
    try {
      return await next();
    } finally {
      log.push(`<${name}`);
    }
  };
}

Deno.test("middleware: runs in the order of use, on both ends, around the handler", async () => {
  const log: string[] = [];
  const noted = action("noted", () => {
    log.push("handler");
    return "ok";
  });
  await using served = await serve([noted]);
  served.server.use(tracer("s1", log)).use(tracer("s2", log));
  const client = served.client().use(tracer("c1", log)).use(
    tracer("c2", log),
  );
  assert.equal(await client.runAction(noted), "ok");
  assert.deepStrictEqual(log, [
    "c1>",
    "c2>",
    "s1>",
    "s2>",
    "handler",
    "<s2",
    "<s1",
    "<c2",
    "<c1",
  ]);
});

Deno.test("middleware: a short-circuit answers without running what is inside", async () => {
  let ran = 0;
  const work = action("work", () => ++ran);
  await using served = await serve([work]);
  served.server.use((call, next) =>
    call.metadata.get("cached") === "yes" ? "from server cache" : next()
  );
  const client = served.client().use((call, next) =>
    call.data === "local" ? "from client cache" : next()
  );
  assert.equal(await client.runAction("work", "local"), "from client cache");
  assert.equal(
    await client.runAction("work", undefined, { metadata: { cached: "yes" } }),
    "from server cache",
  );
  assert.equal(ran, 0);
  assert.equal(await client.runAction(work), 1);
});

Deno.test("middleware: a server middleware refuses with an isock error whose code reaches the client", async () => {
  let ran = 0;
  const work = action("work", () => ++ran);
  await using served = await serve([work]);
  served.server.use((call, next) => {
    if (call.metadata.get("token") !== "secret") {
      throw new ClientError("UNAUTHORIZED", "No token.");
    }
    if (call.data === "busy") {
      throw new ServerError("OVERLOADED", "Come back later.");
    }
    return next();
  });
  const client = served.client();
  await assert.rejects(
    client.runAction(work),
    (error) => error instanceof ClientError && error.code === "UNAUTHORIZED",
  );
  await assert.rejects(
    client.runAction("work", "busy", { metadata: { token: "secret" } }),
    (error) =>
      error instanceof RemoteError && error.code === "OVERLOADED" &&
      error.message === "Come back later.",
  );
  await assert.rejects(
    client.runAction("work", undefined, {
      metadata: { token: "secret" },
      signal: AbortSignal.abort(),
    }),
    { code: "ABORTED" },
  );
  assert.equal(ran, 0);
  assert.equal(
    await client.runAction("work", undefined, {
      metadata: { token: "secret" },
    }),
    1,
  );
});

Deno.test("middleware: a client middleware refuses before anything is sent", async () => {
  let ran = 0;
  await using served = await serve([action("work", () => ++ran)]);
  const client = served.client().use(() => {
    throw new ClientError("ABORTED", "Not today.");
  });
  await assert.rejects(client.runAction("work"), {
    code: "ABORTED",
    message: "Not today.",
  });
  assert.equal(ran, 0);
});

Deno.test("middleware: errors pass through on both ends, as they were", async () => {
  const fail = action("fail", (): never => {
    throw new TypeError("nope");
  });
  await using served = await serve([fail], { exposeStack: false });
  const seen: string[] = [];
  const watch: Middleware = async (call, next) => {
    try {
      return await next();
    } catch (error) {
      seen.push(`${call.side} ${(error as RemoteError).code}`);
      throw error;
    }
  };
  served.server.use(watch);
  const client = served.client().use(watch);
  await assert.rejects(
    client.runAction(fail),
    (error) =>
      error instanceof RemoteError && error.code === "ACTION_FAILED" &&
      error.remoteName === "TypeError" && error.message === "nope",
  );
  await assert.rejects(client.runAction("missing"), {
    code: "UNKNOWN_ACTION",
  });
  assert.deepStrictEqual(seen, [
    "server ACTION_FAILED",
    "client ACTION_FAILED",
    "client UNKNOWN_ACTION",
  ]);
});

Deno.test("middleware: a middleware replaces the result", async () => {
  await using served = await serve([echo]);
  served.server.use(async (_call, next) => `${await next()}!`);
  const client = served.client().use(async (_call, next) =>
    `<${await next()}>`
  );
  assert.equal(await client.runAction(echo, "hi"), "<hi!>");
});

/** Counts a stream's items as they pass, and notes the count once it ends. */
function itemCounter(counts: string[]): Middleware {
  return async (call, next) => {
    const result = await next();
    if (call.kind !== "stream") return result;
    const items = result as AsyncIterable<unknown>;
    return (async function* () {
      let n = 0;
      try {
        for await (const item of items) {
          n++;
          yield item;
        }
      } finally {
        counts.push(`${call.side} ${call.action} ${n}`);
      }
    })();
  };
}

Deno.test("middleware: the same middleware counts a stream's items on client and server", async () => {
  await using served = await serve([count, echo]);
  const counts: string[] = [];
  const counter = itemCounter(counts);
  served.server.use(counter);
  const client = served.client().use(counter);
  const items: number[] = [];
  for await (const n of client.stream(count, 4)) items.push(n);
  assert.deepStrictEqual(items, [1, 2, 3, 4]);
  assert.equal(await client.runAction(echo, 1), 1);
  for (let i = 0; i < 100 && counts.length < 2; i++) await delay(5);
  assert.deepStrictEqual(counts.sort(), [
    "client count 4",
    "server count 4",
  ]);
});

Deno.test("middleware: a stream left early ends its wrapper, and the generator's finally runs", async () => {
  let finished = false;
  const endless = action("endless", async function* () {
    try {
      for (let n = 0;; n++) yield n;
    } finally {
      finished = true;
    }
  });
  await using served = await serve([endless]);
  const counts: string[] = [];
  served.server.use(itemCounter(counts));
  const client = served.client().use(itemCounter(counts));
  for await (const n of client.stream(endless)) if (n === 2) break;
  for (let i = 0; i < 100 && (!finished || counts.length < 2); i++) {
    await delay(5);
  }
  assert.ok(finished);
  assert.equal(counts.length, 2);
  assert.ok(counts.includes("client endless 3"));
});

Deno.test("middleware: one middleware sees the call on both ends, metadata and all", async () => {
  const calls: Omit<CallInfo, "metadata" | "responseMetadata" | "signal">[] =
    [];
  const handler = action("hello", (name: string, context) => {
    context.responseMetadata.set("greeted", name);
    return `hello ${name} (${context.metadata.get("added-by-client")})`;
  });
  await using served = await serve([handler]);
  const watch: Middleware = async (call, next) => {
    if (call.side === "client") call.metadata.set("added-by-client", "yes");
    const result = await next();
    calls.push({
      side: call.side,
      kind: call.kind,
      action: call.action,
      data: call.data,
      peer: { ...call.peer },
      deadline: call.deadline === undefined ? undefined : 1,
      attempt: call.attempt,
    });
    if (call.side === "client") {
      assert.equal(call.responseMetadata.get("greeted"), "ann");
    } else {
      assert.equal(call.metadata.get("added-by-client"), "yes");
      assert.ok(call.signal instanceof AbortSignal);
    }
    return result;
  };
  served.server.use(watch);
  let response: Record<string, string> | undefined;
  const client = served.client().use(watch);
  assert.equal(
    await client.runAction(handler, "ann", {
      timeout: 5000,
      onResponseMetadata: (metadata) => response = metadata.toJSON(),
    }),
    "hello ann (yes)",
  );
  assert.deepStrictEqual(response, { greeted: "ann" });
  assert.equal(calls.length, 2);
  const [server, client_] = calls;
  assert.deepStrictEqual(
    { ...server, peer: server.peer.hostname },
    {
      side: "server",
      kind: "call",
      action: "hello",
      data: "ann",
      peer: "127.0.0.1",
      deadline: 1,
      attempt: 1,
    },
  );
  assert.deepStrictEqual(client_, {
    side: "client",
    kind: "call",
    action: "hello",
    data: "ann",
    peer: { hostname: "127.0.0.1", port: served.port, transport: "tcp" },
    deadline: 1,
    attempt: 1,
  });
});

Deno.test("middleware: an idempotent call sent again is attempt 2", async () => {
  let reads = 0;
  const readSensor = action("readSensor", { idempotent: true }, () => {
    reads++;
    return reads === 1 ? new Promise<never>(() => {}) : 21.5;
  });
  await using served = await serve([readSensor]);
  await using proxy = tcpProxy(served.port);
  const attempts: number[] = [];
  const client = served.client({ port: proxy.port, retry: 3, retryDelay: 10 })
    .use(async (call, next) => {
      try {
        return await next();
      } finally {
        attempts.push(call.attempt);
      }
    });
  const reading = client.runAction(readSensor);
  while (reads < 1) await delay(5);
  proxy.cut();
  assert.equal(await reading, 21.5);
  assert.deepStrictEqual(attempts, [1, 2]);
});

Deno.test("middleware: next() twice is an error; use() takes only functions", async () => {
  await using served = await serve([echo]);
  const client = served.client().use(async (_call, next) => {
    await next();
    return next();
  });
  await assert.rejects(client.runAction(echo, 1), /next\(\) twice/);
  assert.throws(
    () => client.use("log" as unknown as Middleware),
    { code: "INVALID_OPTIONS" },
  );
  assert.throws(
    () => served.server.use(1 as unknown as Middleware),
    { code: "INVALID_OPTIONS" },
  );
});

Deno.test("middleware: one that says it is not active is skipped on both ends, and runs once it is", async () => {
  await using served = await serve([echo]);
  let isActive = false;
  const runs: string[] = [];
  const watcher: Middleware = Object.assign(
    (call: CallInfo, next: () => Promise<unknown>) => {
      runs.push(call.side);
      return next();
    },
    { isActive: () => isActive },
  );
  served.server.use(watcher);
  const client = served.client().use(watcher);
  assert.equal(await client.runAction(echo, 1), 1);
  assert.deepStrictEqual(runs, [], "inactive: the plain path");
  isActive = true;
  assert.equal(await client.runAction(echo, 2), 2);
  assert.deepStrictEqual(runs, ["client", "server"]);
});
