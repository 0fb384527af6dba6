/**
 * isock over NATS as a new user meets it: a program that starts before its
 * nats-server (the bus tries again at its next use instead of keeping the
 * first failure), and what a refused connection says.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, Server } from "../mod.ts";
import { listInstances, natsTransport } from "../nats.ts";
import { startNatsServer } from "./fixtures/nats_server.ts";

const add = action("add", ([a, b]: [number, number]) => a + b);

Deno.test("nats users: a client and a server started before their nats-server work once it is up", async () => {
  await using nats = await startNatsServer();
  await nats.down();
  await using serving = natsTransport({
    servers: nats.hostPort,
    service: "late",
  });
  await using calling = natsTransport({
    servers: nats.hostPort,
    service: "late",
  });
  await using client = new Client({ transport: calling, timeout: 5_000 });
  await using server = new Server().addAction(add);

  // NATS is not there yet: clear errors, at once.
  await assert.rejects(client.runAction(add, [1, 2]), {
    code: "CONNECT_FAILED",
  });
  await assert.rejects(server.listen(serving), { code: "LISTEN_FAILED" });
  await assert.rejects(listInstances(calling), { code: "CONNECT_FAILED" });

  // Once it is up, the same buses connect at their next use.
  await nats.up();
  await server.listen(serving);
  assert.equal(await client.runAction(add, [1, 2]), 3);
  const [instance] = await listInstances(calling, { timeout: 2_000 });
  assert.equal(instance?.name, "late");
  await client.close();
  await server.shutdown();
});

Deno.test("nats users: a closed bus does not connect again", async () => {
  await using nats = await startNatsServer();
  await nats.down();
  const bus = natsTransport({ servers: nats.hostPort, service: "gone" });
  await using client = new Client({ transport: bus, timeout: 2_000 });
  await assert.rejects(client.runAction(add, [1, 2]), {
    code: "CONNECT_FAILED",
  });
  await bus.close();
  await nats.up();
  // A connection opened now would outlive the bus (and fail the test's
  // resource check).
  await assert.rejects(client.runAction(add, [1, 2]), {
    code: "CONNECT_FAILED",
  });
});

Deno.test("nats users: a call cut by the loss of the nats-server says NATS is down, not that its server died", async () => {
  await using nats = await startNatsServer();
  const slow = action(
    "slow",
    (ms: number, { signal }) =>
      new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(ms), ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve(0);
        });
      }),
  );
  const heartbeat = 100;
  await using serving = natsTransport({
    servers: nats.hostPort,
    service: "cut",
    heartbeat,
  });
  await using calling = natsTransport({
    servers: nats.hostPort,
    service: "cut",
    heartbeat,
  });
  await using server = new Server().addAction(slow);
  await server.listen(serving);
  await using client = new Client({ transport: calling, timeout: 10_000 });
  assert.equal(await client.runAction(slow, 1), 1);
  const call = client.runAction(slow, 5_000);
  await new Promise((resolve) => setTimeout(resolve, 2 * heartbeat));
  await nats.down();
  await assert.rejects(
    call,
    (error: Error & { code?: string; wasRun?: unknown }) =>
      error.code === "CONNECTION_CLOSED" && error.wasRun === "maybe" &&
      /connection to NATS is down/.test(error.message),
  );
  await client.close();
  await server.shutdown({ timeout: 100 });
});
