/**
 * Fault tests, bounded in time: a seeded fuzz of the server's input,
 * processes killed mid-call, and a thousand connections at once.
 */

import assert from "node:assert/strict";
import { action, type ActionContext, Client, ClientError } from "../mod.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import { concat } from "../src/base/bytes.ts";
import {
  delay,
  freePort,
  randomBytes,
  readUntilClosed,
  seededRandom,
  serve,
  wire,
} from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);
const root = new URL("../", import.meta.url).pathname;

/** Valid messages of every type, for the fuzzer to break. */
function validMessages(random: () => number): unknown[][] {
  const id = 1 + Math.floor(random() * 1000);
  return [
    [MessageType.REQUEST, id, "echo", { a: [1, "x", null], b: new Date(0) }],
    [MessageType.REQUEST, id, "echo", "data", { timeout: 1000 }],
    [MessageType.REQUEST, id, "nope"],
    [MessageType.RESULT, id, [1, 2, 3]],
    [MessageType.ERROR, id, {
      code: "ACTION_FAILED",
      name: "Error",
      message: "m",
    }],
    [MessageType.CANCEL, id],
    [MessageType.PING, id],
    [MessageType.PONG, id],
    [MessageType.AUTH, new Uint8Array(32), "credentials"],
    [MessageType.AUTH_OK, null],
    [MessageType.GOODBYE],
  ];
}

const wrongValues: unknown[] = [
  null,
  -1,
  2 ** 60,
  "",
  "x",
  true,
  1.5,
  [],
  {},
  new Uint8Array(3),
  new Map(),
  undefined,
];

/** One fuzzed frame body: random bytes, a mutated valid message, wrong types, or deep nesting. */
function fuzzFrame(random: () => number): Uint8Array {
  const pick = <T>(items: readonly T[]): T =>
    items[Math.floor(random() * items.length)];
  const messages = validMessages(random);
  const valid = concat(wire.codec.encodeRaw(pick(messages)));
  switch (Math.floor(random() * 6)) {
    case 0:
      return randomBytes(random, Math.floor(random() * 200));
    case 1: { // bit flips
      const body = valid.slice();
      for (let i = 0; i < 1 + random() * 3; i++) {
        body[Math.floor(random() * body.length)] ^= 1 <<
          Math.floor(random() * 8);
      }
      return body;
    }
    case 2: // truncation
      return valid.subarray(0, Math.floor(random() * valid.length));
    case 3: { // a wrong type in one field
      const message = [...pick(messages)];
      message[Math.floor(random() * message.length)] = pick(wrongValues);
      return concat(wire.codec.encodeRaw(message));
    }
    case 4: { // deep nesting inside a request's data
      const depth = 100 + Math.floor(random() * 5000);
      const head = concat(
        wire.codec.encodeRaw([MessageType.REQUEST, 7, "echo", 0]),
      );
      return new Uint8Array([
        ...head.subarray(0, head.length - 1),
        ...new Uint8Array(depth).fill(0x91),
        0xc0,
      ]);
    }
    default:
      return valid;
  }
}

Deno.test("fault: 10,000 fuzzed frames never break the server, and a good client keeps working", async () => {
  const seed = 20261125;
  const random = seededRandom(seed);
  await using served = await serve([echo], {
    maxFrameSize: 64 * 1024,
    handshakeTimeout: 2000,
  });
  const client = served.client();
  const goodCalls: Promise<unknown>[] = [];
  let framesSent = 0;
  const fuzzConnection = async () => {
    const frames: Uint8Array[] = [wire.hello()];
    for (let i = 0; i < 40; i++) frames.push(wire.frame(fuzzFrame(random)));
    if (random() < 0.1) frames.push(new Uint8Array([0xff, 0xff, 0xff, 0xf0])); // a huge length
    framesSent += frames.length - 1;
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: served.port,
    });
    try {
      await conn.write(concat(frames));
      await conn.closeWrite();
    } catch {
      // The server may close first, having seen enough.
    }
    const { closed } = await readUntilClosed(conn, 3000);
    assert.ok(
      closed,
      "the server neither answered nor closed a fuzzed connection",
    );
  };
  for (let round = 0; round < 25; round++) {
    await Promise.all(Array.from({ length: 10 }, fuzzConnection));
    goodCalls.push(client.runAction(echo, round));
  }
  assert.ok(framesSent >= 10_000, `${framesSent} frames`);
  assert.deepStrictEqual(
    await Promise.all(goodCalls),
    Array.from({ length: 25 }, (_, i) => i),
  );
  for (let i = 0; i < 100 && served.server.connectionCount > 1; i++) {
    await delay(20);
  }
  assert.equal(
    served.server.connectionCount,
    1,
    "fuzzed connections were left open",
  );
});

/** Starts `deno run --allow-net <fixture> <port>` and waits for its first line. */
async function startFixture(fixture: string, port: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", `tests/fixtures/${fixture}`, String(port)],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  return {
    child,
    firstLine: value ?? "",
    rest: reader.closed.catch(() => {}),
    reader,
  };
}

Deno.test("fault: a client killed mid-call leaves nothing behind on the server", async () => {
  const aborted = Promise.withResolvers<void>();
  const hang = action("hang", (_: undefined, context: ActionContext) => {
    context.signal.addEventListener("abort", () => aborted.resolve());
    return new Promise<never>(() => {});
  });
  await using served = await serve([hang, echo]);
  const fixture = await startFixture("hang_client.ts", served.port);
  assert.equal(fixture.firstLine.trim(), "calling");
  assert.equal((await fixture.child.status).code, 0);
  await fixture.reader.cancel();
  await aborted.promise;
  for (let i = 0; i < 100 && served.server.connectionCount > 0; i++) {
    await delay(10);
  }
  assert.equal(served.server.connectionCount, 0);
});

Deno.test("fault: a server killed mid-call fails the call quickly; the next call reaches its successor", async () => {
  const port = freePort();
  await using client = new Client({ port, retry: 20, retryDelay: 50 });
  const first = await startFixture("hang_server.ts", port);
  assert.equal(first.firstLine.trim(), "ready");
  const call = client.runAction("hang");
  await client.runAction("echo", "up");
  const killedAt = performance.now();
  first.child.kill("SIGKILL");
  await assert.rejects(
    call,
    (e) => e instanceof ClientError && e.code === "CONNECTION_CLOSED",
  );
  assert.ok(performance.now() - killedAt < 1000);
  await first.child.status;
  await first.reader.cancel();
  const second = await startFixture("hang_server.ts", port);
  try {
    assert.equal(await client.runAction("echo", "back"), "back");
  } finally {
    second.child.kill("SIGKILL");
    await second.child.status;
    await second.reader.cancel();
  }
});

Deno.test("fault: 1,000 concurrent connections each making calls are all answered correctly", async () => {
  const square = action("square", (n: number) => n * n);
  await using served = await serve([square]);
  const clients = Array.from({ length: 1000 }, () => served.client());
  const results = await Promise.all(
    clients.map((client, i) =>
      Promise.all([client.runAction(square, i), client.runAction(square, -i)])
    ),
  );
  results.forEach(([a, b], i) => {
    assert.equal(a, i * i);
    assert.equal(b, i * i);
  });
  assert.equal(served.server.connectionCount, 1000);
});
