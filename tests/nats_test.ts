/**
 * isock over NATS, in one process against a real nats-server: calls,
 * errors, schemas, extensions, deadlines and cancels, no servers, large
 * payloads in pieces, streams with credit both ways, several servers, a
 * server lost mid-call, draining shutdown, and a nats-server restart.
 */

import {
  action,
  Client,
  ClientError,
  defineExtension,
  RemoteError,
  Server,
  tracked,
  type TransportClientOptions,
} from "@isock/isock";
import { connect } from "@nats-io/transport-node";
import assert from "node:assert/strict";
import { z } from "zod";
import { natsTransport, type NatsTransportOptions } from "../nats.ts";
import { startNatsServer } from "./fixtures/nats_server.ts";

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A nats-server, and buses on it that the test closes at its end. */
async function natsSetup(options: { maxPayload?: number } = {}) {
  const nats = await startNatsServer(options);
  const buses: { close(): Promise<void> }[] = [];
  const closers: (() => Promise<void>)[] = [];
  return {
    nats,
    bus(extra: Partial<NatsTransportOptions> = {}) {
      const bus = natsTransport({
        ...(extra.connection === undefined && { servers: nats.hostPort }),
        service: "lab",
        ...extra,
      });
      buses.push(bus);
      return bus;
    },
    /** Runs at the end, before the buses close (clients, servers). */
    defer(close: () => Promise<void>) {
      closers.push(close);
    },
    async [Symbol.asyncDispose]() {
      for (const close of closers.reverse()) await close();
      for (const bus of buses) await bus.close();
      await nats.stop();
    },
  };
}

/** A server on its own bus, shut down at the end. */
async function natsServer(
  setup: Awaited<ReturnType<typeof natsSetup>>,
  server: Server,
  extra: Partial<NatsTransportOptions> = {},
) {
  await server.listen(setup.bus(extra));
  setup.defer(() => server.shutdown({ timeout: 1000 }));
  return server;
}

/** A client on its own bus, closed at the end. */
function natsClient(
  setup: Awaited<ReturnType<typeof natsSetup>>,
  options: Omit<TransportClientOptions, "transport"> = {},
  extra: Partial<NatsTransportOptions> = {},
) {
  const client = new Client({ transport: setup.bus(extra), ...options });
  setup.defer(() => client.close());
  return client;
}

class HttpError extends Error {
  status = 404;
}

Deno.test("nats: calls, errors with code, name, message and fields, and INVALID_INPUT with issues", async () => {
  await using setup = await natsSetup();
  const add = action("add", ([a, b]: [number, number]) => a + b);
  const find = action("find", (): string => {
    throw new HttpError("no such page");
  });
  const reading = action("reading", {
    input: z.object({ sensor: z.string().min(1), celsius: z.number() }),
  }, (r) => `${r.sensor}: ${r.celsius}`);
  await natsServer(
    setup,
    new Server().addAction(add).addAction(find).addAction(reading),
  );
  const client = natsClient(setup, { timeout: 2000 });

  assert.equal(await client.runAction(add, [2, 3]), 5);
  assert.equal(await client.runAction("add", [4, 5]), 9);
  await assert.rejects(
    client.runAction(find),
    (error) =>
      error instanceof RemoteError && error.code === "ACTION_FAILED" &&
      error.remoteName === "Error" && error.message === "no such page" &&
      error.remoteFields?.status === 404,
  );
  await assert.rejects(
    client.runAction(reading, { sensor: "", celsius: 1 }),
    (error) =>
      error instanceof RemoteError && error.code === "INVALID_INPUT" &&
      error.issues !== undefined && error.issues.length === 1,
  );
  assert.equal(
    await client.runAction(reading, { sensor: "lab", celsius: 21 }),
    "lab: 21",
  );
  await assert.rejects(client.runAction("nothing"), { code: "UNKNOWN_ACTION" });
});

class Temperature {
  constructor(readonly celsius: number) {}
}
const temperature = defineExtension({
  type: 33,
  class: Temperature,
  encode: (t): number => t.celsius,
  decode: (celsius) => new Temperature(celsius),
});

