/**
 * Streams: results and inputs as async iterables over the wire, with flow
 * control, early ends on both sides, errors mid-stream, fairness with plain
 * calls, and streams that survive a reconnect.
 */

import assert from "node:assert/strict";
import { action, ClientError, RemoteError, tracked } from "../mod.ts";
import { BATCH_WINDOW } from "../src/protocol/stream.ts";
import { delay, serve, tcpProxy } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);

/** An endless counter that records how far it got and whether its finally ran. */
function endlessCounter() {
  const state = { produced: 0, finished: false };
  const counter = action("counter", async function* () {
    try {
      for (;;) yield ++state.produced;
    } finally {
      state.finished = true;
    }
  });
  return { counter, state };
}

async function until(condition: () => boolean, timeout = 2000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeout) {
      throw new Error("timed out waiting");
    }
    await delay(2);
  }
}

Deno.test("stream: items arrive in order, typed from the action", async () => {
  const range = action("range", async function* (to: number) {
    for (let n = 1; n <= to; n++) yield n;
  });
  await using served = await serve([range]);
  const items: number[] = [];
  for await (const n of served.client().stream(range, 20_000)) items.push(n);
  assert.deepStrictEqual(
    items,
    Array.from({ length: 20_000 }, (_, i) => i + 1),
  );
});

Deno.test("stream: a slow consumer of a 1,000,000-item producer never has more than the window in flight", async () => {
  const { counter, state } = endlessCounter();
  const million = action("million", async function* () {
    for (let n = 1; n <= 1_000_000; n++) {
      state.produced = n;
      yield n;
    }
  });
  await using served = await serve([counter, million]);
  const window = 8;
  let consumed = 0;
  let worst = 0;
  for await (
    const n of served.client().stream(million, undefined, { window })
  ) {
    consumed++;
    assert.equal(n, consumed);
    await delay(1); // A slow reader.
    worst = Math.max(worst, state.produced - consumed);
    if (consumed === 300) break;
  }
  // In flight: what the client holds plus what is on the wire, bounded by the window
  // (plus the one item the generator is producing when the credit runs out).
  assert.ok(worst <= window + 1, `the producer ran ${worst} items ahead`);
  assert.ok(state.produced < 400, `${state.produced} produced for 300 read`);
});

Deno.test("stream: breaking out of the loop ends the generator on the server (its finally runs)", async () => {
  const { counter, state } = endlessCounter();
  await using served = await serve([counter]);
  for await (const n of served.client().stream(counter)) if (n === 5) break;
  await until(() => state.finished);
  const produced = state.produced;
  await delay(50);
  assert.equal(
    state.produced,
    produced,
    "the generator went on after the break",
  );
});

Deno.test("stream: aborting the signal ends the loop with ABORTED and the generator on the server", async () => {
  const { counter, state } = endlessCounter();
  await using served = await serve([counter]);
  const controller = new AbortController();
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (
        const n of served.client().stream(counter, undefined, {
          signal: controller.signal,
        })
      ) {
        seen.push(n);
        if (n === 3) controller.abort(new Error("enough"));
      }
    })(),
    (e) => e instanceof ClientError && e.code === "ABORTED",
  );
  assert.deepStrictEqual(seen.slice(0, 3), [1, 2, 3]);
  await until(() => state.finished);
});

Deno.test("stream: an error thrown mid-stream arrives after the items sent before it", async () => {
  const flaky = action("flaky", async function* () {
    yield "a";
    yield "b";
    throw new RangeError("sensor unplugged");
  });
  await using served = await serve([flaky]);
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const item of served.client().stream(flaky)) seen.push(item);
    })(),
    (e) =>
      e instanceof RemoteError && e.code === "ACTION_FAILED" &&
      e.remoteName === "RangeError" && e.message === "sensor unplugged",
  );
  assert.deepStrictEqual(seen, ["a", "b"]);
});

