import assert from "node:assert/strict";
import type { ClientError, ProtocolError } from "../../src/base/errors.ts";
import { ProtocolError as ProtocolErrorClass } from "../../src/base/errors.ts";
import { type Authenticator, importSecret } from "../../src/protocol/auth.ts";
import type { Hello } from "../../src/protocol/hello.ts";
import { MessageCodec } from "../../src/protocol/message_codec.ts";
import { outgoing } from "../../src/protocol/message_table.ts";
import {
  Handshake,
  type HandshakeHost,
  MAX_PRE_AUTH_FRAME,
} from "../../src/session/handshake.ts";
import { until } from "./fakes.ts";

const codec = new MessageCodec([]);

/** One side: a handshake whose host records what happens and sends to `other`. */
class Side {
  readonly events: string[] = [];
  readonly limits: number[] = [];
  opened: Hello | undefined;
  failure: ClientError | ProtocolError | undefined;
  other: Side | undefined;
  readonly handshake: Handshake;

  constructor(role: "client" | "server", auth: Authenticator) {
    const host: HandshakeHost = {
      peer: { hostname: "127.0.0.1", port: 1, transport: "tcp" } as never,
      isClosed: false,
      limitFrames: (size) => void this.limits.push(size),
      send: (message) => this.other!.deliver(codec.encode(message)),
      negotiated: () => void this.events.push("hello"),
      opened: (hello) => {
        this.opened = hello;
        this.events.push("opened");
      },
      failed: (error) => {
        this.failure = error;
        this.events.push(`failed ${error.code}`);
      },
      failProtocol: (error) =>
        void this.events.push(`protocol ${error.message}`),
      peerGoodbye: () => void this.events.push("goodbye"),
      timedOut: (error) => void this.events.push(`timeout ${error.code}`),
    };
    this.handshake = new Handshake(
      { role, auth, maxFrameSize: 1 << 20, codec },
      host,
    );
  }

  sendHello(): void {
    this.other!.handshake.receive(
      codec.encodeHello(this.handshake.hello(false)),
      false,
    );
  }

  deliver(parts: Uint8Array[]): void {
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) body.set(part, (at += part.length) - part.length);
    if (this.handshake.isDone) this.events.push(`after ${body.length}`);
    else this.handshake.receive(body, false);
  }
}

function pair(clientAuth: Authenticator, serverAuth: Authenticator) {
  const client = new Side("client", clientAuth);
  const server = new Side("server", serverAuth);
  client.other = server;
  server.other = client;
  return { client, server };
}

Deno.test("handshake: without authentication, the hellos open both sides at once", () => {
  const { client, server } = pair({}, {});
  assert.equal(
    server.handshake.hello(true).serves,
    false,
    "only a client serves",
  );
  assert.equal(
    server.handshake.hello(false).nonce.length,
    0,
    "no nonce needed",
  );
  client.sendHello();
  server.sendHello();
  assert.deepEqual(client.events, ["hello", "opened"]);
  assert.deepEqual(server.events, ["hello", "opened"]);
  assert.deepEqual(server.limits, [1 << 20]);
});

Deno.test("handshake: a shared secret is proved both ways; frames stay small until then", async () => {
  const key = await importSecret("s3cret");
  const { client, server } = pair({ key, credentials: "me" }, {
    key,
    authenticate: (_peer, credentials) => ({ user: credentials }),
  });
  assert.equal(server.handshake.hello(false).authRequired, true);
  client.sendHello();
  server.sendHello();
  await until(() => server.events.length >= 2 && client.events.length >= 2);
  assert.deepEqual(server.events, ["hello", "opened"]);
  assert.deepEqual(client.events, ["hello", "opened"]);
  assert.deepEqual(server.handshake.identity, { user: "me" });
  assert.deepEqual(server.limits, [MAX_PRE_AUTH_FRAME, 1 << 20]);
});

Deno.test("handshake: a wrong secret fails UNAUTHORIZED on the server", async () => {
  const { client, server } = pair(
    { key: await importSecret("wrong") },
    { key: await importSecret("right") },
  );
  client.sendHello();
  server.sendHello();
  await until(() => server.events.length >= 2);
  assert.deepEqual(server.events, ["hello", "failed UNAUTHORIZED"]);
  assert.match(server.failure!.message, /does not match/);
});

Deno.test("handshake: a message before authentication is complete is refused", () => {
  const { client, server } = pair({}, { authenticate: () => true });
  client.sendHello();
  server.handshake.receive(
    codec.encode(outgoing.request(1, "a", null))[0],
    false,
  );
  assert.deepEqual(server.events, ["hello", "failed UNAUTHORIZED"]);
});

Deno.test("handshake: frames right behind the server's AUTH_OK wait until its proof is checked", async () => {
  const key = await importSecret("k");
  const { client, server } = pair({ key }, { key });
  client.sendHello();
  server.sendHello();
  // The server's answers reach the client only when the test says.
  const held: Uint8Array[][] = [];
  server.other = {
    deliver: (parts: Uint8Array[]) => void held.push(parts),
  } as never;
  await until(() => held.length >= 1);
  assert.equal(held.length, 1, "the AUTH_OK");
  client.deliver(held[0]);
  const ping = codec.encode(outgoing.ping(7))[0];
  client.handshake.receive(ping, true);
  assert.deepEqual(client.events, ["hello"], "the proof is being checked");
  await until(() => client.events.length >= 2);
  assert.deepEqual(client.events, ["hello", "opened"]);
  const [frame] = client.handshake.takeHeld();
  assert.deepEqual(frame, ping);
  assert.notEqual(frame, ping, "a borrowed frame is copied");
});

Deno.test("handshake: a goodbye during authentication goes to the host", () => {
  const { client, server } = pair({}, { authenticate: () => true });
  client.sendHello();
  server.handshake.receive(codec.encode(outgoing.goodbye())[0], false);
  assert.deepEqual(server.events, ["hello", "goodbye"]);
});

Deno.test("handshake: no hello within the timeout is CONNECT_FAILED for a client", async () => {
  const { client } = pair({}, {});
  client.handshake.start(5);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(client.events, ["timeout CONNECT_FAILED"]);
});

Deno.test("handshake: before the hello, a frame too large means the peer is not isock", () => {
  const { client } = pair({}, {});
  const tooLarge = new ProtocolErrorClass("FRAME_TOO_LARGE", "big");
  const explained = client.handshake.explain(tooLarge) as ProtocolError;
  assert.equal(explained.code, "PROTOCOL");
  assert.match(explained.message, /127\.0\.0\.1:1 is not an isock peer/);
  const other = new Error("reset");
  assert.equal(client.handshake.explain(other), other);
});

Deno.test("handshake: a first frame that is no hello fails the protocol", () => {
  const { server } = pair({}, {});
  server.handshake.receive(new Uint8Array([1, 2, 3]), false);
  assert.equal(server.events.length, 1);
  assert.match(server.events[0], /^protocol .*not an isock hello/);
});
