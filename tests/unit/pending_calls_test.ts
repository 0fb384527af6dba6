import assert from "node:assert/strict";
import { ClientError, type ProtocolError } from "../../src/base/errors.ts";
import { MessageType } from "../../src/protocol/message_type.ts";
import { PendingCall } from "../../src/session/call.ts";
import { PendingCalls } from "../../src/session/pending_calls.ts";
import { RecordingSender } from "./fakes.ts";

function setup() {
  const sender = new RecordingSender();
  const events: string[] = [];
  const calls = new PendingCalls(sender, {
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
  const { events, calls, wait } = setup();
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
  const { sender, calls, wait } = setup();
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
  const { events, calls, wait } = setup();
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
