/**
 * A hostile peer against the connection rules: stream windows and credit,
 * fragments, request ids, reassembly and frames before authentication. Each
 * attack is refused cheaply, with a clear goodbye, the server stays alive,
 * and a good client's calls go on.
 */

import assert from "node:assert/strict";
import { action, RemoteError } from "../mod.ts";
import { FrameDecoder } from "../src/wire/framing.ts";
import { type Message, outgoing } from "../src/protocol/message_table.ts";
import { MessageType, PROTOCOL_VERSION } from "../src/protocol/message_type.ts";
import { Session } from "../src/session/session.ts";
import type { FrameReceiver, Transport } from "../src/wire/transport.ts";
import { concat } from "../src/base/bytes.ts";
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

Deno.test("peer rules: a fragment inside a fragmented message is a protocol breach", async () => {
  await using served = await serve([echo]);
  const conn = await rawPeer(served.port);
  // The inner fragment asks for 32 MiB; each level of nesting would set its total aside again.
  const inner = concat(
    wire.codec.encode(outgoing.fragment(1, 32 << 20, new Uint8Array(8))),
  );
  await conn.write(
    wire.message([MessageType.FRAGMENT, 1, inner.length, inner]),
  );
  const { bytes, closed } = await readUntilClosed(conn, 2000);
  assert.ok(closed);
  assert.equal(goodbyeCode(bytes), "PROTOCOL");
  assert.equal(await served.client().runAction(echo, "alive"), "alive");
});

Deno.test("peer rules: a request id already in flight is a protocol breach; every handler it started stops", async () => {
  let started = 0;
  let aborted = 0;
  let finallies = 0;
  const slow = action(
    "slow",
    (_: undefined, context) =>
      new Promise((resolve) => {
        started++;
        context.signal.addEventListener("abort", () => {
          aborted++;
          resolve(null);
        });
      }),
  );
  const ticks = action("ticks", async function* () {
    try {
      for (let n = 0;; n++) {
        yield n;
        await delay(1);
      }
    } finally {
      finallies++;
    }
  });
  await using served = await serve([slow, ticks, echo]);
  const conn = await rawPeer(served.port);
  await conn.write(wire.message([MessageType.REQUEST, 1, "slow", null]));
  await conn.write(
    wire.message([MessageType.REQUEST, 2, "ticks", null, { stream: 4 }]),
  );
  await delay(50);
  await conn.write(wire.message([MessageType.REQUEST, 1, "slow", null]));
  const { bytes, closed } = await readUntilClosed(conn, 2000);
  assert.ok(closed);
  assert.equal(goodbyeCode(bytes), "PROTOCOL");
  for (let i = 0; i < 100 && (aborted < started || finallies < 1); i++) {
    await delay(10);
  }
  assert.equal(started, 1, "the duplicate did not run");
  assert.equal(aborted, started, "every handler's signal aborted");
  assert.equal(finallies, 1, "the generator's finally ran");
  assert.equal(await served.client().runAction(echo, "alive"), "alive");
});

Deno.test("peer rules: fragmented messages may hold at most maxFrameSize in all", async () => {
  await using served = await serve([echo], { maxFrameSize: 1 << 20 });
  const conn = await rawPeer(served.port);
  // Two messages of 600 KiB each, one byte of each sent: 1.2 MiB set aside.
  for (const id of [1, 2]) {
    await conn.write(
      wire.message([MessageType.FRAGMENT, id, 600 << 10, new Uint8Array(1)]),
    );
  }
  const { bytes, closed } = await readUntilClosed(conn, 2000);
  assert.ok(closed);
  assert.equal(goodbyeCode(bytes), "PROTOCOL");
  assert.equal(await served.client().runAction(echo, "alive"), "alive");
});

Deno.test("peer rules: large answers to a peer with a small maxFrameSize wait their turn instead of breaking its budget", async () => {
  const blob = action("blob", (size: number) => new Uint8Array(size));
  await using served = await serve([blob]);
  const client = served.client({ maxFrameSize: 4 << 20 });
  // Three answers of 2.5 MiB at once: only one fits the client's 4 MiB.
  const sizes = await Promise.all(
    [0, 1, 2].map(() =>
      client.runAction(blob, 5 << 19).then((bytes) => bytes.length)
    ),
  );
  assert.deepStrictEqual(sizes, [5 << 19, 5 << 19, 5 << 19]);
});

