import assert from "node:assert/strict";
import type { ClientError } from "../../src/base/errors.ts";
import { Keepalive, type KeepaliveHost } from "../../src/session/keepalive.ts";
import { FakeClock } from "./fakes.ts";

function setup(heartbeatInterval: number, idleTimeout: number) {
  const clock = new FakeClock();
  const events: string[] = [];
  const host: KeepaliveHost & { lastActivity: number; isBusy: boolean } = {
    peer: { hostname: "h", port: 1 },
    lastActivity: clock.time,
    isBusy: false,
    ping: (id) => void events.push(`ping ${id}`),
    dead: (reason: ClientError) => void events.push(`dead ${reason.code}`),
    idle: (reason: ClientError) => void events.push(`idle ${reason.message}`),
  };
  const keepalive = new Keepalive(host, {
    heartbeatInterval,
    idleTimeout,
  }, clock);
  return { clock, events, host, keepalive };
}

Deno.test("keepalive: pings once an interval while the peer answers", () => {
  const { clock, events, host, keepalive } = setup(1000, 0);
  keepalive.start();
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    host.lastActivity = clock.time; // The pong.
  }
  assert.deepEqual(events, ["ping 1", "ping 2", "ping 3"]);
  keepalive.stop();
  assert.equal(clock.running, 0);
});

Deno.test("keepalive: a peer silent for three intervals is taken for dead, not sooner", () => {
  const { clock, events, keepalive } = setup(1000, 0);
  keepalive.start();
  clock.advance(2500);
  assert.deepEqual(events, ["ping 1", "ping 2"]);
  clock.advance(500);
  assert.equal(events.at(-1), "dead CONNECTION_CLOSED");
  keepalive.stop();
});

Deno.test("keepalive: idle after four checks in a row without calls; a request resets the count", () => {
  const { clock, events, host, keepalive } = setup(0, 4000);
  keepalive.start();
  clock.advance(3000);
  keepalive.noteRequest();
  clock.advance(1000);
  host.isBusy = true;
  clock.advance(2000);
  host.isBusy = false;
  assert.deepEqual(events, []);
  clock.advance(4000);
  assert.deepEqual(events, ["idle The connection was idle for 4000 ms."]);
  keepalive.stop();
});

Deno.test("keepalive: no idle checks while this side waits for the peer's calls", () => {
  const { clock, events, keepalive } = setup(0, 1000);
  keepalive.start(false);
  assert.equal(clock.running, 0);
  clock.advance(10_000);
  assert.deepEqual(events, []);
});
