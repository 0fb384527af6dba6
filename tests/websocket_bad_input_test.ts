/**
 * A hostile peer over WebSocket: text messages, random bytes, frames over
 * the limit or claiming a huge length, decode bombs, credit abuse, a
 * reused request id, unfinished fragments, upgrades that never complete
 * and idle WebSockets past maxConnections. Each ends that connection with
 * a close code that says why (or a goodbye carrying the error), within
 * seconds; a good client on the same server does not notice.
 */

import assert from "node:assert/strict";
import { action, type Client } from "../mod.ts";
import { concat } from "../src/base/bytes.ts";
import { FrameDecoder } from "../src/wire/framing.ts";
import { type Message, outgoing } from "../src/protocol/message_table.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import { delay, randomBytes, seededRandom, wire } from "./helpers.ts";
import { serveWebSocket, type WebSocketServed } from "./websocket_helpers.ts";

const echo = action("echo", (data: unknown) => data);

/** Close codes that say why (RFC 6455 §7.4.1, and the private range). */
function isTellingCode(code: number): boolean {
  return [1002, 1003, 1007, 1008, 1009, 1011].includes(code) ||
    (code >= 4000 && code <= 4999);
}

/** A WebSocket driven by hand: what it received, and how it closed. */
interface RawSocket extends AsyncDisposable {
  send(bytes: Uint8Array | string): void;
  /** Resolves with the close code, or `undefined` if still open after `timeout` ms. */
  closedWithin(timeout: number): Promise<number | undefined>;
  /** The isock messages received after the server's hello. */
  messages(): Message[];
}

async function rawSocket(url: string, hello = true): Promise<RawSocket> {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const received: Uint8Array[] = [];
  socket.onmessage = (event) => received.push(new Uint8Array(event.data));
  const closed = new Promise<number>((resolve) => {
    socket.onclose = (event) => resolve(event.code);
  });
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  if (hello) socket.send(wire.hello());
  return {
    send: (bytes) => socket.send(bytes),
    async closedWithin(timeout) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const code = await Promise.race([
        closed,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), timeout);
        }),
      ]);
      clearTimeout(timer);
      return code;
    },
    messages() {
      const frames: Uint8Array[] = [];
      new FrameDecoder().push(
        concat(received),
        (body) => frames.push(body.slice()),
      );
      return frames.slice(1).map((frame) => wire.codec.decode(frame));
    },
    async [Symbol.asyncDispose]() {
      if (socket.readyState !== WebSocket.CLOSED) {
        socket.close();
        await closed;
      }
    },
  };
}

function goodbyeCode(socket: RawSocket): string | undefined {
  for (const message of socket.messages()) {
    if (message.type === MessageType.GOODBYE) return message.error?.code;
  }
  return undefined;
}

/** A good client, connected before the attack, and still served after it. */
async function goodClient(served: WebSocketServed): Promise<Client> {
  const client = served.client();
  assert.equal(await client.runAction(echo, "before"), "before");
  return client;
}

/** Sends `bytes` after a hello; asserts the server closes with `expected` within 5 s and the good client goes on. */
async function assertRefused(
  send: (socket: RawSocket) => void | Promise<void>,
  expected: number,
  goodbye?: string,
  options: Parameters<typeof serveWebSocket>[1] = {},
): Promise<void> {
  await using served = await serveWebSocket([echo, slow, endless], {
    handshakeTimeout: 1_000,
    ...options,
  });
  const client = await goodClient(served);
  await using socket = await rawSocket(served.url);
  await send(socket);
  const code = await socket.closedWithin(5_000);
  assert.ok(code !== undefined, "the server kept the WebSocket open");
  assert.ok(isTellingCode(code), `closed with ${code}`);
  assert.equal(code, expected);
  if (goodbye !== undefined) assert.equal(goodbyeCode(socket), goodbye);
  assert.equal(await client.runAction(echo, "after"), "after");
}

const slow = action(
  "slow",
  (_: unknown, { signal }) =>
    new Promise((resolve) =>
      signal.addEventListener("abort", () => resolve(null), { once: true })
    ),
);
const endless = action("endless", async function* () {
  for (let n = 0;; n++) yield n;
});

Deno.test("websocket bad input: a text message is refused with 1003", async () => {
  await assertRefused((socket) => socket.send("hello?"), 1003);
});

Deno.test("websocket bad input: random binary bytes close the connection with a code that says why", async () => {
  const random = seededRandom(19);
  for (let round = 0; round < 5; round++) {
    await using served = await serveWebSocket([echo], {
      handshakeTimeout: 1_000,
    });
    const client = await goodClient(served);
    await using socket = await rawSocket(served.url, round % 2 === 0);
    socket.send(randomBytes(random, 64 + round * 300));
    const code = await socket.closedWithin(5_000);
    assert.ok(code !== undefined && isTellingCode(code), `closed with ${code}`);
    assert.equal(await client.runAction(echo, "after"), "after");
  }
});

Deno.test("websocket bad input: a frame over maxFrameSize is refused with 1009 and FRAME_TOO_LARGE", async () => {
  await assertRefused(
    (socket) =>
      socket.send(
        wire.message([MessageType.REQUEST, 1, "echo", new Uint8Array(100_000)]),
      ),
    1009,
    "FRAME_TOO_LARGE",
    { maxFrameSize: 64 * 1024 },
  );
});

Deno.test("websocket bad input: a message claiming a huge length is refused at once with 1009", async () => {
  await assertRefused(
    (socket) => socket.send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2])),
    1009,
    "FRAME_TOO_LARGE",
  );
});

