/**
 * The server keeps the deadline a request carries, even when its caller
 * can no longer cancel: a client process frozen with SIGSTOP mid-call and
 * mid-stream (over TCP and over a Unix socket), and over NATS a caller that
 * published its calls and reads nothing. A live client sees what it always
 * saw: its own `TIMEOUT`, and a server's `TIMEOUT` answer is the same
 * `ClientError`. (A raw peer that never reads nor cancels is in the
 * conformance suite, tests/conformance/server_deadlines.ts, on every runtime.)
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import {
  action,
  type ActionContext,
  Client,
  ClientError,
  Server,
} from "../mod.ts";
import { natsTransport } from "../nats.ts";
import { concat } from "../src/base/bytes.ts";
import { socketPath } from "./conformance/sockets.ts";
import { startNatsServer } from "./fixtures/nats_server.ts";
import { delay, serve, wire } from "./helpers.ts";
import { start } from "./processes.ts";

/** How late after its deadline a call may end on a loaded machine. */
const LATE = 1_500;

const echo = action("echo", (text: string) => text);

function isTimeout(reason: unknown): boolean {
  return reason instanceof ClientError && reason.code === "TIMEOUT";
}

/** Rejects when `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new Error(`${what}: not within ${ms} ms`)),
          ms,
        )
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** An action that runs until its signal aborts, and a generator that never ends. */
function watched() {
  const started = Promise.withResolvers<ActionContext>();
  const aborted = Promise.withResolvers<unknown>();
  const hang = action("hang", (_: undefined, context) => {
    started.resolve(context);
    return new Promise((_resolve, reject) =>
      context.signal.addEventListener("abort", () => {
        aborted.resolve(context.signal.reason);
        reject(context.signal.reason);
      })
    );
  });
  const ended = Promise.withResolvers<unknown>();
  const count = action("count", async function* (_: undefined, context) {
    started.resolve(context);
    try {
      for (let n = 1;; n++) yield n;
    } finally {
      ended.resolve(context.signal.reason);
    }
  });
  return {
    hang,
    count,
    started: started.promise,
    aborted: aborted.promise,
    ended: ended.promise,
  };
}

/**
 * Runs tests/fixtures/frozen_client.ts against `target`, freezes it once
 * its call runs, and waits for the server to end the call by itself.
 */
async function freezeMidCall(
  target: string,
  kind: "call" | "stream",
  calls: ReturnType<typeof watched>,
): Promise<void> {
  // Long enough that the client is frozen well before its own timer fires.
  const timeout = 1_000;
  const child = await start([
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "tests/fixtures/frozen_client.ts",
    target,
    kind === "call" ? "hang" : "count",
    kind,
    String(timeout),
  ]);
  try {
    assert.equal(child.firstLine.trim(), "connected");
    const context = await within(calls.started, 10_000, "the call starting");
    child.child.kill("SIGSTOP");
    const ending = kind === "call" ? calls.aborted : calls.ended;
    const reason = await within(
      ending,
      context.deadline! - Date.now() + LATE,
      kind === "call" ? "the handler's abort" : "the generator's finally",
    );
    assert.ok(isTimeout(reason), `the signal's reason: ${reason}`);
    assert.ok(Date.now() >= context.deadline!, "ended before the deadline");
  } finally {
    child.child.kill("SIGCONT");
    child.child.kill("SIGKILL");
    await child.child.status;
    await child.output;
    await child.stderr;
  }
}

Deno.test("server deadline: a client frozen mid-call (SIGSTOP): the handler's signal aborts with TIMEOUT at the deadline", async () => {
  const calls = watched();
  await using served = await serve([echo, calls.hang]);
  await freezeMidCall(String(served.port), "call", calls);
});

Deno.test("server deadline: a client frozen mid-stream (SIGSTOP): the generator's finally runs at the deadline", async () => {
  const calls = watched();
  await using served = await serve([echo, calls.count]);
  await freezeMidCall(String(served.port), "stream", calls);
});

Deno.test("server deadline: a client frozen mid-call over a Unix socket", async () => {
  const calls = watched();
  const path = socketPath();
  await using server = new Server({ path }).addAction(echo)
    .addAction(calls.hang);
  await server.listen();
  await freezeMidCall(path, "call", calls);
});

