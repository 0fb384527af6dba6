import assert from "node:assert/strict";
import { MessageCodec } from "../../src/protocol/message_codec.ts";
import { MessageType } from "../../src/protocol/message_type.ts";
import { outgoing } from "../../src/protocol/message_table.ts";
import { Reassembly } from "../../src/session/reassembly.ts";
import { type BusConnection, BusOutbox } from "../../src/nats/bus.ts";

/** A bus that records what is published, with a small max_payload. */
function recordingBus(maxPayload: number) {
  const published: { subject: string; data: Uint8Array; reply?: string }[] = [];
  const bus: BusConnection = {
    maxPayload,
    isConnected: true,
    publish(subject, data, reply) {
      if (data.length > maxPayload) throw new Error("MAX_PAYLOAD_EXCEEDED");
      published.push({ subject, data, reply });
    },
    subscribe: () => ({ unsubscribe() {}, drain: () => Promise.resolve() }),
    newInbox: () => "_INBOX.test",
    flush: () => Promise.resolve(),
    watch: () => () => {},
  };
  return { bus, published };
}

Deno.test("bus outbox: a message within max_payload goes as it is", () => {
  const codec = new MessageCodec([]);
  const { bus, published } = recordingBus(1024);
  const outbox = new BusOutbox(bus, codec, 1 << 20);
  outbox.send("s", codec.encode(outgoing.result(3, "hi")), "r", 3);
  assert.equal(published.length, 1);
  assert.deepEqual(codec.decode(published[0].data), {
    type: MessageType.RESULT,
    id: 3,
    value: "hi",
  });
  assert.equal(published[0].reply, "r");
});

Deno.test("bus outbox: a larger message goes in fragments that fit and reassemble", () => {
  const codec = new MessageCodec([]);
  const maxPayload = 4096;
  const { bus, published } = recordingBus(maxPayload);
  const outbox = new BusOutbox(bus, codec, 1 << 20);
  const value = new Uint8Array(50_000).map((_, i) => i % 256);
  outbox.send("s", codec.encode(outgoing.result(7, value)), undefined, 7);
  assert.ok(published.length > 10);
  const reassembly = new Reassembly({ maxFrameSize: 1 << 20 }, {
    isCongested: false,
    failProtocol: (error) => {
      throw error;
    },
  });
  let whole: Uint8Array | undefined;
  for (const { data } of published) {
    assert.ok(data.length <= maxPayload);
    const piece = codec.decode(data);
    assert.equal(piece.type, MessageType.FRAGMENT);
    if (piece.type !== MessageType.FRAGMENT) return;
    assert.equal(piece.id, 7);
    whole = reassembly.add(piece);
  }
  assert.ok(whole !== undefined);
  assert.deepEqual(codec.decode(whole), {
    type: MessageType.RESULT,
    id: 7,
    value,
  });
});

Deno.test("bus outbox: above maxFrameSize a message is refused with FRAME_TOO_LARGE", () => {
  const codec = new MessageCodec([]);
  const { bus } = recordingBus(1024);
  const outbox = new BusOutbox(bus, codec, 4096);
  assert.throws(
    () =>
      outbox.encodeChecked(
        outgoing.result(1, new Uint8Array(5000)),
        "The result",
      ),
    { code: "FRAME_TOO_LARGE" },
  );
});

Deno.test("bus outbox: a max_payload too small to carry pieces is a clear error, not a loop", () => {
  const codec = new MessageCodec([]);
  const { bus } = recordingBus(64);
  const outbox = new BusOutbox(bus, codec, 1 << 20);
  assert.throws(
    () =>
      outbox.send(
        "s",
        codec.encode(outgoing.result(1, "x".repeat(100))),
        undefined,
        1,
      ),
    (error: Error & { code?: string }) =>
      error.code === "FRAME_TOO_LARGE" &&
      /max_payload of 64/.test(error.message),
  );
});
