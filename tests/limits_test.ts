/**
 * Limits: connections, calls in flight, slow handshakes, and peers that
 * send faster than the server works or read slower than it answers. Each
 * is bounded, and refused with a clear error.
 */

import assert from "node:assert/strict";
import { action, RemoteError } from "../mod.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import { delay, readUntilClosed, serve, wire } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);

Deno.test("limits: connections over maxConnections are refused with OVERLOADED; room frees up", async () => {
  await using served = await serve([echo], { maxConnections: 2 });
  const [first, second, third] = [
    served.client(),
    served.client(),
    served.client({ retry: 1 }),
  ];
  await first.runAction(echo, 1);
  await second.runAction(echo, 2);
  await assert.rejects(
    third.runAction(echo, 3),
    (e) =>
      e instanceof RemoteError && e.code === "OVERLOADED" &&
      /maxConnections is 2/.test(e.message),
  );
  assert.equal(served.server.connectionCount, 2);
  await first.close();
  for (let i = 0; i < 50 && served.server.connectionCount > 1; i++) {
    await delay(10);
  }
  assert.equal(await third.runAction(echo, 3), 3);
  assert.equal(await second.runAction(echo, 4), 4);
});

Deno.test("limits: calls over maxInFlight get OVERLOADED at once instead of queueing", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const hold = action("hold", (n: number) => released.then(() => n));
  await using served = await serve([hold], { maxInFlight: 3 });
  const client = served.client();
  const calls = Array.from(
    { length: 5 },
    (_, i) => client.runAction(hold, i).then((n) => n, (e) => e),
  );
  const overloaded = await Promise.race([
    Promise.all(calls.slice(3)),
    delay(1000).then(() => "the extra calls waited"),
  ]);
  assert.ok(Array.isArray(overloaded), String(overloaded));
  for (const error of overloaded) {
    assert.ok(error instanceof RemoteError && error.code === "OVERLOADED");
  }
  release();
  assert.deepStrictEqual(await Promise.all(calls.slice(0, 3)), [0, 1, 2]);
  assert.equal(await client.runAction(hold, 9), 9);
});

Deno.test("limits: a hello trickled byte by byte (slowloris) is cut off at the handshake timeout", async () => {
  await using served = await serve([echo], { handshakeTimeout: 150 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  const hello = wire.hello();
  const started = performance.now();
  const closed = readUntilClosed(conn, 2000);
  for (const byte of hello.subarray(0, 10)) {
    try {
      await conn.write(new Uint8Array([byte]));
    } catch {
      break; // Closed by the server.
    }
    await delay(40);
  }
  assert.equal((await closed).closed, true);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 140 && elapsed < 1000, `${elapsed} ms`);
});

Deno.test("limits: a peer that does not read its answers stops being served; memory stays bounded", async () => {
  let runs = 0;
  const blob = action("blob", () => {
    runs++;
    return new Uint8Array(1024 * 1024);
  });
  await using served = await serve([blob]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  const requests = Array.from(
    { length: 200 },
    (_, i) => [...wire.message([MessageType.REQUEST, i + 1, "blob"])],
  );
  // 200 requests for 200 MiB of answers, none of which it reads.
  await conn.write(new Uint8Array([...wire.hello(), ...requests.flat()]));
  await delay(500);
  const runsWhileBlocked = runs;
  assert.ok(
    runsWhileBlocked < 60,
    `${runsWhileBlocked} handlers ran for a peer that reads nothing`,
  );
  // Reading resumes the work: every request is answered in the end.
  const { bytes } = await readUntilClosed(conn, 1500);
  assert.ok(runs > runsWhileBlocked, "reading let the server go on");
  assert.ok(bytes.length > runsWhileBlocked * 1024 * 1024);
});

Deno.test("limits: a client sending faster than handlers finish is bounded by maxInFlight", async () => {
  let running = 0;
  let peak = 0;
  const work = action("work", async () => {
    peak = Math.max(peak, ++running);
    await delay(5);
    running--;
  });
  await using served = await serve([work], { maxInFlight: 50 });
  const client = served.client();
  const outcomes = await Promise.all(
    Array.from(
      { length: 2000 },
      () =>
        client.runAction(work).then(() => "ok", (e) => (e as RemoteError).code),
    ),
  );
  assert.ok(peak <= 50, `peak ${peak}`);
  assert.ok(outcomes.includes("ok"));
  assert.ok(
    outcomes.every((outcome) => outcome === "ok" || outcome === "OVERLOADED"),
  );
});
