/**
 * `server.shutdown({ timeout })` keeps its word over a Unix socket and over
 * NATS at once: when it resolves, every handler that outlived the timeout
 * (one honouring its signal, one ignoring it, on each) has had its signal
 * aborted, and every connection and subscription is closed. (Over TCP, on
 * every runtime, see tests/conformance/shutdown.ts.)
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, Server } from "../mod.ts";
import { natsTransport } from "../nats.ts";
import { socketPath } from "./conformance/sockets.ts";
import { startNatsServer } from "./fixtures/nats_server.ts";
import { delay } from "./helpers.ts";

Deno.test("shutdown: past its timeout, over a Unix socket and NATS, it resolves with every signal aborted and every connection closed", async () => {
  await using nats = await startNatsServer();
  const reasons = new Map<string, unknown>();
  const started = new Set<string>();
  let release = () => {};
  const released = new Promise<void>((resolve) => release = resolve);
  const honouring = action("honouring", (where: string, context) => {
    started.add(`honouring ${where}`);
    return new Promise((_resolve, reject) =>
      context.signal.addEventListener("abort", () => {
        reasons.set(`honouring ${where}`, context.signal.reason);
        reject(context.signal.reason);
      })
    );
  });
  const stubborn = action("stubborn", async (where: string, context) => {
    started.add(`stubborn ${where}`);
    context.signal.addEventListener(
      "abort",
      () => reasons.set(`stubborn ${where}`, context.signal.reason),
    );
    await released; // Ignores its signal.
    return "late";
  });
  const path = socketPath();
  const server = new Server({ path }).addAction(honouring).addAction(
    stubborn,
  );
  await server.listen();
  const serverBus = natsTransport({ servers: nats.hostPort, service: "lab" });
  await server.listen(serverBus);
  const clientBus = natsTransport({ servers: nats.hostPort, service: "lab" });
  const overUnix = new Client({ path, retry: 1 });
  const overNats = new Client({ transport: clientBus });
  try {
    const calls = [
      overUnix.runAction(honouring, "unix"),
      overUnix.runAction(stubborn, "unix"),
      overNats.runAction(honouring, "nats"),
      overNats.runAction(stubborn, "nats"),
    ];
    for (const call of calls) call.catch(() => {});
    for (let i = 0; i < 500 && started.size < 4; i++) await delay(10);
    assert.equal(started.size, 4, [...started].join(", "));
    const timeout = 300;
    const shutdownAt = performance.now();
    await server.shutdown({ timeout });
    const took = performance.now() - shutdownAt;
    for (const name of started) {
      const reason = reasons.get(name);
      assert.ok(
        reason instanceof ClientError && reason.code === "CONNECTION_CLOSED" &&
          /shutdown timeout/.test(reason.message),
        `${name}: its signal when shutdown resolved: ${reason}`,
      );
    }
    assert.equal(server.connectionCount, 0);
    assert.ok(took >= timeout && took < timeout + 2_000, `${took} ms`);
    // The calls over the Unix socket were given up on: they fail as on a
    // lost connection, whatever their handlers answered.
    await assert.rejects(calls[0], { code: "CONNECTION_CLOSED" });
    await assert.rejects(calls[1], { code: "CONNECTION_CLOSED" });
    // Nothing of the server is subscribed any more: no one takes calls.
    await assert.rejects(
      overNats.runAction(honouring, "again", { timeout: 5_000 }),
      { code: "UNAVAILABLE" },
    );
  } finally {
    release();
    await overUnix.close();
    await overNats.close();
    await server.shutdown();
    await serverBus.close();
    await clientBus.close();
  }
});
