import assert from "node:assert/strict";
import {
  action,
  Client,
  ClientError,
  CodecError,
  RemoteError,
  Server,
} from "../mod.ts";
import { delay, freePort, serve } from "./helpers.ts";

const echo = action("echo", (data: unknown) => data);
const fail = action("fail", (message: string): never => {
  throw new TypeError(message);
});

function isClientError(code: string) {
  return (error: unknown) =>
    error instanceof ClientError && error.code === code;
}

Deno.test("client: runAction returns what the action returned, typed from the action", async () => {
  const greet = action("greet", (name: string) => `hello ${name}`);
  await using served = await serve([greet]);
  const greeting: string = await served.client().runAction(greet, "Ada");
  assert.equal(greeting, "hello Ada");
});

Deno.test("client: runAction by name works too", async () => {
  await using served = await serve([echo]);
  assert.deepStrictEqual(await served.client().runAction("echo", { a: 1 }), {
    a: 1,
  });
});

Deno.test("client: data omitted means the handler gets undefined", async () => {
  const seen: unknown[] = [];
  const record = action("record", (data: unknown) => {
    seen.push(data);
    return seen.length;
  });
  await using served = await serve([record]);
  const client = served.client();
  await client.runAction(record);
  await client.runAction("record");
  assert.deepStrictEqual(seen, [undefined, undefined]);
});

Deno.test("client: something that is not an action is INVALID_ACTION, with no network traffic", async () => {
  // Nothing listens on this port: a connection attempt would be CONNECT_FAILED instead.
  await using client = new Client({ port: freePort(), retry: 1 });
  for (const bad of ["", null, undefined, {}, { name: "" }, 42]) {
    await assert.rejects(
      client.runAction(bad as unknown as string),
      isClientError("INVALID_ACTION"),
    );
  }
  assert.equal(client.isConnected, false);
});

Deno.test("client: CONNECT_FAILED after `retry` attempts names the address and the cause", async () => {
  const port = freePort();
  await using client = new Client({ port, retry: 3, retryDelay: 10 });
  const started = performance.now();
  await assert.rejects(client.runAction(echo, 1), (error) => {
    assert.ok(isClientError("CONNECT_FAILED")(error));
    const message = (error as Error).message;
    assert.match(message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(message, /3 attempts/);
    assert.match(message, /refused/i);
    assert.ok((error as Error).cause instanceof Error);
    return true;
  });
  // Backoff waited between attempts: two waits of at least half of 10 and 20 ms.
  assert.ok(performance.now() - started >= 15);
});

Deno.test("client: a server that comes up during the retry window is reached", async () => {
  const port = freePort();
  await using client = new Client({ port, retry: 8, retryDelay: 50 });
  const call = client.runAction(echo, "late but fine");
  await delay(120);
  await using server = new Server({ port }).addAction(echo);
  await server.listen();
  assert.equal(await call, "late but fine");
});

Deno.test("client: the remote error arrives with its code, name, message and stack", async () => {
  await using served = await serve([fail]);
  await assert.rejects(
    served.client().runAction(fail, "wrong input"),
    (error) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.code, "ACTION_FAILED");
      assert.equal(error.remoteName, "TypeError");
      assert.equal(error.message, "wrong input");
      assert.match(error.remoteStack ?? "", /TypeError: wrong input/);
      return true;
    },
  );
});

Deno.test("client: a thrown non-Error value arrives as the cause", async () => {
  const throwsValue = action("throwsValue", () => {
    throw { reason: "jammed", slot: 3 };
  });
  await using served = await serve([throwsValue]);
  await assert.rejects(served.client().runAction(throwsValue), (error) => {
    assert.ok(error instanceof RemoteError && error.code === "ACTION_FAILED");
    assert.deepStrictEqual(error.cause, { reason: "jammed", slot: 3 });
    return true;
  });
});

Deno.test("client: an async handler's rejection is ACTION_FAILED too", async () => {
  const later = action("later", async () => {
    await delay(1);
    throw new RangeError("too far");
  });
  await using served = await serve([later]);
  await assert.rejects(
    served.client().runAction(later),
    (e) =>
      e instanceof RemoteError && e.code === "ACTION_FAILED" &&
      e.remoteName === "RangeError",
  );
});

Deno.test("client: UNKNOWN_ACTION names the action", async () => {
  await using served = await serve([echo]);
  await assert.rejects(
    served.client().runAction("missing"),
    (e) =>
      e instanceof RemoteError && e.code === "UNKNOWN_ACTION" &&
      e.message.includes("missing"),
  );
});

