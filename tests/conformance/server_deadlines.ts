/**
 * The server keeps the deadline a request carries, by itself: a raw peer
 * (node:net, on all three runtimes) sends calls with a `timeout`, then
 * neither reads its answers nor cancels, as a frozen or vanished client
 * would. Once each deadline passes, the handler's signal aborts with a
 * `TIMEOUT`, a streamed result's generator is stopped (its `finally` runs),
 * an upload's loop throws, and each call is answered `TIMEOUT` once: what a
 * handler that ignored its signal answers later is dropped, and the stats
 * count each call once, as an error. Over TCP and over a Unix socket.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, ClientError, Server } from "../../mod.ts";
import { Codec } from "../../codec.ts";
import { frame, raw } from "./bad_peers.ts";
import type { Case } from "./runner.ts";
import { deferred, HOST, sleep, until, within } from "./support.ts";
import { socketPath } from "./sockets.ts";

/** The deadline the raw peer's calls carry, in milliseconds. */
const TIMEOUT = 300;
/** How late after its deadline a call may end on a loaded machine. */
const LATE = 1_500;

const codec = new Codec();

/** A client's hello (PROTOCOL.md): "isock", version 1, then its fields. */
function hello(): Uint8Array {
  const fields = codec.encode({ maxFrameSize: 1024 * 1024 });
  return frame(
    new Uint8Array([...new TextEncoder().encode("isock"), 1, ...fields]),
  );
}

/** A message frame, such as `[0, 1, "hang", null, { timeout: 300 }]`. */
function message(items: unknown[]): Uint8Array {
  return frame(codec.encode(items));
}

/** The messages in what the server sent, after its hello. */
function messages(received: readonly Uint8Array[]): unknown[][] {
  const bytes = new Uint8Array(
    received.reduce((total, chunk) => total + chunk.length, 0),
  );
  let offset = 0;
  for (const chunk of received) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const view = new DataView(bytes.buffer);
  const found: unknown[][] = [];
  for (let at = 0; at + 4 <= bytes.length;) {
    const length = view.getUint32(at);
    if (at + 4 + length > bytes.length) break;
    const body = bytes.subarray(at + 4, at + 4 + length);
    // The first frame is the hello, not a message.
    if (at > 0) found.push(codec.decode(body) as unknown[]);
    at += 4 + length;
  }
  return found;
}

function isTimeout(reason: unknown): boolean {
  return reason instanceof ClientError && reason.code === "TIMEOUT";
}

/** Runs the case over TCP, or over a Unix socket. */
async function frozenPeer(overUnix: boolean): Promise<void> {
  const hangAborted = deferred<unknown>();
  const hang = action(
    "hang",
    (_: unknown, context) =>
      new Promise((_resolve, reject) => {
        context.signal.addEventListener("abort", () => {
          hangAborted.resolve(context.signal.reason);
          reject(context.signal.reason);
        });
      }),
  );
  let stubbornReason: unknown;
  const stubborn = action("stubborn", async (_: unknown, context) => {
    // Ignores its signal, and answers late: that answer must not go.
    await sleep(TIMEOUT + LATE / 2);
    stubbornReason = context.signal.reason;
    return "late";
  });
  const generatorEnded = deferred<unknown>();
  const count = action("count", async function* (_: unknown, context) {
    try {
      for (let n = 1;; n++) yield n;
    } finally {
      generatorEnded.resolve(context.signal.reason);
    }
  });
  const uploadFailed = deferred<unknown>();
  const upload = action("upload", async (items: AsyncIterable<number>) => {
    let sum = 0;
    try {
      for await (const item of items) sum += item;
    } catch (error) {
      uploadFailed.resolve(error);
      throw error;
    }
    uploadFailed.reject(new Error(`the upload ended as if whole: ${sum}`));
    return sum;
  });
  const path = overUnix ? socketPath() : undefined;
  const server = new Server(
    path === undefined ? { hostname: HOST, port: 0 } : { path },
  ).addAction(hang).addAction(stubborn).addAction(count).addAction(upload);
  const { port } = await server.listen();
  const peer = await raw(path ?? port);
  try {
    peer.socket.write(hello());
    await within(peer.firstData, 10_000, "the server's hello");
    const sent = Date.now();
    peer.socket.write(
      new Uint8Array([
        ...message([0, 1, "hang", null, { timeout: TIMEOUT }]),
        ...message([0, 2, "stubborn", null, { timeout: TIMEOUT }]),
        ...message([0, 3, "count", null, { timeout: TIMEOUT, stream: 2 }]),
        ...message([0, 4, "upload", null, { timeout: TIMEOUT, input: true }]),
        ...message([12, 4, 1]),
      ]),
    );
    // From here the peer neither reads on (it grants no credit) nor cancels.
    const bound = TIMEOUT + LATE;
    const aborted = await within(hangAborted.promise, bound, "hang's abort");
    assert.ok(isTimeout(aborted), `hang's signal reason: ${aborted}`);
    const ended = await within(generatorEnded.promise, bound, "the generator");
    assert.ok(isTimeout(ended), `the generator's signal reason: ${ended}`);
    const failed = await within(uploadFailed.promise, bound, "the upload");
    assert.ok(isTimeout(failed), `the upload's loop threw ${failed}`);
    const elapsed = Date.now() - sent;
    assert.ok(
      elapsed >= TIMEOUT,
      `ended after ${elapsed} ms, before the deadline`,
    );
    // The stubborn handler answers late; wait for it, then read the answers.
    await until(() => stubbornReason !== undefined, bound, "stubborn's end");
    assert.ok(isTimeout(stubbornReason), String(stubbornReason));
    await sleep(50);
    const answers = messages(peer.received).filter(([type]) =>
      type === 1 || type === 2 || type === 10
    );
    const byId = (id: number) => answers.filter((answer) => answer[1] === id);
    for (const id of [1, 2, 3, 4]) {
      const [only, ...more] = byId(id);
      assert.equal(more.length, 0, `call ${id} answered more than once`);
      assert.equal(only?.[0], 2, `call ${id}: ${JSON.stringify(only)}`);
      assert.equal((only[2] as { code: string }).code, "TIMEOUT");
    }
    const stats = new Map(
      server.stats().actions.map((entry) => [entry.name, entry]),
    );
    for (const name of ["hang", "stubborn", "count", "upload"]) {
      const entry = stats.get(name)!;
      assert.equal(entry.calls, 1, `${name}: ${JSON.stringify(entry)}`);
      assert.equal(entry.errors, 1, name);
      assert.equal(entry.running, 0, name);
      assert.equal(entry.lastError?.code, "TIMEOUT", name);
    }
  } finally {
    peer.socket.destroy();
    await server.shutdown({ timeout: 1_000 });
  }
}

export const serverDeadlineCases: Case[] = [{
  name:
    "server deadline: a peer that neither reads nor cancels: at each call's deadline the signal aborts TIMEOUT, the generator ends, the upload fails, one TIMEOUT answer each",
  run: () => frozenPeer(false),
}, {
  name: "server deadline: the same over a Unix socket",
  run: () => frozenPeer(true),
}];
