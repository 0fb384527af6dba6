/**
 * Two-way calls: clients offer actions too, and a server calls them back
 * through `context.peer` or `server.peers`, with the same errors, deadlines
 * and cancellation as calls the other way.
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, RemoteError } from "../mod.ts";
import { delay, serve } from "./helpers.ts";

const confirm = action("confirm", (question: string) => question.endsWith("?"));

Deno.test("two-way: a server handler calls back the client that called it", async () => {
  const deleteFile = action("deleteFile", async (path: string, context) => {
    const isConfirmed = await context.peer.runAction(
      confirm,
      `Delete ${path}?`,
    );
    return isConfirmed ? `deleted ${path}` : "kept";
  });
  await using served = await serve([deleteFile]);
  const client = served.client().addAction(confirm);
  assert.equal(await client.runAction(deleteFile, "/tmp/x"), "deleted /tmp/x");
  assert.deepStrictEqual(client.actionNames, ["confirm"]);
});

Deno.test("two-way: the server reaches every connected client through server.peers", async () => {
  await using served = await serve([action("join", () => "joined")]);
  const inboxes: string[][] = [[], [], []];
  const clients = inboxes.map((inbox) =>
    served.client().addAction(action("notify", (message: string) => {
      inbox.push(message);
    }))
  );
  await Promise.all(clients.map((client) => client.runAction("join")));
  assert.equal(served.server.peers.length, 3);
  await Promise.all(
    served.server.peers.map((peer) =>
      peer.runAction("notify", "maintenance at noon")
    ),
  );
  assert.deepStrictEqual(inboxes, [["maintenance at noon"], [
    "maintenance at noon",
  ], ["maintenance at noon"]]);
  for (const peer of served.server.peers) {
    assert.equal(peer.hostname, "127.0.0.1");
  }
});

Deno.test("two-way: errors from the client's handler reach the server as RemoteError", async () => {
  const refuse = action("refuse", (): never => {
    throw new TypeError("not now");
  });
  const ask = action("ask", async (_: undefined, context) => {
    try {
      await context.peer.runAction(refuse);
      return "answered";
    } catch (error) {
      return error instanceof RemoteError
        ? `${error.code} ${error.remoteName}: ${error.message}`
        : "other";
    }
  });
  const askMissing = action(
    "askMissing",
    (_: undefined, context) =>
      context.peer.runAction("missing").catch((error: RemoteError) =>
        error.code
      ),
  );
  await using served = await serve([ask, askMissing]);
  const client = served.client().addAction(refuse);
  assert.equal(await client.runAction(ask), "ACTION_FAILED TypeError: not now");
  assert.equal(await client.runAction(askMissing), "UNKNOWN_ACTION");
});

Deno.test("two-way: deadlines and cancellation work from server to client too", async () => {
  const aborted = Promise.withResolvers<void>();
  const ponder = action(
    "ponder",
    (_: undefined, context) =>
      new Promise<never>(() =>
        context.signal.addEventListener("abort", () => aborted.resolve())
      ),
  );
  const impatient = action(
    "impatient",
    (_: undefined, context) =>
      context.peer.runAction(ponder, undefined, { timeout: 50 }).catch((
        error: ClientError,
      ) => error.code),
  );
  await using served = await serve([impatient]);
  const client = served.client().addAction(ponder);
  assert.equal(await client.runAction(impatient), "TIMEOUT");
  await aborted.promise;
});

Deno.test("two-way: a server consumes a stream the client produces", async () => {
  const readings = action("readings", async function* (count: number) {
    for (let i = 1; i <= count; i++) {
      await delay(1);
      yield i * 1.5;
    }
  });
  const average = action("average", async (count: number, context) => {
    let sum = 0;
    for await (const value of context.peer.stream(readings, count)) {
      sum += value;
    }
    return sum / count;
  });
  await using served = await serve([average]);
  const client = served.client().addAction(readings);
  assert.equal(await client.runAction(average, 10), 8.25);
});

Deno.test("two-way: client actions are checked like server actions", () => {
  using client = new Client({ port: 1 });
  client.addAction(confirm);
  assert.throws(
    () => client.addAction(confirm),
    (e) => e instanceof ClientError && e.code === "DUPLICATE_ACTION",
  );
  assert.throws(
    () => client.addAction({} as typeof confirm),
    (e) => e instanceof ClientError && e.code === "INVALID_ACTION",
  );
  assert.equal(client.removeAction("confirm"), true);
});
