/**
 * A call's deadline covers setting up its connection: a call whose
 * deadline passes during the TCP connect, the TLS handshake, the hello or
 * a wait between tries rejects with `TIMEOUT`, never run, even when each
 * attempt's own timeout is as long as the call's (as the command line sets
 * them); a connection refused every time before the deadline still fails
 * with `CONNECT_FAILED`.
 */

import assert from "node:assert/strict";
import { Client, ClientError, type ClientOptions } from "../mod.ts";
import { freePort, runCli } from "./helpers.ts";

/** How late a failure may come after the deadline, on a loaded machine. */
const SLACK = 1_000;

/**
 * A TCP server that accepts every connection and never says a word: no
 * isock hello, no TLS handshake.
 */
function silentServer(): { port: number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) conns.push(conn);
  })();
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed by the client already.
        }
      }
    },
  };
}

/** Runs one call with `timeout` and says how it failed, and after how long. */
async function failure(
  options: ClientOptions,
  timeout: number,
): Promise<{ error: ClientError; elapsed: number }> {
  await using client = new Client(options);
  const started = performance.now();
  try {
    await client.runAction("echo", 1, { timeout });
  } catch (error) {
    assert.ok(error instanceof ClientError, String(error));
    return { error, elapsed: performance.now() - started };
  }
  throw new Error("the call succeeded");
}

Deno.test("connect deadline: a deadline passing during setup rejects TIMEOUT, never run, even with handshakeTimeout as long", async (t) => {
  await using silent = silentServer();
  const { port } = silent;
  const cases: [string, ClientOptions][] = [
    ["the hello", { port }],
    ["the TLS handshake", { port, tls: true }],
    ["the hello, one server of several", { endpoints: [{ port }] }],
    ["the TLS handshake, one of several", { endpoints: [{ port }], tls: true }],
  ];
  for (const [during, options] of cases) {
    await t.step(during, async () => {
      const { error, elapsed } = await failure(
        { ...options, handshakeTimeout: 200, retry: 1 },
        200,
      );
      assert.equal(error.code, "TIMEOUT", error.message);
      assert.equal(error.wasRun, false);
      assert.ok(elapsed < 200 + SLACK, `${elapsed} ms`);
    });
  }
});

Deno.test("connect deadline: with several servers the TIMEOUT says so, and names one last failure", async () => {
  await using a = silentServer();
  await using b = silentServer();
  const { error } = await failure(
    {
      endpoints: [{ port: a.port }, { port: b.port }],
      handshakeTimeout: 200,
      retry: 1,
    },
    200,
  );
  assert.equal(error.code, "TIMEOUT", error.message);
  assert.match(
    error.message,
    /^No connection to any of the 2 servers within the call's 200 ms\./,
  );
  assert.ok(
    (error.message.match(/Last failure/g) ?? []).length <= 1,
    error.message,
  );
  assert.doesNotMatch(error.message, /None of the/);
});

Deno.test("connect deadline: a wait between refused tries cut by the deadline is a TIMEOUT", async () => {
  const { error, elapsed } = await failure(
    { port: freePort(), retry: 5, retryDelay: 2_000, maxRetryDelay: 2_000 },
    200,
  );
  assert.equal(error.code, "TIMEOUT", error.message);
  assert.equal(error.wasRun, false);
  assert.ok(elapsed < 200 + SLACK, `${elapsed} ms`);
});

Deno.test("connect deadline: tries all refused before the deadline fail CONNECT_FAILED", async () => {
  const { error, elapsed } = await failure(
    { port: freePort(), retry: 3, retryDelay: 5, maxRetryDelay: 10 },
    10_000,
  );
  assert.equal(error.code, "CONNECT_FAILED", error.message);
  assert.equal(error.wasRun, false);
  assert.ok(elapsed < 5_000, `${elapsed} ms`);
});

Deno.test("connect deadline: isock call --timeout against a server that never answers exits with the timeout code", async (t) => {
  await using silent = silentServer();
  const targets: [string, string[]][] = [
    ["plain", [`127.0.0.1:${silent.port}`]],
    ["tls", [`tls://127.0.0.1:${silent.port}`, "--insecure-skip-verify"]],
  ];
  for (const [name, target] of targets) {
    await t.step(name, async () => {
      const [address, ...flags] = target;
      const { code, stderr: line } = await runCli(
        ["call", address, "echo", "1", "--timeout", "200ms", ...flags],
        { deadlineMs: 30_000 },
      );
      assert.equal(code, 5, line);
      assert.match(line, /^isock: TIMEOUT: /);
    });
  }
});
