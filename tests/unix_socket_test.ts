/**
 * Unix sockets on Deno: `path` instead of `hostname`/`port` on both ends,
 * the address `listen()` returns and the `connect` event carries, the
 * peer's transport, and the option checks and errors.
 */

import assert from "node:assert/strict";
import {
  action,
  Client,
  ClientError,
  type Peer,
  Server,
  ServerError,
} from "../mod.ts";
import { socketPath } from "./conformance/sockets.ts";

const echo = action("echo", (data: unknown) => data);

Deno.test("unix socket: calls, streams and the peer's transport over a path", async () => {
  const path = socketPath();
  const count = action("count", async function* (to: number) {
    for (let n = 1; n <= to; n++) yield n;
  });
  await using server = new Server({ path }).addAction(echo).addAction(count);
  const connected = new Promise<Peer>((resolve) =>
    server.addEventListener("connect", (event) => resolve(event.detail))
  );
  assert.deepStrictEqual(await server.listen(), {
    hostname: path,
    port: 0,
    path,
  });
  assert.deepStrictEqual(server.addr, { hostname: path, port: 0, path });
  await using client = new Client({ path });
  assert.deepStrictEqual(await client.runAction(echo, { a: [1, 2] }), {
    a: [1, 2],
  });
  const items: number[] = [];
  for await (const n of client.stream(count, 3)) items.push(n);
  assert.deepStrictEqual(items, [1, 2, 3]);
  assert.equal((await connected).transport, "unix");
});

Deno.test("unix socket: the server removes its socket file when it shuts down", async () => {
  const path = socketPath();
  const server = new Server({ path });
  await server.listen();
  assert.ok((await Deno.lstat(path)).isSocket);
  await server.shutdown();
  await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
  // And the path can be listened on again.
  await using again = new Server({ path });
  await again.listen();
});

Deno.test("unix socket: a path in use is ADDR_IN_USE, a missing one CONNECT_FAILED", async () => {
  const path = socketPath();
  await using server = new Server({ path });
  await server.listen();
  await assert.rejects(new Server({ path }).listen(), (error) => {
    assert.ok(error instanceof ServerError);
    assert.equal(error.code, "ADDR_IN_USE");
    assert.match(
      error.message,
      new RegExp(`${path}: the socket path is already in use`),
    );
    return true;
  });
  const missing = socketPath();
  await using client = new Client({ path: missing, retry: 2, retryDelay: 1 });
  await assert.rejects(client.runAction(echo, 1), (error) => {
    assert.ok(error instanceof ClientError);
    assert.equal(error.code, "CONNECT_FAILED");
    assert.match(
      error.message,
      new RegExp(`Cannot connect to ${missing} after 2 attempts`),
    );
    assert.match(error.message, /Is the server running there\?/);
    return true;
  });
});

Deno.test("unix socket: path with hostname or port, or an empty path, is INVALID_OPTIONS", () => {
  const path = socketPath();
  for (
    const options of [{ path, hostname: "127.0.0.1" }, { path, port: 0 }, {
      path: "",
    }]
  ) {
    assert.throws(
      () => new Server(options),
      (error) =>
        error instanceof ServerError && error.code === "INVALID_OPTIONS" &&
        /path/.test(error.message),
    );
    assert.throws(
      // @ts-expect-error: path excludes hostname and port, and is not empty.
      () => new Client(options),
      (error) =>
        error instanceof ClientError && error.code === "INVALID_OPTIONS" &&
        /path/.test(error.message),
    );
  }
  // Without a path, a client still needs a port.
  assert.throws(
    // @ts-expect-error: a client needs a way to its server.
    () => new Client({}),
    (error) =>
      error instanceof ClientError && error.code === "INVALID_OPTIONS" &&
      /port/.test(error.message),
  );
});