Deno.test("stream: runAction on a streaming action is STREAM_REQUIRED, and the generator is closed", async () => {
  const { counter, state } = endlessCounter();
  await using served = await serve([counter]);
  await assert.rejects(
    served.client().runAction(counter),
    (e) =>
      e instanceof RemoteError && e.code === "STREAM_REQUIRED" &&
      /stream\(\)/.test(e.message),
  );
  assert.equal(state.produced, 0);
});

Deno.test("stream: a plain action streamed gives one item; a ReadableStream result streams too", async () => {
  const readable = action("readable", () => ReadableStream.from(["x", "y"]));
  await using served = await serve([echo, readable]);
  const client = served.client();
  assert.deepStrictEqual(await Array.fromAsync(client.stream(echo, "only")), [
    "only",
  ]);
  assert.deepStrictEqual(await Array.fromAsync(client.stream(readable)), [
    "x",
    "y",
  ]);
});

Deno.test("stream: many streams and plain calls share one connection; a fast stream starves nothing", async () => {
  const { counter } = endlessCounter();
  await using served = await serve([counter, echo]);
  const client = served.client();
  let streamed = 0;
  const controller = new AbortController();
  const background = (async () => {
    for await (
      const _ of client.stream(counter, undefined, {
        signal: controller.signal,
      })
    ) streamed++;
  })().catch(() => {});
  const others = Array.from({ length: 5 }, () =>
    (async () => {
      let count = 0;
      for await (const _ of client.stream(counter)) if (++count === 200) break;
      return count;
    })());
  await until(() => streamed > 100);
  const before = streamed;
  for (let i = 0; i < 100; i++) {
    assert.equal(await client.runAction(echo, i), i);
  }
  assert.deepStrictEqual(await Promise.all(others), [200, 200, 200, 200, 200]);
  assert.ok(streamed > before, "the fast stream kept going meanwhile");
  controller.abort();
  await background;
  assert.equal(served.server.connectionCount, 1);
});

Deno.test("stream: a tracked stream resumes after the connection drops, with no gap and no duplicate", async () => {
  const ticks = action("ticks", async function* (to: number, context) {
    const start = Number(context.lastEventId ?? 0) + 1;
    for (let n = start; n <= to; n++) {
      await delay(1);
      yield tracked(n, `tick ${n}`);
    }
  });
  await using served = await serve([ticks]);
  await using proxy = tcpProxy(served.port);
  const client = served.client({ port: proxy.port, retryDelay: 10 });
  const seen: string[] = [];
  for await (const tick of client.stream(ticks, 120)) {
    seen.push(tick);
    if (seen.length === 40 || seen.length === 80) proxy.cut();
  }
  assert.deepStrictEqual(
    seen,
    Array.from({ length: 120 }, (_, i) => `tick ${i + 1}`),
  );
});

Deno.test("stream: an untracked stream ends with CONNECTION_CLOSED when the connection drops", async () => {
  const { counter } = endlessCounter();
  await using served = await serve([counter]);
  await using proxy = tcpProxy(served.port);
  const client = served.client({ port: proxy.port });
  await assert.rejects(
    (async () => {
      for await (const n of client.stream(counter)) if (n === 10) proxy.cut();
    })(),
    (e) => e instanceof ClientError && e.code === "CONNECTION_CLOSED",
  );
});

Deno.test("input: a stream of data reaches the handler as an async iterable, with flow control", async () => {
  let produced = 0;
  let worst = 0;
  const sum = action("sum", async (numbers: AsyncIterable<number>) => {
    let total = 0;
    let consumed = 0;
    for await (const n of numbers) {
      total += n;
      consumed++;
      worst = Math.max(worst, produced - consumed);
      if (consumed % 100 === 0) await delay(2); // A slow reader.
    }
    return total;
  });
  await using served = await serve([sum]);
  const count = 3 * BATCH_WINDOW;
  async function* source() {
    for (let n = 1; n <= count; n++) {
      produced = n;
      yield n;
    }
  }
  assert.equal(
    await served.client().runAction(sum, source()),
    count * (count + 1) / 2,
  );
  // Between two isock peers the input window is BATCH_WINDOW items (and
  // bytes); stream_batch_test.ts holds an older peer to INPUT_WINDOW.
  assert.ok(worst <= BATCH_WINDOW + 1, `the source ran ${worst} items ahead`);
});

