/**
 * Errors that cross the wire: with `exposeStack` off no stack or file path
 * leaves the server, whatever shape the value has; a thrown error's own
 * fields travel; a peer's malformed error object is a protocol breach.
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, RemoteError } from "../mod.ts";
import { MessageCodec } from "../src/protocol/message_codec.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import { readUntilClosed, serve, wire } from "./helpers.ts";
import { withoutStacks } from "../src/protocol/wire_error.ts";

/** Where this library and this test live: no string the client gets may name it. */
const root = new URL("../", import.meta.url);
const paths = [root.href, decodeURIComponent(root.pathname)];

/** A stack as Deno writes it, with this file's path in it. */
const someStack = () => new Error("here").stack!;

/**
 * Every place in `value` that holds a stack or a path, found by walking all
 * own properties (enumerable or not), `Map` and `Set` contents included.
 * `skipOwnStack` leaves out the top value's own `stack`: a `RemoteError`'s
 * is the client's own, made where it was raised.
 */
function leaksIn(value: unknown, skipOwnStack = false): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  const visit = (item: unknown, where: string, isTop = false): void => {
    if (typeof item === "string") {
      if (paths.some((path) => item.includes(path)) || / {4}at /.test(item)) {
        found.push(where);
      }
      return;
    }
    if (typeof item !== "object" || item === null || seen.has(item)) return;
    seen.add(item);
    if (item instanceof Map) {
      for (const [key, entry] of item) {
        visit(key, `${where}<key>`);
        visit(entry, `${where}<value>`);
      }
    }
    if (item instanceof Set) {
      for (const member of item) visit(member, `${where}<member>`);
    }
    for (const key of Reflect.ownKeys(item)) {
      if (typeof key === "symbol") continue;
      if (isTop && skipOwnStack && key === "stack") continue;
      const descriptor = Object.getOwnPropertyDescriptor(item, key)!;
      if (!("value" in descriptor)) continue;
      if (
        (key === "stack" || key === "remoteStack") &&
        descriptor.value !== undefined
      ) {
        found.push(`${where}.${key}`);
      }
      visit(descriptor.value, `${where}.${key}`);
    }
  };
  visit(value, "value", true);
  return found;
}

class HttpError extends Error {
  status = 404;
  inner = new Error("inner");
  detail = { stack: someStack(), note: "kept" };
}

class ValveError extends Error {
  constructor(readonly valve: string, message: string) {
    super(message);
    this.name = "ValveError";
  }
}

/** Values that leaked stacks or paths past `exposeStack: false`. */
function leakyValues(): Record<string, () => unknown> {
  const cyclic: Record<string, unknown> = { error: new Error("in a cycle") };
  cyclic.self = cyclic;
  const shared = { stack: someStack() };
  return {
    "a cause holding an error": () =>
      new Error("outer", { cause: { inner: new Error("inner") } }),
    "a non-Error with a stack": () => ({
      message: "plain",
      stack: someStack(),
    }),
    "a non-Error holding errors": () => ({
      list: [new Error("a"), { stack: someStack() }],
    }),
    "an AggregateError": () =>
      new AggregateError(
        [new Error("a"), { name: "E", message: "b", stack: someStack() }],
        "many",
        { cause: new Map<unknown, unknown>([[new Error("key"), shared]]) },
      ),
    "errors in Maps, Sets and arrays": () =>
      new Error("holder", {
        cause: [
          new Set([new Error("in a set"), shared]),
          new Map([["k", { deeper: [{ stack: someStack() }] }]]),
          new Error("nested", { cause: new Error("deepest") }),
        ],
      }),
    "an error with an enumerable stack": () =>
      Object.defineProperty(new Error("loud"), "stack", {
        value: someStack(),
        enumerable: true,
      }),
    "an HttpError": () => new HttpError("not found"),
    "a RemoteError passed on": () =>
      new RemoteError("ACTION_FAILED", "downstream", {
        remoteStack: someStack(),
        cause: new Error("cause"),
      }),
    "a circular cause": () => new Error("cyclic", { cause: cyclic }),
    "a string": () => "just a string",
  };
}

