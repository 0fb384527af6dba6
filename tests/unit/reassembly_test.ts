import assert from "node:assert/strict";
import { ProtocolError } from "../../src/base/errors.ts";
import { MessageType } from "../../src/protocol/message_type.ts";
import { MAX_FRAGMENTED } from "../../src/protocol/fragments.ts";
import { Reassembly } from "../../src/session/reassembly.ts";
import { FakeClock } from "./fakes.ts";

function fragment(id: number, total: number, bytes: number[]) {
  return {
    type: MessageType.FRAGMENT,
    id,
    total,
    bytes: new Uint8Array(bytes),
  };
}

function setup(maxFrameSize = 100, timeout = 1000) {
  const clock = new FakeClock();
  const failures: ProtocolError[] = [];
  const host = {
    isCongested: false,
    failProtocol: (error: ProtocolError) => void failures.push(error),
  };
  return {
    clock,
    failures,
    host,
    reassembly: new Reassembly(
      { maxFrameSize, reassemblyTimeout: timeout },
      host,
      clock,
    ),
  };
}

Deno.test("reassembly: messages interleave and come out whole; the check stops once none is left", () => {
  const { clock, reassembly } = setup();
  assert.equal(reassembly.add(fragment(1, 4, [1, 2])), undefined);
  assert.equal(reassembly.add(fragment(2, 2, [9])), undefined);
  assert.equal(clock.running, 1);
  assert.deepEqual(
    reassembly.add(fragment(1, 4, [3, 4])),
    new Uint8Array([1, 2, 3, 4]),
  );
  assert.deepEqual(reassembly.add(fragment(2, 2, [8])), new Uint8Array([9, 8]));
  assert.equal(reassembly.size, 0);
  assert.equal(clock.running, 0);
});

Deno.test("reassembly: a message larger than maxFrameSize is FRAME_TOO_LARGE", () => {
  const { reassembly } = setup(100);
  assert.throws(
    () => reassembly.add(fragment(1, 101, [1])),
    (error: unknown) =>
      error instanceof ProtocolError && error.code === "FRAME_TOO_LARGE",
  );
});

Deno.test("reassembly: messages of more than maxFrameSize in all are refused", () => {
  const { reassembly } = setup(100);
  reassembly.add(fragment(1, 60, [1]));
  assert.throws(() => reassembly.add(fragment(2, 41, [1])), /in all at once/);
  reassembly.add(fragment(3, 40, [1]));
});

Deno.test("reassembly: at most MAX_FRAGMENTED messages at once", () => {
  const { reassembly } = setup(10_000);
  for (let id = 1; id <= MAX_FRAGMENTED; id++) {
    reassembly.add(fragment(id, 2, [1]));
  }
  assert.throws(
    () => reassembly.add(fragment(99, 2, [1])),
    /Too many fragmented messages/,
  );
});

Deno.test("reassembly: a fragment past its message's end, or of another total, does not fit", () => {
  const { reassembly } = setup();
  reassembly.add(fragment(1, 3, [1, 2]));
  assert.throws(() => reassembly.add(fragment(1, 3, [3, 4])), /does not fit/);
  reassembly.add(fragment(2, 3, [1]));
  assert.throws(() => reassembly.add(fragment(2, 4, [2])), /does not fit/);
});

Deno.test("reassembly: a fragment inside a reassembled message is refused", () => {
  const { reassembly } = setup();
  assert.throws(
    () => reassembly.add(fragment(1, 2, [1]), true),
    /itself a fragment/,
  );
});

Deno.test("reassembly: a message without a new piece for the timeout fails the connection", () => {
  const { clock, failures, reassembly } = setup(100, 1000);
  reassembly.add(fragment(1, 4, [1]));
  clock.advance(750);
  reassembly.add(fragment(1, 4, [2]));
  clock.advance(1000);
  assert.equal(failures.length, 0);
  clock.advance(500);
  assert.equal(failures.length, 1);
  assert.match(failures[0].message, /got no piece for 1000 ms/);
  reassembly.clear();
  assert.equal(clock.running, 0);
});

Deno.test("reassembly: time this side spends congested is not held against the peer", () => {
  const { clock, failures, host, reassembly } = setup(100, 1000);
  reassembly.add(fragment(1, 4, [1]));
  host.isCongested = true;
  clock.advance(5000);
  assert.equal(failures.length, 0);
  host.isCongested = false;
  clock.advance(1500);
  assert.equal(failures.length, 1);
  reassembly.clear();
});

Deno.test("reassembly: memory is set aside as pieces arrive, within a shared budget, and given back when a message is dropped", () => {
  let held = 0;
  const budget = {
    reserve(bytes: number) {
      if (held + bytes > 900) throw new Error("no room");
      held += bytes;
    },
    release: (bytes: number) => void (held -= bytes),
  };
  const host = { isCongested: false, failProtocol() {} };
  const clock = new FakeClock();
  const a = new Reassembly(
    { maxFrameSize: 10_000, reassemblyTimeout: Infinity, budget },
    host,
    clock,
  );
  const b = new Reassembly(
    { maxFrameSize: 10_000, reassemblyTimeout: Infinity, budget },
    host,
    clock,
  );
  const piece = (id: number, total: number, length: number) => ({
    type: MessageType.FRAGMENT,
    id,
    total,
    bytes: new Uint8Array(length).fill(id),
  });
  // A message that announces 5,000 bytes holds what came of it so far.
  assert.equal(a.add(piece(1, 5_000, 100)), undefined);
  assert.equal(held, 100);
  assert.equal(a.add(piece(1, 5_000, 100)), undefined);
  assert.equal(held, 200);
  assert.equal(b.add(piece(2, 900, 350)), undefined);
  assert.equal(held, 550);
  // The budget is shared: b's next piece needs room a holds.
  assert.throws(() => b.add(piece(2, 900, 400)), /no room/);
  assert.equal(held, 550);
  a.drop(1);
  assert.equal(held, 350);
  assert.equal(a.size, 0);
  assert.equal(b.add(piece(2, 900, 400)), undefined);
  const whole = b.add(piece(2, 900, 150));
  assert.equal(whole?.length, 900);
  assert.equal(held, 0);
  b.add(piece(3, 900, 100));
  b.clear();
  assert.equal(held, 0);
  // Without a timeout, no check runs.
  assert.equal(clock.running, 0);
});
