/**
 * Streams in batches (PROTOCOL.md, "Batches"): between two isock peers
 * several items go in one message and credit counts bytes too, and still
 * the consumer sees the same stream: in order, one by one, a `break` that
 * stops the producer, an error after the items before it, a resume with no
 * gap, a slow reader that holds the producer by items and by bytes. A peer
 * that does not announce `batch` (an older one, the Python client) gets
 * single items and item credit, both ways.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, RemoteError, tracked } from "../mod.ts";
import type { Message } from "../src/protocol/message_table.ts";
import { MessageType, PROTOCOL_VERSION } from "../src/protocol/message_type.ts";
import {
  BATCH_WINDOW,
  BYTE_WINDOW,
  DEFAULT_WINDOW,
  INPUT_WINDOW,
} from "../src/protocol/stream.ts";
import { StreamReceiver } from "../src/protocol/stream_receiver.ts";
import { StreamSender } from "../src/protocol/stream_sender.ts";
import { ProtocolError } from "../src/base/errors.ts";
import { FrameDecoderStream } from "../src/wire/framing.ts";
import { delay, serve, tcpProxy, wire } from "./helpers.ts";

/** Counts from 1 to `to`, without waiting: every item is ready at once. */
const count = action("count", async function* (to: number) {
  for (let n = 1; n <= to; n++) yield n;
});

/** A raw peer's view of a connection: the messages it reads, with a deadline each. */
interface RawPeer extends AsyncDisposable {
  /** The other side's hello fields. */
  readonly batch: boolean;
  /** The next message, or `undefined` when none comes within `timeout` ms. */
  next(timeout?: number): Promise<Message | undefined>;
  /** Sends a message, written by hand. */
  send(items: readonly unknown[]): Promise<void>;
}

/** Plays a peer over `conn`: sends a hello, with `batch` or without. */
async function rawPeer(conn: Deno.Conn, batch: boolean): Promise<RawPeer> {
  await conn.write(wire.frame(wire.codec.encodeHello({
    version: PROTOCOL_VERSION,
    maxFrameSize: 64 * 1024 * 1024,
    nonce: new Uint8Array(32),
    authRequired: false,
    batch,
  })));
  const frames = conn.readable.pipeThrough(new FrameDecoderStream())
    .getReader();
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  const read = async (timeout: number) => {
    pending ??= frames.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      pending,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (result === undefined) return undefined;
    pending = undefined;
    return result.done ? undefined : result.value;
  };
  const hello = await read(2000);
  assert.ok(hello, "no hello");
  const theirs = wire.codec.decodeHello(hello);
  return {
    batch: theirs.batch === true,
    async next(timeout = 300) {
      const frame = await read(timeout);
      return frame && wire.codec.decode(frame);
    },
    async send(items) {
      await conn.write(wire.message(items));
    },
    async [Symbol.asyncDispose]() {
      // Cancelling the reader settles a read still pending, and closes the
      // connection's readable side.
      await frames.cancel().catch(() => undefined);
      await pending?.catch(() => undefined);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/** Reads messages until none comes for `timeout` ms. */
async function drain(peer: RawPeer, timeout = 200): Promise<Message[]> {
  const messages: Message[] = [];
  for (let message; (message = await peer.next(timeout));) {
    messages.push(message);
  }
  return messages;
}

Deno.test("batch: a stream of ready items goes in batches, and for await still sees each, in order", async () => {
  await using served = await serve([count]);
  // Watch the wire: the items must go several to a message.
  await using proxy = tcpProxy(served.port);
  const client = served.client({ port: proxy.port });
  const seen: number[] = [];
  for await (const n of client.stream(count, 5000)) seen.push(n);
  assert.deepStrictEqual(seen, Array.from({ length: 5000 }, (_, i) => i + 1));
  const frames = await Array.fromAsync(
    ReadableStream.from([proxy.bytes()]).pipeThrough(new FrameDecoderStream()),
  );
  // Client and server frames are interleaved in the recording; count the
  // stream's messages among those that decode as messages.
  let batches = 0;
  for (const frame of frames) {
    try {
      const message = wire.codec.decode(frame);
      if (message.type === MessageType.ITEMS) batches++;
    } catch {
      // A hello, or a frame cut by the interleaving.
    }
  }
  assert.ok(batches > 0, "no batch went");
  assert.ok(batches < 2500, `${batches} messages for 5,000 ready items`);
});

Deno.test("batch: an item the source does not have yet holds back none it has", async () => {
  // Each item is made only once the consumer has the one before: a sender
  // that waited to fill a batch would wait forever (the timeout says so).
  let received = () => {};
  const lockstep = action("lockstep", async function* () {
    for (let n = 1; n <= 20; n++) {
      const taken = new Promise<void>((resolve) => received = resolve);
      yield n;
      await taken;
    }
  });
  await using served = await serve([lockstep]);
  const seen: number[] = [];
  for await (
    const n of served.client().stream(lockstep, undefined, { timeout: 5000 })
  ) {
    seen.push(n);
    received();
  }
  assert.deepStrictEqual(seen, Array.from({ length: 20 }, (_, i) => i + 1));
});

Deno.test("batch: a break stops the producer at once: its finally runs, it ran at most a window ahead", async () => {
  let produced = 0;
  let finished: () => void;
  const hasFinished = new Promise<void>((resolve) => finished = resolve);
  const endless = action("endless", async function* () {
    try {
      for (;;) yield ++produced;
    } finally {
      finished();
    }
  });
  await using served = await serve([endless]);
  const client = served.client();
  let taken = 0;
  for await (const _ of client.stream(endless)) if (++taken === 10) break;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const inTime = await Promise.race([
    hasFinished.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 2000);
    }),
  ]);
  clearTimeout(timer);
  assert.ok(inTime, "the generator's finally did not run");
  assert.ok(
    produced <= BATCH_WINDOW + 10 + 1,
    `the producer made ${produced} items for a consumer that took 10`,
  );
});

