import assert from "node:assert/strict";
import {
  ClientError,
  type IsockError,
  ProtocolError,
  RemoteError,
} from "../../src/base/errors.ts";
import { Lifecycle } from "../../src/session/lifecycle.ts";
import { settle } from "./fakes.ts";

/** A lifecycle whose connection records goodbyes and closes; drains when told. */
function setup(peerName = "127.0.0.1:1") {
  const events: string[] = [];
  let drained: () => void = () => {};
  const host = {
    isBusy: false,
    sendGoodbye: (error?: IsockError) =>
      void events.push(`goodbye ${error?.code ?? "-"}`),
    drain: () => new Promise<void>((resolve) => drained = resolve),
    closeTransport: () => {
      events.push("close");
      // The session hears of the close and ends the lifecycle.
      if (!life.isClosed) life.end(undefined);
    },
  };
  const life = new Lifecycle(peerName, host);
  return { life, events, host, drain: () => drained() };
}

Deno.test("lifecycle: the phase moves forward from the handshake to closed", async () => {
  const { life, events, drain } = setup();
  assert.equal(life.phase, "handshake");
  assert.equal(life.isOpen, false);
  life.open();
  assert.equal(life.isOpen, true);
  life.sayGoodbye();
  life.sayGoodbye();
  assert.deepEqual(events, ["goodbye -"], "a second goodbye sends nothing");
  assert.equal(life.phase, "leaving");
  assert.equal(life.isRefusing, true);
  assert.equal(life.isDropping, false, "a leaving side still reads answers");
  life.open();
  assert.equal(life.phase, "leaving", "open never moves a phase back");
  const closing = life.close();
  drain();
  await closing;
  await life.closed;
  assert.equal(life.isClosed, true);
  assert.deepEqual(events, ["goodbye -", "close"]);
  assert.equal(life.endReason, undefined, "a graceful close is a clean end");
});

Deno.test("lifecycle: a side that says goodbye during the handshake stays leaving once open", () => {
  const { life } = setup();
  life.sayGoodbye();
  life.open();
  assert.equal(life.isOpen, false);
});

Deno.test("lifecycle: the first failure is the reason, sent to the peer; later ones are kept out", async () => {
  const { life, events, drain } = setup();
  life.open();
  const first = new ClientError("UNAUTHORIZED", "first");
  const closing = life.failWith(first);
  assert.ok(closing instanceof Promise);
  assert.equal(
    life.failWith(new ClientError("UNAUTHORIZED", "second")),
    undefined,
  );
  assert.equal(life.closeReason, first);
  assert.equal(life.isDropping, true);
  assert.equal(life.isOpen, false);
  drain();
  await closing;
  assert.deepEqual(events, ["goodbye UNAUTHORIZED", "close"]);
  assert.equal(life.endReason, first, "a failure is not a clean end");
});

Deno.test("lifecycle: each breach of the protocol tells the peer, the first is the reason", async () => {
  const { life, events, drain } = setup();
  life.open();
  life.breach(new ProtocolError("PROTOCOL", "one"));
  life.breach(new ProtocolError("PROTOCOL", "two"));
  assert.equal(life.closeReason?.message, "one");
  drain();
  await settle();
  assert.deepEqual(events.slice(0, 2), [
    "goodbye PROTOCOL",
    "goodbye PROTOCOL",
  ]);
  const reason = life.callError();
  assert.equal(reason.code, "PROTOCOL");
  assert.match(reason.message, /127\.0\.0\.1:1 closed: one/);
});

Deno.test("lifecycle: a close with a reason drops what arrives and rejects calls with it", () => {
  const { life, events } = setup("h:1");
  life.open();
  const reason = new ClientError("CONNECTION_CLOSED", "bye");
  life.close(reason);
  assert.equal(life.phase, "closing");
  assert.deepEqual(events, [], "no goodbye: the close was chosen");
  assert.equal(life.end(undefined), reason);
  assert.equal(life.endReason, undefined, "chosen by this side: clean");
});

Deno.test("lifecycle: abort closes at once with its reason", () => {
  const { life, events } = setup("h:1");
  life.open();
  life.abort(new ClientError("CONNECTION_CLOSED", "dead"));
  assert.deepEqual(events, ["close"]);
  assert.equal(life.endReason?.message, "dead");
});

Deno.test("lifecycle: retire says goodbye and closes once the peer has, or after the grace", async () => {
  const { life, events, drain } = setup("h:1");
  life.open();
  const retiring = life.retire(5);
  assert.deepEqual(events, ["goodbye -"]);
  await new Promise((resolve) => setTimeout(resolve, 10));
  drain();
  await retiring;
  assert.deepEqual(events, ["goodbye -", "close"]);
});

Deno.test("lifecycle: the peer's goodbye error becomes the calls' error; without one, the message says so", () => {
  const { life, host } = setup("h:1");
  life.open();
  host.isBusy = true; // A call is on its way: this side does not close yet.
  life.peerLeaves(undefined);
  assert.equal(life.isOpen, false);
  assert.equal(life.phase, "open");
  assert.match(life.callError().message, /the peer shut down/);
  life.peerLeaves(new RemoteError("OVERLOADED", "busy"));
  assert.equal(life.callError().code, "OVERLOADED");
  const ended = life.end(undefined);
  assert.equal(ended.code, "OVERLOADED");
  assert.equal(life.endReason, ended);
});

Deno.test("lifecycle: an unexpected end is CONNECTION_CLOSED with the cause", () => {
  const { life } = setup("[::1]:2");
  life.open();
  const cause = new Error("reset by peer");
  const reason = life.end(cause);
  assert.equal(reason.code, "CONNECTION_CLOSED");
  assert.equal((reason as ClientError).cause, cause);
  assert.match(reason.message, /\[::1\]:2/);
  assert.equal(life.endReason, reason);
});

Deno.test("lifecycle: a peer that said goodbye is let go once nothing is on its way", async () => {
  const { life, host, events, drain } = setup("h:1");
  life.open();
  host.isBusy = true;
  life.peerLeaves(undefined);
  life.settled();
  await settle();
  assert.equal(life.phase, "open", "still busy");
  host.isBusy = false;
  life.settled();
  await settle();
  assert.equal(life.phase, "leaving");
  drain();
  await life.closed;
  assert.deepEqual(events, ["close"]);
  assert.equal(life.endReason, undefined);
});
