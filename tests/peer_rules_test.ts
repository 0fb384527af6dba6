/**
 * A hostile peer against the connection rules: stream windows and credit,
 * fragments, request ids, reassembly and frames before authentication. Each
 * attack is refused cheaply, with a clear goodbye, the server stays alive,
 * and a good client's calls go on.
 */

import assert from "node:assert/strict";
import { action } from "../mod.ts";
import { FrameDecoder } from "../framing.ts";
import { type Message, MessageType } from "../protocol.ts";
import { delay, readUntilClosed, serve, wire } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);

/** The messages in raw bytes a server sent (after its hello). */
function messagesIn(bytes: Uint8Array): Message[] {
  const frames: Uint8Array[] = [];
  new FrameDecoder().push(bytes, (body) => frames.push(body.slice()));
  return frames.slice(1).map((frame) => wire.codec.decode(frame));
}

/** The code of the goodbye the server sent, if any. */
function goodbyeCode(bytes: Uint8Array): string | undefined {
  for (const message of messagesIn(bytes)) {
    if (message.type === MessageType.GOODBYE) return message.error?.code;
  }
  return undefined;
}

/** Opens a raw connection that has said hello. */
async function rawPeer(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(wire.hello());
  return conn;
}

/**
 * A good client's calls, one after another with 5 ms pauses, for
 * `milliseconds`: the longest a round (call and pause) took.
 */
async function slowestCall(
  call: () => Promise<unknown>,
  milliseconds: number,
): Promise<number> {
  let slowest = 0;
  const until = performance.now() + milliseconds;
  for (let i = 0; i < 1000 && performance.now() < until; i++) {
    const started = performance.now();
    await call();
    await delay(5);
    slowest = Math.max(slowest, performance.now() - started);
  }
  return slowest;
}

Deno.test("peer rules: a stream window above 65,536 is a protocol breach", async () => {
  let pulled = 0;
  const count = action("count", async function* () {
    for (;;) yield pulled++;
  });
  await using served = await serve([count, echo]);
  const conn = await rawPeer(served.port);
  await conn.write(
    wire.message([MessageType.REQUEST, 1, "count", null, {
      stream: 2 ** 53 - 1,
    }]),
  );
  const { bytes, closed } = await readUntilClosed(conn, 2000);
  assert.ok(closed, "the server closed the connection");
  assert.equal(goodbyeCode(bytes), "PROTOCOL");
  assert.equal(pulled, 0);
  assert.equal(await served.client().runAction(echo, "alive"), "alive");
});

Deno.test("peer rules: credit that pushes a stream past its window is a protocol breach; the generator's finally runs", async () => {
  let finished = false;
  const count = action("count", async function* () {
    try {
      for (let n = 0;; n++) yield n;
    } finally {
      finished = true;
    }
  });
  await using served = await serve([count, echo]);
  const conn = await rawPeer(served.port);
  await conn.write(
    wire.message([MessageType.REQUEST, 1, "count", null, { stream: 4 }]),
  );
  await delay(50);
  // The window is 4 and 4 items are out: 4 more is fine, 5 more is not.
  await conn.write(wire.message([MessageType.CREDIT, 1, 4]));
  await conn.write(wire.message([MessageType.CREDIT, 1, 5]));
  const { bytes, closed } = await readUntilClosed(conn, 2000);
  assert.ok(closed);
  assert.equal(goodbyeCode(bytes), "PROTOCOL");
  for (let i = 0; i < 100 && !finished; i++) await delay(10);
  assert.ok(finished, "the generator's finally ran");
  assert.equal(await served.client().runAction(echo, "alive"), "alive");
});

Deno.test("peer rules: a stream to a peer that does not read stops pulling from its source", async () => {
  let pulled = 0;
  let finished = false;
  const big = action("big", async function* () {
    try {
      for (;;) {
        pulled++;
        yield "x".repeat(1024);
      }
    } finally {
      finished = true;
    }
  });
  await using served = await serve([big, echo]);
  const conn = await rawPeer(served.port);
  await conn.write(
    wire.message([MessageType.REQUEST, 1, "big", null, { stream: 65_536 }]),
  );
  await delay(400);
  const pulledWhileBlocked = pulled;
  // 64 MiB of items were allowed by credit; the queue holds about 4 MiB.
  assert.ok(
    pulledWhileBlocked < 20_000,
    `${pulledWhileBlocked} items pulled for a peer that reads nothing`,
  );
  assert.equal(await served.client().runAction(echo, "alive"), "alive");
  conn.close();
  for (let i = 0; i < 100 && !finished; i++) await delay(10);
  assert.ok(finished, "the generator's finally ran");
});

Deno.test("peer rules: a generator that never waits does not starve other connections", async () => {
  let finished = false;
  const busy = action("busy", async function* () {
    try {
      for (let n = 0;; n++) {
        // About 20 µs of work per item, without any I/O.
        const until = performance.now() + 0.02;
        while (performance.now() < until) { /* busy */ }
        yield n;
      }
    } finally {
      finished = true;
    }
  });
  await using served = await serve([busy, echo]);
  const client = served.client();
  await client.runAction(echo, "warm");
  const baseline = await slowestCall(() => client.runAction(echo, 1), 100);
  const conn = await rawPeer(served.port);
  const reading = readUntilClosed(conn, 5000);
  // The attacker is in this process: the good calls must be under way
  // when the attack starts, or a blocked event loop would go unseen.
  const measuring = slowestCall(() => client.runAction(echo, 1), 400);
  await delay(50);
  // 65,536 items of 20 µs each: over a second of work, asked for at once.
  await conn.write(
    wire.message([MessageType.REQUEST, 1, "busy", null, { stream: 65_536 }]),
  );
  const slowest = await measuring;
  conn.close();
  await reading;
  for (let i = 0; i < 100 && !finished; i++) await delay(10);
  assert.ok(finished, "the generator's finally ran");
  assert.ok(
    slowest < baseline + 250,
    `a good call took ${slowest.toFixed(0)} ms (baseline ${
      baseline.toFixed(0)
    } ms) while a generator ran`,
  );
});