Deno.test("batch: an error arrives after every item yielded before it, also from within a batch", async () => {
  const failing = action("failing", async function* (to: number) {
    for (let n = 1; n <= to; n++) yield n;
    throw new Error(`failed after ${to}`);
  });
  await using served = await serve([failing]);
  const client = served.client();
  for (const to of [1, 7, 500, 3000]) {
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const n of client.stream(failing, to)) seen.push(n);
      })(),
      (error) =>
        error instanceof RemoteError && error.code === "ACTION_FAILED" &&
        error.message.includes(`failed after ${to}`),
    );
    assert.deepStrictEqual(seen, Array.from({ length: to }, (_, i) => i + 1));
  }
});

Deno.test("batch: an item that cannot be sent fails the stream after the items before it, even within a batch", async () => {
  const partly = action("partly", async function* (to: number) {
    for (let n = 1; n <= to; n++) yield n;
    yield () => "a function is not data";
  });
  await using served = await serve([partly]);
  const client = served.client();
  for (const to of [0, 3, 2000]) {
    const seen: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const n of client.stream(partly, to)) seen.push(n);
      })(),
      (error) => error instanceof RemoteError && error.code === "ACTION_FAILED",
    );
    assert.deepStrictEqual(seen, Array.from({ length: to }, (_, i) => i + 1));
  }
});

Deno.test("batch: a batch of tracked items carries the last id: a resumed stream has no gap and no duplicate", async () => {
  const ticks = action("ticks", async function* (to: number, context) {
    for (let n = Number(context.lastEventId ?? 0) + 1; n <= to; n++) {
      yield tracked(n, `tick ${n}`);
    }
  });
  await using served = await serve([ticks]);
  await using proxy = tcpProxy(served.port);
  const client = served.client({ port: proxy.port, retryDelay: 10 });
  const seen: string[] = [];
  for await (const tick of client.stream(ticks, 6000)) {
    seen.push(tick);
    if (seen.length === 1500 || seen.length === 4000) {
      proxy.cut();
      await delay(5); // Let the batches already sent arrive, or not.
    }
  }
  assert.equal(seen.length, 6000);
  assert.deepStrictEqual(
    seen,
    Array.from({ length: 6000 }, (_, i) => `tick ${i + 1}`),
  );
  assert.equal(proxy.accepted, 3); // Two drops, two resumes.
});

