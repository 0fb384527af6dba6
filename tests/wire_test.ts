/**
 * Peers that misbehave, played over raw sockets: garbage, huge lengths,
 * silence, wrong hellos, malformed messages. Each must cost its own
 * connection at most, and never another client's calls.
 */

import assert from "node:assert/strict";
import {
  action,
  Client,
  ClientError,
  defineExtension,
  RemoteError,
} from "../mod.ts";
import { FrameDecoderStream } from "../src/wire/framing.ts";
import type { Message } from "../src/protocol/message_table.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import {
  delay,
  randomBytes,
  readUntilClosed,
  seededRandom,
  serve,
  wire,
} from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);

/** Splits the bytes a server sent into frames; the first is its hello. */
async function framesOf(bytes: Uint8Array): Promise<Uint8Array[]> {
  return await Array.fromAsync(
    ReadableStream.from([bytes]).pipeThrough(new FrameDecoderStream()),
  );
}

/** Decodes the messages a server sent after its hello. */
async function messagesOf(bytes: Uint8Array): Promise<Message[]> {
  const [hello, ...frames] = await framesOf(bytes);
  wire.codec.decodeHello(hello);
  return frames.map((frame) => wire.codec.decode(frame));
}

async function rawConnect(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

Deno.test("wire: random garbage closes that connection within a second; other clients keep working", async () => {
  await using served = await serve([echo]);
  const client = served.client();
  assert.equal(await client.runAction(echo, "before"), "before");
  const random = seededRandom(42);
  for (let round = 0; round < 20; round++) {
    const conn = await rawConnect(served.port);
    await conn.write(randomBytes(random, 1 + Math.floor(random() * 2000)));
    const started = performance.now();
    const { closed } = await readUntilClosed(conn, 1000);
    assert.ok(
      closed,
      `round ${round}: the server kept a garbage connection open`,
    );
    assert.ok(performance.now() - started < 1000);
    assert.equal(await client.runAction(echo, round), round);
  }
});

Deno.test("wire: a 4 GiB length prefix closes that connection within a second, before or after the hello", async () => {
  await using served = await serve([echo]);
  const client = served.client();
  const cases: [number[], string][] = [[[], "PROTOCOL"], [
    [...wire.hello()],
    "FRAME_TOO_LARGE",
  ]];
  for (const [prefix, code] of cases) {
    const conn = await rawConnect(served.port);
    await conn.write(
      new Uint8Array([...prefix, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
    );
    const { bytes, closed } = await readUntilClosed(conn, 1000);
    assert.ok(closed);
    const [goodbye] = await messagesOf(bytes);
    assert.equal(goodbye.type, MessageType.GOODBYE);
    assert.ok(goodbye.type === MessageType.GOODBYE && goodbye.error);
    assert.equal(goodbye.error.code, code);
    assert.equal(await client.runAction(echo, "fine"), "fine");
  }
});

Deno.test("wire: a peer that connects and says nothing is closed after the handshake timeout", async () => {
  await using served = await serve([echo], { handshakeTimeout: 100 });
  const conn = await rawConnect(served.port);
  const started = performance.now();
  const { closed } = await readUntilClosed(conn, 2000);
  assert.ok(closed);
  assert.ok(performance.now() - started >= 90);
  for (let i = 0; i < 50 && served.server.connectionCount > 0; i++) {
    await delay(10);
  }
  assert.equal(served.server.connectionCount, 0);
});

Deno.test("wire: a wrong hello is answered with a PROTOCOL goodbye and closed", async () => {
  await using served = await serve([echo]);
  const wrongVersion = wire.hello();
  wrongVersion[4 + 5] = 99;
  const httpRequest = new TextEncoder().encode(
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  for (
    const hello of [
      wire.frame(new TextEncoder().encode("hello!")),
      wrongVersion,
      httpRequest,
    ]
  ) {
    const conn = await rawConnect(served.port);
    await conn.write(hello);
    const { bytes, closed } = await readUntilClosed(conn, 1000);
    assert.ok(closed);
    const [goodbye] = await messagesOf(bytes);
    assert.ok(goodbye.type === MessageType.GOODBYE && goodbye.error);
    assert.equal(goodbye.error.code, "PROTOCOL");
  }
});

Deno.test("wire: malformed messages close that connection with a PROTOCOL goodbye", async () => {
  await using served = await serve([echo]);
  const client = served.client();
  const malformed: unknown[][] = [
    [99, 1],
    [MessageType.REQUEST, "not an id", "echo", 1],
    [MessageType.REQUEST, 1, 42, 1],
    [MessageType.REQUEST, 1],
    [MessageType.RESULT, -5, 1],
    [MessageType.ERROR, 1, "not an error object"],
  ];
  const notAnArray = wire.frame(
    wire.codec.encodeRaw({ type: 0 } as unknown as unknown[])[0],
  );
  for (
    const frame of [
      ...malformed.map((items) => wire.message(items)),
      notAnArray,
    ]
  ) {
    const conn = await rawConnect(served.port);
    await conn.write(new Uint8Array([...wire.hello(), ...frame]));
    const { bytes, closed } = await readUntilClosed(conn, 1000);
    assert.ok(closed);
    const messages = await messagesOf(bytes);
    const last = messages.at(-1)!;
    assert.ok(
      last.type === MessageType.GOODBYE && last.error?.code === "PROTOCOL",
    );
    assert.equal(await client.runAction(echo, 1), 1);
  }
});

Deno.test("wire: requests answered in any order, by id; undecodable data fails only its request", async () => {
  const point = defineExtension({
    type: 50,
    class: Date,
    encode: (d) => d.getTime(),
    decode: (t) => new Date(t),
  });
  const slow = action("slow", async (ms: number) => {
    await delay(ms);
    return ms;
  });
  await using served = await serve([echo, slow]);
  const conn = await rawConnect(served.port);
  const withDates = new (await import("../src/protocol/message_codec.ts"))
    .MessageCodec([point]);
  const unknownExtension = withDates.encodeRaw([
    MessageType.REQUEST,
    3,
    "echo",
    new Date(0),
  ]);
  await conn.write(
    new Uint8Array([
      ...wire.hello(),
      ...wire.message([MessageType.REQUEST, 1, "slow", 60]),
      ...wire.message([MessageType.REQUEST, 2, "slow", 1]),
      ...wire.frame(
        new Uint8Array(unknownExtension.flatMap((part) => [...part])),
      ),
      ...wire.message([MessageType.REQUEST, 4, "echo", "after"]),
    ]),
  );
  await delay(200);
  conn.closeWrite();
  const { bytes } = await readUntilClosed(conn, 2000);
  const messages = await messagesOf(bytes);
  const byId = new Map(messages.map((m) => ["id" in m ? m.id : -1, m]));
  assert.deepStrictEqual(messages.map((m) => "id" in m && m.id), [3, 4, 2, 1]);
  const invalid = byId.get(3)!;
  assert.ok(
    invalid.type === MessageType.ERROR &&
      invalid.error.code === "INVALID_REQUEST",
  );
  assert.match(invalid.error.message, /extension type 50/);
  assert.deepStrictEqual(byId.get(4), {
    type: MessageType.RESULT,
    id: 4,
    value: "after",
  });
});

Deno.test("wire: after the server's goodbye, a request is answered CONNECTION_CLOSED and not run", async () => {
  let runs = 0;
  let release!: () => void;
  const hold = action(
    "hold",
    () => new Promise<void>((resolve) => release = resolve),
  );
  const count = action("count", () => ++runs);
  await using served = await serve([hold, count]);
  const conn = await rawConnect(served.port);
  await conn.write(
    new Uint8Array([
      ...wire.hello(),
      ...wire.message([MessageType.REQUEST, 1, "hold"]),
    ]),
  );
  while (release === undefined) await delay(5);
  const shutdown = served.server.shutdown();
  await delay(20);
  await conn.write(wire.message([MessageType.REQUEST, 2, "count"]));
  await delay(20);
  release();
  await shutdown;
  const { bytes } = await readUntilClosed(conn, 2000);
  const messages = await messagesOf(bytes);
  assert.deepStrictEqual(messages.map((m) => m.type), [
    MessageType.GOODBYE,
    MessageType.ERROR,
    MessageType.RESULT,
  ]);
  assert.ok(
    messages[1].type === MessageType.ERROR &&
      messages[1].error.code === "CONNECTION_CLOSED",
  );
  assert.equal(runs, 0);
});

/** A fake server: answers the hello with `reply`, then does what `then` says. */
function fakeServer(
  reply: Uint8Array,
  then?: (conn: Deno.Conn) => Promise<void>,
): { port: number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.write(reply);
      await then?.(conn);
      await readUntilClosed(conn, 3000);
    }
  })();
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving;
    },
  };
}

