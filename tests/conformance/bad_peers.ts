/**
 * A bad peer costs only its own connection: garbage instead of a hello, and
 * an oversized length prefix after a good hello, each close the offending
 * raw socket (node:net, on all three runtimes) while a good client on the
 * same server is served before, during and after, without a reconnect.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { action, Client, Server } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { deferred, HOST, serving, within } from "./support.ts";

const echo = action("echo", (data: string) => data);

/** A frame: a big-endian uint32 length, then the body. */
export function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** The client's hello (PROTOCOL.md): "isock", version 1, then the map {maxFrameSize: 1024}. */
function hello(): Uint8Array {
  const key = new TextEncoder().encode("maxFrameSize");
  return frame(
    new Uint8Array([
      ...new TextEncoder().encode("isock"),
      1,
      0x81,
      0xa0 | key.length,
      ...key,
      0xcd,
      0x04,
      0x00,
    ]),
  );
}

/**
 * A raw connection (to a loopback port, or a Unix socket path), what it
 * received, and a promise that resolves when the server closes it.
 */
export async function raw(target: number | string) {
  const socket: Socket = typeof target === "number"
    ? connect({ host: HOST, port: target })
    : connect({ path: target });
  const closed = deferred();
  const received: Uint8Array[] = [];
  const data = deferred();
  socket.on("data", (chunk: Uint8Array) => {
    received.push(chunk);
    data.resolve();
  });
  socket.on("error", () => {}); // a reset counts as closed; "close" follows
  socket.on("close", () => closed.resolve());
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    }),
    10_000,
    "raw connect",
  );
  return { socket, closed: closed.promise, firstData: data.promise, received };
}

async function offends(
  sendOffence: (peer: Awaited<ReturnType<typeof raw>>) => Promise<void>,
): Promise<void> {
  const server = new Server({ hostname: HOST, port: 0 }).addAction(echo);
  await serving(server, async (port) => {
    const good = new Client({ hostname: HOST, port });
    let disconnects = 0;
    good.addEventListener("disconnect", () => disconnects++);
    try {
      assert.equal(await good.runAction(echo, "before"), "before");
      const peer = await raw(port);
      try {
        await sendOffence(peer);
        await within(
          peer.closed,
          10_000,
          "the server closing the offending connection",
        );
      } finally {
        peer.socket.destroy();
      }
      assert.equal(await good.runAction(echo, "after"), "after");
      assert.equal(disconnects, 0, "the good client kept its connection");
      assert.equal(server.connectionCount, 1);
    } finally {
      await good.close();
    }
  });
}

export const badPeerCases: Case[] = [{
  name: "bad peers: garbage instead of a hello closes only that connection",
  run: () =>
    offends(({ socket }) => {
      socket.write(frame(new TextEncoder().encode("not isock at all")));
      return Promise.resolve();
    }),
}, {
  name: "bad peers: an oversized length prefix closes only that connection",
  run: () =>
    offends(async ({ socket, firstData, received }) => {
      socket.write(hello());
      await within(firstData, 10_000, "the server's hello");
      const answer = received[0];
      assert.equal(new TextDecoder().decode(answer.subarray(4, 9)), "isock");
      socket.write(new Uint8Array([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]));
    }),
}];
