/**
 * What a careless (or hostile) handler, schema or caller can do, and what it
 * must not: crash the server, fail other calls, slip past a schema, or make
 * a call wait longer than it asked.
 */

import assert from "node:assert/strict";
import {
  action,
  Client,
  ClientError,
  Codec,
  defineExtension,
  RemoteError,
  Server,
  type StandardSchemaV1,
  tracked,
} from "../mod.ts";
import { delay, freePort, serve, tcpProxy } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);
const slow = action("slow", (ms: number) => delay(ms).then(() => ms));

/** A schema whose validate throws for "boom". */
const throwing: StandardSchemaV1 = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) => {
      if (value === "boom") throw new Error("validator crashed");
      return { value };
    },
  },
};

function isCode(code: string) {
  return (error: unknown) => (error as { code?: string }).code === code;
}

Deno.test("robustness: schemas that throw, and hostile thrown values, fail only their call", async () => {
  const checkedOut = action(
    "checkedOut",
    { output: throwing },
    async (value: unknown) => {
      await delay(1);
      return value;
    },
  );
  const checkedIn = action(
    "checkedIn",
    { input: throwing },
    (value: unknown) => value,
  );
  const nullProto = action("nullProto", async () => {
    await delay(1);
    throw Object.create(null);
  });
  const hostile = action("hostile", () => {
    throw {
      toString() {
        throw new Error("no string for you");
      },
    };
  });
  await using served = await serve([
    checkedOut,
    checkedIn,
    nullProto,
    hostile,
    slow,
  ]);
  const client = served.client();
  const bystander = client.runAction(slow, 200);
  for (
    const [ref, data] of [[checkedOut, "boom"], [checkedIn, "boom"], [
      nullProto,
      1,
    ], [hostile, 1]] as const
  ) {
    await assert.rejects(
      client.runAction(ref.name, data),
      (e) => e instanceof RemoteError && e.code === "ACTION_FAILED",
    );
  }
  assert.equal(await bystander, 200);
  assert.equal(await client.runAction(checkedIn, "fine"), "fine");
});

Deno.test("robustness: an action with an input schema refuses a stream, which would go round it", async () => {
  let runs = 0;
  const percent: StandardSchemaV1<number> = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) =>
        typeof value === "number" && value >= 0 && value <= 100
          ? { value }
          : { issues: [{ message: "0 to 100" }] },
    },
  };
  const setPoint = action(
    "setPoint",
    { input: percent },
    (value: number) => ++runs + value,
  );
  await using served = await serve([setPoint]);
  await assert.rejects(
    served.client().runAction(
      "setPoint",
      (async function* () {
        yield 500;
      })(),
    ),
    (e) => e instanceof RemoteError && e.code === "INVALID_INPUT",
  );
  assert.equal(runs, 0);
});

Deno.test("robustness: a cancel that comes before the handler looks at its signal is not lost", async () => {
  const seen = Promise.withResolvers<boolean>();
  const lazy = action("lazy", async (_: undefined, context) => {
    await delay(150);
    seen.resolve(context.signal.aborted);
    return "late";
  });
  await using served = await serve([lazy]);
  await assert.rejects(
    served.client().runAction(lazy, undefined, { timeout: 30 }),
    isCode("TIMEOUT"),
  );
  assert.equal(await seen.promise, true);
});

Deno.test("robustness: bad call options fail that call at once, and nothing else", async () => {
  const ticks = action("ticks", async function* () {
    yield 1;
  });
  await using served = await serve([ticks, slow]);
  const client = served.client();
  const bystander = client.runAction(slow, 100);
  for (const window of [0, 2.5, -1, 1e9]) {
    await assert.rejects(
      Array.fromAsync(client.stream(ticks, undefined, { window })),
      isCode("INVALID_OPTIONS"),
    );
  }
  for (const timeout of [Infinity, -5, 3e9, NaN]) {
    await assert.rejects(
      client.runAction(slow, 1, { timeout }),
      isCode("INVALID_OPTIONS"),
    );
  }
  assert.equal(await bystander, 100);
});

