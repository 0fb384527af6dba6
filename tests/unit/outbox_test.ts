import assert from "node:assert/strict";
import { ClientError } from "../../src/base/errors.ts";
import { type Message, outgoing } from "../../src/protocol/message_table.ts";
import { MessageCodec } from "../../src/protocol/message_codec.ts";
import { MessageType } from "../../src/protocol/message_type.ts";
import { FRAGMENT_THRESHOLD } from "../../src/protocol/fragments.ts";
import { Outbox } from "../../src/session/outbox.ts";
import { NO_FEATURES } from "../../src/session/connection.ts";
import { RecordingSink, settle } from "./fakes.ts";

const codec = new MessageCodec([]);

function decoded(sink: RecordingSink): Message[] {
  return sink.frames.map((parts) => {
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) body.set(part, (at += part.length) - part.length);
    return codec.decode(body);
  });
}

Deno.test("outbox: control messages go even while closing; the rest stop once closed", () => {
  const sink = new RecordingSink();
  const outbox = new Outbox(sink, codec, false);
  outbox.send(outgoing.ping(1));
  outbox.close();
  outbox.sendIfOpen(outgoing.cancel(2));
  outbox.error(3, { code: "X", name: "Error", message: "x" });
  outbox.result(4, "late");
  assert.equal(outbox.sendChecked(outgoing.item(5, 1)), undefined);
  outbox.send(outgoing.pong(6));
  assert.deepEqual(decoded(sink).map((m) => m.type), [
    MessageType.PING,
    MessageType.PONG,
  ]);
});

Deno.test("outbox: a message larger than the peer's maxFrameSize is refused before it goes", () => {
  const sink = new RecordingSink();
  const outbox = new Outbox(sink, codec, false);
  outbox.encodeChecked(outgoing.request(1, "a", "x".repeat(200)), "it");
  outbox.negotiated({ ...NO_FEATURES, maxFrameSize: 100 });
  assert.throws(
    () =>
      outbox.encodeChecked(
        outgoing.request(1, "a", "x".repeat(200)),
        "The request",
      ),
    (error: unknown) =>
      error instanceof ClientError && error.code === "FRAME_TOO_LARGE" &&
      /The request is \d+ bytes; the peer accepts frames of at most 100 bytes/
        .test(error.message),
  );
  assert.equal(sink.frames.length, 0);
});

Deno.test("outbox: a result too large or not encodable is answered with an error", () => {
  const sink = new RecordingSink();
  const outbox = new Outbox(sink, codec, false);
  outbox.negotiated({ ...NO_FEATURES, maxFrameSize: 100 });
  outbox.result(1, "x".repeat(200));
  outbox.result(2, () => {});
  outbox.result(3, "fine");
  const [tooLarge, unencodable, fine] = decoded(sink);
  assert.equal(tooLarge.type, MessageType.ERROR);
  assert.equal(
    tooLarge.type === MessageType.ERROR && tooLarge.error.code,
    "FRAME_TOO_LARGE",
  );
  assert.equal(
    unencodable.type === MessageType.ERROR && unencodable.error.code,
    "ACTION_FAILED",
  );
  assert.deepEqual(fine, { type: MessageType.RESULT, id: 3, value: "fine" });
});

Deno.test("outbox: an error whose extras cannot be encoded goes without them", () => {
  const sink = new RecordingSink();
  const outbox = new Outbox(sink, codec, false);
  outbox.error(1, {
    code: "ACTION_FAILED",
    name: "Error",
    message: "m",
    cause: () => {},
  });
  const [message] = decoded(sink);
  assert.equal(
    message.type === MessageType.ERROR && message.error.message,
    "m",
  );
});

Deno.test("outbox: a goodbye carries code and message, never a stack", () => {
  const sink = new RecordingSink();
  const outbox = new Outbox(sink, codec, true);
  outbox.goodbye(new ClientError("UNAUTHORIZED", "no"));
  const [message] = decoded(sink);
  assert.deepEqual(message.type === MessageType.GOODBYE && message.error, {
    code: "UNAUTHORIZED",
    name: "ClientError",
    message: "no",
  });
});

Deno.test("outbox: large messages go in fragments, one at a time within the peer's budget", async () => {
  const sink = new RecordingSink();
  sink.isManualDrain = true;
  const outbox = new Outbox(sink, codec, false);
  const size = FRAGMENT_THRESHOLD + 1000;
  outbox.negotiated({ ...NO_FEATURES, maxFrameSize: size + 100 }); // Room for one such message at a time.
  const big = new Uint8Array(size);
  const first = outbox.sendData(codec.encode(outgoing.result(1, big)));
  const second = outbox.sendData(codec.encode(outgoing.result(2, big)));
  assert.ok(first instanceof Promise && second instanceof Promise);
  await settle();
  const ids = () =>
    decoded(sink).map((m) => m.type === MessageType.FRAGMENT ? m.id : -1);
  assert.deepEqual(ids(), [1], "the second waits for the first");
  for (let i = 0; i < 5; i++) {
    sink.flush();
    await settle();
  }
  assert.deepEqual(ids(), [1, 1, 2, 2]);
  sink.flush();
  await Promise.all([first, second]);
});

Deno.test("outbox: closing wakes a large message waiting for room, which then stops", async () => {
  const sink = new RecordingSink();
  sink.isManualDrain = true;
  const outbox = new Outbox(sink, codec, false);
  const size = FRAGMENT_THRESHOLD + 1000;
  outbox.negotiated({ ...NO_FEATURES, maxFrameSize: size });
  const big = new Uint8Array(size);
  const first = outbox.sendData(codec.encode(outgoing.result(1, big)));
  const second = outbox.sendData(codec.encode(outgoing.result(2, big)));
  await settle();
  outbox.close();
  sink.flush();
  await Promise.all([first, second]);
  assert.equal(sink.frames.length, 1);
});
