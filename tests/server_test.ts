import assert from "node:assert/strict";
import {
  action,
  ClientError,
  RemoteError,
  Server,
  ServerError,
} from "../mod.ts";
import { delay, serve } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);

function isServerError(code: string) {
  return (error: unknown) =>
    error instanceof ServerError && error.code === code;
}

Deno.test("server: addAction refuses a name already registered", () => {
  const server = new Server().addAction(echo);
  assert.throws(
    () => server.addAction(action("echo", () => 1)),
    isServerError("DUPLICATE_ACTION"),
  );
  assert.throws(
    () => server.addAction(action("echo"), () => 1),
    isServerError("DUPLICATE_ACTION"),
  );
});

Deno.test("server: addAction refuses anything that is not an action", () => {
  const server = new Server();
  class Echo {
    name = "echo";
  }
  const notActions: unknown[] = [
    null,
    undefined,
    {},
    Echo,
    { name: "echo" },
    { name: "", handler: () => 1 },
    "echo",
    42,
    () => 1,
  ];
  for (const value of notActions) {
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => server.addAction(value as any),
      isServerError("INVALID_ACTION"),
      `accepted ${String(value)}`,
    );
  }
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => server.addAction(action("x"), "not a function" as any),
    isServerError("INVALID_ACTION"),
  );
  assert.deepStrictEqual(server.actionNames, []);
});

Deno.test("server: an instance of a class with a name and a handler is an action", async () => {
  class Exec {
    readonly name = "exec";
    constructor(private readonly history: string[]) {}
    readonly handler = (command: string) => {
      this.history.push(command);
      return `ran ${command}`;
    };
  }
  const history: string[] = [];
  await using served = await serve([]);
  served.server.addAction(new Exec(history));
  assert.equal(await served.client().runAction("exec", "ls"), "ran ls");
  assert.deepStrictEqual(history, ["ls"]);
});

Deno.test("server: a reference plus a handler shares state between actions", async () => {
  const exec = action<string, string>("exec");
  const execHistory = action<undefined, string[]>("execHistory");
  const history: string[] = [];
  await using served = await serve([]);
  served.server
    .addAction(exec, (command) => {
      history.push(command);
      return command.toUpperCase();
    })
    .addAction(execHistory, () => history);
  const client = served.client();
  assert.equal(await client.runAction(exec, "a"), "A");
  assert.equal(await client.runAction(exec, "b"), "B");
  assert.deepStrictEqual(await client.runAction(execHistory), ["a", "b"]);
});

Deno.test("server: actions added or removed while serving take effect at once", async () => {
  await using served = await serve([echo]);
  const client = served.client();
  await assert.rejects(
    client.runAction("late"),
    (e) => e instanceof RemoteError && e.code === "UNKNOWN_ACTION",
  );
  served.server.addAction(action("late", () => "here"));
  assert.equal(await client.runAction("late"), "here");
  assert.deepStrictEqual(served.server.actionNames, ["echo", "late"]);
  assert.equal(served.server.removeAction("late"), true);
  assert.equal(served.server.removeAction("late"), false);
  await assert.rejects(
    client.runAction("late"),
    (e) => e instanceof RemoteError && e.code === "UNKNOWN_ACTION",
  );
});

Deno.test("server: actionNames is a read-only copy", () => {
  const server = new Server().addAction(echo);
  const names = server.actionNames;
  assert.throws(() => (names as string[]).push("x"));
  assert.deepStrictEqual(server.actionNames, ["echo"]);
});

Deno.test("server: listen resolves to the real address; a taken port is ADDR_IN_USE", async () => {
  await using first = new Server({ hostname: "127.0.0.1", port: 0 });
  const address = await first.listen();
  assert.equal(address.hostname, "127.0.0.1");
  assert.ok(address.port > 0);
  assert.deepStrictEqual(first.addr, address);
  const second = new Server({ hostname: "127.0.0.1", port: address.port });
  await assert.rejects(
    second.listen(),
    (error) =>
      isServerError("ADDR_IN_USE")(error) &&
      (error as Error).message.includes(String(address.port)),
  );
  await assert.rejects(first.listen(), isServerError("ALREADY_LISTENING"));
});

Deno.test("server: an address that cannot be bound is LISTEN_FAILED", async () => {
  // 192.0.2.1 (TEST-NET-1) is not an address of this machine.
  const server = new Server({ hostname: "192.0.2.1", port: 0 });
  await assert.rejects(server.listen(), isServerError("LISTEN_FAILED"));
});

