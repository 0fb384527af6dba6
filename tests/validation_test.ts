/**
 * Input and output validation with Standard Schema: zod here, and a
 * hand-written schema to show that isock depends on no library.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { action, RemoteError, type StandardSchemaV1 } from "../mod.ts";
import { serve } from "./helpers.ts";

const Reading = z.object({
  sensor: z.string().min(1),
  celsius: z.number().min(-273.15),
  at: z.coerce.date(),
});

Deno.test("validation: valid input reaches the handler, as the schema parsed it", async () => {
  const record = action("record", { input: Reading }, (reading) => ({
    isDate: reading.at instanceof Date,
    sensor: reading.sensor,
  }));
  await using served = await serve([record]);
  const result = await served.client().runAction(record, {
    sensor: "lab-1",
    celsius: 21.5,
    at: new Date(0),
  });
  assert.deepStrictEqual(result, { isDate: true, sensor: "lab-1" });
});

Deno.test("validation: invalid input is INVALID_INPUT with the schema's issues; the handler never runs", async () => {
  let runs = 0;
  const record = action("record", { input: Reading }, () => ++runs);
  await using served = await serve([record]);
  await assert.rejects(
    served.client().runAction("record", { sensor: "", celsius: -300 }),
    (error) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.code, "INVALID_INPUT");
      const paths = error.issues?.map((issue) => issue.path.join("."));
      assert.deepStrictEqual(paths?.sort(), ["at", "celsius", "sensor"]);
      assert.match(error.message, /celsius/);
      return true;
    },
  );
  assert.equal(runs, 0);
});

Deno.test("validation: a result that fails the output schema is not sent", async () => {
  const leaky = action("leaky", {
    output: z.object({ name: z.string() }).strict(),
  }, () => ({
    name: "ada",
    password: "hunter2",
  }));
  await using served = await serve([leaky]);
  await assert.rejects(served.client().runAction(leaky), (error) => {
    assert.ok(error instanceof RemoteError);
    assert.equal(error.code, "ACTION_FAILED");
    assert.match(error.message, /output schema/);
    assert.doesNotMatch(JSON.stringify(error), /hunter2/);
    return true;
  });
});

Deno.test("validation: asynchronous schemas work too", async () => {
  const available = z.string().refine(async (name) => {
    await Promise.resolve();
    return name !== "taken";
  }, "that name is taken");
  const claim = action(
    "claim",
    { input: available },
    (name) => `claimed ${name}`,
  );
  await using served = await serve([claim]);
  const client = served.client();
  assert.equal(await client.runAction(claim, "free"), "claimed free");
  await assert.rejects(
    client.runAction(claim, "taken"),
    (e) =>
      e instanceof RemoteError && e.code === "INVALID_INPUT" &&
      /taken/.test(e.message),
  );
});

Deno.test("validation: any Standard Schema works, no library needed", async () => {
  const even: StandardSchemaV1<number> = {
    "~standard": {
      version: 1,
      vendor: "hand-written",
      validate: (value) =>
        typeof value === "number" && value % 2 === 0
          ? { value }
          : { issues: [{ message: "expected an even number", path: [] }] },
    },
  };
  const half = action("half", { input: even }, (n) => n / 2);
  await using served = await serve([half]);
  const client = served.client();
  const result: number = await client.runAction(half, 10);
  assert.equal(result, 5);
  await assert.rejects(
    client.runAction(half, 3),
    (e) =>
      e instanceof RemoteError && e.code === "INVALID_INPUT" &&
      e.issues?.[0].message === "expected an even number",
  );
});

Deno.test("validation: a reference carries its schemas to the server's handler", async () => {
  const setPoint = action("setPoint", {
    input: z.number().int().min(0).max(100),
  });
  await using served = await serve([]);
  served.server.addAction(setPoint, (percent) => percent * 2);
  const client = served.client();
  assert.equal(await client.runAction(setPoint, 40), 80);
  await assert.rejects(
    client.runAction(setPoint, 400),
    (e) => e instanceof RemoteError && e.code === "INVALID_INPUT",
  );
});

Deno.test("validation: options that are not schemas are refused when the action is made", () => {
  assert.throws(
    () =>
      action("bad", {
        input: { parse: () => 1 } as unknown as StandardSchemaV1,
      }, () => 1),
    (e) => (e as { code?: string }).code === "INVALID_ACTION",
  );
});