const returns = action("returns", (name: string) => leakyValues()[name]());
const throws = action("throws", (name: string) => {
  throw leakyValues()[name]();
});
const settles = action(
  "settles",
  () => Promise.allSettled([Promise.reject(new Error("rejected"))]),
);
const items = action("items", async function* (name: string) {
  yield leakyValues()[name]();
  throw leakyValues()[name]();
});
const valve = action("valve", () => {
  throw new ValveError("V3", "stuck");
});

Deno.test("redaction: with exposeStack off, no stack or path reaches the client, whatever was thrown", async () => {
  await using served = await serve([throws], { exposeStack: false });
  const client = served.client();
  for (const name of Object.keys(leakyValues())) {
    const error = await client.runAction(throws, name).then(
      () => assert.fail(`${name}: no error`),
      (error: unknown) => error,
    );
    assert.ok(error instanceof RemoteError, name);
    assert.equal(error.code, "ACTION_FAILED", name);
    assert.equal(error.remoteStack, undefined, name);
    assert.deepEqual(leaksIn(error, true), [], name);
  }
});

Deno.test("redaction: with exposeStack off, results and stream items carry no stacks", async () => {
  await using served = await serve([returns, settles, items], {
    exposeStack: false,
  });
  const client = served.client();
  const [settled] = await client.runAction(settles);
  assert.equal(settled.status, "rejected");
  assert.equal((settled as PromiseRejectedResult).reason.message, "rejected");
  assert.deepEqual(leaksIn(settled), []);
  for (const [name, make] of Object.entries(leakyValues())) {
    // Errors are error reports; a plain object's `stack` field in a result
    // is data (a deployment stack, say), and the circular cause cannot be
    // sent as a result at all.
    if (!(make() instanceof Error) || name === "a circular cause") continue;
    assert.deepEqual(leaksIn(await client.runAction(returns, name)), [], name);
    const received: unknown[] = [];
    const failure = await (async () => {
      for await (const item of client.stream(items, name)) received.push(item);
    })().then(() => assert.fail(`${name}: no error`), (error) => error);
    assert.equal(received.length, 1, name);
    assert.deepEqual(leaksIn(received), [], name);
    assert.ok(failure instanceof RemoteError, name);
    assert.deepEqual(leaksIn(failure, true), [], name);
  }
  const data = {
    stack: "prod",
    errors: [new Error("e", { cause: { stack: "s" } })],
  };
  const echo = action("echo", () => data);
  served.server.addAction(echo);
  const echoed = await client.runAction(echo) as typeof data;
  assert.equal(echoed.stack, "prod");
  assert.deepEqual(echoed.errors[0].cause, {});
});

Deno.test("redaction: what could not be checked or sent is left out; the message still arrives", async () => {
  await using served = await serve([throws], { exposeStack: false });
  const client = served.client();
  await assert.rejects(client.runAction(throws, "a circular cause"), (e) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.message, "cyclic");
    assert.equal(e.cause, undefined);
    return true;
  });
  const big = action("big", () => {
    throw new Error("big", { cause: new Array(100_001).fill(0) });
  });
  served.server.addAction(big);
  await assert.rejects(client.runAction(big), (e) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.message, "big");
    assert.ok(e.cause === undefined, "a cause too large to check is left out");
    return true;
  });
  assert.equal(
    await client.runAction(throws, "a string").catch((e) => e.message),
    "just a string",
  );
});

Deno.test("redaction: the shapes are kept, only stacks go", async () => {
  await using served = await serve([throws, returns], { exposeStack: false });
  const client = served.client();
  await assert.rejects(client.runAction(throws, "an AggregateError"), (e) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.remoteName, "AggregateError");
    const errors = e.remoteFields.errors as unknown[];
    assert.equal((errors[0] as Error).message, "a");
    assert.deepEqual(errors[1], { name: "E", message: "b" });
    const cause = e.cause as Map<Error, unknown>;
    const [[key, value]] = [...cause];
    assert.equal(key.message, "key");
    assert.deepEqual(value, {});
    return true;
  });
  await assert.rejects(
    client.runAction(throws, "a non-Error with a stack"),
    (e) => {
      assert.ok(e instanceof RemoteError);
      assert.equal(e.message, "plain");
      assert.deepEqual(e.cause, { message: "plain" });
      return true;
    },
  );
  const holder = await client.runAction(
    returns,
    "errors in Maps, Sets and arrays",
  ) as Error;
  assert.ok(holder instanceof Error);
  const [set, map, nested] = holder.cause as [
    Set<unknown>,
    Map<string, unknown>,
    Error,
  ];
  assert.equal(set.size, 2);
  assert.deepEqual(map.get("k"), { deeper: [{}] });
  assert.equal((nested.cause as Error).message, "deepest");
});

