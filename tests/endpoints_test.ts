/**
 * A client of several TCP servers (`endpoints`): calls spread over them,
 * a server killed or shut down under load costs no call that could be
 * saved and runs none twice, a server back takes calls again, and with
 * none connected calls fail at once with `UNAVAILABLE`.
 */

import assert from "node:assert/strict";
import {
  action,
  Client,
  ClientError,
  type ClientOptions,
  type EndpointsClientOptions,
  type PeerAddress,
  Server,
  tracked,
} from "../mod.ts";
import { Backoff } from "../src/endpoint/backoff.ts";
import { delay, freePort, tcpProxy } from "./helpers.ts";
import { FaultProxy, NO_FAULTS } from "./fault_proxy.ts";
import { deno, start } from "./processes.ts";
import { socketPath } from "./conformance/sockets.ts";

const work = action<number, number>("work");
const read = action<number, number>("read", { idempotent: true });

/** A server of `work` and `read` that counts, per call id, how often it ran it. */
class CountingServer implements AsyncDisposable {
  readonly runs = new Map<number, number>();
  server: Server;
  port = 0;

  constructor(readonly name: string, readonly pause = 0) {
    this.server = this.#serverOn(0);
  }

  /** Listens on `port` (0: any free one). */
  async listen(port = 0): Promise<this> {
    if (port !== 0) this.server = this.#serverOn(port);
    this.port = (await this.server.listen()).port;
    return this;
  }

  #serverOn(port: number): Server {
    const run = async (id: number) => {
      this.runs.set(id, (this.runs.get(id) ?? 0) + 1);
      if (this.pause > 0) await delay(this.pause);
      return id;
    };
    return new Server({ hostname: "127.0.0.1", port })
      .addAction(action("work", run))
      .addAction(action("read", { idempotent: true }, run))
      .addAction(action("who", () => this.name));
  }

  /** How many calls it ran. */
  get total(): number {
    let total = 0;
    for (const count of this.runs.values()) total += count;
    return total;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.server.shutdown({ timeout: 1_000 });
  }
}

/** A client of `servers`, closed by the test. */
function clientOf(
  ports: readonly number[],
  options: Partial<EndpointsClientOptions> = {},
): Client {
  return new Client({
    endpoints: ports.map((port) => ({ hostname: "127.0.0.1", port })),
    retryDelay: 10,
    maxRetryDelay: 100,
    ...options,
  });
}

/**
 * Resolves once `client` is connected to every one of `ports`; rejects
 * when that takes longer than `timeout` ms.
 */
function connectedToAll(
  client: Client,
  ports: readonly number[],
  timeout = 5_000,
): Promise<void> {
  const waiting = new Set(ports);
  let onConnect = (_event: { endpoint?: { port: number } }) => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new Promise<void>((resolve, reject) => {
    onConnect = (event) => {
      waiting.delete(event.endpoint?.port ?? -1);
      if (waiting.size === 0) resolve();
    };
    client.addEventListener("connect", onConnect);
    timer = setTimeout(
      () => reject(new Error(`not connected to ${[...waiting]} in time`)),
      timeout,
    );
  }).finally(() => {
    clearTimeout(timer);
    client.removeEventListener("connect", onConnect as EventListener);
  });
}

