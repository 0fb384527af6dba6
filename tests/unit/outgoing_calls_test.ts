import assert from "node:assert/strict";
import {
  ClientError,
  type ProtocolError,
  RemoteError,
} from "../../src/base/errors.ts";
import { MessageType } from "../../src/protocol/message_type.ts";
import {
  type CallsConnection,
  OutgoingCalls,
  PendingCall,
} from "../../src/session/outgoing_calls.ts";
import { NO_FEATURES } from "../../src/session/connection.ts";
import { RecordingSender, settle } from "./fakes.ts";

function setup() {
  const sender = new RecordingSender();
  const events: string[] = [];
  const host: CallsConnection = {
    features: NO_FEATURES,
    out: sender,
    callError: () => new ClientError("CONNECTION_CLOSED", "gone"),
    busy: () => void events.push("busy"),
    quiet: () => void events.push("quiet"),
    settled: () => void events.push("settled"),
    failProtocol: (error: ProtocolError) =>
      void events.push(`protocol ${error.message}`),
    blocked: () => undefined,
  };
  return { sender, events, calls: new OutgoingCalls(host) };
}

Deno.test("outgoing calls: a request goes out with the next id; its answer settles it", async () => {
  const { sender, events, calls } = setup();
  const first = calls.call("add", [1, 2]);
  const second = calls.call("echo", "x", { timeout: 500 });
  assert.equal(calls.size, 2);
  assert.deepEqual(sender.sent, [
    [MessageType.REQUEST, 1, "add", [1, 2]],
    [MessageType.REQUEST, 2, "echo", "x", { timeout: 500 }],
  ]);
  calls.result({ type: MessageType.RESULT, id: 2, value: "x" });
  calls.error(1, { code: "ACTION_FAILED", name: "Error", message: "no" });
  assert.equal(await second, "x");
  await assert.rejects(
    first,
    (error: unknown) =>
      error instanceof RemoteError && error.code === "ACTION_FAILED",
  );
  assert.deepEqual(events, ["busy", "settled", "quiet", "settled"]);
  calls.result({ type: MessageType.RESULT, id: 2, value: "late" }); // Dropped.
});

Deno.test("outgoing calls: a timeout fails the call and cancels it at the peer", async () => {
  const { sender, calls } = setup();
  const call = calls.call("slow", null, { timeout: 5 });
  await assert.rejects(
    call,
    (error: unknown) =>
      error instanceof ClientError && error.code === "TIMEOUT" &&
      error.message === `"slow" did not answer within 5 ms.`,
  );
  assert.deepEqual(sender.sent.at(-1), [MessageType.CANCEL, 1]);
  assert.equal(calls.size, 0);
});

Deno.test("outgoing calls: an abort fails the call, cancels it, and its listener goes", async () => {
  const { sender, calls } = setup();
  const controller = new AbortController();
  const call = calls.call("slow", null, { signal: controller.signal });
  controller.abort("enough");
  await assert.rejects(
    call,
    (error: unknown) =>
      error instanceof ClientError && error.code === "ABORTED" &&
      error.cause === "enough",
  );
  assert.deepEqual(sender.sent.at(-1), [MessageType.CANCEL, 1]);
  const aborted = calls.call("slow", null, { signal: controller.signal });
  await assert.rejects(aborted, /aborted/);
  assert.equal(sender.sent.length, 2, "an aborted signal sends nothing");
});

Deno.test("outgoing calls: bad options and a closed connection fail without sending", async () => {
  const { sender, calls } = setup();
  await assert.rejects(
    calls.call("a", null, { timeout: -1 }),
    /Option timeout/,
  );
  const stream = calls.openStream("a", null, { window: 0 });
  await assert.rejects(stream.receiver.next(), /Option window/);
  sender.isClosed = true;
  await assert.rejects(calls.call("a", null), /gone/);
  assert.equal(sender.sent.length, 0);
});

Deno.test("outgoing calls: a request that cannot go fails its call alone", async () => {
  const { sender, calls } = setup();
  sender.limit = 20;
  await assert.rejects(calls.call("a", "x".repeat(50)), /too large/);
  assert.equal(calls.size, 0);
});

Deno.test("outgoing calls: a streamed result's items arrive in order; credit and cancel go back", async () => {
  const { sender, calls } = setup();
  const stream = calls.openStream("ticks", null, { window: 2, lastEventId: 3 });
  assert.deepEqual(sender.sent[0], [
    MessageType.REQUEST,
    1,
    "ticks",
    null,
    { stream: 2, lastEventId: 3 },
  ]);
  calls.item({ type: MessageType.ITEM, id: 1, item: "a", eventId: 4 });
  calls.item({ type: MessageType.ITEM, id: 1, item: "b" });
  assert.equal((await stream.receiver.next()).value, "a");
  assert.equal(stream.lastEventId, 4);
  assert.deepEqual(sender.sent.at(-1), [MessageType.CREDIT, 1, 1]);
  await stream.receiver.return();
  assert.deepEqual(sender.sent.at(-1), [MessageType.CANCEL, 1]);
  assert.equal(calls.size, 0);
});