Deno.test("redaction: a loopback server sends stacks by default, in causes and fields too", async () => {
  await using served = await serve([throws]);
  await assert.rejects(
    served.client().runAction(throws, "an HttpError"),
    (e) => {
      assert.ok(e instanceof RemoteError);
      assert.match(e.remoteStack ?? "", /not found/);
      assert.match((e.remoteFields.inner as Error).stack ?? "", /inner/);
      assert.equal(
        typeof (e.remoteFields.detail as { stack: string }).stack,
        "string",
      );
      return true;
    },
  );
});

Deno.test("thrown errors keep their own fields: an HttpError's status, a ValveError's valve", async () => {
  await using served = await serve([throws, valve], { exposeStack: false });
  const client = served.client();
  await assert.rejects(client.runAction(throws, "an HttpError"), (e) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.code, "ACTION_FAILED");
    assert.equal(e.message, "not found");
    assert.equal(e.remoteFields.status, 404);
    assert.equal((e.remoteFields.inner as Error).message, "inner");
    assert.deepEqual(e.remoteFields.detail, { note: "kept" });
    return true;
  });
  await assert.rejects(client.runAction(valve), (e) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.remoteName, "ValveError");
    assert.equal(e.remoteFields.valve, "V3");
    return true;
  });
  // A RemoteError passed on keeps its code among its fields, not its server's stack.
  await assert.rejects(
    client.runAction(throws, "a RemoteError passed on"),
    (e) => {
      assert.ok(e instanceof RemoteError);
      assert.equal(e.remoteFields.code, "ACTION_FAILED");
      assert.equal(e.remoteFields.remoteStack, undefined);
      return true;
    },
  );
});

Deno.test("thrown errors: fields that cannot be sent stay home, the error still arrives", async () => {
  const odd = action("odd", () => {
    const error = Object.assign(new Error("odd"), {
      retry: () => 1,
      handle: { close: () => 1 },
      status: 500,
    });
    Object.defineProperty(error, "broken", {
      get() {
        throw new Error("getter");
      },
      enumerable: true,
    });
    throw error;
  });
  await using served = await serve([odd], { exposeStack: false });
  await assert.rejects(served.client().runAction(odd), (e) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.message, "odd");
    // `handle` holds a function deep inside: the fields cannot be sent at all.
    assert.deepEqual(e.remoteFields, {});
    return true;
  });
});

Deno.test("hostile values from the wire, thrown back by a handler, fail only their call", async () => {
  const rethrow = action("rethrow", (data: unknown) => {
    throw data;
  });
  await using served = await serve([rethrow], { exposeStack: false });
  const client = served.client();
  const hostile: unknown[] = [
    { toString: 1 },
    { toString: "x", valueOf: 2, message: { toString: 1 } },
    Object.assign(new Error("own toString"), { toString: 1, name2: 1 }),
    [{ toString: 1 }],
  ];
  for (const data of hostile) {
    await assert.rejects(client.runAction(rethrow, data), (e) => {
      assert.ok(e instanceof RemoteError);
      assert.equal(e.code, "ACTION_FAILED");
      assert.equal(typeof e.message, "string");
      return true;
    });
  }
});

Deno.test("withoutStacks: bounded, cycle-safe, and copies only what changes", () => {
  const untouched = { a: [1, new Error("e")], b: new Map([[1, 2]]) };
  assert.equal(withoutStacks(untouched), untouched);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => withoutStacks(cyclic));
  const shared = { stack: "s" };
  const copy = withoutStacks([shared, shared]) as object[];
  assert.deepEqual(copy, [{}, {}]);
  assert.equal(copy[0], copy[1]);
  assert.throws(() => withoutStacks(new Array(200_000).fill(0)));
  let deep: unknown = 0;
  for (let i = 0; i < 1000; i++) deep = [deep];
  assert.throws(() => withoutStacks(deep));
  const sparse = [, { stack: "s" }];
  const sparseCopy = withoutStacks(sparse) as unknown[];
  assert.ok(!(0 in sparseCopy));
  assert.deepEqual(sparseCopy[1], {});
  class Keep extends Error {
    tag = "t";
  }
  const kept = withoutStacks(new Keep("m", { cause: { stack: "s" } })) as Keep;
  assert.ok(kept instanceof Keep);
  assert.equal(kept.message, "m");
  assert.equal(kept.tag, "t");
  assert.deepEqual(kept.cause, {});
});