Deno.test("nats: codec extensions, metadata, middleware and server.stats() work as over TCP", async () => {
  await using setup = await natsSetup();
  const warmer = action("warmer", (t: Temperature, context) => {
    assert.ok(t instanceof Temperature);
    context.responseMetadata.set("served-by", "a");
    return new Temperature(t.celsius + Number(context.metadata.get("step")));
  });
  const server = new Server({ extensions: [temperature] }).addAction(warmer)
    .use((call, next) => {
      call.responseMetadata.set("seen", call.action);
      return next();
    });
  await natsServer(setup, server);
  const client = natsClient(setup, { extensions: [temperature] });
  const answered: Record<string, string> = {};
  const back = await client.runAction(warmer, new Temperature(20), {
    metadata: { step: "2" },
    onResponseMetadata: (metadata) =>
      Object.assign(answered, metadata.toJSON()),
  });
  assert.ok(back instanceof Temperature);
  assert.equal(back.celsius, 22);
  assert.deepEqual(answered, { "served-by": "a", seen: "warmer" });
  assert.equal(
    server.stats().actions.find((stats) => stats.name === "warmer")?.calls,
    1,
  );
});

Deno.test("nats: a deadline fails the call with TIMEOUT and a cancel reaches context.signal", async () => {
  await using setup = await natsSetup();
  let aborts = 0;
  const slow = action(
    "slow",
    (_: undefined, context) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        context.signal.addEventListener("abort", () => {
          aborts++;
          clearTimeout(timer);
          resolve("aborted");
        });
      }),
  );
  const left = action(
    "left",
    (_: undefined, context) =>
      context.deadline === undefined ? -1 : context.deadline - Date.now(),
  );
  await natsServer(setup, new Server().addAction(slow).addAction(left));
  const client = natsClient(setup);
  // The handler knows the caller's deadline.
  const ms = await client.runAction(left, undefined, { timeout: 3000 });
  assert.ok(ms > 0 && ms <= 3000, String(ms));
  assert.equal(await client.runAction(left), -1);
  await assert.rejects(
    client.runAction(slow, undefined, { timeout: 100 }),
    (error) => error instanceof ClientError && error.code === "TIMEOUT",
  );
  const controller = new AbortController();
  const call = client.runAction(slow, undefined, { signal: controller.signal });
  await wait(50);
  controller.abort();
  await assert.rejects(call, { code: "ABORTED" });
  const started = Date.now();
  while (aborts < 2 && Date.now() - started < 5000) await wait(10);
  assert.equal(aborts, 2);
});

Deno.test("nats: no server of the service fails with UNAVAILABLE at once, not at the deadline", async () => {
  await using setup = await natsSetup();
  const client = natsClient(setup, {}, { service: "nobody" });
  const timeout = 5000;
  const started = performance.now();
  await assert.rejects(
    client.runAction("anything", 1, { timeout }),
    (error) =>
      error instanceof ClientError && error.code === "UNAVAILABLE" &&
      error.wasRun === false,
  );
  assert.ok(performance.now() - started < timeout / 10);
  await assert.rejects(
    (async () => {
      for await (const _ of client.stream("anything", 1, { timeout })) {
        // nothing comes
      }
    })(),
    { code: "UNAVAILABLE" },
  );
});

Deno.test("nats: a caller that goes away mid-call: the handler's signal aborts by the heartbeats", async () => {
  await using setup = await natsSetup();
  let aborted = 0;
  let started = 0;
  const slow = action(
    "slow",
    (_: undefined, context) =>
      new Promise<string>((resolve) => {
        started++;
        context.signal.addEventListener("abort", () => {
          aborted++;
          resolve("aborted");
        });
      }),
  );
  await natsServer(setup, new Server().addAction(slow), { heartbeat: 100 });
  const connection = await connect({ servers: setup.nats.hostPort });
  const client = new Client({
    transport: setup.bus({ connection, heartbeat: 100 }),
  });
  setup.defer(() => client.close());
  const calls = [1, 2, 3].map(() => client.runAction(slow).catch(() => {}));
  const until = Date.now() + 5000;
  // Past the heartbeats the server named itself and the client pinged.
  await wait(500);
  assert.equal(started, 3);
  assert.equal(aborted, 0, "a call whose caller is there was stopped");
  // The caller vanishes without a word: its NATS connection is gone.
  await connection.close();
  const gone = Date.now();
  while (aborted < 3 && Date.now() < until) await wait(10);
  assert.equal(aborted, 3, "the handlers still run");
  assert.ok(Date.now() - gone < 2000, `aborted after ${Date.now() - gone} ms`);
  await Promise.all(calls);
});

