/**
 * The three transports against in-memory pairs, one contract for all: a
 * fake `Deno.Conn` pair for `connTransport`, a pair of node `Duplex`
 * streams for `socketTransport`, and two `TransformStream`s for
 * `streamTransport`. No socket is opened.
 */

import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { ProtocolError } from "../../src/base/errors.ts";
import { connTransport } from "../../src/wire/conn_transport.ts";
import { socketTransport } from "../../src/wire/socket_transport.ts";
import { streamTransport } from "../../src/wire/stream_transport.ts";
import type {
  FrameReceiver,
  Transport,
  TransportOptions,
} from "../../src/wire/transport.ts";

const OPTIONS: TransportOptions = {
  maxFrameSize: 1 << 20,
  maxFirstFrameSize: 1 << 20,
};

/** One end of an in-memory connection, as the test drives it by hand. */
interface RawEnd {
  write(bytes: Uint8Array): void;
  close(): void;
}

/** An in-memory pair for one kind of transport: a transport at one end, raw bytes at the other. */
interface Kind {
  readonly name: string;
  /** Two connected ends; `wrap` turns either into a transport. */
  pair(): [unknown, unknown];
  wrap(end: unknown, options: TransportOptions): Transport;
  raw(end: unknown): RawEnd;
}

/**
 * A fake `Deno.Conn`: what one end writes, the other reads, in reads of at
 * most `chunk` bytes so frames arrive split.
 */
class MemoryConn {
  readonly remoteAddr = { transport: "tcp", hostname: "127.0.0.1", port: 9 };
  peer!: MemoryConn;
  #inbox: Uint8Array[] = [];
  #isEnded = false;
  #isClosed = false;
  #waiting: PromiseWithResolvers<void> | undefined;

  constructor(readonly chunk: number) {}

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#inbox.length === 0) {
      if (this.#isEnded || this.#isClosed) return null;
      this.#waiting = Promise.withResolvers();
      await this.#waiting.promise;
    }
    const first = this.#inbox[0];
    const count = Math.min(into.length, first.length, this.chunk);
    into.set(first.subarray(0, count));
    if (count === first.length) this.#inbox.shift();
    else this.#inbox[0] = first.subarray(count);
    return count;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#isClosed) return Promise.reject(new Deno.errors.BadResource());
    this.peer.#deliver(bytes.slice());
    return Promise.resolve(bytes.length);
  }

  close(): void {
    if (this.#isClosed) throw new Deno.errors.BadResource();
    this.#isClosed = true;
    this.peer.#end();
    this.#wake();
  }

  ref(): void {}
  unref(): void {}

  #deliver(bytes: Uint8Array): void {
    this.#inbox.push(bytes);
    this.#wake();
  }

  #end(): void {
    this.#isEnded = true;
    this.#wake();
  }

  #wake(): void {
    this.#waiting?.resolve();
    this.#waiting = undefined;
  }
}

/** A pair of node Duplex streams standing for two connected sockets. */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  for (let i = 0; i < 2; i++) {
    const end: Duplex = new Duplex({
      read() {},
      write(chunk, _encoding, callback) {
        ends[1 - i].push(chunk);
        callback();
      },
      final(callback) {
        ends[1 - i].push(null);
        callback();
      },
      destroy(error, callback) {
        if (!ends[1 - i].readableEnded) ends[1 - i].push(null);
        callback(error);
      },
    });
    Object.assign(end, {
      remoteAddress: "127.0.0.1",
      remotePort: 9,
      ref() {},
      unref() {},
    });
    ends.push(end);
  }
  return [ends[0], ends[1]];
}

/** One writer per stream end: a stream has one writer at a time. */
const rawWriters = new WeakMap<
  object,
  WritableStreamDefaultWriter<Uint8Array>
>();

const KINDS: readonly Kind[] = [
  {
    name: "connTransport",
    pair() {
      const a = new MemoryConn(7000), b = new MemoryConn(7000);
      a.peer = b;
      b.peer = a;
      return [a, b];
    },
    wrap: (end, options) => connTransport(end as unknown as Deno.Conn, options),
    raw: (end) => ({
      write: (bytes) => void (end as MemoryConn).write(bytes),
      close: () => (end as MemoryConn).close(),
    }),
  },
  {
    name: "socketTransport",
    pair: duplexPair,
    wrap: (end, options) =>
      socketTransport(end as unknown as import("node:net").Socket, options),
    raw: (end) => ({
      write: (bytes) => void (end as Duplex).write(bytes),
      close: () => void (end as Duplex).destroy(),
    }),
  },
  {
    name: "streamTransport",
    pair() {
      const there = new TransformStream<Uint8Array, Uint8Array>();
      const back = new TransformStream<Uint8Array, Uint8Array>();
      return [
        { readable: back.readable, writable: there.writable },
        { readable: there.readable, writable: back.writable },
      ];
    },
    wrap(end, options) {
      const { readable, writable } = end as {
        readable: ReadableStream<Uint8Array>;
        writable: WritableStream<Uint8Array>;
      };
      return streamTransport(
        readable,
        writable,
        { hostname: "memory", port: 0, transport: "tcp" },
        options,
      );
    },
    raw(end) {
      const stream = end as {
        readable: ReadableStream<Uint8Array>;
        writable: WritableStream<Uint8Array>;
      };
      let writer = rawWriters.get(stream);
      if (writer === undefined) {
        writer = stream.writable.getWriter();
        rawWriters.set(stream, writer);
        // The raw end reads and drops what it is sent, as a live peer would
        // (a stream transport's drain() waits for a peer that reads).
        stream.readable.pipeTo(new WritableStream()).catch(() => {});
      }
      return {
        write: (bytes) => void writer.write(bytes).catch(() => {}),
        close: () => void writer.close().catch(() => {}),
      };
    },
  },
];