Deno.test("batch: the sender tags a batch with its last tracked item's id", async () => {
  const sent: [unknown[], unknown][] = [];
  async function* source() {
    yield tracked("a", 1);
    yield tracked("b", 2);
    yield 3;
    yield tracked("c", 4);
    yield 5;
  }
  await new StreamSender(
    source(),
    {
      item: () => assert.fail("a batching port sends no single items"),
      items: (values, eventId) => (sent.push([[...values], eventId]), 10),
      end() {},
      fail: (error) => assert.fail(String(error)),
    },
    16,
    1000,
  ).run();
  assert.deepStrictEqual(sent, [[[1], "a"], [[2, 3, 4, 5], "c"]]);
});

Deno.test("batch: a receiver refuses a batch beyond its item credit, or a message once its byte window is full", () => {
  const port = { grant() {}, stop() {} };
  const items = new StreamReceiver<number>(4, port, 100);
  assert.throws(
    () => items.pushAll([1, 2, 3, 4, 5], 10),
    (error) => error instanceof ProtocolError && error.code === "PROTOCOL",
  );
  const bytes = new StreamReceiver<number>(1024, port, 100);
  bytes.pushAll([1, 2], 60);
  // 60 of 100 bytes: one more message may start, larger than what is left.
  bytes.push(3, 500);
  assert.equal(bytes.bufferedBytes, 560);
  assert.throws(
    () => bytes.push(4, 1),
    (error) => error instanceof ProtocolError && error.code === "PROTOCOL",
  );
});

Deno.test("batch: a slow reader holds the producer by items (small items) and by bytes (large ones)", async () => {
  let produced = 0;
  const items = action(
    "items",
    async function* (request: { count: number; size: number }) {
      for (produced = 0; produced < request.count;) {
        produced++;
        yield new Uint8Array(request.size);
      }
    },
  );
  await using served = await serve([items]);
  const client = served.client();
  const cases = [
    // Small items: the item window (BATCH_WINDOW) holds first.
    { count: 4 * BATCH_WINDOW, size: 8, bound: BATCH_WINDOW + 1 },
    // 64 KiB items: the byte window holds, 16 of them.
    {
      count: 64,
      size: 64 * 1024,
      bound: Math.ceil(BYTE_WINDOW / (64 * 1024)) + 2,
    },
  ];
  for (const { count, size, bound } of cases) {
    let consumed = 0;
    let worst = 0;
    for await (const item of client.stream(items, { count, size })) {
      assert.equal(item.length, size);
      consumed++;
      worst = Math.max(worst, produced - consumed);
      if (consumed % (size > 1024 ? 4 : 512) === 0) await delay(5);
    }
    assert.equal(consumed, count);
    assert.ok(
      worst <= bound,
      `${size}-byte items: the producer ran ${worst} ahead (at most ${bound})`,
    );
  }
});

Deno.test("batch: an input stream of ready items goes in batches and is held by the byte window", async () => {
  let produced = 0;
  let worst = 0;
  const total = action("total", async (chunks: AsyncIterable<Uint8Array>) => {
    let consumed = 0;
    let bytes = 0;
    for await (const chunk of chunks) {
      consumed++;
      bytes += chunk.length;
      worst = Math.max(worst, produced - consumed);
      if (consumed % 4 === 0) await delay(2);
    }
    return bytes;
  });
  await using served = await serve([total]);
  async function* source() {
    for (produced = 1; produced <= 64; produced++) {
      yield new Uint8Array(64 * 1024);
    }
  }
  assert.equal(
    await served.client().runAction(total, source()),
    64 * 64 * 1024,
  );
  const bound = Math.ceil(BYTE_WINDOW / (64 * 1024)) + 2;
  assert.ok(worst <= bound, `the source ran ${worst} ahead (at most ${bound})`);
});

