import assert from "node:assert/strict";
import type { ProtocolError } from "../../src/base/errors.ts";
import {
  type Action,
  action,
  type ActionContext,
} from "../../src/dispatch/action.ts";
import { MessageType } from "../../src/protocol/message_type.ts";
import type { RequestMessage } from "../../src/protocol/message_table.ts";
import {
  IncomingRequests,
  type RequestsConnection,
} from "../../src/session/incoming_requests.ts";
import { NO_FEATURES } from "../../src/session/connection.ts";
import { RecordingSender, settle } from "./fakes.ts";

function request(
  id: number,
  name: string,
  data: unknown,
  extra: Partial<RequestMessage> = {},
): RequestMessage {
  return { type: MessageType.REQUEST, id, action: name, data, ...extra };
}

function setup(
  handlers: Record<string, (data: never, context: ActionContext) => unknown>,
  maxInFlight = Infinity,
) {
  const sender = new RecordingSender();
  const failures: ProtocolError[] = [];
  let drained: () => void = () => {};
  const host: RequestsConnection & {
    isRefusing: boolean;
    isCongested: boolean;
    isClosed: boolean;
  } = {
    features: NO_FEATURES,
    out: sender,
    peer: {} as never,
    identity: { user: "u" },
    isRefusing: false,
    isClosed: false,
    isCongested: false,
    drain: () => new Promise<void>((resolve) => drained = resolve),
    blocked: () => undefined,
    failProtocol: (error) => void failures.push(error),
  };
  const actions = new Map<string, Action>();
  for (const [name, handler] of Object.entries(handlers)) {
    actions.set(name, action(name, handler) as unknown as Action);
  }
  const requests = new IncomingRequests(host, {
    actions: (name) => actions.get(name),
    maxInFlight,
    exposeStack: false,
  });
  return { sender, failures, host, requests, drain: () => drained() };
}

Deno.test("incoming requests: a request runs its action and is answered by id", async () => {
  const { sender, requests } = setup({
    double: (n: number) => n * 2,
    who: (
      _: unknown,
      context: ActionContext,
    ) => [context.identity, context.requestId],
  });
  requests.receive(request(1, "double", 21));
  requests.receive(request(2, "who", null));
  await settle();
  assert.deepEqual(sender.sent, [
    [MessageType.RESULT, 1, 42],
    [MessageType.RESULT, 2, [{ user: "u" }, 2]],
  ]);
  assert.equal(requests.active, 0);
});

Deno.test("incoming requests: unknown actions, bad data and a leaving side are refused without running", () => {
  const { sender, host, requests } = setup({ a: () => 1 });
  requests.receive(request(1, "nope", null));
  requests.receive(
    request(2, "a", null, { dataError: new Error("bad") as never }),
  );
  host.isRefusing = true;
  requests.receive(request(3, "a", null));
  const codes = sender.sent.map((m) => (m[2] as { code: string }).code);
  assert.deepEqual(codes, [
    "UNKNOWN_ACTION",
    "INVALID_REQUEST",
    "CONNECTION_CLOSED",
  ]);
});

Deno.test("incoming requests: past maxInFlight a request is OVERLOADED; an id in flight breaks the protocol", () => {
  const { sender, failures, requests } = setup({
    hang: () => new Promise(() => {}),
  }, 1);
  requests.receive(request(1, "hang", null));
  requests.receive(request(2, "hang", null));
  assert.equal((sender.sent[0][2] as { code: string }).code, "OVERLOADED");
  requests.receive(request(1, "hang", null));
  assert.match(failures[0].message, /Request id 1 is already in flight/);
  requests.closeAll(new Error("closed"));
});

Deno.test("incoming requests: a cancel aborts the handler's signal; whenIdle waits for the end", async () => {
  let signal: AbortSignal | undefined;
  const { requests } = setup({
    wait: (_: unknown, context: ActionContext) => {
      signal = context.signal;
      return new Promise((resolve) =>
        signal!.addEventListener("abort", () => resolve("stopped"))
      );
    },
  });
  requests.receive(request(1, "wait", null));
  const idle = requests.whenIdle();
  assert.equal(requests.active, 1);
  requests.cancel(1);
  assert.equal(signal!.aborted, true);
  await idle;
  assert.equal(requests.active, 0);
});

