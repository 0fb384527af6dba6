/**
 * The NATS floor's client: bare nats.js, the least a request/reply over
 * NATS does. Each value is encoded with isock's codec and published with a
 * reply subject of its own under one inbox (`<inbox>.<id>`); one wildcard
 * subscription takes every answer and settles its call by id, so W2's 64
 * calls in flight share it. That is what `nc.request()` does inside, less
 * its per-request timer and error object for async stack traces, which
 * make `nc.request()` about half as fast on this bench's W1: a floor is the
 * fastest way, not the most convenient. Started by bench/main.ts.
 *
 * @module
 */

import { connect, createInbox } from "@nats-io/transport-node";
import { Codec } from "../codec.ts";
import { runClientProcess } from "./child.ts";
import { FLOOR_SUBJECT, natsAddress } from "./nats_bench.ts";

await runClientProcess("value", async ({ port }) => {
  const nc = await connect({ servers: natsAddress(port) });
  const codec = new Codec();
  const inbox = createInbox();
  const pendingCalls = new Map<string, PromiseWithResolvers<unknown>>();
  nc.subscribe(`${inbox}.*`, {
    callback: (error, message) => {
      if (error !== null) return;
      const call = pendingCalls.get(message.subject);
      if (call === undefined) return;
      pendingCalls.delete(message.subject);
      call.resolve(codec.decode(message.data));
    },
  });
  await nc.flush();
  let nextId = 1;
  return {
    echo: (value) => {
      const reply = `${inbox}.${nextId++}`;
      const call = Promise.withResolvers<unknown>();
      pendingCalls.set(reply, call);
      nc.publish(FLOOR_SUBJECT, codec.encode(value), { reply });
      return call.promise;
    },
    close: async () => {
      await nc.close();
      for (const call of pendingCalls.values()) {
        call.reject(new Error("The connection closed."));
      }
    },
  };
});