/** Error objects a peer may not send; each one closes its connection. */
const malformedErrors: unknown[] = [
  {
    code: "X",
    name: "E",
    message: "m",
    issues: [{ message: { toString: 1 } }],
  },
  { code: 5, name: "E", message: "m" },
  { code: "", name: "E", message: "m" },
  { code: "X", message: "m" },
  { code: "X", name: "E", message: { toString: 1 } },
  { code: "X", name: "E", message: "m", stack: 5 },
  { code: "X", name: "E", message: "m", issues: "bad" },
  { code: "X", name: "E", message: "m", issues: [5] },
  {
    code: "X",
    name: "E",
    message: "m",
    issues: [{ message: "m", path: [{}] }],
  },
  { code: "X", name: "E", message: "m", issues: [{ message: "m", path: "a" }] },
  { code: "X", name: "E", message: "m", fields: [1] },
  new Map([["code", "X"]]),
];

Deno.test("wire: a peer's malformed error object closes its connection with a PROTOCOL goodbye", async () => {
  const echo = action("echo", (data: unknown) => data);
  await using served = await serve([echo]);
  const client = served.client();
  const codec = new MessageCodec([]);
  for (const error of malformedErrors) {
    for (
      const message of [
        [MessageType.ERROR, 1, error],
        [MessageType.GOODBYE, error],
      ]
    ) {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: served.port,
      });
      await conn.write(
        new Uint8Array([...wire.hello(), ...wire.message(message)]),
      );
      const { bytes, closed } = await readUntilClosed(conn, 2000);
      assert.ok(closed, Deno.inspect(error));
      const goodbye = lastMessage(codec, bytes);
      assert.equal(goodbye.type, MessageType.GOODBYE, Deno.inspect(error));
      assert.ok(goodbye.type === MessageType.GOODBYE);
      assert.equal(goodbye.error?.code, "PROTOCOL", Deno.inspect(error));
      assert.match(goodbye.error?.message ?? "", /malformed/);
    }
  }
  assert.equal(await client.runAction(echo, 1), 1);
});

Deno.test("wire: a well-formed error object with issues and fields is accepted", () => {
  const codec = new MessageCodec([]);
  const body = wire.codec.encodeRaw([MessageType.ERROR, 7, {
    code: "INVALID_INPUT",
    name: "RemoteError",
    message: "bad",
    issues: [{ message: "too short", path: ["a", 0] }, { message: "no path" }],
    fields: { status: 400 },
    unknownKey: true,
  }]);
  const message = codec.decode(concatParts(body));
  assert.ok(message.type === MessageType.ERROR);
  assert.deepEqual(message.error.issues, [
    { message: "too short", path: ["a", 0] },
    { message: "no path", path: [] },
  ]);
  assert.deepEqual(message.error.fields, { status: 400 });
});

Deno.test("a malformed error object from a server fails the client's call as PROTOCOL", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    await conn.write(wire.hello());
    await conn.read(new Uint8Array(4096));
    await conn.write(wire.message([MessageType.ERROR, 1, malformedErrors[0]]));
    await readUntilClosed(conn, 2000);
  })();
  await using client = new Client({ port: listener.addr.port, retry: 1 });
  await assert.rejects(client.runAction("echo", 1), (e) => {
    assert.ok(e instanceof ClientError);
    assert.equal(e.code, "PROTOCOL");
    return true;
  });
  await client.close();
  await serving;
  listener.close();
});

function concatParts(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The last message in raw bytes a server sent (after its hello). */
function lastMessage(codec: MessageCodec, bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Uint8Array[] = [];
  for (let at = 0; at + 4 <= bytes.length;) {
    const length = view.getUint32(at);
    frames.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return codec.decode(frames.at(-1)!);
}
