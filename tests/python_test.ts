/**
 * TypeScript clients (Deno) against a server written with the Python
 * package (python/tests/py_server.py): rich data both ways, errors with
 * fields and codes, streams both ways, uploads, many calls in flight,
 * deadlines reaching the handler, secrets and TLS.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, RemoteError } from "../mod.ts";
import { FaultProxy, NO_FAULTS } from "./fault_proxy.ts";
import { startPythonServer } from "./python_venv.ts";

const rich = action<undefined, Record<string, unknown>>("rich");
const count = action<number, number>("count");
const counted = action<number, number>("counted");
const produced = action<undefined, number>("produced");
const cancels = action<undefined, number>("cancels");

const cert = await Deno.readTextFile(
  new URL("./fixtures/tls/cert.pem", import.meta.url),
);

Deno.test("python server: rich data comes from Python as TypeScript values", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  const found = await client.runAction(rich);
  assert.equal(found.small, 5);
  assert.equal(found.big, 2n ** 70n);
  assert.equal(found.edge, 2n ** 53n);
  assert.equal(found.safe, 2 ** 53 - 1);
  assert.equal(found.fraction, 0.25);
  assert.deepEqual(found.date, new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)));
  assert.deepEqual(
    found.map,
    new Map<unknown, unknown>([[1, "one"], [[1, 2], "pair"]]),
  );
  assert.deepEqual(found.set, new Set([1, 2]));
  assert.deepEqual(found.bytes, new Uint8Array([1, 2]));
  assert.equal(found.none, null);
  assert.ok(found.error instanceof Error);
  assert.equal(found.error.name, "HttpError");
  assert.equal(found.error.message, "teapot");
  assert.equal((found.error as Error & { status: number }).status, 418);
  assert.deepEqual(found.tuple, [1, 2]);
});

Deno.test("python server: TypeScript values arrive as Python types", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  const kinds = await client.runAction("kinds", [
    1,
    2n ** 64n,
    undefined,
    new Map([[1, 2]]),
    new Set(["a"]),
    new Date(0),
    Object.assign(new TypeError("t"), { code: 7 }),
    new Uint8Array([5]),
    { a: [true] },
  ]);
  assert.deepEqual(kinds, [
    "list",
    [
      ["int", 1],
      ["int", 2n ** 64n],
      ["NoneType", null],
      ["dict", { "1": ["int", 2] }],
      ["set", ["'a'"]],
      ["datetime", "1970-01-01T00:00:00+00:00"],
      ["ErrorValue", "TypeError", "t", { code: 7 }],
      ["bytes", new Uint8Array([5])],
      ["dict", { a: ["list", [["bool", true]]] }],
    ],
  ]);
});

Deno.test("python server: errors arrive with their code, name, message and fields", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  const failed = await client.runAction("fail", "gone").catch((e) => e);
  assert.ok(failed instanceof RemoteError);
  assert.equal(failed.code, "ACTION_FAILED");
  assert.equal(failed.remoteName, "HttpError");
  assert.equal(failed.message, "gone");
  assert.equal(failed.remoteFields.status, 404);
  const unknown = await client.runAction("nope").catch((e) => e);
  assert.ok(unknown instanceof RemoteError);
  assert.equal(unknown.code, "UNKNOWN_ACTION");
  assert.equal(await client.runAction("echo", "still"), "still");
});

Deno.test("python server: a stream of 10,000 items arrives in order, and a slow reader holds the generator", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  const items: number[] = [];
  for await (const item of client.stream(count, 10_000)) items.push(item);
  assert.deepEqual(items, Array.from({ length: 10_000 }, (_, i) => i));

  const items16 = client.stream(counted, 1_000, { window: 16 })
    [Symbol.asyncIterator]();
  assert.deepEqual(await items16.next(), { value: 0, done: false });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const ahead = await client.runAction(produced);
  assert.ok(ahead <= 1 + 2 * 16, `the generator ran ahead to ${ahead}`);
  let rest = 0;
  for (
    let next = await items16.next();
    !next.done;
    next = await items16.next()
  ) rest++;
  assert.equal(rest, 999);
});

Deno.test("python server: large values both ways (the client sends fragments)", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
  const [echoed, small] = await Promise.all([
    client.runAction("echo", big),
    client.runAction("echo", "small meanwhile"),
  ]);
  assert.deepEqual(echoed, big);
  assert.equal(small, "small meanwhile");
});

Deno.test("python server: an upload reaches the handler", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  async function* numbers() {
    for (let i = 0; i < 2_000; i++) yield i;
  }
  assert.equal(await client.runAction("sum", numbers()), 1_999_000);
});

Deno.test("python server: 256 calls in flight on one connection", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  const answers = await Promise.all(
    Array.from({ length: 256 }, (_, i) => client.runAction("sleep", i % 10)),
  );
  assert.deepEqual(answers, Array.from({ length: 256 }, (_, i) => i % 10));
});

Deno.test("python server: a timeout reaches the handler's context", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  const before = await client.runAction(cancels);
  const failed = await client.runAction("waitCancel", undefined, {
    timeout: 300,
  }).catch((e) => e);
  assert.ok(failed instanceof ClientError);
  assert.equal(failed.code, "TIMEOUT");
  let after = before;
  for (let i = 0; i < 100 && after === before; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    after = await client.runAction(cancels);
  }
  assert.equal(after, before + 1);
  const metadata = await client.runAction("metadata", undefined, {
    metadata: { tenant: "acme" },
  });
  assert.deepEqual(metadata, { tenant: "acme" });
});

Deno.test("python server: right and wrong secrets", async () => {
  await using server = await startPythonServer(["--secret", "s3cret"]);
  {
    await using client = new Client({ port: server.port, secret: "s3cret" });
    assert.equal(await client.runAction("echo", "in"), "in");
  }
  for (const secret of ["wrong", undefined]) {
    await using client = new Client({ port: server.port, secret, retry: 1 });
    const failed = await client.runAction("echo", "x").catch((e) => e);
    assert.ok(failed instanceof ClientError, String(failed));
    assert.equal(failed.code, "UNAUTHORIZED");
  }
});

Deno.test("python server: a client with retries reaches a Python server that starts late", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr;
  probe.close();
  await using client = new Client({ port, retry: 12 });
  const answer = client.runAction("echo", "late");
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await using _server = await startPythonServer(["--port", String(port)]);
  assert.equal(await answer, "late");
});

Deno.test("python server: TLS with the test certificate", async () => {
  await using server = await startPythonServer(["--tls"]);
  await using client = new Client({
    hostname: "localhost",
    port: server.port,
    tls: { caCerts: [cert] },
  });
  assert.equal(await client.runAction("echo", "over TLS"), "over TLS");
});

Deno.test("python server: reflection lists its actions", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  const description = await client.describe();
  const listed = description.actions.find((found) => found.name === "count");
  assert.equal(listed?.streams, true);
  assert.equal(
    description.actions.find((found) => found.name === "echo")?.streams,
    false,
  );
  // A typed reference works as with a TypeScript server.
  const echo = action<string, string>("echo");
  assert.equal(await client.runAction(echo, "typed"), "typed");
});

Deno.test("python server: its handler calls back the Deno client's own action", async () => {
  await using server = await startPythonServer();
  const asked: string[] = [];
  const confirm = action("confirm", (question: string) => {
    asked.push(question);
    return !question.includes("keep");
  });
  await using client = new Client({ port: server.port }).addAction(confirm);
  assert.equal(await client.runAction("remove", "/tmp/old.log"), "deleted");
  assert.equal(await client.runAction("remove", "/tmp/keep.log"), "kept");
  assert.deepEqual(asked, ["Delete /tmp/old.log?", "Delete /tmp/keep.log?"]);
});

Deno.test("python server: a tracked stream resumes for a Deno client after its connection is cut", async () => {
  await using server = await startPythonServer();
  await using proxy = new FaultProxy({
    target: server.port,
    seed: 1,
    weights: NO_FAULTS,
    hasLifetimes: false,
  });
  await using client = new Client({ port: proxy.port, retry: 5 });
  const items: number[] = [];
  for await (
    const item of client.stream(action<number, number>("events"), 3_000, {
      window: 16,
    })
  ) {
    items.push(item);
    if (item === 500) proxy.cut();
  }
  assert.deepEqual(items, Array.from({ length: 3_000 }, (_, i) => i));
  assert.equal(proxy.accepted, 2);
});

Deno.test("python server: credentials go to its authenticate, the identity to its handlers", async () => {
  await using server = await startPythonServer(["--authenticate"]);
  {
    await using client = new Client({
      port: server.port,
      credentials: "token-1",
    });
    assert.deepEqual(await client.runAction("whoami"), { user: "ada" });
  }
  for (const credentials of ["token-2", undefined]) {
    await using client = new Client({
      port: server.port,
      credentials,
      retry: 1,
    });
    const failed = await client.runAction("whoami").catch((e) => e);
    assert.ok(failed instanceof ClientError, String(failed));
    assert.equal(failed.code, "UNAUTHORIZED");
  }
});

Deno.test("python server: on a Unix socket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/isock.sock`;
    await using server = await startPythonServer(["--path", path]);
    assert.equal(server.path, path);
    await using client = new Client({ path });
    assert.equal(await client.runAction("echo", "over unix"), "over unix");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("python server: input checks answer INVALID_INPUT; response metadata comes back", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  assert.equal(await client.runAction("percent", 40), "40%");
  const failed = await client.runAction("percent", 140).catch((e) => e);
  assert.ok(failed instanceof RemoteError);
  assert.equal(failed.code, "INVALID_INPUT");
  assert.deepEqual(failed.issues, [
    { message: "a percent is from 0 to 100", path: [] },
  ]);
  let servedBy: string | undefined;
  assert.equal(
    await client.runAction("responseMeta", "x", {
      onResponseMetadata: (metadata) => servedBy = metadata.get("served-by"),
    }),
    "x",
  );
  assert.equal(servedBy, "python");
});

/** Sends `bytes` on a raw connection and reads until the server closes it; returns what came. */
async function rawExchange(
  port: number,
  bytes: Uint8Array,
): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(bytes);
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(4096);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const count = await conn.read(buffer).catch(() => null);
      if (count === null) break;
      chunks.push(buffer.slice(0, count));
    }
    const all = new Uint8Array(
      chunks.reduce((sum, chunk) => sum + chunk.length, 0),
    );
    let at = 0;
    for (const chunk of chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return all;
  } finally {
    conn.close();
  }
}

const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);

Deno.test("python server: garbage and a 2 GiB length cost only their own connection", async () => {
  await using server = await startPythonServer();
  await using client = new Client({ port: server.port });
  assert.equal(await client.runAction("echo", "before"), "before");
  const garbage = await rawExchange(
    server.port,
    new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
  );
  assert.equal(latin1(garbage.subarray(4, 10)), "isock\u0001"); // its hello
  assert.match(latin1(garbage), /PROTOCOL/);
  const hello = new Uint8Array([
    0,
    0,
    0,
    25,
    ...new TextEncoder().encode("isock"),
    1,
    0x81,
    0xac,
    ...new TextEncoder().encode("maxFrameSize"),
    0xce,
    4,
    0,
    0,
    0,
  ]);
  const huge = await rawExchange(
    server.port,
    new Uint8Array([...hello, 0x80, 0, 0, 0]),
  );
  assert.match(latin1(huge), /FRAME_TOO_LARGE/);
  assert.equal(await client.runAction("echo", "after"), "after");
});