Deno.test("server: bad options are refused at once", () => {
  assert.throws(
    () => new Server({ port: 70000 }),
    isServerError("INVALID_OPTIONS"),
  );
  assert.throws(
    () => new Server({ maxFrameSize: 10 }),
    isServerError("INVALID_OPTIONS"),
  );
  assert.throws(
    () => new Server({ handshakeTimeout: -1 }),
    isServerError("INVALID_OPTIONS"),
  );
});

Deno.test("server: graceful shutdown lets an in-flight call finish", async () => {
  let release!: () => void;
  const started = Promise.withResolvers<void>();
  const slow = action("slow", async () => {
    started.resolve();
    await new Promise<void>((resolve) => release = resolve);
    return "finished";
  });
  await using served = await serve([slow]);
  const client = served.client();
  const call = client.runAction(slow);
  await started.promise;
  const shutdown = served.server.shutdown();
  await delay(20);
  release();
  assert.equal(await call, "finished");
  await shutdown;
  await served.server.finished;
  assert.equal(served.server.connectionCount, 0);
});

Deno.test("server: calls that arrive during shutdown are refused unrun, with CONNECTION_CLOSED", async () => {
  let runs = 0;
  let release!: () => void;
  const started = Promise.withResolvers<void>();
  const count = action("count", () => ++runs);
  const hold = action("hold", async () => {
    started.resolve();
    await new Promise<void>((resolve) => release = resolve);
  });
  await using served = await serve([count, hold]);
  const client = served.client();
  const held = client.runAction(hold);
  await started.promise;
  const shutdown = served.server.shutdown();
  await delay(20);
  // The client knows the server is leaving: a new call cannot reach it.
  await assert.rejects(
    client.runAction(count),
    (error) =>
      error instanceof ClientError &&
      ["CONNECTION_CLOSED", "CONNECT_FAILED"].includes(error.code),
  );
  release();
  await held;
  await shutdown;
  assert.equal(runs, 0);
});

Deno.test("server: finished resolves when the server shuts down; shutdown is idempotent", async () => {
  const server = new Server();
  await server.listen();
  let isFinished = false;
  const finished = server.finished.then(() => isFinished = true);
  await delay(10);
  assert.equal(isFinished, false);
  await Promise.all([server.shutdown(), server.shutdown()]);
  await finished;
  assert.equal(isFinished, true);
  await assert.rejects(server.listen(), isServerError("ALREADY_LISTENING"));
});

Deno.test("server: connectionCount follows clients coming and going", async () => {
  await using served = await serve([echo]);
  const clients = [served.client(), served.client(), served.client()];
  await Promise.all(clients.map((client) => client.runAction(echo, 1)));
  assert.equal(served.server.connectionCount, 3);
  await clients[0].close();
  await clients[1].close();
  for (let i = 0; i < 50 && served.server.connectionCount > 1; i++) {
    await delay(10);
  }
  assert.equal(served.server.connectionCount, 1);
});

Deno.test("server: a handler sees the peer address, the request id and the action name", async () => {
  const whoami = action("whoami", (_: undefined, context) => ({
    action: context.action,
    requestId: context.requestId,
    peer: context.peer,
    isAborted: context.signal.aborted,
  }));
  await using served = await serve([whoami]);
  const seen = await served.client().runAction(whoami);
  assert.equal(seen.action, "whoami");
  assert.equal(typeof seen.requestId, "number");
  assert.equal(seen.peer.hostname, "127.0.0.1");
  assert.equal(seen.peer.transport, "tcp");
  assert.ok(seen.peer.port > 0);
  assert.equal(seen.isAborted, false);
});

Deno.test("server: a handler's signal aborts when its client goes away", async () => {
  const aborted = Promise.withResolvers<unknown>();
  const wait = action("wait", (_: undefined, context) => {
    context.signal.addEventListener(
      "abort",
      () => aborted.resolve(context.signal.reason),
    );
    return new Promise<never>(() => {});
  });
  await using served = await serve([wait]);
  const client = served.client();
  const call = client.runAction(wait);
  await delay(20);
  await client.close();
  await assert.rejects(
    call,
    (e) => e instanceof ClientError && e.code === "CONNECTION_CLOSED",
  );
  assert.ok(await aborted.promise instanceof Error);
  // The handler never settles; shutdown must not wait for it forever.
});