Deno.test("nats: maxCallers: idle callers make room; when every caller kept has a call open, a new one is refused OVERLOADED, unrun", async () => {
  await using setup = await natsSetup();
  let runs = 0;
  const hold = action(
    "hold",
    (_: undefined, context) =>
      new Promise<string>((resolve) => {
        runs++;
        context.signal.addEventListener("abort", () => resolve("stopped"));
      }),
  );
  const add = action("add", ([a, b]: [number, number]) => a + b);
  await natsServer(setup, new Server().addAction(hold).addAction(add), {
    maxCallers: 2,
  });
  // Each client has an inbox of its own: a caller each.
  const [a, b, c] = [1, 2, 3].map(() => natsClient(setup, { timeout: 5000 }));
  assert.equal(await a.runAction(add, [1, 1]), 2);
  const stopB = new AbortController();
  const held = b.runAction(hold, undefined, { signal: stopB.signal });
  const until = Date.now() + 5000;
  while (runs < 1 && Date.now() < until) await wait(10);
  // a is idle: c takes its place.
  assert.equal(await c.runAction(add, [2, 2]), 4);
  const stopC = new AbortController();
  const heldC = c.runAction(hold, undefined, { signal: stopC.signal });
  while (runs < 2 && Date.now() < until) await wait(10);
  // b and c both have a call open: a (a new caller again) is refused.
  await assert.rejects(
    a.runAction(add, [3, 3]),
    (error) =>
      error instanceof RemoteError && error.code === "OVERLOADED" &&
      error.wasRun === false && error.message.includes("maxCallers"),
  );
  stopB.abort();
  stopC.abort();
  await assert.rejects(held, { code: "ABORTED" });
  await assert.rejects(heldC, { code: "ABORTED" });
  // Once their calls are over, a is served again.
  let sum: unknown;
  while (sum === undefined && Date.now() < until) {
    sum = await a.runAction(add, [3, 3]).catch(() => wait(20));
  }
  assert.equal(sum, 6);
});

Deno.test("nats: bounds of a server instance must be whole numbers from 1", () => {
  for (const name of ["maxCallers", "maxCalls", "maxReassemblyBytes"]) {
    for (const value of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => natsTransport({ service: "lab", [name]: value }),
        (error) =>
          error instanceof ClientError && error.code === "INVALID_OPTIONS" &&
          error.message.includes(name),
      );
    }
  }
});

Deno.test("nats: a transport with a TCP address is INVALID_OPTIONS", async () => {
  await using setup = await natsSetup();
  const bus = setup.bus();
  assert.throws(
    // @ts-expect-error: a transport takes no TCP address.
    () => new Client({ transport: bus, port: 1234 }),
    (error) => error instanceof ClientError && error.code === "INVALID_OPTIONS",
  );
  assert.throws(
    // @ts-expect-error: a transport takes no TCP address.
    () => new Client({ transport: bus, hostname: "x" }),
    { code: "INVALID_OPTIONS" },
  );
});

Deno.test("nats: a 16 MiB call and a 16 MiB result travel in pieces; above maxFrameSize a typed error", async () => {
  await using setup = await natsSetup();
  const size = 16 * 1024 * 1024;
  const echo = action("echo", (bytes: Uint8Array) => bytes);
  const make = action("make", (n: number) => new Uint8Array(n).fill(7));
  await natsServer(setup, new Server().addAction(echo).addAction(make));
  const client = natsClient(setup, { timeout: 20_000 });
  const sent = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) sent[i] = i % 251;
  const back = await client.runAction(echo, sent) as Uint8Array;
  assert.equal(back.length, size);
  assert.ok(back.every((byte, i) => byte === sent[i]));
  const made = await client.runAction(make, size) as Uint8Array;
  assert.equal(made.length, size);
  assert.equal(made[size - 1], 7);

  const small = natsClient(setup, { maxFrameSize: 1024 * 1024 });
  await assert.rejects(
    small.runAction(echo, new Uint8Array(2 * 1024 * 1024)),
    (error) => error instanceof ClientError && error.code === "FRAME_TOO_LARGE",
  );
});