Deno.test("server deadline over NATS: a caller that published a call and a stream and reads nothing: both end at their deadline, answered TIMEOUT", async () => {
  await using nats = await startNatsServer();
  const calls = watched();
  // Heartbeats far apart: the caller's silence alone would take 15 s to notice.
  const bus = natsTransport({
    servers: nats.hostPort,
    service: "lab",
    heartbeat: 5_000,
  });
  const server = new Server().addAction(calls.hang).addAction(calls.count);
  await server.listen(bus);
  const caller = await connect({ servers: nats.hostPort });
  try {
    const answers: unknown[][] = [];
    // What reaches the caller's inbox is kept, never answered: no credit, no cancel.
    caller.subscribe("frozen.inbox.>", {
      callback: (_error, message) => {
        answers.push(wire.codec.decode(message.data) as unknown as unknown[]);
      },
    });
    const timeout = 300;
    const sent = Date.now();
    for (
      const request of [
        [0, 1, "hang", null, { timeout }],
        [0, 2, "count", null, { timeout, stream: 2 }],
      ] as const
    ) {
      caller.publish(
        "isock.lab." + request[2],
        concat(wire.codec.encodeRaw(request)),
        { reply: `frozen.inbox.${request[1]}` },
      );
    }
    await caller.flush();
    const aborted = await within(calls.aborted, timeout + LATE, "the abort");
    assert.ok(isTimeout(aborted), `the handler's signal reason: ${aborted}`);
    const ended = await within(calls.ended, timeout + LATE, "the generator");
    assert.ok(isTimeout(ended), `the generator's signal reason: ${ended}`);
    assert.ok(Date.now() - sent >= timeout);
    for (let i = 0; i < 100 && answers.length < 4; i++) await delay(10);
    for (const id of [1, 2]) {
      const errors = answers.filter((message) =>
        (message as { type?: number; id?: number }).type === 2 &&
        (message as { id?: number }).id === id
      ) as unknown as { error: { code: string } }[];
      assert.equal(errors.length, 1, `call ${id}: ${JSON.stringify(answers)}`);
      assert.equal(errors[0].error.code, "TIMEOUT");
    }
    const stats = server.stats().actions;
    for (const name of ["hang", "count"]) {
      const entry = stats.find((stats) => stats.name === name);
      assert.equal(entry?.errors, 1, `${name}: ${JSON.stringify(entry)}`);
      assert.equal(entry?.lastError?.code, "TIMEOUT");
    }
  } finally {
    await caller.close();
    await server.shutdown({ timeout: 1_000 });
    await bus.close();
  }
});

Deno.test("server deadline: a live client still rejects its own TIMEOUT, and its cancel reaches the handler first", async () => {
  const calls = watched();
  await using served = await serve([calls.hang, calls.count]);
  const client = served.client();
  await assert.rejects(
    client.runAction(calls.hang, undefined, { timeout: 200 }),
    (error) =>
      isTimeout(error) &&
      /"hang" did not answer within 200 ms/.test((error as Error).message),
  );
  const reason = await calls.aborted;
  assert.ok(
    reason instanceof ClientError && reason.code === "ABORTED",
    `the handler heard the cancel, not its own deadline: ${reason}`,
  );
  await assert.rejects(
    (async () => {
      for await (
        const _ of client.stream(calls.count, undefined, {
          timeout: 200,
          window: 1,
        })
      ) await delay(400);
    })(),
    isTimeout,
  );
});

Deno.test("server deadline: a server's TIMEOUT answer rejects the call with a ClientError TIMEOUT, as the client's own would", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    try {
      await conn.write(wire.hello());
      // The client's hello, then its request (id 1): answer it TIMEOUT.
      const buffer = new Uint8Array(64 * 1024);
      let received: Uint8Array = new Uint8Array(0);
      const frames = () => {
        const found: Uint8Array[] = [];
        const view = new DataView(received.buffer);
        for (let at = 0; at + 4 <= received.length;) {
          const length = view.getUint32(at);
          if (at + 4 + length > received.length) break;
          found.push(received.subarray(at + 4, at + 4 + length));
          at += 4 + length;
        }
        return found;
      };
      for (let reads = 0; frames().length < 2 && reads < 100; reads++) {
        const count = await conn.read(buffer);
        if (count === null) return;
        received = concat([received, buffer.slice(0, count)]);
      }
      const request = wire.codec.decode(frames()[1]) as { id: number };
      await conn.write(
        wire.message([2, request.id, {
          code: "TIMEOUT",
          name: "ClientError",
          message: "The caller's deadline passed.",
        }]),
      );
      await conn.read(buffer); // Until the client closes.
    } finally {
      conn.close();
    }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  const client = new Client({ hostname: "127.0.0.1", port });
  try {
    await assert.rejects(
      client.runAction("slow", undefined, { timeout: 10_000 }),
      (error) =>
        error instanceof ClientError && error.code === "TIMEOUT" &&
        error.message === "The caller's deadline passed.",
    );
  } finally {
    await client.close();
    await serving;
    listener.close();
  }
});
