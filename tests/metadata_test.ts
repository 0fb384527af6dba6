/**
 * Per-call metadata: string key/values sent with a call and with its
 * answer, both ways (client to server, server to client), for calls and
 * streams; case-insensitive keys; limits that fail only the offending call.
 */

import assert from "node:assert/strict";
import { action, ClientError, Metadata } from "../mod.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import { readUntilClosed, serve, wire } from "./helpers.ts";
import { FrameDecoder } from "../src/wire/framing.ts";
import type { Message } from "../src/protocol/message_table.ts";

const echo = action("echo", (data: unknown) => data);

/** Echoes the call's metadata back as its result and as response metadata. */
const whoAsks = action("whoAsks", (_: undefined, context) => {
  for (const [key, value] of context.metadata) {
    context.responseMetadata.set(`re-${key}`, value);
  }
  return context.metadata.toJSON();
});

Deno.test("metadata: a call's metadata reaches the handler, keys lowercased, and response metadata comes back", async () => {
  await using served = await serve([whoAsks]);
  const client = served.client();
  let response: Metadata | undefined;
  const seen = await client.runAction(whoAsks, undefined, {
    metadata: { "X-Request-Id": "42", tenant: "acme" },
    onResponseMetadata: (metadata) => response = metadata,
  });
  assert.deepStrictEqual(seen, { "x-request-id": "42", tenant: "acme" });
  assert.ok(response instanceof Metadata);
  assert.equal(response.get("RE-X-REQUEST-ID"), "42");
  assert.equal(response.get("re-tenant"), "acme");
});

Deno.test("metadata: keys are case-insensitive for the handler", async () => {
  const read = action(
    "read",
    (_: undefined, context) => [
      context.metadata.get("TRACEPARENT"),
      context.metadata.has("traceParent"),
    ],
  );
  await using served = await serve([read]);
  assert.deepStrictEqual(
    await served.client().runAction(read, undefined, {
      metadata: new Metadata([["TraceParent", "00-abc-def-01"]]),
    }),
    ["00-abc-def-01", true],
  );
});

Deno.test("metadata: a call without metadata sends none, and the handler sees empty metadata", async () => {
  const size = action("size", (_: undefined, context) => context.metadata.size);
  await using served = await serve([size]);
  let called = false;
  assert.equal(
    await served.client().runAction(size, undefined, {
      onResponseMetadata: () => called = true,
    }),
    0,
  );
  assert.equal(called, false, "no response metadata, no callback");
});

Deno.test("metadata: streams carry metadata; response metadata comes with the end", async () => {
  const count = action("count", async function* (to: number, context) {
    for (let n = 1; n <= to; n++) yield n;
    context.responseMetadata.set("items", String(to));
    context.responseMetadata.set("asked-by", context.metadata.get("user")!);
  });
  await using served = await serve([count]);
  const client = served.client();
  const items: number[] = [];
  let response: Record<string, string> | undefined;
  for await (
    const n of client.stream(count, 3, {
      metadata: { User: "ann" },
      onResponseMetadata: (metadata) => response = metadata.toJSON(),
    })
  ) {
    items.push(n);
  }
  assert.deepStrictEqual(items, [1, 2, 3]);
  assert.deepStrictEqual(response, { items: "3", "asked-by": "ann" });
});

Deno.test("metadata: an error answer carries the response metadata too", async () => {
  const refuse = action("refuse", (_: undefined, context): never => {
    context.responseMetadata.set("retry-after", "5");
    throw new Error("busy");
  });
  await using served = await serve([refuse]);
  let response: Metadata | undefined;
  await assert.rejects(
    served.client().runAction(refuse, undefined, {
      onResponseMetadata: (metadata) => response = metadata,
    }),
    { code: "ACTION_FAILED" },
  );
  assert.equal(response?.get("retry-after"), "5");
});

Deno.test("metadata: two-way calls carry metadata both ways", async () => {
  const confirm = action("confirm", (question: string, context) => {
    context.responseMetadata.set("answered-by", "client");
    return `${question} ${context.metadata.get("from")}`;
  });
  const ask = action("ask", async (_: undefined, context) => {
    let by: string | undefined;
    const answer = await context.peer.runAction(confirm, "ok?", {
      metadata: { from: "server" },
      onResponseMetadata: (metadata) => by = metadata.get("answered-by"),
    });
    return [answer, by];
  });
  await using served = await serve([ask]);
  const client = served.client().addAction(confirm);
  assert.deepStrictEqual(await client.runAction(ask), [
    "ok? server",
    "client",
  ]);
});