Deno.test("nats: a 100,000-item stream read slowly keeps the producer within its window", async () => {
  await using setup = await natsSetup();
  const total = 100_000;
  const window = 64;
  let produced = 0;
  const count = action("count", async function* (to: number) {
    for (let n = 1; n <= to; n++) {
      produced = n;
      yield n;
    }
  });
  await natsServer(setup, new Server().addAction(count));
  const client = natsClient(setup);
  let consumed = 0;
  let mostAhead = 0;
  for await (const n of client.stream(count, total, { window })) {
    consumed++;
    assert.equal(n, consumed);
    mostAhead = Math.max(mostAhead, produced - consumed);
    // The first items are read slowly: the producer must wait for credit.
    if (consumed <= 100) await wait(2);
  }
  assert.equal(consumed, total);
  // At most a window on its way, plus the one the generator is at.
  assert.ok(mostAhead <= window + 1, `the producer got ${mostAhead} ahead`);
  assert.ok(
    mostAhead >= window / 2,
    `the producer got only ${mostAhead} ahead`,
  );
});

Deno.test("nats: an upload stream reaches the handler, with credit", async () => {
  await using setup = await natsSetup();
  const sum = action("sum", async (numbers: AsyncIterable<number>) => {
    let total = 0;
    for await (const n of numbers) total += n;
    return total;
  });
  await natsServer(setup, new Server().addAction(sum));
  const client = natsClient(setup, { timeout: 10_000 });
  let pulled = 0;
  async function* numbers() {
    for (let n = 1; n <= 2000; n++) {
      pulled++;
      yield n;
    }
  }
  assert.equal(await client.runAction(sum, numbers()), 2000 * 2001 / 2);
  assert.equal(pulled, 2000);
  async function* none() {}
  assert.equal(await client.runAction(sum, none()), 0);
});

Deno.test("nats: two servers of the service both take calls", async () => {
  await using setup = await natsSetup();
  const taken = { a: 0, b: 0 };
  for (const name of ["a", "b"] as const) {
    await natsServer(
      setup,
      new Server().addAction(action("who", () => (taken[name]++, name))),
    );
  }
  const client = natsClient(setup, { timeout: 2000 });
  await Promise.all(
    Array.from({ length: 200 }, () => client.runAction("who")),
  );
  assert.equal(taken.a + taken.b, 200);
  assert.ok(taken.a > 40 && taken.b > 40, JSON.stringify(taken));
});

/** A server on a NATS connection of its own, which the test can cut abruptly. */
async function cuttableServer(
  setup: Awaited<ReturnType<typeof natsSetup>>,
  server: Server,
) {
  const connection = await connect({ servers: setup.nats.hostPort });
  await server.listen(setup.bus({ connection, heartbeat: 100 }));
  setup.defer(async () => {
    await server.shutdown({ timeout: 100 });
    await connection.close().catch(() => {});
  });
  return connection;
}

Deno.test("nats: a server lost mid-call: an idempotent call goes to another, a non-idempotent one runs at most once", async () => {
  await using setup = await natsSetup();
  const runs = { safe: 0, unsafe: 0 };
  let release = () => {};
  const hold = new Promise<void>((resolve) => release = resolve);
  setup.defer(() => Promise.resolve(release()));
  const lost = new Server()
    .addAction(action("safe", { idempotent: true }, async () => {
      runs.safe++;
      await hold;
      return "lost";
    }))
    .addAction(action("unsafe", async () => {
      runs.unsafe++;
      await hold;
      return "lost";
    }));
  const connection = await cuttableServer(setup, lost);
  const client = natsClient(setup, { timeout: 10_000, retry: 3 }, {
    heartbeat: 100,
  });
  const safe = client.runAction(
    action("safe", { idempotent: true }),
    undefined,
  );
  const unsafe = client.runAction("unsafe").catch((error) => error);
  while (runs.safe + runs.unsafe < 2) await wait(5);
  // Now another server comes, and the first is cut off from NATS.
  await natsServer(
    setup,
    new Server()
      .addAction(action("safe", { idempotent: true }, () => {
        runs.safe++;
        return "other";
      }))
      .addAction(action("unsafe", () => {
        runs.unsafe++;
        return "other";
      })),
    { heartbeat: 100 },
  );
  const started = performance.now();
  await connection.close();
  assert.equal(await safe, "other");
  const error = await unsafe;
  assert.ok(
    error instanceof ClientError && error.code === "CONNECTION_CLOSED" &&
      error.wasRun === "maybe",
    String(error),
  );
  // Found out by the heartbeats, long before the 10 s deadline.
  assert.ok(performance.now() - started < 5000);
  assert.equal(runs.unsafe, 1);
  assert.equal(runs.safe, 2);
});

