/**
 * Security: TLS, a shared secret proved by challenge and response,
 * credentials checked by the server, and what error details leave it.
 */

import assert from "node:assert/strict";
import {
  action,
  Client,
  ClientError,
  FrameDecoderStream,
  RemoteError,
  Server,
} from "../mod.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import { delay, readUntilClosed, serve, tcpProxy, wire } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);
const whoami = action("whoami", (_: undefined, context) => context.identity);

/** A self-signed certificate for localhost and 127.0.0.1, made for these tests (see fixtures/tls/README.md). */
async function selfSignedCertificate(): Promise<{ cert: string; key: string }> {
  const read = (name: string) =>
    Deno.readTextFile(new URL(`./fixtures/tls/${name}`, import.meta.url));
  return { cert: await read("cert.pem"), key: await read("key.pem") };
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

function isUnauthorized(error: unknown): boolean {
  return error instanceof ClientError && error.code === "UNAUTHORIZED";
}

Deno.test("tls: a client that trusts the server's certificate talks to it over TLS", async () => {
  const { cert, key } = await selfSignedCertificate();
  await using server = new Server({ tls: { cert, key } }).addAction(echo);
  const { port } = await server.listen();
  await using client = new Client({
    hostname: "localhost",
    port,
    tls: { caCerts: [cert] },
  });
  assert.equal(await client.runAction(echo, "private"), "private");
});

Deno.test("tls: a client that does not trust the certificate cannot connect", async () => {
  const { cert, key } = await selfSignedCertificate();
  await using server = new Server({ tls: { cert, key } }).addAction(echo);
  const { port } = await server.listen();
  await using client = new Client({
    hostname: "localhost",
    port,
    tls: true,
    retry: 1,
  });
  await assert.rejects(
    client.runAction(echo, 1),
    (e) =>
      e instanceof ClientError && e.code === "TLS_FAILED" &&
      /certificate/i.test(e.message),
  );
});

Deno.test("tls: a plain-TCP client gets a clear error from a TLS server, which keeps serving", async () => {
  const { cert, key } = await selfSignedCertificate();
  await using server = new Server({ tls: { cert, key } }).addAction(echo);
  const { port } = await server.listen();
  await using plain = new Client({ port, retry: 1, handshakeTimeout: 1000 });
  await assert.rejects(
    plain.runAction(echo, 1),
    (e) =>
      e instanceof ClientError && e.code === "PROTOCOL" &&
      /set the client's tls option/.test(e.message),
  );
  await using client = new Client({
    hostname: "localhost",
    port,
    tls: { caCerts: [cert] },
  });
  assert.equal(await client.runAction(echo, "still serving"), "still serving");
});

Deno.test("secret: a client that knows the secret is served; the secret never travels", async () => {
  const secret = "correct horse battery staple";
  await using served = await serve([echo], { secret });
  await using proxy = tcpProxy(served.port);
  await using client = new Client({ port: proxy.port, secret });
  assert.equal(await client.runAction(echo, "hello"), "hello");
  await client.close();
  const onTheWire = proxy.bytes();
  assert.ok(
    contains(onTheWire, new TextEncoder().encode("hello")),
    "the proxy saw the traffic",
  );
  assert.ok(
    !contains(onTheWire, new TextEncoder().encode(secret)),
    "the secret crossed the wire",
  );
  assert.ok(!contains(onTheWire, new TextEncoder().encode("battery")));
});

Deno.test("secret: a wrong secret, or none, is UNAUTHORIZED before any action runs", async () => {
  let runs = 0;
  const count = action("count", () => ++runs);
  await using served = await serve([count], { secret: "right" });
  await assert.rejects(
    served.client({ secret: "wrong", retry: 1 }).runAction(count),
    isUnauthorized,
  );
  await assert.rejects(
    served.client({ retry: 1 }).runAction(count),
    isUnauthorized,
  );
  assert.equal(runs, 0);
  assert.equal(await served.client({ secret: "right" }).runAction(count), 1);
});

Deno.test("secret: a client refuses a server that cannot prove it knows the secret", async () => {
  await using served = await serve([echo]); // No secret: an impostor, as far as the client knows.
  await assert.rejects(
    served.client({ secret: "s3cret", retry: 1 }).runAction(echo, 1),
    isUnauthorized,
  );
});

Deno.test("secret: a recorded authentication cannot be replayed on another connection", async () => {
  const secret = "replay me";
  await using served = await serve([echo], { secret });
  await using proxy = tcpProxy(served.port);
  await using client = new Client({ port: proxy.port, secret });
  await client.runAction(echo, 1);
  await client.close();
  // The client's first two frames: its hello and its AUTH. Send them again.
  const [hello, auth] = await Array.fromAsync(
    ReadableStream.from([proxy.sent()]).pipeThrough(new FrameDecoderStream()),
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  await conn.write(new Uint8Array([...wire.frame(hello), ...wire.frame(auth)]));
  const { bytes, closed } = await readUntilClosed(conn, 2000);
  assert.ok(closed);
  assert.ok(contains(bytes, new TextEncoder().encode("UNAUTHORIZED")));
});

Deno.test("secret: requests sent before authenticating are refused, unrun", async () => {
  let runs = 0;
  const count = action("count", () => ++runs);
  await using served = await serve([count], { secret: "s" });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  await conn.write(
    new Uint8Array([
      ...wire.hello(),
      ...wire.message([MessageType.REQUEST, 1, "count"]),
    ]),
  );
  const { closed } = await readUntilClosed(conn, 2000);
  assert.ok(closed);
  assert.equal(runs, 0);
});

Deno.test("authenticate: credentials are checked, and handlers see who the peer is", async () => {
  const users = new Map([["token-ada", { user: "ada", role: "admin" }]]);
  await using served = await serve([whoami], {
    authenticate: (peer, credentials) => {
      assert.equal(peer.hostname, "127.0.0.1");
      return users.get(String(credentials)) ?? false;
    },
  });
  assert.deepStrictEqual(
    await served.client({ credentials: "token-ada" }).runAction(whoami),
    { user: "ada", role: "admin" },
  );
  await assert.rejects(
    served.client({ credentials: "token-eve", retry: 1 }).runAction(whoami),
    isUnauthorized,
  );
  await assert.rejects(
    served.client({ retry: 1 }).runAction(whoami),
    isUnauthorized,
  );
});

Deno.test("authenticate: one that throws refuses the client, which learns nothing of why; the server's error event does", async () => {
  const failure = new Error("directory unavailable");
  await using served = await serve([whoami], {
    authenticate: async () => {
      await Promise.resolve();
      throw failure;
    },
  });
  const errors: unknown[] = [];
  served.server.addEventListener(
    "error",
    (event) => errors.push(event.detail.error),
  );
  await assert.rejects(
    served.client({ credentials: "x", retry: 1 }).runAction(whoami),
    (e) => isUnauthorized(e) && !/directory/.test((e as Error).message),
  );
  for (let i = 0; i < 50 && errors.length === 0; i++) await delay(10);
  assert.equal((errors[0] as Error).cause, failure);
});

Deno.test("goodbyes carry no stacks: what an unauthenticated peer learns is a code and a message", async () => {
  await using served = await serve([whoami], {
    secret: "s",
    exposeStack: false,
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  await conn.write(
    new Uint8Array([
      ...wire.hello(),
      ...wire.message([MessageType.REQUEST, 1, "whoami"]),
    ]),
  );
  const { bytes } = await readUntilClosed(conn, 2000);
  const text = new TextDecoder().decode(bytes);
  assert.match(text, /UNAUTHORIZED/);
  assert.doesNotMatch(text, /session\.ts|file:| {4}at /);
});

Deno.test("authenticate: a secret and credentials together must both pass", async () => {
  await using served = await serve([whoami], {
    secret: "s",
    authenticate: (_peer, credentials) => credentials === "ok",
  });
  assert.equal(
    await served.client({ secret: "s", credentials: "ok" }).runAction(whoami),
    true,
  );
  await assert.rejects(
    served.client({ secret: "s", credentials: "no", retry: 1 }).runAction(
      whoami,
    ),
    isUnauthorized,
  );
  await assert.rejects(
    served.client({ secret: "x", credentials: "ok", retry: 1 }).runAction(
      whoami,
    ),
    isUnauthorized,
  );
});

const fail = action("fail", () => {
  throw new Error("outer", { cause: new Error("inner") });
});

Deno.test("stacks: a loopback server sends them by default; exposeStack: false withholds them", async () => {
  {
    await using served = await serve([fail]);
    await assert.rejects(served.client().runAction(fail), (e) => {
      assert.ok(e instanceof RemoteError);
      assert.match(e.remoteStack ?? "", /Error: outer/);
      assert.match((e.cause as Error).stack ?? "", /Error: inner/);
      return true;
    });
  }
  await using served = await serve([fail], { exposeStack: false });
  await assert.rejects(served.client().runAction(fail), (e) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.message, "outer");
    assert.equal(e.remoteStack, undefined);
    assert.equal((e.cause as Error).message, "inner");
    assert.equal((e.cause as Error).stack, undefined);
    return true;
  });
});