Deno.test("robustness: a call's timeout and signal cover connecting to a server that never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  await using client = new Client({
    port: listener.addr.port,
    handshakeTimeout: 3000,
  });
  let started = performance.now();
  await assert.rejects(
    client.runAction(echo, 1, { timeout: 150 }),
    isCode("TIMEOUT"),
  );
  assert.ok(performance.now() - started < 1000);
  started = performance.now();
  await assert.rejects(
    client.runAction(echo, 1, { signal: AbortSignal.timeout(100) }),
    isCode("ABORTED"),
  );
  assert.ok(performance.now() - started < 1000);
  await client.close();
  listener.close();
  await accepting;
  for (const conn of accepted) conn.close();
});

Deno.test("robustness: a client that offers actions is not closed for being idle", async () => {
  const notify = action("notify", (message: string) => message.toUpperCase());
  await using served = await serve([], { idleTimeout: 80 });
  const client = served.client().addAction(notify);
  await client.connect();
  await delay(400); // Five idle timeouts.
  assert.equal(client.isConnected, true);
  const [peer] = served.server.peers;
  assert.equal(await peer.runAction(notify, "still here"), "STILL HERE");
});

Deno.test("robustness: a tracked stream survives more drops than retry, one budget per drop", async () => {
  const ticks = action("ticks", async function* (to: number, context) {
    for (let n = Number(context.lastEventId ?? 0) + 1; n <= to; n++) {
      await delay(2);
      yield tracked(n, n);
    }
  });
  await using served = await serve([ticks]);
  await using proxy = tcpProxy(served.port);
  const client = served.client({ port: proxy.port, retry: 2, retryDelay: 5 });
  const seen: number[] = [];
  for await (const n of client.stream(ticks, 60)) {
    seen.push(n);
    if (n % 10 === 0) proxy.cut(); // Five drops, with retry: 2.
  }
  assert.deepStrictEqual(seen, Array.from({ length: 60 }, (_, i) => i + 1));
});

Deno.test("robustness: the client-wide timeout is for calls; streams last as long as their consumer", async () => {
  const ticks = action("ticks", async function* () {
    for (let n = 1; n <= 6; n++) {
      await delay(40);
      yield n;
    }
  });
  await using served = await serve([ticks]);
  const client = served.client({ timeout: 100 });
  assert.deepStrictEqual(await Array.fromAsync(client.stream(ticks)), [
    1,
    2,
    3,
    4,
    5,
    6,
  ]);
});

Deno.test("robustness: a shutdown while listen() is still starting leaves no port bound", async () => {
  const port = freePort();
  const server = new Server({ port, secret: "s" });
  const listening = server.listen();
  await server.shutdown();
  await assert.rejects(listening, isCode("LISTEN_FAILED"));
  const again = Deno.listen({ hostname: "127.0.0.1", port });
  again.close();
});

Deno.test("robustness: a graceful shutdown reaches the client as a clean disconnect", async () => {
  const served = await serve([echo]);
  const client = served.client();
  const details: unknown[] = [];
  client.addEventListener("disconnect", (event) => details.push(event.detail));
  await client.runAction(echo, 1);
  await served.server.shutdown();
  for (let i = 0; i < 50 && details.length === 0; i++) await delay(10);
  assert.deepStrictEqual(details, [undefined]);
  await served[Symbol.asyncDispose]();
});

Deno.test("robustness: a subclass registered after its parent still travels as itself", () => {
  class Point {
    constructor(readonly x: number) {}
  }
  class Point3 extends Point {
    constructor(x: number, readonly z: number) {
      super(x);
    }
  }
  const codec = new Codec({
    extensions: [
      defineExtension({
        type: 40,
        class: Point,
        encode: (p) => p.x,
        decode: (x) => new Point(x),
      }),
      defineExtension({
        type: 41,
        class: Point3,
        encode: (p): [number, number] => [p.x, p.z],
        decode: ([x, z]) => new Point3(x, z),
      }),
    ],
  });
  const back = codec.decode(codec.encode(new Point3(1, 3)));
  assert.ok(back instanceof Point3);
  assert.equal(back.z, 3);
});

Deno.test("robustness: a client without the secret hears that the server requires one", async () => {
  await using served = await serve([echo], { secret: "s" });
  await assert.rejects(
    served.client({ retry: 1 }).runAction(echo, 1),
    (e) =>
      e instanceof ClientError && e.code === "UNAUTHORIZED" &&
      /requires a shared secret/.test(e.message),
  );
});