Deno.test("nats: shutdown drains: a running call finishes, new calls go to the other server, then UNAVAILABLE", async () => {
  await using setup = await natsSetup();
  let release = () => {};
  const hold = new Promise<void>((resolve) => release = resolve);
  let started = 0;
  const first = new Server().addAction(action("work", async () => {
    started++;
    await hold;
    return "first";
  }));
  await first.listen(setup.bus());
  const client = natsClient(setup, { timeout: 5000 });
  const running = client.runAction("work");
  while (started === 0) await wait(5);
  const second = await natsServer(
    setup,
    new Server().addAction(action("work", () => "second")),
  );
  const shutdown = first.shutdown({ timeout: 5000 });
  await wait(50);
  // The first takes no new call while it drains.
  for (let i = 0; i < 20; i++) {
    assert.equal(await client.runAction("work"), "second");
  }
  release();
  assert.equal(await running, "first");
  await shutdown;
  await second.shutdown();
  await assert.rejects(client.runAction("work"), { code: "UNAVAILABLE" });
});

Deno.test("nats: calls resume after the nats-server restarts", async () => {
  await using setup = await natsSetup();
  await natsServer(
    setup,
    new Server().addAction(action("ping", () => "pong")),
  );
  const client = natsClient(setup, { timeout: 2000 });
  const events: string[] = [];
  client.addEventListener("connect", () => events.push("connect"));
  client.addEventListener("disconnect", () => events.push("disconnect"));
  assert.equal(await client.runAction("ping"), "pong");
  await setup.nats.restart();
  const started = Date.now();
  let answer: unknown;
  while (Date.now() - started < 10_000) {
    answer = await client.runAction("ping").catch((error) => error);
    if (answer === "pong") break;
    assert.ok(answer instanceof ClientError, String(answer));
    await wait(50);
  }
  assert.equal(answer, "pong");
  for (let i = 0; i < 10; i++) {
    assert.equal(await client.runAction("ping"), "pong");
  }
  assert.deepEqual(events, ["connect", "disconnect", "connect"]);
});

Deno.test("nats: importing @isock/isock does not load NATS", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../mod.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(output.success);
  const modules = (JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: { specifier: string }[];
  }).modules.map((module) => module.specifier);
  assert.ok(modules.some((specifier) => specifier.endsWith("/client.ts")));
  const nats = modules.filter((specifier) =>
    specifier.includes("@nats-io") || specifier.includes("/src/nats/") ||
    specifier.endsWith("/nats.ts")
  );
  assert.deepEqual(nats, []);
});

Deno.test("nats: stacks go only where exposeStack allows", async () => {
  await using setup = await natsSetup();
  const fail = action("fail", (): never => {
    throw new TypeError("nope");
  });
  await natsServer(setup, new Server({ exposeStack: false }).addAction(fail), {
    service: "quiet",
  });
  await natsServer(setup, new Server({ exposeStack: true }).addAction(fail), {
    service: "loud",
  });
  const quiet = natsClient(setup, {}, { service: "quiet" });
  const loud = natsClient(setup, {}, { service: "loud" });
  await assert.rejects(
    quiet.runAction(fail),
    (error) =>
      error instanceof RemoteError && error.remoteName === "TypeError" &&
      error.remoteStack === undefined,
  );
  await assert.rejects(
    loud.runAction(fail),
    (error) =>
      error instanceof RemoteError && /nats_test/.test(error.remoteStack ?? ""),
  );
});

