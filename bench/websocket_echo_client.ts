/**
 * The bare WebSocket echo's client: each call's value encoded with isock's
 * codec (the bytes isock sends as the call's data) and sent as one binary
 * message; the server echoes messages in order, so answers are matched to
 * calls first in, first out. No request ids, no framing: the floor for
 * isock over WebSocket. Started by bench/main.ts.
 *
 * @module
 */

import { Codec } from "../mod.ts";
import { HOSTNAME, runClientProcess } from "./child.ts";

await runClientProcess("value", async ({ port }) => {
  const codec = new Codec();
  const socket = new WebSocket(`ws://${HOSTNAME}:${port}/`);
  socket.binaryType = "arraybuffer";
  const waiting: PromiseWithResolvers<unknown>[] = [];
  const closed = Promise.withResolvers<void>();
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  socket.onmessage = (event) =>
    waiting.shift()!.resolve(codec.decode(new Uint8Array(event.data)));
  socket.onclose = () => {
    for (const call of waiting.splice(0)) {
      call.reject(new Error("The WebSocket closed."));
    }
    closed.resolve();
  };
  return {
    echo: (value) => {
      const call = Promise.withResolvers<unknown>();
      waiting.push(call);
      socket.send(codec.encode(value));
      return call.promise;
    },
    async close() {
      socket.close();
      await closed.promise;
    },
  };
});