Deno.test("input: a ReadableStream works as input; a handler that stops early stops the source", async () => {
  let sourceFinished = false;
  const firstTwo = action("firstTwo", async (items: AsyncIterable<string>) => {
    const taken: string[] = [];
    for await (const item of items) {
      taken.push(item);
      if (taken.length === 2) break;
    }
    return taken;
  });
  await using served = await serve([firstTwo]);
  const client = served.client();
  assert.deepStrictEqual(
    await client.runAction(firstTwo, ReadableStream.from(["a", "b", "c"])),
    ["a", "b"],
  );
  async function* endless() {
    try {
      for (let n = 0;; n++) yield `item ${n}`;
    } finally {
      sourceFinished = true;
    }
  }
  assert.deepStrictEqual(await client.runAction(firstTwo, endless()), [
    "item 0",
    "item 1",
  ]);
  await until(() => sourceFinished);
});

Deno.test("input: an upload of 256 MiB in 1 MiB chunks is hashed on the server; memory stays well below it", async () => {
  const chunkSize = 1024 * 1024;
  const chunks = 256;
  const chunk = (n: number) => new Uint8Array(chunkSize).fill(n % 251);
  /** SHA-256 chained over the chunks: WebCrypto hashes whole buffers only. */
  async function chain(
    previous: Uint8Array,
    data: Uint8Array,
  ): Promise<Uint8Array> {
    const joined = new Uint8Array(previous.length + data.length);
    joined.set(previous);
    joined.set(data, previous.length);
    return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  }
  let peakRss = 0;
  const hash = action("hash", async (parts: AsyncIterable<Uint8Array>) => {
    let digest: Uint8Array = new Uint8Array(32);
    let bytes = 0;
    for await (const part of parts) {
      digest = await chain(digest, part);
      bytes += part.length;
      peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
    }
    return { digest, bytes };
  });
  await using served = await serve([hash]);
  const startRss = Deno.memoryUsage().rss;
  async function* upload() {
    for (let n = 0; n < chunks; n++) yield chunk(n);
  }
  const result = await served.client().runAction(hash, upload(), {
    timeout: 60_000,
  });
  let expected: Uint8Array = new Uint8Array(32);
  for (let n = 0; n < chunks; n++) expected = await chain(expected, chunk(n));
  assert.equal(result.bytes, chunks * chunkSize);
  assert.deepStrictEqual(result.digest, expected);
  // Both ends live in this process, so 512 MiB of buffers pass through it;
  // flow control keeps about 32 MiB of them alive at once, and the rest is
  // garbage waiting for the collector. Without flow control the generator
  // would run ahead and all 256 MiB would be alive at once, on top of that.
  const grown = (peakRss - startRss) / 1024 / 1024;
  assert.ok(
    grown < 192,
    `memory grew by ${grown.toFixed(0)} MiB for a 256 MiB upload`,
  );
});

Deno.test("stream: a large item goes in pieces, so a small call is answered before it has arrived", async () => {
  const big = action("big", async function* () {
    yield new Uint8Array(32 * 1024 * 1024).fill(7);
    yield "after";
  });
  await using served = await serve([big, echo], {
    maxFrameSize: 64 * 1024 * 1024,
  });
  const client = served.client();
  const events: string[] = [];
  const streaming = (async () => {
    for await (const item of client.stream(big)) {
      events.push(
        item instanceof Uint8Array
          ? `big ${item.length} ${item[12345]}`
          : String(item),
      );
    }
  })();
  await delay(5); // The 32 MiB item is on its way.
  events.push(`echo ${await client.runAction(echo, "quick")}`);
  await streaming;
  assert.deepStrictEqual(events, [
    "echo quick",
    `big ${32 * 1024 * 1024} 7`,
    "after",
  ]);
});