Deno.test("nats: leaving a stream early ends the generator on the server", async () => {
  await using setup = await natsSetup();
  let cleanedUp = false;
  const count = action("count", async function* () {
    try {
      for (let n = 1;; n++) yield n;
    } finally {
      cleanedUp = true;
    }
  });
  await natsServer(setup, new Server().addAction(count));
  const client = natsClient(setup);
  for await (const n of client.stream(count)) if (n === 3) break;
  const started = Date.now();
  while (!cleanedUp && Date.now() - started < 5000) await wait(5);
  assert.ok(cleanedUp);
});

Deno.test("nats: a stream whose server is lost fails by the heartbeats; a tracked one resumes on another server", async () => {
  await using setup = await natsSetup();
  let release = () => {};
  const hold = new Promise<void>((resolve) => release = resolve);
  setup.defer(() => Promise.resolve(release()));
  const ticks = action("ticks", async function* (_: undefined, context) {
    let n = Number(context.lastEventId ?? 0);
    yield tracked(++n, n);
    yield tracked(++n, n);
    await hold; // then it freezes
  });
  const plain = action("plain", async function* () {
    yield 1;
    await hold;
  });
  const connection = await cuttableServer(
    setup,
    new Server().addAction(ticks).addAction(plain),
  );
  const client = natsClient(setup, { retry: 3 }, { heartbeat: 100 });
  const seen: number[] = [];
  const tracking = (async () => {
    for await (const n of client.stream(ticks)) {
      seen.push(n as number);
      if (seen.length === 4) return;
    }
  })().catch((error) => error);
  const plainItems: unknown[] = [];
  const plainStream = (async () => {
    for await (const n of client.stream(plain)) plainItems.push(n);
  })().catch((error) => error);
  for (let waited = 0; seen.length < 2 || plainItems.length < 1; waited++) {
    assert.ok(waited < 1000, "the streams did not start");
    await wait(5);
  }
  await natsServer(
    setup,
    new Server().addAction(
      action("ticks", async function* (_: undefined, context) {
        for (let n = Number(context.lastEventId ?? 0) + 1;; n++) {
          yield tracked(n, n);
        }
      }),
    ),
    { heartbeat: 100 },
  );
  const cut = performance.now();
  await connection.close();
  const error = await plainStream;
  assert.ok(
    error instanceof ClientError && error.code === "CONNECTION_CLOSED",
    String(error),
  );
  const trackingError = await tracking;
  assert.equal(trackingError, undefined, String(trackingError?.stack));
  assert.deepEqual(seen, [1, 2, 3, 4]);
  assert.ok(performance.now() - cut < 5000);
});

Deno.test("nats: a caller that goes away mid-stream: the server stops the generator", async () => {
  await using setup = await natsSetup();
  let cleanedUp = false;
  let produced = 0;
  const count = action("count", async function* () {
    try {
      for (let n = 1;; n++) {
        produced = n;
        yield n;
      }
    } finally {
      cleanedUp = true;
    }
  });
  await natsServer(setup, new Server().addAction(count), { heartbeat: 100 });
  const connection = await connect({ servers: setup.nats.hostPort });
  const client = new Client({
    transport: setup.bus({ connection, heartbeat: 100 }),
  });
  setup.defer(() => client.close());
  const iterator = client.stream(count)[Symbol.asyncIterator]();
  assert.deepEqual(await iterator.next(), { value: 1, done: false });
  // The caller vanishes without a word: its NATS connection is gone.
  await connection.close();
  const started = Date.now();
  while (!cleanedUp && Date.now() - started < 5000) await wait(10);
  assert.ok(cleanedUp, `the generator still runs after ${produced} items`);
});

