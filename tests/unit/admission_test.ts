/**
 * A server's admission: sessions up to maxConnections; one more is refused
 * through a session, with a hello and an OVERLOADED goodbye.
 */

import assert from "node:assert/strict";
import { RemoteError, ServerError } from "../../mod.ts";
import { Admission } from "../../src/endpoint/server_connections.ts";
import {
  CONNECTION_LIMITS,
  readIntegerOptions,
} from "../../src/endpoint/options.ts";
import type { Endpoint } from "../../src/endpoint/open_session.ts";
import { ActionRegistry } from "../../src/dispatch/registry.ts";
import { MAX_HELLO_SIZE } from "../../src/protocol/hello.ts";
import { MessageCodec } from "../../src/protocol/message_codec.ts";
import { MessageType } from "../../src/protocol/message_type.ts";
import { Session } from "../../src/session/session.ts";
import { FakeTransport } from "./fake_transport.ts";

function endpoint(): Endpoint {
  return {
    role: "server",
    codec: new MessageCodec([]),
    limits: readIntegerOptions(CONNECTION_LIMITS, { heartbeatInterval: 0 }, (
      message,
    ) => new RangeError(message)),
    actions: new ActionRegistry((code, message) =>
      new ServerError(code, message)
    ),
    idleTimeout: 0,
  };
}

Deno.test("admission: connections up to the limit get sessions; the next one is refused", async () => {
  const admission = new Admission(endpoint(), 2);
  const transports = [new FakeTransport(), new FakeTransport()];
  const sessions = transports.map((transport) =>
    admission.admit(transport, {})
  );
  assert.ok(sessions.every((session) => session instanceof Session));
  assert.equal(admission.sessions.size, 2);

  const extra = new FakeTransport();
  const refusal = admission.admit(extra, {});
  assert.ok(refusal instanceof ServerError);
  assert.equal(refusal.code, "OVERLOADED");
  assert.equal(admission.sessions.size, 2);
  await until(() => extra.isClosed);

  // The refused peer reads a hello that keeps it small, then why.
  const codec = new MessageCodec([]);
  assert.equal(extra.sent.length, 2);
  const hello = codec.decodeHello(extra.sent[0]);
  assert.equal(hello.maxFrameSize, MAX_HELLO_SIZE);
  assert.equal(hello.authRequired, false);
  const goodbye = codec.decode(extra.sent[1]);
  assert.equal(goodbye.type, MessageType.GOODBYE);
  assert.ok(goodbye.type === MessageType.GOODBYE && goodbye.error);
  assert.equal(goodbye.error.code, "OVERLOADED");
  assert.equal(goodbye.error.name, RemoteError.name);
  assert.match(goodbye.error.message, /maxConnections is 2/);

  // A closed session frees its place.
  (sessions[0] as Session).abort();
  await (sessions[0] as Session).closed;
  assert.equal(admission.sessions.size, 1);
  const next = admission.admit(new FakeTransport(), {});
  assert.ok(next instanceof Session);
  for (const session of admission.sessions) session.abort();
  await Promise.all([...admission.sessions].map((session) => session.closed));
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(condition());
}