Deno.test("batch: a peer that does not announce batch gets single items and item credit from the server", async () => {
  await using served = await serve([count]);
  await using peer = await rawPeer(
    await Deno.connect({ hostname: "127.0.0.1", port: served.port }),
    false,
  );
  assert.equal(peer.batch, true, "the server announces batch");
  await peer.send([MessageType.REQUEST, 1, "count", 20, { stream: 4 }]);
  const first = await drain(peer);
  assert.deepStrictEqual(
    first.map((message) => [message.type, "item" in message && message.item]),
    [1, 2, 3, 4].map((n) => [MessageType.ITEM, n]),
    "4 single items, then nothing until credit",
  );
  await peer.send([MessageType.CREDIT, 1, 4]);
  const second = await drain(peer);
  assert.deepStrictEqual(
    second.map((message) => [message.type, "item" in message && message.item]),
    [5, 6, 7, 8].map((n) => [MessageType.ITEM, n]),
  );
});

Deno.test("batch: a peer that announces batch gets batches held by its byte window", async () => {
  const big = action("big", async function* () {
    for (let n = 0; n < 100; n++) yield new Uint8Array(1000);
  });
  await using served = await serve([big]);
  await using peer = await rawPeer(
    await Deno.connect({ hostname: "127.0.0.1", port: served.port }),
    true,
  );
  await peer.send([
    MessageType.REQUEST,
    1,
    "big",
    null,
    { stream: 1000, streamBytes: 8000 },
  ]);
  const first = await drain(peer);
  assert.ok(first.some((message) => message.type === MessageType.ITEMS));
  const itemCount = (messages: Message[]) =>
    messages.reduce(
      (sum, message) =>
        sum + (message.type === MessageType.ITEMS
          ? (message.items as unknown[]).length
          : message.type === MessageType.ITEM
          ? 1
          : 0),
      0,
    );
  const before = itemCount(first);
  // 8,000 bytes of credit: a few items of 1 KB, then it waits.
  assert.ok(before >= 1 && before <= 16, `${before} items before any credit`);
  await peer.send([MessageType.CREDIT, 1, before, 8000 - 1]);
  const after = itemCount(await drain(peer));
  assert.ok(after >= 1 && after <= 16, `${after} items after one credit`);
  // Bytes given back beyond the window: a breach.
  await peer.send([MessageType.CREDIT, 1, 1, 16_000]);
  const rest = await drain(peer);
  const goodbye = rest.find((message) => message.type === MessageType.GOODBYE);
  assert.ok(goodbye && goodbye.type === MessageType.GOODBYE);
  assert.equal(goodbye.error?.code, "PROTOCOL");
});

Deno.test("batch: against a server that does not announce batch, the client asks for item credit and sends single inputs", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = new Client({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  const sum = action("sum", (_: AsyncIterable<number>) => 0);
  async function* source() {
    for (let n = 1; n <= 100; n++) yield n;
  }
  try {
    const accepted = listener.accept();
    const calling = client.runAction(sum, source());
    const streaming = (async () => {
      const seen: number[] = [];
      for await (const n of client.stream(count, 3)) seen.push(n);
      return seen;
    })();
    await using peer = await rawPeer(await accepted, false);
    const request = await peer.next(2000);
    assert.ok(request?.type === MessageType.REQUEST && request.input);
    const inputs = await drain(peer);
    const second = inputs.find((message) =>
      message.type === MessageType.REQUEST
    );
    assert.ok(second?.type === MessageType.REQUEST);
    assert.equal(second.stream, DEFAULT_WINDOW);
    assert.equal(second.streamBytes, undefined);
    const items = inputs.filter((message) =>
      message.type !== MessageType.REQUEST
    );
    assert.deepStrictEqual(
      items.map((message) => [message.type, "item" in message && message.item]),
      Array.from(
        { length: INPUT_WINDOW },
        (_, i) => [MessageType.INPUT, i + 1],
      ),
      "single inputs, a window of 16, nothing more until credit",
    );
    await peer.send([MessageType.INPUT_STOP, request.id]);
    await peer.send([MessageType.RESULT, request.id, 136]);
    for (const n of [1, 2, 3]) {
      await peer.send([MessageType.ITEM, second.id, n]);
    }
    await peer.send([MessageType.END, second.id]);
    assert.equal(await calling, 136);
    assert.deepStrictEqual(await streaming, [1, 2, 3]);
  } finally {
    await client.close();
    listener.close();
  }
});