Deno.test("nats: a server that takes calls and goes quiet (frozen) fails them by the heartbeats, not the deadline", async () => {
  await using setup = await natsSetup();
  // A frozen server, as NATS sees it: a member of the queue group that never answers.
  const frozen = await connect({ servers: setup.nats.hostPort });
  setup.defer(() => frozen.close());
  let taken = 0;
  frozen.subscribe("isock.lab.>", {
    queue: "lab",
    callback: () => {
      taken++;
    },
  });
  await frozen.flush();
  const client = natsClient(setup, {}, { heartbeat: 50 });
  const timeout = 10_000;
  const started = performance.now();
  await assert.rejects(
    client.runAction("work", 1, { timeout }),
    (error) =>
      error instanceof ClientError && error.code === "CONNECTION_CLOSED" &&
      error.wasRun === "maybe",
  );
  await assert.rejects(
    (async () => {
      for await (const _ of client.stream("items", 1, { timeout })) {
        // nothing comes
      }
    })(),
    { code: "CONNECTION_CLOSED" },
  );
  // An upload waits for the instance to say where to send it; it never does.
  let closedSource = false;
  async function* upload() {
    try {
      for (let n = 0;; n++) yield n;
    } finally {
      closedSource = true;
    }
  }
  await assert.rejects(
    client.runAction("sum", upload(), { timeout }),
    { code: "CONNECTION_CLOSED" },
  );
  assert.equal(taken, 3);
  assert.ok(performance.now() - started < timeout / 4);
  for (let waited = 0; !closedSource && waited < 100; waited++) await wait(10);
  assert.ok(closedSource, "the upload's source was left open");
});

Deno.test("nats: a call that runs longer than the heartbeats is kept alive: the client pings, the server answers", async () => {
  await using setup = await natsSetup();
  const slow = action("slow", async () => {
    await wait(600);
    return "done";
  });
  await natsServer(setup, new Server().addAction(slow), { heartbeat: 50 });
  const client = natsClient(setup, { timeout: 5000 }, { heartbeat: 50 });
  assert.equal(await client.runAction(slow), "done");
});

Deno.test("nats: no NATS server there: listen fails LISTEN_FAILED, calls fail CONNECT_FAILED", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const bus = natsTransport({ servers: `127.0.0.1:${port}`, service: "lab" });
  const server = new Server().addAction(action("x", () => 1));
  await assert.rejects(server.listen(bus), { code: "LISTEN_FAILED" });
  const client = new Client({ transport: bus });
  await assert.rejects(
    client.runAction("x"),
    (error) =>
      error instanceof ClientError && error.code === "CONNECT_FAILED" &&
      error.wasRun === false,
  );
  await client.close();
  await server.shutdown();
  await bus.close();
});

Deno.test("nats: a request above the server's maxFrameSize fails that call with FRAME_TOO_LARGE", async () => {
  await using setup = await natsSetup();
  const echo = action("echo", (bytes: Uint8Array) => bytes.length);
  await natsServer(
    setup,
    new Server({ maxFrameSize: 2 * 1024 * 1024 }).addAction(echo),
  );
  const client = natsClient(setup, { timeout: 10_000 });
  await assert.rejects(
    client.runAction(echo, new Uint8Array(4 * 1024 * 1024)),
    (error) => error instanceof RemoteError && error.code === "FRAME_TOO_LARGE",
  );
  assert.equal(
    await client.runAction(echo, new Uint8Array(1_500_000)),
    1_500_000,
  );
  assert.equal(await client.runAction(echo, new Uint8Array(10)), 10);
});

Deno.test("nats: reflection answers; a handler cannot call its caller back", async () => {
  await using setup = await natsSetup();
  const callBack = action("callBack", async (_: undefined, context) => {
    try {
      await context.peer.runAction("anything");
      return "called";
    } catch (error) {
      return (error as ClientError).code;
    }
  });
  await natsServer(setup, new Server().addAction(callBack));
  const client = natsClient(setup, { timeout: 2000 });
  const description = await client.describe();
  assert.deepEqual(description.actions.map((item) => item.name), ["callBack"]);
  assert.equal(await client.runAction(callBack), "CONNECTION_CLOSED");
});