Deno.test("peer rules: before authentication, frames are limited to 64 KiB", async () => {
  await using served = await serve([echo], { secret: "s3cret" });
  const conn = await rawPeer(served.port);
  const header = new Uint8Array([0x03, 0xc0, 0x00, 0x00]); // 60 MiB to come
  const started = performance.now();
  await conn.write(header);
  try {
    await conn.write(new Uint8Array(1 << 20));
  } catch {
    // Closed by the server already.
  }
  const { bytes, closed } = await readUntilClosed(conn, 2000);
  assert.ok(closed);
  assert.ok(
    performance.now() - started < 1500,
    "closed before the handshake timeout",
  );
  assert.equal(goodbyeCode(bytes), "FRAME_TOO_LARGE");
  const client = served.client({ secret: "s3cret" });
  // After authentication, large frames are fine.
  const large = "x".repeat(200_000);
  assert.equal(await client.runAction(echo, large), large);
});

/** A transport driven by hand: frames go in by `deliver`, what the session sends is kept. */
function handTransport() {
  let receiver: FrameReceiver | undefined;
  const sent: Uint8Array[] = [];
  let isClosed = false;
  const transport: Transport = {
    peer: { hostname: "hand", port: 1, transport: "tcp" },
    lastActivity: Date.now(),
    isCongested: false,
    start: (r) => receiver = r,
    send: (body) => void sent.push(concat([...body])),
    drain: () => Promise.resolve(),
    close() {
      if (isClosed) return;
      isClosed = true;
      queueMicrotask(() => receiver?.closed());
    },
    ref() {},
    unref() {},
  };
  return {
    transport,
    deliver: (body: Uint8Array) => receiver!.frame(body, false),
    /** The messages sent after the hello. */
    messages: () => sent.slice(1).map((body) => wire.codec.decode(body)),
  };
}

Deno.test("peer rules: a fragmented message that stops getting pieces is dropped after the reassembly timeout", async () => {
  const hand = handTransport();
  const session = new Session(hand.transport, {
    codec: wire.codec,
    role: "server",
    maxFrameSize: 1 << 20,
    handshakeTimeout: 1000,
    heartbeatInterval: 0,
    reassemblyTimeout: 100,
    actions: () => undefined,
  });
  hand.deliver(wire.codec.encodeHello({
    version: PROTOCOL_VERSION,
    maxFrameSize: 1 << 20,
    nonce: new Uint8Array(32),
    authRequired: false,
  }));
  hand.deliver(
    concat(
      wire.codec.encode(outgoing.fragment(1, 500_000, new Uint8Array(10))),
    ),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    session.closed.then(() => "closed"),
    new Promise((resolve) => timer = setTimeout(resolve, 2000, "held")),
  ]);
  clearTimeout(timer);
  if (outcome !== "closed") await session.close();
  assert.equal(outcome, "closed");
  const goodbye = hand.messages().find((m) => m.type === MessageType.GOODBYE);
  assert.ok(goodbye?.type === MessageType.GOODBYE);
  assert.equal(goodbye.error?.code, "PROTOCOL");
  assert.match(goodbye.error?.message ?? "", /no piece for 100 ms/);
});

Deno.test("peer rules: a client runs at most maxInFlight of its server's calls at once; more get OVERLOADED", async () => {
  await using served = await serve([echo]);
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let running = 0;
  const hold = action("hold", async (n: number) => {
    running++;
    await released;
    running--;
    return n;
  });
  const client = served.client({ maxInFlight: 3 }).addAction(hold);
  await client.connect();
  const [peer] = served.server.peers;
  const calls = Array.from(
    { length: 5 },
    (_, i) => peer.runAction(hold, i).then((n) => n, (e) => e),
  );
  const refused = await Promise.race([
    Promise.all(calls.slice(3)),
    delay(1000).then(() => ["the extra calls waited"]),
  ]);
  release(); // Before any assertion: no call may be left hanging.
  for (const error of refused) {
    assert.ok(
      error instanceof RemoteError && error.code === "OVERLOADED",
      String(error),
    );
  }
  assert.deepStrictEqual(await Promise.all(calls.slice(0, 3)), [0, 1, 2]);
});

Deno.test("peer rules: a client runs at most 1,000 of its server's calls at once by default", async () => {
  await using served = await serve([echo]);
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const hold = action("hold", () => released);
  const client = served.client().addAction(hold);
  await client.connect();
  const [peer] = served.server.peers;
  const calls = Array.from(
    { length: 1_010 },
    () => peer.runAction(hold).then(() => "ok", (e) => (e as RemoteError).code),
  );
  await delay(100);
  release();
  const outcomes = await Promise.all(calls);
  assert.equal(outcomes.filter((o) => o === "OVERLOADED").length, 10);
});