/** Runs `count` calls, `concurrency` at a time; `each(i)` sees each call start. */
async function load(
  count: number,
  concurrency: number,
  call: (id: number) => Promise<unknown>,
  each: (id: number) => void | Promise<void> = () => {},
): Promise<PromiseSettledResult<unknown>[]> {
  const results: PromiseSettledResult<unknown>[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const id = next++;
      await each(id);
      try {
        results[id] = { status: "fulfilled", value: await call(id) };
      } catch (reason) {
        results[id] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/**
 * The most connections a server that drops each one on probation can get
 * in `elapsed` ms: the first, then one after each wait, where the wait
 * after flap number n is at least `shortest.delay(n + 1)` (a `Backoff`
 * without jitter gives each wait's shortest).
 */
function mostAdmissions(elapsed: number, shortest: Backoff): number {
  let admissions = 1;
  let waited = shortest.delay(1);
  for (let attempt = 2; waited <= elapsed; attempt++) {
    admissions++;
    waited += shortest.delay(attempt);
  }
  return admissions;
}

/** The call ids a `counting_server.ts` child printed it ran. */
function runsPrinted(output: string): Map<number, number> {
  const runs = new Map<number, number>();
  for (const [, id] of output.matchAll(/^ran (\d+)$/gm)) {
    runs.set(Number(id), (runs.get(Number(id)) ?? 0) + 1);
  }
  return runs;
}

Deno.test("endpoints: 300 calls spread over three servers, each takes more than 20%", async () => {
  await using a = await new CountingServer("a").listen();
  await using b = await new CountingServer("b").listen();
  await using c = await new CountingServer("c").listen();
  const ports = [a.port, b.port, c.port];
  await using client = clientOf(ports);
  const ready = connectedToAll(client, ports);
  await client.connect();
  await ready;
  const results = await load(300, 10, (id) => client.runAction(work, id));
  assert.ok(results.every((result) => result.status === "fulfilled"));
  for (const server of [a, b, c]) {
    assert.ok(server.total > 60, `${server.name} took ${server.total} of 300`);
  }
  assert.equal(a.total + b.total + c.total, 300);
});

Deno.test("endpoints: first-healthy sends every call to the first server until it is out", async () => {
  await using a = await new CountingServer("a").listen();
  await using b = await new CountingServer("b").listen();
  await using c = await new CountingServer("c").listen();
  const ports = [a.port, b.port, c.port];
  await using client = clientOf(ports, { balance: "first-healthy" });
  const ready = connectedToAll(client, ports);
  await client.connect();
  await ready;
  await load(50, 5, (id) => client.runAction(work, id));
  assert.deepStrictEqual([a.total, b.total, c.total], [50, 0, 0]);
  await a.server.shutdown();
  await load(50, 5, (id) => client.runAction(work, 100 + id));
  assert.deepStrictEqual([a.total, b.total, c.total], [50, 50, 0]);
});

Deno.test("endpoints: a call a server refused unrun goes to another, even one the policy ranks lower", async () => {
  await using refusing = await new CountingServer("refusing").listen();
  // A server that takes connections but refuses every call unrun, as one
  // that is closing does: the call may go elsewhere.
  refusing.server.use(() => {
    throw new ClientError("CONNECTION_CLOSED", "Not now.", { wasRun: false });
  });
  await using b = await new CountingServer("b").listen();
  const ports = [refusing.port, b.port];
  await using client = clientOf(ports, { balance: "first-healthy" });
  const ready = connectedToAll(client, ports);
  await client.connect();
  await ready;
  const results = await load(20, 2, (id) => client.runAction(work, id));
  assert.ok(
    results.every((result) => result.status === "fulfilled"),
    String(results.find((result) => result.status === "rejected")?.reason),
  );
  assert.equal(b.total, 20);
});

Deno.test("endpoints: middleware and events say which server each try went to", async () => {
  await using a = await new CountingServer("a").listen();
  await using b = await new CountingServer("b").listen();
  const ports = [a.port, b.port];
  await using client = clientOf(ports);
  const peers: PeerAddress[] = [];
  client.use((call, next) => {
    peers.push(call.peer);
    return next();
  });
  const ready = connectedToAll(client, ports);
  assert.equal(client.isConnected, false);
  await client.connect();
  await ready;
  assert.equal(client.isConnected, true);
  const answers: unknown[] = [];
  for (let i = 0; i < 4; i++) answers.push(await client.runAction("who"));
  // Each try's peer is the server that answered it.
  assert.deepStrictEqual(
    peers.map((peer) => peer.port),
    answers.map((name) => name === "a" ? a.port : b.port),
  );
  assert.deepStrictEqual(new Set(answers), new Set(["a", "b"]));
  const gone = new Promise<number | undefined>((resolve) =>
    client.addEventListener(
      "disconnect",
      (event) => resolve(event.endpoint?.port),
    )
  );
  await a.server.shutdown();
  assert.equal(await gone, a.port);
  assert.equal(client.isConnected, true);
});

Deno.test("endpoints: a server killed under load: idempotent calls all succeed, no other call runs twice", async () => {
  await using a = await new CountingServer("a", 2).listen();
  await using b = await new CountingServer("b", 2).listen();
  const child = await start([
    "run",
    "--allow-net",
    "tests/fixtures/counting_server.ts",
  ]);
  const killedPort = Number(child.firstLine.trim());
  let isKilled = false;
  try {
    const ports = [a.port, b.port, killedPort];
    await using client = clientOf(ports, { timeout: 5_000, retry: 5 });
    // Where each try of each call went, as middleware sees it.
    const tries = new Map<number, number[]>();
    client.use((call, next) => {
      const id = call.data as number;
      tries.set(id, [...tries.get(id) ?? [], call.peer.port]);
      return next();
    });
    const ready = connectedToAll(client, ports);
    await client.connect();
    await ready;
    const results = await load(
      600,
      12,
      (id) => client.runAction(id % 2 === 0 ? read : work, id),
      (id) => {
        if (id === 200) {
          child.child.kill("SIGKILL");
          isKilled = true;
        }
      },
    );
    const killed = runsPrinted(await child.output);
    for (const [id, result] of results.entries()) {
      if (id % 2 === 0) {
        assert.equal(result.status, "fulfilled", `read ${id}`);
        continue;
      }
      if (result.status === "rejected") {
        assert.ok(result.reason instanceof ClientError, String(result.reason));
        assert.equal(result.reason.code, "CONNECTION_CLOSED");
      }
      const runs = (a.runs.get(id) ?? 0) + (b.runs.get(id) ?? 0) +
        (killed.get(id) ?? 0);
      assert.ok(runs <= 1, `work ${id} ran ${runs} times`);
      if (result.status === "fulfilled") assert.equal(runs, 1);
    }
    assert.ok(killed.size > 20, `the killed server took ${killed.size} calls`);
    assert.ok(a.total + b.total > 300);
    // A call sent again went to another server, never to the killed one.
    const resent = [...tries.values()].filter((ports) => ports.length > 1);
    assert.ok(resent.length > 0, "some reads were sent again");
    for (const ports of resent) {
      assert.equal(ports[0], killedPort);
      assert.ok(!ports.slice(1).includes(killedPort), `${ports}`);
    }
  } finally {
    if (!isKilled) child.child.kill("SIGKILL");
    await child.child.status;
    await child.output;
    await child.stderr;
  }
});

Deno.test("endpoints: a frozen server fails its heartbeats, leaves the rotation, and comes back when it thaws", async () => {
  await using a = await new CountingServer("a").listen();
  const child = await start([
    "run",
    "--allow-net",
    "tests/fixtures/counting_server.ts",
  ]);
  const frozenPort = Number(child.firstLine.trim());
  try {
    const ports = [a.port, frozenPort];
    await using client = clientOf(ports, {
      heartbeatInterval: 50,
      handshakeTimeout: 300,
    });
    const ready = connectedToAll(client, ports);
    await client.connect();
    await ready;
    const gone = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no disconnect")), 5_000);
      client.addEventListener("disconnect", (event) => {
        if (event.endpoint?.port !== frozenPort) return;
        clearTimeout(timer);
        resolve();
      });
    });
    child.child.kill("SIGSTOP");
    await gone;
    const results = await load(20, 2, (id) => client.runAction(work, id));
    assert.ok(results.every((result) => result.status === "fulfilled"));
    assert.equal(a.total, 20);
    const back = connectedToAll(client, [frozenPort]);
    child.child.kill("SIGCONT");
    await back;
    // Back on probation: idempotent calls go to it at once.
    await load(20, 2, (id) => client.runAction(read, 100 + id));
    assert.ok(a.total < 40, `the server back took ${40 - a.total} of 20`);
  } finally {
    child.child.kill("SIGCONT");
    child.child.kill("SIGKILL");
    await child.child.status;
    await child.output;
    await child.stderr;
  }
});

Deno.test("endpoints: a server shut down gracefully under load loses no call", async () => {
  await using a = await new CountingServer("a", 2).listen();
  await using b = await new CountingServer("b", 2).listen();
  await using c = await new CountingServer("c", 2).listen();
  const ports = [a.port, b.port, c.port];
  await using client = clientOf(ports, { timeout: 5_000 });
  const ready = connectedToAll(client, ports);
  await client.connect();
  await ready;
  let shutdown: Promise<void> | undefined;
  const results = await load(
    600,
    12,
    (id) => client.runAction(work, id),
    (id) => {
      if (id === 200) shutdown = b.server.shutdown();
    },
  );
  await shutdown;
  for (const [id, result] of results.entries()) {
    assert.equal(
      result.status,
      "fulfilled",
      `work ${id}: ${result.status === "rejected" ? result.reason : ""}`,
    );
    const runs = (a.runs.get(id) ?? 0) + (b.runs.get(id) ?? 0) +
      (c.runs.get(id) ?? 0);
    assert.equal(runs, 1, `work ${id} ran ${runs} times`);
  }
  assert.ok(b.total > 20 && b.total < 300, `b took ${b.total}`);
});

Deno.test("endpoints: a server that says goodbye leaves the rotation at once, while its running calls finish", async () => {
  await using slow = await new CountingServer("slow", 200).listen();
  await using a = await new CountingServer("a").listen();
  const ports = [slow.port, a.port];
  await using client = clientOf(ports, { balance: "first-healthy" });
  const ready = connectedToAll(client, ports);
  await client.connect();
  await ready;
  const running = client.runAction(work, 0);
  running.catch(() => {}); // Awaited below; a failed assertion first leaves it alone.
  while (slow.total === 0) await delay(1);
  const shutdown = slow.server.shutdown();
  await delay(20); // The goodbye arrives; the call on its way keeps running.
  const results = await load(20, 4, (id) => client.runAction(work, 1 + id));
  assert.ok(results.every((result) => result.status === "fulfilled"));
  assert.equal(a.total, 20);
  assert.equal(await running, 0);
  await shutdown;
  assert.equal(slow.total, 1);
});

Deno.test("endpoints: a server restarted gracefully while on probation says goodbye, never flapping", async () => {
  await using a = await new CountingServer("a").listen();
  let b = await new CountingServer("b").listen();
  const port = b.port;
  // On probation for 30 s after each comeback: every restart below is on it.
  await using client = clientOf([a.port, port], { heartbeatInterval: 10_000 });
  const reasons: (string | undefined)[] = [];
  client.addEventListener("disconnect", (event) => {
    if (event.endpoint?.port === port) reasons.push(event.reason);
  });
  const ready = connectedToAll(client, [a.port, port]);
  await client.connect();
  await ready;
  try {
    for (let restart = 0; restart < 2; restart++) {
      const back = connectedToAll(client, [port]);
      await b.server.shutdown();
      b = await new CountingServer("b").listen(port);
      await back;
    }
    await b.server.shutdown();
    for (let i = 0; i < 500 && reasons.length < 3; i++) await delay(10);
    assert.deepStrictEqual(reasons, ["goodbye", "goodbye", "goodbye"]);
  } finally {
    await b.server.shutdown();
  }
});

Deno.test("endpoints: a server back on its port takes idempotent calls at once, every call once it stayed up", async () => {
  await using a = await new CountingServer("a").listen();
  const b = await new CountingServer("b").listen();
  const ports = [a.port, b.port];
  // On probation for 30 s: the server back stays on it throughout.
  await using probing = clientOf(ports, { heartbeatInterval: 10_000 });
  // Stable after three heartbeat intervals: 1.5 s.
  await using client = clientOf(ports, { heartbeatInterval: 500 });
  const ready = [
    connectedToAll(probing, ports),
    connectedToAll(client, ports),
  ];
  await Promise.all([probing.connect(), client.connect()]);
  await Promise.all(ready);
  await b.server.shutdown();
  await load(20, 2, (id) => probing.runAction(work, id));
  await load(20, 2, (id) => client.runAction(work, 20 + id));
  assert.equal(a.total, 40);
  await using again = new CountingServer("b again");
  let connectedAt: number | undefined;
  client.addEventListener("connect", (event) => {
    if (event.endpoint?.port === b.port) connectedAt = performance.now();
  });
  const back = [
    connectedToAll(probing, [b.port]),
    connectedToAll(client, [b.port]),
  ];
  await again.listen(b.port);
  await Promise.all(back);
  await load(40, 2, (id) => probing.runAction(work, 100 + id));
  await load(40, 2, (id) => probing.runAction(read, 200 + id));
  assert.ok(
    ![...again.runs.keys()].some((id) => id < 200),
    "a call that is not idempotent went to a server on probation",
  );
  assert.ok(again.total >= 10, `the server back took ${again.total} of 40`);
  assert.ok(connectedAt !== undefined);
  await delay(Math.max(0, 1_600 - (performance.now() - connectedAt)));
  const before = again.total;
  await load(40, 2, (id) => client.runAction(work, 300 + id));
  assert.ok(
    again.total - before >= 10,
    `the server, stable, took ${again.total - before} of 40`,
  );
});

Deno.test("endpoints: a server on probation takes every call while no stable one is in rotation", async () => {
  const a = await new CountingServer("a").listen();
  const ports = [a.port, freePort()];
  await using client = clientOf(ports, { heartbeatInterval: 10_000 });
  await client.connect();
  await a.server.shutdown();
  await using again = new CountingServer("a again");
  const back = connectedToAll(client, [a.port]);
  await again.listen(a.port);
  await back; // On probation for 30 s, and the only server up.
  const results = await load(20, 2, (id) => client.runAction(work, id));
  assert.ok(results.every((result) => result.status === "fulfilled"));
  assert.equal(again.total, 20);
});

Deno.test("endpoints: a server that drops every connection soon after its hello is kept out longer each time", async () => {
  await using good = await new CountingServer("good").listen();
  await using bad = await new CountingServer("bad").listen();
  // Crash-looping: each connection is cut 5 ms after the server's hello.
  await using crashing = new FaultProxy({
    target: bad.port,
    seed: 1,
    weights: NO_FAULTS,
    hasLifetimes: false,
    lifetimeAfterHello: 5,
  });
  const waits = { retryDelay: 10, maxRetryDelay: 2_000 };
  await using client = clientOf([good.port, crashing.port], waits);
  let admissions = 0;
  const reasons: (string | undefined)[] = [];
  client.addEventListener("connect", (event) => {
    if (event.endpoint?.port === crashing.port) admissions++;
  });
  client.addEventListener("disconnect", (event) => {
    if (event.endpoint?.port === crashing.port) reasons.push(event.reason);
  });
  const started = performance.now();
  await client.connect();
  const results = await load(
    300,
    3,
    (id) => client.runAction(work, id),
    () => delay(10), // About a second in all.
  );
  const elapsed = Math.round(performance.now() - started);
  const admitted = admissions;
  const failed = results.filter((result) => result.status === "rejected");
  assert.ok(
    failed.length <= 3,
    `${failed.length} of 300 failed: ${
      failed.map((result) => (result as PromiseRejectedResult).reason)[0]
    }`,
  );
  // A comeback every retryDelay would be some hundred in a second.
  const shortest = new Backoff(waits.retryDelay, waits.maxRetryDelay, () => 0);
  const most = mostAdmissions(elapsed, shortest);
  assert.ok(
    admitted <= most,
    `admitted ${admitted} times in ${elapsed} ms, where backoff allows ${most}`,
  );
  assert.ok(reasons.length >= 2, `left the rotation ${reasons.length} times`);
  assert.equal(reasons[0], "dropped");
  assert.deepStrictEqual(
    new Set(reasons.slice(1)),
    new Set(["flapping"]),
    reasons.join(", "),
  );
});

Deno.test("endpoints: with no server connected, calls fail UNAVAILABLE long before their deadline", async () => {
  const timeout = 10_000;
  await using client = clientOf([freePort(), freePort()], { timeout });
  let started = Date.now();
  await assert.rejects(
    client.runAction(work, 1),
    (e) => e instanceof ClientError && e.code === "UNAVAILABLE",
  );
  assert.ok(Date.now() - started < timeout / 4);
  // Servers that went away: the same, at once.
  await using a = await new CountingServer("a").listen();
  await using other = clientOf([a.port]);
  await other.connect();
  await a.server.shutdown();
  while (other.isConnected) await delay(1);
  started = Date.now();
  await assert.rejects(
    other.runAction(read, 1),
    (e) => e instanceof ClientError && e.code === "UNAVAILABLE",
  );
  assert.ok(Date.now() - started < timeout / 4);
});

Deno.test("endpoints: a tracked stream resumes on another server after its connection drops", async () => {
  const served = new Map<string, number>();
  const ticks = (name: string) =>
    action("ticks", async function* (to: number, context) {
      for (let n = Number(context.lastEventId ?? 0) + 1; n <= to; n++) {
        await delay(1);
        served.set(name, (served.get(name) ?? 0) + 1);
        yield tracked(n, n);
      }
    });
  await using a = new Server().addAction(ticks("a"));
  await using b = new Server().addAction(ticks("b"));
  await using proxyA = tcpProxy((await a.listen()).port);
  await using proxyB = tcpProxy((await b.listen()).port);
  const ports = [proxyA.port, proxyB.port];
  await using client = clientOf(ports, { retryDelay: 200 });
  const ready = connectedToAll(client, ports);
  await client.connect();
  await ready;
  const seen: number[] = [];
  for await (const n of client.stream("ticks", 60)) {
    seen.push(n as number);
    if (n === 30) {
      // Cut the connection the stream is on: it resumes on the other server.
      (served.has("a") ? proxyA : proxyB).cut();
    }
  }
  assert.deepStrictEqual(seen, Array.from({ length: 60 }, (_, i) => i + 1));
  assert.equal(served.size, 2);
});

Deno.test("endpoints: bad endpoints options fail INVALID_OPTIONS", () => {
  const invalid = (options: ClientOptions) =>
    assert.throws(
      () => new Client(options),
      (e) => e instanceof ClientError && e.code === "INVALID_OPTIONS",
    );
  invalid({ endpoints: [] });
  // @ts-expect-error: endpoints exclude port.
  invalid({ endpoints: [{ port: 1 }], port: 2 });
  // @ts-expect-error: endpoints exclude hostname.
  invalid({ endpoints: [{ port: 1 }], hostname: "127.0.0.1" });
  // @ts-expect-error: endpoints exclude path.
  invalid({ endpoints: [{ port: 1 }], path: "/tmp/x.sock" });
  invalid(
    { endpoints: [{ port: 1 }], transport: {} } as unknown as ClientOptions,
  );
  invalid({ endpoints: [{ hostname: "127.0.0.1" }] });
  invalid({ endpoints: [{ port: 70_000 }] });
  invalid({ endpoints: [{ port: 1 }], balance: "random" as "round-robin" });
  // @ts-expect-error: balance is for endpoints.
  invalid({ port: 1, balance: "first-healthy" });
});

Deno.test("endpoints: the example runs as docs/many-servers.md gives it, and exits 0", async () => {
  const { code, stdout, stderr } = await deno([
    "run",
    "--allow-net",
    "examples/endpoints.ts",
  ]);
  assert.equal(code, 0, stderr);
  const [three, afterShutdown, back] = stdout.split("###").slice(1);
  for (const name of ["rig-1", "rig-2", "rig-3"]) {
    assert.match(three, new RegExp(`"${name}": 10`));
    assert.match(back, new RegExp(`"${name}": 10`));
  }
  assert.doesNotMatch(afterShutdown, /rig-2"/);
  assert.match(
    afterShutdown,
    /"rig-1": \d+, "rig-3": \d+|"rig-3": \d+, "rig-1": \d+/,
  );
  assert.match(afterShutdown, /sensor: 21.5/);
});

Deno.test("endpoints: a script that forgets to close its client still ends while a server is down", async () => {
  await using a = await new CountingServer("a").listen();
  a.server.addAction(action("echo", (data: unknown) => data));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "tests/fixtures/forgetful_pool_client.ts",
      String(a.port),
      String(freePort()),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A process that does not end by itself is a failure, not a hang.
  let isKilled = false;
  const timer = setTimeout(() => {
    isKilled = true;
    child.kill("SIGKILL");
  }, 10_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  assert.equal(isKilled, false, "the process did not end by itself");
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(new TextDecoder().decode(stdout).trim(), "done");
});

Deno.test("endpoints: a Unix socket beside a TCP server; close() ends every connection", async () => {
  const path = socketPath();
  await using unix = new Server({ path }).addAction(
    action("who", () => "unix"),
  );
  await unix.listen();
  await using tcp = await new CountingServer("tcp").listen();
  await using client = new Client({
    endpoints: [{ path }, { port: tcp.port }],
  });
  const connected: (string | undefined)[] = [];
  client.addEventListener(
    "connect",
    (event) => connected.push(event.endpoint?.path ?? "tcp"),
  );
  const ready = connectedToAll(client, [0, tcp.port]);
  await client.connect();
  await ready;
  assert.deepStrictEqual(connected.sort(), [path, "tcp"].sort());
  const answers = new Set();
  for (let i = 0; i < 4; i++) answers.add(await client.runAction("who"));
  assert.deepStrictEqual(answers, new Set(["unix", "tcp"]));
  await client.close();
  assert.equal(client.isConnected, false);
  const open = () => unix.connectionCount + tcp.server.connectionCount;
  for (let tries = 0; tries < 1_000 && open() > 0; tries++) await delay(2);
  assert.equal(open(), 0, "the servers saw both connections close");
  await assert.rejects(
    client.runAction("who"),
    (e) => e instanceof ClientError && e.code === "CONNECTION_CLOSED",
  );
});

Deno.test("endpoints: a server that is down gets one error event, not one per background try", async () => {
  await using a = await new CountingServer("a").listen();
  const down = freePort();
  await using client = clientOf([a.port, down], {
    retryDelay: 5,
    maxRetryDelay: 10,
  });
  const errors: (number | undefined)[] = [];
  client.addEventListener(
    "error",
    (event) => errors.push(event.endpoint?.port),
  );
  await client.connect();
  await delay(200); // Some twenty tries in the background.
  assert.deepStrictEqual(errors, [down]);
  assert.equal(await client.runAction(work, 1), 1);
});