// A wrong token is left out: nats.js on Deno's node:net may raise the
// server's reset after the auth violation as an uncaught ECONNRESET (its
// transport drops its socket listeners before destroying it).
Deno.test("nats: credentials go to the NATS client (a token)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find(
    (path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    },
  ) ?? "nats-server";
  const child = new Deno.Command(binary, {
    args: ["-a", "127.0.0.1", "-p", String(port), "--auth", "s3cret"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let tries = 0;; tries++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch (error) {
        if (tries > 500) throw error;
        await wait(10);
      }
    }
    const servers = `127.0.0.1:${port}`;
    const good = natsTransport({ servers, service: "lab", token: "s3cret" });
    const server = new Server().addAction(action("x", () => "in"));
    await server.listen(good);
    const client = new Client({ transport: good, timeout: 2000 });
    try {
      assert.equal(await client.runAction("x"), "in");
    } finally {
      await client.close();
      await server.shutdown();
      await good.close();
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
});

Deno.test("nats: stream items and input items larger than max_payload travel in pieces", async () => {
  await using setup = await natsSetup({ maxPayload: 64 * 1024 });
  const size = 300_000;
  const chunks = action("chunks", async function* (count: number) {
    for (let n = 0; n < count; n++) yield new Uint8Array(size).fill(n);
  });
  const sizes = action("sizes", async (items: AsyncIterable<Uint8Array>) => {
    const seen: number[] = [];
    for await (const item of items) seen.push(item.length + item[0]);
    return seen;
  });
  await natsServer(setup, new Server().addAction(chunks).addAction(sizes));
  const client = natsClient(setup, { timeout: 10_000 });
  const got: number[] = [];
  for await (const item of client.stream(chunks, 4)) {
    got.push((item as Uint8Array).length + (item as Uint8Array)[size - 1]);
  }
  assert.deepEqual(got, [size, size + 1, size + 2, size + 3]);
  async function* upload() {
    for (let n = 0; n < 3; n++) yield new Uint8Array(size).fill(n);
  }
  assert.deepEqual(await client.runAction(sizes, upload()), [
    size,
    size + 1,
    size + 2,
  ]);
  // And a large first message: the request itself.
  const echo = action("echo", (bytes: Uint8Array) => bytes.length);
  await natsServer(setup, new Server().addAction(echo), { service: "echo" });
  const echoes = natsClient(setup, { timeout: 10_000 }, { service: "echo" });
  assert.equal(await echoes.runAction(echo, new Uint8Array(size)), size);
});

Deno.test("nats: closing the client stops its streams on the server at once", async () => {
  await using setup = await natsSetup();
  let cleanedUp = false;
  const count = action("count", async function* () {
    try {
      for (let n = 1;; n++) yield n;
    } finally {
      cleanedUp = true;
    }
  });
  // A long heartbeat: only the cancel can stop the stream within the test.
  await natsServer(setup, new Server().addAction(count), { heartbeat: 60_000 });
  const client = new Client({
    transport: setup.bus({ heartbeat: 60_000 }),
  });
  const iterator = client.stream(count)[Symbol.asyncIterator]();
  assert.deepEqual(await iterator.next(), { value: 1, done: false });
  await client.close();
  for (let waited = 0; !cleanedUp && waited < 200; waited++) await wait(10);
  assert.ok(cleanedUp);
});

Deno.test("nats: binaries arrive as plain Uint8Array both ways: results, stream items, input items and pieces", async () => {
  await using setup = await natsSetup({ maxPayload: 64 * 1024 });
  const isPlain = (bytes: unknown) =>
    Object.getPrototypeOf(bytes) === Uint8Array.prototype;
  const seen: boolean[] = [];
  const echo = action("echo", (bytes: Uint8Array) => {
    seen.push(isPlain(bytes));
    return bytes;
  });
  const chunks = action("chunks", async function* (size: number) {
    yield new Uint8Array(size).fill(1);
  });
  const upload = action("upload", async (items: AsyncIterable<Uint8Array>) => {
    for await (const item of items) seen.push(isPlain(item));
    return seen.length;
  });
  await natsServer(
    setup,
    new Server().addAction(echo).addAction(chunks).addAction(upload),
  );
  const client = natsClient(setup, { timeout: 10_000 });
  for (const size of [3, 5000, 200_000]) {
    const sent = new Uint8Array(size).fill(9);
    const back = await client.runAction(echo, sent);
    assert.deepStrictEqual(back, sent, `${size} bytes`);
    for await (const item of client.stream(chunks, size)) {
      assert.deepStrictEqual(item, new Uint8Array(size).fill(1));
    }
  }
  async function* items() {
    yield new Uint8Array([1, 2]);
    yield new Uint8Array(200_000);
  }
  await client.runAction(upload, items());
  assert.deepEqual(seen, [true, true, true, true, true]);
});