Deno.test("wire: a client that reaches something other than an isock server gets a PROTOCOL error", async () => {
  await using http = fakeServer(
    new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"),
  );
  await using client = new Client({ port: http.port });
  await assert.rejects(
    client.runAction(echo, 1),
    (e) =>
      e instanceof ClientError && e.code === "PROTOCOL" &&
      /isock/.test(e.message),
  );
});

Deno.test("wire: a client whose server never says hello gives up after its handshake timeout", async () => {
  await using silent = fakeServer(new Uint8Array(0));
  await using client = new Client({
    port: silent.port,
    handshakeTimeout: 100,
    retry: 1,
  });
  // A handshake that never completes is a failed connection attempt.
  await assert.rejects(
    client.runAction(echo, 1),
    (e) =>
      e instanceof ClientError && e.code === "CONNECT_FAILED" &&
      /No isock handshake/.test(e.message),
  );
});

Deno.test("wire: late, duplicate and unknown answers are dropped; the right answer still arrives", async () => {
  await using server = fakeServer(wire.hello(), async (conn) => {
    await delay(30);
    await conn.write(
      new Uint8Array([
        ...wire.message([MessageType.RESULT, 999, "nobody asked"]),
        ...wire.message([MessageType.RESULT, 1, "first"]),
        ...wire.message([MessageType.RESULT, 1, "duplicate"]),
      ]),
    );
  });
  await using client = new Client({ port: server.port });
  assert.equal(await client.runAction(echo, "x"), "first");
});

Deno.test("wire: a request larger than the server accepts fails alone, before it is sent", async () => {
  await using served = await serve([echo], { maxFrameSize: 64 * 1024 });
  const client = served.client();
  await client.runAction(echo, 1);
  await assert.rejects(
    client.runAction(echo, new Uint8Array(100 * 1024)),
    (e) => e instanceof ClientError && e.code === "FRAME_TOO_LARGE",
  );
  assert.equal(
    await client.runAction(echo, "still connected"),
    "still connected",
  );
  assert.equal(served.server.connectionCount, 1);
});

Deno.test("wire: a result larger than the client accepts is a FRAME_TOO_LARGE remote error", async () => {
  const big = action("big", () => new Uint8Array(100 * 1024));
  await using served = await serve([big, echo]);
  const client = served.client({ maxFrameSize: 64 * 1024 });
  await assert.rejects(
    client.runAction(big),
    (e) => e instanceof RemoteError && e.code === "FRAME_TOO_LARGE",
  );
  assert.equal(await client.runAction(echo, 2), 2);
});
