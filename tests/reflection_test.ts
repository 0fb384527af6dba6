/**
 * Reflection: the built-in describe request tells a client what a server
 * offers (names, streams, idempotence, JSON Schemas), is not an action of
 * its own, and goes away with `reflection: false`.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import {
  action,
  ClientError,
  RemoteError,
  Server,
  ServerError,
  type ServiceDescription,
  type StandardSchemaV1,
} from "../mod.ts";
import { readDescription } from "../src/dispatch/description.ts";
import { serve } from "./helpers.ts";

const point = z.object({ x: z.number(), y: z.number() });
const add = action(
  "add",
  { input: z.tuple([z.number(), z.number()]), output: z.number() },
  ([a, b]) => a + b,
);
const norm = action(
  "norm",
  { input: point, idempotent: true },
  (p) => Math.hypot(p.x, p.y),
);
const echo = action("echo", (data: unknown) => data);
const ticks = action("ticks", async function* (count: number) {
  for (let n = 0; n < count; n++) yield n;
});

Deno.test("reflection: describe lists every action with what is knowable of it", async () => {
  await using served = await serve([add, norm, echo, ticks]);
  const description: ServiceDescription = await served.client().describe();
  assert.equal(description.version, 1);
  assert.deepEqual(description.actions.map((item) => item.name), [
    "add",
    "norm",
    "echo",
    "ticks",
  ]);
  const [addInfo, normInfo, echoInfo, ticksInfo] = description.actions;
  assert.equal(
    addInfo.input?.$schema,
    "https://json-schema.org/draft/2020-12/schema",
  );
  assert.equal(addInfo.input?.type, "array");
  assert.deepEqual(addInfo.input?.prefixItems, [{ type: "number" }, {
    type: "number",
  }]);
  assert.deepEqual(addInfo.output, {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "number",
  });
  assert.equal(addInfo.inputStream, false);
  assert.equal(normInfo.idempotent, true);
  assert.deepEqual(normInfo.input?.required, ["x", "y"]);
  assert.equal(normInfo.output, undefined);
  assert.deepEqual(echoInfo, {
    name: "echo",
    idempotent: false,
    streams: false,
    inputStream: true,
  });
  assert.equal(ticksInfo.streams, true);
});

Deno.test("reflection: the describe request is no action: not in actionNames, names reserved", () => {
  const server = new Server().addAction(echo);
  assert.deepEqual(server.actionNames, ["echo"]);
  assert.throws(
    () => server.addAction(action("$isock.describe", () => "mine")),
    (error) => error instanceof ServerError && error.code === "INVALID_ACTION",
  );
  assert.throws(
    () => new Server({ reflection: "no" as unknown as boolean }),
    (error) => error instanceof ServerError && error.code === "INVALID_OPTIONS",
  );
});

Deno.test("reflection: actions added or removed while serving show at the next describe", async () => {
  await using served = await serve([echo]);
  const client = served.client();
  assert.equal((await client.describe()).actions.length, 1);
  served.server.addAction(ticks).removeAction("echo");
  assert.deepEqual(
    (await client.describe()).actions.map((item) => item.name),
    ["ticks"],
  );
});

Deno.test("reflection: schemas JSON cannot express show as {} or not at all, and never break describe", async () => {
  const dated = action(
    "dated",
    {
      input: z.object({ at: z.date(), big: z.bigint() }),
      output: z.string().transform(Number),
    },
    (data) => String(data.at.getTime()) as unknown as number,
  );
  await using served = await serve([dated]);
  const [info] = (await served.client().describe()).actions;
  const properties = info.input?.properties as Record<string, unknown>;
  assert.deepEqual(properties.at, {});
  assert.deepEqual(properties.big, {});
  // What a transform returns is anything, as far as JSON Schema can say.
  assert.deepEqual(info.output, {
    $schema: "https://json-schema.org/draft/2020-12/schema",
  });
});

Deno.test("reflection: a schema library without JSON Schema, or whose converter throws, gives no schema", async () => {
  const plain: StandardSchemaV1<number> = {
    "~standard": {
      version: 1,
      vendor: "example",
      validate: (value) => ({ value: value as number }),
    },
  };
  const throwing = {
    "~standard": {
      ...plain["~standard"],
      jsonSchema: {
        input: () => {
          throw new Error("cannot");
        },
        output: () => ({ type: "number" }),
      },
    },
  } as StandardSchemaV1<number>;
  await using served = await serve([
    action("plain", { input: plain, output: plain }, (n) => n),
    action("throwing", { input: throwing, output: throwing }, (n) => n),
  ]);
  const [plainInfo, throwingInfo] = (await served.client().describe()).actions;
  assert.equal(plainInfo.input, undefined);
  assert.equal(plainInfo.output, undefined);
  assert.equal(throwingInfo.input, undefined);
  assert.deepEqual(throwingInfo.output, { type: "number" });
});

Deno.test("reflection: off with reflection: false, and describe is an unknown action", async () => {
  await using served = await serve([echo], { reflection: false });
  const client = served.client();
  await assert.rejects(
    client.describe(),
    (error) => error instanceof RemoteError && error.code === "UNKNOWN_ACTION",
  );
  assert.equal(await client.runAction(echo, 1), 1);
});

Deno.test("reflection: a server describes the actions a two-way client offers", async () => {
  const notify = action("notify", (message: string) => message.length);
  await using served = await serve([echo]);
  const client = served.client().addAction(notify);
  await client.runAction(echo, 0);
  const [peer] = served.server.peers;
  const description = await peer.describe();
  assert.deepEqual(description.actions.map((item) => item.name), ["notify"]);
});

Deno.test("reflection: an answer that is no description is a PROTOCOL error", () => {
  for (
    const answer of [undefined, 1, { version: 1 }, { version: 1, actions: [1] }]
  ) {
    assert.throws(
      () => readDescription(answer),
      (error) => error instanceof ClientError && error.code === "PROTOCOL",
    );
  }
  assert.deepEqual(readDescription({ version: 2, actions: [], more: 1 }), {
    version: 2,
    actions: [],
    more: 1,
  });
});