/** A receiver that keeps copies of the frames and resolves when reading ends. */
function recorder() {
  const frames: Uint8Array[] = [];
  const closed = Promise.withResolvers<unknown>();
  const receiver: FrameReceiver = {
    // A plain copy: node sockets hand out Buffers.
    frame: (body) => void frames.push(new Uint8Array(body)),
    closed: (error) => closed.resolve(error),
  };
  return { frames, closed: closed.promise, receiver };
}

function frameOf(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

const patterned = (length: number, seed: number) =>
  Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

for (const kind of KINDS) {
  Deno.test(`${kind.name}: frames of many parts and sizes arrive whole, in order, both ways`, async () => {
    const [a, b] = kind.pair();
    const left = kind.wrap(a, OPTIONS), right = kind.wrap(b, OPTIONS);
    const atLeft = recorder(), atRight = recorder();
    left.start(atLeft.receiver);
    right.start(atRight.receiver);
    const bodies = [
      [new Uint8Array(0)],
      [patterned(3, 1), patterned(5, 2)],
      [patterned(100_000, 3)],
      [patterned(20, 4), patterned(70_000, 5), patterned(1, 6)],
    ];
    for (const body of bodies) left.send(body);
    right.send([patterned(9, 7)]);
    await left.drain();
    await right.drain();
    while (atRight.frames.length < bodies.length || atLeft.frames.length < 1) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.deepEqual(
      atRight.frames,
      bodies.map((parts) => {
        const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const part of parts) {
          whole.set(part, at);
          at += part.length;
        }
        return whole;
      }),
    );
    assert.deepEqual(atLeft.frames, [patterned(9, 7)]);
    assert.ok(left.lastActivity > 0 && !left.isCongested);
    left.close();
    left.close(); // idempotent
    assert.equal(await atRight.closed, undefined);
    await atLeft.closed;
    right.close();
  });

  Deno.test(`${kind.name}: a peer that closes between frames ends reading without an error`, async () => {
    const [a, b] = kind.pair();
    const transport = kind.wrap(a, OPTIONS);
    const { frames, closed, receiver } = recorder();
    transport.start(receiver);
    const raw = kind.raw(b);
    raw.write(frameOf(patterned(10, 1)));
    raw.close();
    assert.equal(await closed, undefined);
    assert.deepEqual(frames, [patterned(10, 1)]);
    transport.send([new Uint8Array(1)]); // after the end: a no-op, never a throw
    await transport.drain();
    transport.close();
  });

  Deno.test(`${kind.name}: a peer that closes inside a frame ends reading with an error`, async () => {
    const [a, b] = kind.pair();
    const transport = kind.wrap(a, OPTIONS);
    const { closed, receiver } = recorder();
    transport.start(receiver);
    const raw = kind.raw(b);
    raw.write(frameOf(patterned(10, 1)).subarray(0, 8));
    raw.close();
    assert.ok((await closed) instanceof Error);
    transport.close();
  });

  Deno.test(`${kind.name}: a frame over the limit ends reading with FRAME_TOO_LARGE`, async () => {
    const [a, b] = kind.pair();
    const transport = kind.wrap(a, { maxFrameSize: 64, maxFirstFrameSize: 64 });
    const { frames, closed, receiver } = recorder();
    transport.start(receiver);
    kind.raw(b).write(frameOf(patterned(65, 1)));
    const error = await closed;
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.code, "FRAME_TOO_LARGE");
    assert.deepEqual(frames, []);
    transport.close();
    kind.raw(b).close();
  });
}

Deno.test("connTransport and socketTransport: limitFrames lowers the limit from the next frame on", async () => {
  for (const kind of KINDS.slice(0, 2)) {
    const [a, b] = kind.pair();
    const transport = kind.wrap(a, OPTIONS);
    const { frames, closed, receiver } = recorder();
    transport.start(receiver);
    const raw = kind.raw(b);
    // The first frame has a limit of its own, lifted once it is in.
    raw.write(frameOf(patterned(100, 0)));
    while (frames.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    transport.limitFrames!(16);
    raw.write(frameOf(patterned(16, 1)));
    raw.write(frameOf(patterned(17, 2)));
    const error = await closed;
    assert.ok(error instanceof ProtocolError, kind.name);
    assert.deepEqual(frames, [patterned(100, 0), patterned(16, 1)], kind.name);
    transport.close();
    raw.close();
  }
});