Deno.test("client: stays usable after every kind of failure", async () => {
  await using served = await serve([echo, fail]);
  const client = served.client();
  await assert.rejects(client.runAction(fail, "x"));
  await assert.rejects(client.runAction("missing"));
  await assert.rejects(client.runAction(echo, () => 1));
  await assert.rejects(client.runAction(""));
  assert.equal(await client.runAction(echo, "still here"), "still here");
});

Deno.test("client: a value that cannot be encoded fails that call only, before sending", async () => {
  await using served = await serve([echo]);
  const client = served.client();
  await assert.rejects(
    client.runAction(echo, { f: () => 1 }),
    (e) => e instanceof CodecError && e.code === "ENCODE_FAILED",
  );
  assert.equal(await client.runAction(echo, 1), 1);
});

Deno.test("client: a result that cannot be encoded is ACTION_FAILED", async () => {
  const returnsFunction = action("returnsFunction", () => () => 1);
  await using served = await serve([returnsFunction]);
  await assert.rejects(
    served.client().runAction(returnsFunction),
    (e) =>
      e instanceof RemoteError && e.code === "ACTION_FAILED" &&
      /cannot be sent/.test(e.message),
  );
});

Deno.test("client: 1000 concurrent calls on one connection each get their own answer", async () => {
  const double = action("double", async (n: number) => {
    await delay(Math.random() * 5);
    return n * 2;
  });
  await using served = await serve([double]);
  const client = served.client();
  const numbers = Array.from({ length: 1000 }, (_, i) => i);
  const results = await Promise.all(
    numbers.map((n) => client.runAction(double, n)),
  );
  assert.deepStrictEqual(results, numbers.map((n) => n * 2));
  assert.equal(served.server.connectionCount, 1);
});

Deno.test("client: 50 clients at once are all answered", async () => {
  await using served = await serve([echo]);
  const answers = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const client = served.client();
      return await Promise.all([
        client.runAction(echo, i),
        client.runAction(echo, -i),
      ]);
    }),
  );
  assert.deepStrictEqual(
    answers,
    Array.from({ length: 50 }, (_, i) => [i, -i]),
  );
  assert.equal(served.server.connectionCount, 50);
});

Deno.test("client: calls in flight when the connection drops reject CONNECTION_CLOSED; the next call reconnects", async () => {
  let runs = 0;
  const hang = action("hang", () => {
    runs++;
    return new Promise<never>(() => {});
  });
  const port = freePort();
  const client = new Client({ port, retry: 20, retryDelay: 20 });
  {
    await using server = new Server({ port }).addAction(hang).addAction(echo);
    await server.listen();
    const calls = [client.runAction(hang), client.runAction(hang)];
    while (runs < 2) await delay(5);
    // Drop the connection under the calls: shut down without waiting for them.
    await server.shutdown({ timeout: 0 });
    for (const call of calls) {
      await assert.rejects(call, isClientError("CONNECTION_CLOSED"));
    }
  }
  await using server = new Server({ port }).addAction(echo);
  await server.listen();
  assert.equal(await client.runAction(echo, "again"), "again");
  await client.close();
});

Deno.test("client: close rejects the calls in flight and every later call", async () => {
  const hang = action("hang", () => new Promise<never>(() => {}));
  await using served = await serve([hang, echo]);
  const client = served.client();
  const call = client.runAction(hang);
  await delay(10);
  await client.close();
  await assert.rejects(call, isClientError("CONNECTION_CLOSED"));
  await assert.rejects(
    client.runAction(echo, 1),
    isClientError("CONNECTION_CLOSED"),
  );
});

Deno.test("client: close during connection retries stops them at once", async () => {
  const client = new Client({ port: freePort(), retry: 100, retryDelay: 1000 });
  const call = client.runAction(echo, 1);
  await delay(20);
  const started = performance.now();
  await client.close();
  await assert.rejects(call, (e) => e instanceof ClientError);
  assert.ok(performance.now() - started < 500);
});

Deno.test("client: using and await using close the client", async () => {
  await using served = await serve([echo]);
  {
    using client = new Client({ port: served.port });
    await client.runAction(echo, 1);
    assert.equal(served.server.connectionCount, 1);
  }
  for (let i = 0; i < 50 && served.server.connectionCount > 0; i++) {
    await delay(10);
  }
  assert.equal(served.server.connectionCount, 0);
});

Deno.test("client: bad options are refused at once", () => {
  assert.throws(
    () => new Client({ port: -1 }),
    isClientError("INVALID_OPTIONS"),
  );
  assert.throws(
    () => new Client({ port: 1, retry: 1.5 }),
    isClientError("INVALID_OPTIONS"),
  );
  assert.throws(
    () => new Client({ port: 1, maxFrameSize: 0 }),
    isClientError("INVALID_OPTIONS"),
  );
});
