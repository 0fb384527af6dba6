/**
 * Types as users meet them: these lines must type-check (the test task
 * checks them), and run.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { type Action, action, type ActionRef, Server } from "../mod.ts";
import { serve } from "./helpers.ts";

/** Fails to compile unless A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(_: T) {}

const echo = action("echo", (data: string) => data);

Deno.test("types: typed actions fit plain ActionRef and Action lists, and removeAction", () => {
  const refs: ActionRef[] = [echo, action<number, string>("other")];
  const actions: Action[] = [echo];
  const server = new Server().addAction(echo);
  assert.equal(server.removeAction(echo), true);
  assert.equal(refs.length + actions.length, 3);
});

Deno.test("types: callers send a schema's input type; handlers get its output type", async () => {
  const length = action("length", {
    input: z.string().transform((s) => s.length),
  }, (n) => {
    expectType<Equal<typeof n, number>>(true);
    return n * 2;
  });
  const withDefault = action("withDefault", {
    input: z.object({ a: z.number().default(1) }),
  }, ({ a }) => a);
  await using served = await serve([length, withDefault]);
  const client = served.client();
  const doubled: number = await client.runAction(length, "abc");
  assert.equal(doubled, 6);
  assert.equal(await client.runAction(withDefault, {}), 1);
});

Deno.test("types: stream items are typed from the generator, tracked items unwrapped", async () => {
  const { tracked } = await import("../mod.ts");
  const numbers = action("numbers", async function* () {
    yield tracked(1, { n: 1 });
  });
  await using served = await serve([numbers]);
  for await (const item of served.client().stream(numbers)) {
    expectType<Equal<typeof item, { n: number }>>(true);
    assert.deepStrictEqual(item, { n: 1 });
  }
});
