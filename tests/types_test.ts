/**
 * Types as users meet them: what the type checker infers for actions,
 * references, calls and streams. The checks are made when the test files
 * are type-checked (`deno test`, `deno check`): an inferred type that is
 * not the one expected fails to compile, and so does a call under
 * `@ts-expect-error` that compiles after all. The calls then run, to show
 * the types tell the truth.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import {
  type Action,
  action,
  type ActionContext,
  type ActionInput,
  type ActionOutput,
  type ActionRef,
  Server,
  tracked,
} from "../mod.ts";
import { serve } from "./helpers.ts";

/** True when A and B are the same type, not merely assignable (`any` is neither). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;
/** Compiles only when given `true`: `expectType<Equal<Inferred, Expected>>(true)`. */
function expectType<T extends true>(_: T) {}
/** Type-checks `body` without running it: for the lines that must not compile. */
function typeCheckOnly(_body: () => unknown) {}

const echo = action("echo", (data: string) => data);
const time = action("time", () => new Date());
const exec = action<string[], string>("exec");

Deno.test("types: an action's types come from its handler, a reference's from its parameters; both fit plain lists", () => {
  expectType<Equal<typeof echo, Action<string, string>>>(true);
  expectType<Equal<ActionInput<typeof echo>, string>>(true);
  expectType<Equal<ActionOutput<typeof time>, Date>>(true);
  expectType<Equal<typeof exec, ActionRef<string[], string>>>(true);
  const refs: ActionRef[] = [echo, exec];
  const actions: Action[] = [echo, time];
  typeCheckOnly(() => {
    // @ts-expect-error A reference has no handler: it is not an action.
    const _notActions: Action[] = [exec];
    // @ts-expect-error echo takes a string.
    const _otherInput: ActionRef<number, string> = echo;
    // @ts-expect-error echo answers a string.
    const _otherOutput: ActionRef<string, number> = echo;
    // @ts-expect-error The handler paired with a reference takes its input type.
    new Server().addAction(exec, (args: number) => String(args));
  });
  // The handler paired with a reference gets the reference's input type.
  const server = new Server().addAction(exec, (args) => {
    expectType<Equal<typeof args, string[]>>(true);
    return args.join(" ");
  });
  for (const action of actions) server.addAction(action);
  assert.deepStrictEqual(server.actionNames, ["exec", "echo", "time"]);
  assert.deepStrictEqual(refs.map((ref) => ref.name), ["echo", "exec"]);
  assert.equal(server.removeAction(echo), true);
  assert.equal(server.removeAction(echo), false);
  assert.deepStrictEqual(server.actionNames, ["exec", "time"]);
});

Deno.test("types: calls take the action's input type (a schema's input) and resolve to its output type", async () => {
  const length = action("length", {
    input: z.string().transform((s) => s.length),
  }, (n) => {
    expectType<Equal<typeof n, number>>(true);
    return n * 2;
  });
  const withDefault = action("withDefault", {
    input: z.object({ a: z.number().default(1) }),
  }, ({ a }) => {
    expectType<Equal<typeof a, number>>(true);
    return a;
  });
  const who = action("who", (_: undefined, context) => {
    expectType<Equal<typeof context, ActionContext>>(true);
    return context.action;
  });
  await using served = await serve([echo, time, length, withDefault, who]);
  const client = served.client();

  const echoed = await client.runAction(echo, "hi");
  const doubled = await client.runAction(length, "abc");
  const now = await client.runAction(time); // It takes no data.
  const defaulted = await client.runAction(withDefault, {});
  const name = await client.runAction(who);
  const byName = await client.runAction("echo", "by name");
  expectType<Equal<typeof echoed, string>>(true);
  expectType<Equal<typeof doubled, number>>(true);
  expectType<Equal<typeof now, Date>>(true);
  expectType<Equal<typeof defaulted, number>>(true);
  expectType<Equal<typeof name, string>>(true);
  expectType<Equal<typeof byName, unknown>>(true);
  typeCheckOnly(() => {
    // @ts-expect-error echo takes a string.
    client.runAction(echo, 1);
    // @ts-expect-error echo's data cannot be left out.
    client.runAction(echo);
    // @ts-expect-error Callers send the schema's input, a string, not the handler's number.
    client.runAction(length, 3);
    // @ts-expect-error The field, when given, is a number.
    client.runAction(withDefault, { a: "1" });
    // @ts-expect-error The options come after the data.
    client.runAction(echo, { timeout: 10 });
  });

  assert.equal(echoed, "hi");
  assert.equal(doubled, 6);
  assert.ok(now instanceof Date);
  assert.equal(defaulted, 1);
  assert.equal(name, "who");
  assert.equal(byName, "by name");
});

Deno.test("types: stream items are typed from the generator, tracked items unwrapped", async () => {
  const numbers = action("numbers", async function* () {
    yield tracked(1, { n: 1 });
  });
  const counts = action("counts", async function* (to: number) {
    for (let n = 1; n <= to; n++) yield n;
  });
  await using served = await serve([numbers, counts]);
  const client = served.client();
  const items: { n: number }[] = [];
  for await (const item of client.stream(numbers)) {
    expectType<Equal<typeof item, { n: number }>>(true);
    items.push(item);
  }
  const counted: number[] = [];
  for await (const n of client.stream(counts, 3)) {
    expectType<Equal<typeof n, number>>(true);
    counted.push(n);
  }
  typeCheckOnly(() => {
    // @ts-expect-error counts takes a number.
    client.stream(counts, "3");
    // @ts-expect-error counts' data cannot be left out.
    client.stream(counts);
  });

  assert.deepStrictEqual(items, [{ n: 1 }]);
  assert.deepStrictEqual(counted, [1, 2, 3]);
});
