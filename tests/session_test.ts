/**
 * The session never touches a socket: two sessions joined by in-memory
 * streams run calls like a server and a client do.
 */

import assert from "node:assert/strict";
import { type Action, action, ClientError } from "../mod.ts";
import { MessageCodec } from "../src/protocol/message_codec.ts";
import { Session } from "../src/session/session.ts";
import { streamTransport } from "../src/wire/stream_transport.ts";
import type { Transport } from "../src/wire/transport.ts";

/** Two transports joined back to back by in-memory byte streams. */
function pipePair(): [Transport, Transport] {
  const aToB = new TransformStream<Uint8Array, Uint8Array>();
  const bToA = new TransformStream<Uint8Array, Uint8Array>();
  const limits = { maxFrameSize: 1 << 20, maxFirstFrameSize: 4096 };
  return [
    streamTransport(bToA.readable, aToB.writable, {
      hostname: "a",
      port: 1,
      transport: "tcp",
    }, limits),
    streamTransport(aToB.readable, bToA.writable, {
      hostname: "b",
      port: 2,
      transport: "tcp",
    }, limits),
  ];
}

/** A handler as the test gives it: its data, and the signal of its context. */
type Handler = (data: never, context: { signal: AbortSignal }) => unknown;

function sessionPair(actions: Record<string, Handler>) {
  const [serverSide, clientSide] = pipePair();
  const codec = new MessageCodec([]);
  const options = {
    codec,
    maxFrameSize: 1 << 20,
    handshakeTimeout: 1000,
    heartbeatInterval: 0,
  };
  const served = new Map<string, Action>();
  for (const [name, handler] of Object.entries(actions)) {
    served.set(name, action(name, handler) as unknown as Action);
  }
  const server = new Session(serverSide, {
    ...options,
    role: "server",
    actions: (name) => served.get(name),
  });
  const client = new Session(clientSide, { ...options, role: "client" });
  return { server, client };
}

Deno.test("session: calls run over in-memory streams, answered by id in any order", async () => {
  const { server, client } = sessionPair({
    slow: async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    },
    peer: () => "served",
  });
  await client.ready;
  assert.deepStrictEqual(
    await Promise.all([
      client.call("slow", 30),
      client.call("slow", 1),
      client.call("peer", undefined),
    ]),
    [30, 1, "served"],
  );
  await client.close();
  await server.closed;
});

/** Whether `promise` settles within `milliseconds`, leaving no timer behind. */
async function settlesWithin(
  promise: Promise<unknown>,
  milliseconds: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), milliseconds);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("session: closing one side rejects its calls in flight and ends the other side", async () => {
  let signal: AbortSignal | undefined;
  const { server, client } = sessionPair({
    hang: (_: undefined, context: { signal: AbortSignal }) => {
      signal = context.signal;
      return new Promise(() => {}); // Never answers.
    },
  });
  await client.ready;
  const call = client.call("hang", undefined);
  for (let i = 0; i < 200 && server.activeHandlers === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(server.activeHandlers, 1);
  assert.equal(signal?.aborted, false);
  await client.close(new ClientError("CONNECTION_CLOSED", "done"));
  await assert.rejects(
    call,
    (e) =>
      e instanceof ClientError && e.code === "CONNECTION_CLOSED" &&
      e.message === "done",
  );
  assert.equal(client.pendingCalls, 0);
  // The server side ends too, cleanly: its peer hung up, nothing failed.
  assert.ok(await settlesWithin(server.closed, 5000), "the server stayed open");
  assert.equal(server.isOpen, false);
  assert.equal(server.endReason, undefined);
  // Its handler, which would never answer, is told to stop...
  assert.equal(signal.aborted, true);
  assert.ok(
    signal.reason instanceof ClientError &&
      signal.reason.code === "CONNECTION_CLOSED",
    String(signal.reason),
  );
  // ...and is not waited for: its answer could no longer be delivered.
  assert.ok(
    await settlesWithin(server.whenIdle(), 5000),
    "whenIdle waited for a handler whose answer has nowhere to go",
  );
});