Deno.test("websocket bad input: a decode bomb (an array claiming 4 billion items) fails its call with INVALID_REQUEST, nothing else", async () => {
  await using served = await serveWebSocket([echo]);
  const client = await goodClient(served);
  await using socket = await rawSocket(served.url);
  const head = concat(wire.codec.encodeRaw([MessageType.REQUEST, 1, "echo"]));
  const bomb = concat([
    new Uint8Array([0x94]),
    head.subarray(1),
    new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]),
  ]);
  socket.send(wire.frame(bomb));
  socket.send(wire.message([MessageType.REQUEST, 2, "echo", "still here"]));
  const answers = async () => {
    for (let i = 0; i < 300; i++) {
      const messages = socket.messages();
      if (messages.length >= 2) return messages;
      await delay(10);
    }
    return socket.messages();
  };
  const [first, second] = await answers();
  assert.equal((first as { id: number }).id, 1);
  assert.equal(
    (first as { error?: { code: string } }).error?.code,
    "INVALID_REQUEST",
  );
  assert.equal((second as { id: number }).id, 2);
  assert.equal((second as { value?: unknown }).value, "still here");
  assert.equal(await client.runAction(echo, "after"), "after");
});

Deno.test("websocket bad input: credit past a stream's window is a breach (1002, PROTOCOL)", async () => {
  await assertRefused(
    async (socket) => {
      socket.send(
        wire.message([MessageType.REQUEST, 1, "endless", null, { stream: 4 }]),
      );
      await delay(50);
      socket.send(wire.message([MessageType.CREDIT, 1, 4]));
      socket.send(wire.message([MessageType.CREDIT, 1, 5]));
    },
    1002,
    "PROTOCOL",
  );
});

Deno.test("websocket bad input: a request id already in flight is a breach (1002, PROTOCOL)", async () => {
  await assertRefused(
    async (socket) => {
      socket.send(wire.message([MessageType.REQUEST, 1, "slow", null]));
      await delay(50);
      socket.send(wire.message([MessageType.REQUEST, 1, "slow", null]));
    },
    1002,
    "PROTOCOL",
  );
});

Deno.test("websocket bad input: unfinished fragments holding more than maxFrameSize are a breach (1002, PROTOCOL)", async () => {
  await assertRefused(
    (socket) => {
      for (const id of [1, 2]) {
        socket.send(
          wire.message([
            MessageType.FRAGMENT,
            id,
            600 << 10,
            new Uint8Array(1),
          ]),
        );
      }
    },
    1002,
    "PROTOCOL",
    { maxFrameSize: 1 << 20 },
  );
});

Deno.test("websocket bad input: a fragment inside a fragmented message is a breach (1002, PROTOCOL)", async () => {
  const inner = concat(
    wire.codec.encode(outgoing.fragment(1, 32 << 20, new Uint8Array(8))),
  );
  await assertRefused(
    (socket) =>
      socket.send(wire.message([MessageType.FRAGMENT, 1, inner.length, inner])),
    1002,
    "PROTOCOL",
  );
});

Deno.test("websocket bad input: a WebSocket that never says hello is closed at the handshake timeout, with a code that says why", async () => {
  await using served = await serveWebSocket([echo], { handshakeTimeout: 300 });
  const client = await goodClient(served);
  await using socket = await rawSocket(served.url, false);
  const code = await socket.closedWithin(5_000);
  assert.ok(code !== undefined && isTellingCode(code), `closed with ${code}`);
  assert.equal(await client.runAction(echo, "after"), "after");
});

Deno.test("websocket bad input: an HTTP upgrade that never completes (slowloris) does not slow a good client", async () => {
  await using served = await serveWebSocket([echo]);
  const client = await goodClient(served);
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: served.port,
      });
      conns.push(conn);
      await conn.write(
        new TextEncoder().encode(
          "GET /isock HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
        ),
      );
    }
    let slowest = 0;
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      assert.equal(await client.runAction(echo, i), i);
      slowest = Math.max(slowest, performance.now() - started);
      await delay(5);
    }
    assert.ok(slowest < 1_000, `a call took ${slowest.toFixed(0)} ms`);
    // A new client connects too.
    const other = served.client();
    assert.equal(await other.runAction(echo, "new"), "new");
  } finally {
    for (const conn of conns) conn.close();
  }
});

Deno.test("websocket bad input: 1,000 idle WebSockets against maxConnections 100: the rest are refused (1008), the good client goes on", async () => {
  await using served = await serveWebSocket([echo], {
    maxConnections: 100,
    handshakeTimeout: 30_000,
  });
  const client = await goodClient(served);
  const sockets: RawSocket[] = [];
  try {
    for (let batch = 0; batch < 10; batch++) {
      sockets.push(
        ...await Promise.all(
          Array.from({ length: 100 }, () => rawSocket(served.url, false)),
        ),
      );
    }
    const codes = await Promise.all(
      sockets.map((socket) => socket.closedWithin(5_000)),
    );
    const refused = codes.filter((code) => code === 1008).length;
    const open = codes.filter((code) => code === undefined).length;
    // The good client holds one of the 100 places.
    assert.equal(open, 99);
    assert.equal(refused, 901);
    assert.equal(served.server.connectionCount, 100);
    assert.equal(await client.runAction(echo, "after"), "after");
  } finally {
    await Promise.all(sockets.map((socket) => socket[Symbol.asyncDispose]()));
  }
});
