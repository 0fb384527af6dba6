import assert from "node:assert/strict";
import {
  ClientError,
  ProtocolError,
  RemoteError,
} from "../../src/base/errors.ts";
import { Lifecycle } from "../../src/session/lifecycle.ts";

Deno.test("lifecycle: the phase moves forward from the handshake to closed", () => {
  const life = new Lifecycle("127.0.0.1:1");
  assert.equal(life.phase, "handshake");
  assert.equal(life.isOpen, false);
  life.open();
  assert.equal(life.isOpen, true);
  assert.equal(life.leave(), true);
  assert.equal(life.leave(), false, "a second goodbye changes nothing");
  assert.equal(life.phase, "leaving");
  assert.equal(life.isRefusing, true);
  assert.equal(
    life.isDropping,
    false,
    "a leaving side still reads its answers",
  );
  life.open();
  assert.equal(life.phase, "leaving", "open never moves a phase back");
  life.end(undefined);
  assert.equal(life.isClosed, true);
  assert.equal(life.leave(), false);
});

Deno.test("lifecycle: a side that says goodbye during the handshake stays leaving once open", () => {
  const life = new Lifecycle("127.0.0.1:1");
  life.leave();
  life.open();
  assert.equal(life.isOpen, false);
});

Deno.test("lifecycle: the first failure is the reason; later ones are kept out", () => {
  const life = new Lifecycle("127.0.0.1:1");
  life.open();
  const first = new ProtocolError("PROTOCOL", "first");
  assert.equal(life.fail(first), true);
  assert.equal(life.fail(new ProtocolError("PROTOCOL", "second")), false);
  assert.equal(life.closeReason, first);
  assert.equal(life.isDropping, true);
  assert.equal(life.isOpen, false);
  const reason = life.end(undefined);
  assert.equal(reason.code, "PROTOCOL");
  assert.match(reason.message, /127\.0\.0\.1:1 closed: first/);
  assert.equal(life.endReason, reason, "a failure is not a clean end");
});

Deno.test("lifecycle: a graceful close ends cleanly, even when the transport reports an error", () => {
  const life = new Lifecycle("[::1]:2");
  life.open();
  life.close();
  assert.equal(life.phase, "leaving");
  life.end(new Error("reset"));
  assert.equal(life.endReason, undefined);
});

Deno.test("lifecycle: a close with a reason drops what arrives and rejects calls with it", () => {
  const life = new Lifecycle("h:1");
  life.open();
  const reason = new ClientError("CONNECTION_CLOSED", "bye");
  life.close(reason);
  assert.equal(life.phase, "closing");
  assert.equal(life.end(undefined), reason);
  assert.equal(life.endReason, undefined, "chosen by this side: clean");
});

Deno.test("lifecycle: the peer's goodbye error becomes the calls' error; without one, the message says so", () => {
  const life = new Lifecycle("h:1");
  life.open();
  life.peerLeaves(undefined);
  assert.equal(life.isOpen, false);
  assert.match(life.callError().message, /the peer shut down/);
  life.peerLeaves(new RemoteError("OVERLOADED", "busy"));
  assert.equal(life.callError().code, "OVERLOADED");
  const ended = life.end(undefined);
  assert.equal(ended.code, "OVERLOADED");
  assert.equal(life.endReason, ended);
});

Deno.test("lifecycle: an unexpected end is CONNECTION_CLOSED with the cause", () => {
  const life = new Lifecycle("h:1");
  life.open();
  const cause = new Error("reset by peer");
  const reason = life.end(cause);
  assert.equal(reason.code, "CONNECTION_CLOSED");
  assert.equal((reason as ClientError).cause, cause);
  assert.equal(life.endReason, reason);
});