Deno.test("incoming requests: while answers are congested, requests wait, then run in order", async () => {
  const { sender, host, requests, drain } = setup({ echo: (x: number) => x });
  host.isCongested = true;
  requests.receive(request(1, "echo", 1));
  host.isCongested = false;
  requests.receive(request(2, "echo", 2)); // Behind the first, though no longer congested.
  assert.equal(sender.sent.length, 0);
  drain();
  await settle();
  assert.deepEqual(sender.sent, [[MessageType.RESULT, 1, 1], [
    MessageType.RESULT,
    2,
    2,
  ]]);
});

Deno.test("incoming requests: a streamed result goes as the caller grants credit; without a window it is refused", async () => {
  async function* ticks() {
    for (let i = 0; i < 3; i++) yield i;
  }
  const { sender, requests } = setup({ ticks });
  requests.receive(request(1, "ticks", null, { stream: 2 }));
  await settle();
  await settle();
  assert.deepEqual(sender.types, [MessageType.ITEM, MessageType.ITEM]);
  requests.grant(1, 2);
  for (let i = 0; i < 4; i++) await settle();
  assert.deepEqual(sender.sent.slice(2), [[MessageType.ITEM, 1, 2], [
    MessageType.END,
    1,
  ]]);
  assert.equal(requests.active, 0);
  requests.receive(request(2, "ticks", null));
  await settle();
  assert.equal(
    (sender.sent.at(-1)![2] as { code: string }).code,
    "STREAM_REQUIRED",
  );
});

Deno.test("incoming requests: streamed data reaches the handler, with credit back", async () => {
  const { sender, requests } = setup({
    sum: async (items: AsyncIterable<number>) => {
      let total = 0;
      for await (const item of items) total += item;
      return total;
    },
  });
  requests.receive(request(1, "sum", null, { input: true }));
  for (let i = 1; i <= 10; i++) {
    requests.input({ type: MessageType.INPUT, id: 1, item: i });
  }
  for (let i = 0; i < 4; i++) await settle();
  assert.ok(sender.sent.some((m) => m[0] === MessageType.INPUT_CREDIT));
  requests.inputEnd({ type: MessageType.INPUT_END, id: 1 });
  for (let i = 0; i < 4; i++) await settle();
  assert.deepEqual(sender.sent.at(-1), [MessageType.RESULT, 1, 55]);
});

Deno.test("incoming requests: once the connection is gone, running handlers' signals abort", () => {
  let signal: AbortSignal | undefined;
  const { requests } = setup({
    hang: (_: unknown, context: ActionContext) => {
      signal = context.signal;
      return new Promise(() => {});
    },
  });
  requests.receive(request(1, "hang", null));
  const reason = new Error("gone");
  requests.closeAll(reason);
  assert.equal(signal!.reason, reason);
});

Deno.test("incoming requests: a request whose deadline passed while it waited is answered TIMEOUT without running", async () => {
  let runs = 0;
  const { sender, host, requests, drain } = setup({
    echo: (x: number) => (runs++, x),
  });
  host.isCongested = true;
  requests.receive(request(1, "echo", 1, { timeout: 0 }));
  requests.receive(request(2, "echo", 2, { timeout: 60_000 }));
  host.isCongested = false;
  await new Promise((resolve) => setTimeout(resolve, 300)); // Past 0 ms and its grace.
  drain();
  await settle();
  assert.equal(runs, 1);
  assert.equal(sender.sent.length, 2);
  const [timedOut, answered] = sender.sent as [
    [number, number, { code: string }],
    unknown[],
  ];
  assert.deepEqual([timedOut[0], timedOut[1], timedOut[2].code], [
    MessageType.ERROR,
    1,
    "TIMEOUT",
  ]);
  assert.deepEqual(answered, [MessageType.RESULT, 2, 2]);
  requests.closeAll(new Error("done"));
});

Deno.test("incoming requests: past its deadline a request's id is free, and its late answer is not sent", async () => {
  let finish: (value: string) => void = () => {};
  const { sender, failures, requests } = setup({
    slow: () => new Promise<string>((resolve) => finish = resolve),
    echo: (x: number) => x,
  });
  requests.receive(request(1, "slow", null, { timeout: 10 }));
  for (let i = 0; i < 200 && sender.sent.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const [answer] = sender.sent as [[number, number, { code: string }]];
  assert.deepEqual([answer[0], answer[1], answer[2].code], [
    MessageType.ERROR,
    1,
    "TIMEOUT",
  ]);
  assert.equal(requests.active, 1, "the handler still runs");
  requests.receive(request(1, "echo", 7)); // The id again: no breach.
  await settle();
  finish("late");
  await settle();
  assert.deepEqual(failures, []);
  assert.deepEqual(sender.sent.slice(1), [[MessageType.RESULT, 1, 7]]);
  assert.equal(requests.active, 0);
});