Deno.test("metadata: over the limits, the call fails with INVALID_METADATA before it is sent; the client stays usable", async () => {
  let ran = 0;
  const count = action("count", () => ++ran);
  await using served = await serve([count, echo]);
  const client = served.client();
  const tooMany = Object.fromEntries(
    Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]),
  );
  await assert.rejects(
    client.runAction(count, undefined, { metadata: tooMany }),
    (error) =>
      error instanceof ClientError && error.code === "INVALID_METADATA",
  );
  await assert.rejects(
    client.runAction(count, undefined, {
      metadata: { big: "x".repeat(9000) },
    }),
    { code: "INVALID_METADATA" },
  );
  await assert.rejects(
    client.runAction(count, undefined, { metadata: { "bad key": "x" } }),
    { code: "INVALID_METADATA" },
  );
  await assert.rejects(
    client.runAction(count, undefined, {
      metadata: { n: 1 as unknown as string },
    }),
    { code: "INVALID_METADATA" },
  );
  const items: unknown[] = [];
  await assert.rejects(async () => {
    for await (
      const item of client.stream("count", undefined, {
        metadata: tooMany,
      })
    ) items.push(item);
  }, { code: "INVALID_METADATA" });
  assert.equal(ran, 0, "no bad call reached the server");
  assert.equal(await client.runAction(echo, "still fine"), "still fine");
  assert.equal(await client.runAction(count), 1);
});

Deno.test("metadata: 64 entries and 8 KiB are allowed", async () => {
  const size = action("size", (_: undefined, context) => context.metadata.size);
  await using served = await serve([size]);
  const full = Object.fromEntries(
    Array.from({ length: 64 }, (_, i) => [`k${i}`, "v".repeat(100)]),
  );
  assert.equal(
    await served.client().runAction(size, undefined, { metadata: full }),
    64,
  );
});

Deno.test("metadata: a handler setting too much fails its own call only", async () => {
  const greedy = action("greedy", (_: undefined, context) => {
    context.responseMetadata.set("big", "x".repeat(9000));
    return "unreachable";
  });
  await using served = await serve([greedy, echo]);
  const client = served.client();
  await assert.rejects(
    client.runAction(greedy),
    (error) =>
      error instanceof Error && "code" in error &&
      error.code === "ACTION_FAILED" && /8192 bytes/.test(error.message),
  );
  assert.equal(await client.runAction(echo, 1), 1);
});

/** The messages in raw bytes a server sent (after its hello). */
function messagesIn(bytes: Uint8Array): Message[] {
  const frames: Uint8Array[] = [];
  new FrameDecoder().push(bytes, (body) => frames.push(body.slice()));
  return frames.slice(1).map((frame) => wire.codec.decode(frame));
}

Deno.test("metadata: a peer that sends too much metadata gets INVALID_REQUEST for that call; the connection goes on", async () => {
  let ran = 0;
  const count = action("count", () => ++ran);
  await using served = await serve([count]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  await conn.write(wire.hello());
  const tooMany = Object.fromEntries(
    Array.from({ length: 100 }, (_, i) => [`k${i}`, "v"]),
  );
  await conn.write(
    wire.message([MessageType.REQUEST, 1, "count", null, {
      metadata: tooMany,
    }]),
  );
  await conn.write(
    wire.message([MessageType.REQUEST, 2, "count", null, {
      metadata: { "no spaces": "x" },
    }]),
  );
  await conn.write(
    wire.message([MessageType.REQUEST, 3, "count", null, {
      metadata: { ok: "yes" },
    }]),
  );
  const { bytes } = await readUntilClosed(conn, 300);
  const answers = messagesIn(bytes).filter((message) =>
    message.type === MessageType.ERROR || message.type === MessageType.RESULT
  );
  assert.deepStrictEqual(
    answers.map((message) =>
      message.type === MessageType.ERROR
        ? [message.id, message.error.code]
        : [message.id, "value" in message ? message.value : undefined]
    ),
    [[1, "INVALID_REQUEST"], [2, "INVALID_REQUEST"], [3, 1]],
  );
  assert.equal(ran, 1);
});

Deno.test("metadata: answers to a peer whose hello does not offer metadata carry none (older peers)", async () => {
  const tag = action("tag", (_: undefined, context) => {
    context.responseMetadata.set("served-by", "here");
    return "ok";
  });
  await using served = await serve([tag]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  await conn.write(wire.hello()); // A hello without `metadata: true`.
  await conn.write(wire.message([MessageType.REQUEST, 1, "tag", null]));
  const { bytes } = await readUntilClosed(conn, 300);
  const result = messagesIn(bytes).find((message) =>
    message.type === MessageType.RESULT
  );
  assert.ok(result !== undefined);
  assert.equal("metadata" in result, false);
});