Deno.test("outgoing calls: an item for a call that streams nothing breaks the protocol", () => {
  const { events, calls } = setup();
  calls.call("plain", null).catch(() => {});
  calls.item({ type: MessageType.ITEM, id: 1, item: "x" });
  assert.match(
    events.at(-1)!,
    /^protocol A stream item arrived for a call that streams nothing/,
  );
});

Deno.test("outgoing calls: streamed data goes as the peer grants credit, and ends", async () => {
  const { sender, calls } = setup();
  async function* source() {
    for (let i = 0; i < 20; i++) yield i;
  }
  const call = calls.call("upload", source());
  assert.deepEqual(sender.sent[0], [MessageType.REQUEST, 1, "upload", null, {
    input: true,
  }]);
  for (let i = 0; i < 5; i++) await settle();
  assert.equal(
    sender.sent.filter((m) => m[0] === MessageType.INPUT).length,
    16,
  );
  calls.grantInput(1, 16);
  for (let i = 0; i < 5; i++) await settle();
  assert.equal(
    sender.sent.filter((m) => m[0] === MessageType.INPUT).length,
    20,
  );
  assert.deepEqual(sender.sent.at(-1), [MessageType.INPUT_END, 1]);
  calls.result({ type: MessageType.RESULT, id: 1, value: 20 });
  assert.equal(await call, 20);
});

Deno.test("outgoing calls: once the connection is gone, every waiting call fails with its reason", async () => {
  const { calls } = setup();
  const a = calls.call("a", null);
  const b = calls.openStream("b", null);
  const reason = new ClientError("CONNECTION_CLOSED", "closed");
  calls.failAll(reason);
  await assert.rejects(a, (error) => error === reason);
  await assert.rejects(b.receiver.next(), (error) => error === reason);
  assert.equal(calls.size, 0);
});

/** The calls waiting for their answers, seen without making any request. */
function pendingSetup() {
  const sender = new RecordingSender();
  const events: string[] = [];
  const calls = new OutgoingCalls({
    features: NO_FEATURES,
    out: sender,
    callError: () => new ClientError("CONNECTION_CLOSED", "gone"),
    blocked: () => undefined,
    busy: () => void events.push("busy"),
    quiet: () => void events.push("quiet"),
    settled: () => void events.push("settled"),
    failProtocol: (error: ProtocolError) =>
      void events.push(`protocol ${error.message}`),
  });
  const wait = (id: number) =>
    new Promise<unknown>((resolve, reject) =>
      calls.waitFor(id, new PendingCall(resolve, reject))
    );
  return { sender, events, calls, wait };
}

Deno.test("pending calls: answers settle their calls; busy and quiet bracket them", async () => {
  const { events, calls, wait } = pendingSetup();
  const first = wait(1);
  const second = wait(2);
  assert.equal(calls.size, 2);
  calls.result({ type: MessageType.RESULT, id: 1, value: "one" });
  calls.end({ id: 2 });
  calls.result({ type: MessageType.RESULT, id: 1, value: "late" }); // Dropped.
  assert.equal(await first, "one");
  assert.equal(await second, undefined);
  assert.deepEqual(events, ["busy", "settled", "quiet", "settled"]);
  assert.equal(calls.size, 0);
});

Deno.test("pending calls: cancel fails the call and tells the peer; failAll fails the rest", async () => {
  const { sender, calls, wait } = pendingSetup();
  const cancelled = wait(3);
  const cut = wait(4);
  calls.cancel(3, new ClientError("TIMEOUT", "too slow"));
  calls.cancel(3, new ClientError("TIMEOUT", "again")); // Nothing left to cancel.
  await assert.rejects(cancelled, { code: "TIMEOUT", message: "too slow" });
  assert.deepEqual(sender.sent, [[MessageType.CANCEL, 3]]);
  calls.failAll(new ClientError("CONNECTION_CLOSED", "gone"));
  await assert.rejects(cut, { code: "CONNECTION_CLOSED" });
  assert.equal(calls.size, 0);
});

Deno.test("pending calls: an item for a call that streams nothing breaks the protocol", async () => {
  const { events, calls, wait } = pendingSetup();
  const answer = wait(5);
  calls.item({ type: MessageType.ITEM, id: 5, item: 1 });
  calls.grantInput(6, 1); // No such call: ignored.
  calls.stopInput(6);
  assert.deepEqual(events, [
    "busy",
    "protocol A stream item arrived for a call that streams nothing.",
  ]);
  calls.result({ type: MessageType.RESULT, id: 5, value: "ok" });
  assert.equal(await answer, "ok");
});
