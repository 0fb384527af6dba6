import assert from "node:assert/strict";
import { z } from "zod";
import { type Action, action } from "../../src/dispatch/action.ts";
import {
  RequestContext,
  type Responder,
  runAction,
  unknownAction,
} from "../../src/dispatch/run_action.ts";
import type { WireError } from "../../src/protocol/wire_error.ts";
import { settle } from "./fakes.ts";

/** A responder that records the answer. */
class RecordingResponder implements Responder {
  exposeStack = false;
  answers: [string, unknown][] = [];
  result(_context: RequestContext, value: unknown): void {
    this.answers.push(["result", value]);
  }
  error(_context: RequestContext, error: WireError): void {
    this.answers.push(["error", error]);
  }
  stream(_context: RequestContext, source: AsyncIterable<unknown>): void {
    this.answers.push(["stream", source]);
  }
  openInput(): AsyncIterable<unknown> {
    this.answers.push(["input", null]);
    return (async function* () {
      yield 1;
      yield 2;
    })();
  }
}

function context(name = "act"): RequestContext {
  return new RequestContext(
    name,
    1,
    {} as never,
    undefined,
    undefined,
    undefined,
  );
}

function run(
  act: unknown,
  data: unknown,
  streamsInput = false,
): RecordingResponder {
  const responder = new RecordingResponder();
  runAction(act as Action, data, streamsInput, context(), responder);
  return responder;
}

Deno.test("runAction: a plain handler's value is the result, at once", () => {
  const responder = run(action("act", (n: number) => n + 1), 1);
  assert.deepEqual(responder.answers, [["result", 2]]);
});

Deno.test("runAction: an async handler's value, or its rejection as ACTION_FAILED", async () => {
  const ok = run(action("act", (n: number) => Promise.resolve(n * 2)), 4);
  const failed = run(
    action("act", () => Promise.reject(new TypeError("no"))),
    0,
  );
  const thrown = run(
    action("act", () => {
      throw new Error("boom");
    }),
    0,
  );
  await settle();
  assert.deepEqual(ok.answers, [["result", 8]]);
  const code = (r: RecordingResponder) => (r.answers[0][1] as WireError).code;
  assert.equal(code(failed), "ACTION_FAILED");
  assert.equal((thrown.answers[0][1] as WireError).message, "boom");
  assert.equal(
    (thrown.answers[0][1] as WireError).stack,
    undefined,
    "no stack unless allowed",
  );
});

Deno.test("runAction: the input schema refuses bad data before the handler runs", () => {
  let ran = false;
  const act = action("act", { input: z.number() }, (n: number) => {
    ran = true;
    return n;
  });
  const responder = run(act, "not a number");
  const error = responder.answers[0][1] as WireError;
  assert.equal(error.code, "INVALID_INPUT");
  assert.match(error.message, /^Invalid input for "act"/);
  assert.equal(ran, false);
  assert.deepEqual(run(act, 5).answers, [["result", 5]]);
});

Deno.test("runAction: a result that does not match the output schema is ACTION_FAILED", () => {
  const act = action(
    "act",
    { output: z.string() },
    () => 5 as unknown as string,
  );
  const error = run(act, null).answers[0][1] as WireError;
  assert.equal(error.code, "ACTION_FAILED");
  assert.equal(error.name, "TypeError");
});

Deno.test("runAction: a returned stream goes to the responder to send", () => {
  async function* items() {
    yield 1;
  }
  const responder = run(action("act", items), null);
  assert.equal(responder.answers[0][0], "stream");
});

Deno.test("runAction: streamed input reaches the handler; a schema refuses it unopened", async () => {
  const sum = action("act", async (items: AsyncIterable<number>) => {
    let total = 0;
    for await (const item of items) total += item;
    return total;
  });
  const responder = run(sum, null, true);
  for (let i = 0; i < 4; i++) await settle();
  assert.deepEqual(responder.answers, [["input", null], ["result", 3]]);
  const checked = action("act", { input: z.number() }, (n: number) => n);
  const refused = run(checked, null, true);
  assert.equal(refused.answers.length, 1, "the input was never opened");
  assert.equal((refused.answers[0][1] as WireError).code, "INVALID_INPUT");
});

Deno.test("runAction: the error for a name no action has", () => {
  assert.deepEqual(unknownAction("x"), {
    code: "UNKNOWN_ACTION",
    name: "RemoteError",
    message: `No action named "x" here.`,
  });
});
