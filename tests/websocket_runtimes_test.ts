/**
 * Clients over WebSocket on every runtime: Deno, Bun and Node (22 or
 * later; Node 20 has no WebSocket and says so), each a program of its own
 * calling a Deno server through `server.upgrade`, and exiting by itself
 * once its client is closed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client } from "../mod.ts";
import {
  assertToolsInstalled,
  RuntimeProcess,
  RUNTIMES,
  runToEnd,
} from "./runtime_processes.ts";
import { serveWebSocket } from "./websocket_helpers.ts";

const SCRIPT = new URL("./fixtures/websocket_client.ts", import.meta.url);
const RUN_TIMEOUT_MS = 60_000;
const SERVER_ON_NODE = new URL(
  "./runtimes/ws_accept_server.mjs",
  import.meta.url,
);

const actions = [
  action("echo", (value: unknown) => value),
  action("count", async function* (to: number) {
    for (let n = 1; n <= to; n++) yield n;
  }),
  action("fail", () => {
    throw Object.assign(new Error("no"), { reason: "test" });
  }),
];

/** Whether a runtime has a standard WebSocket (Node from 22). */
async function hasWebSocket(runtime: string): Promise<boolean> {
  if (runtime !== "node") return true;
  const { stdout } = await new Deno.Command("node", {
    args: ["-e", "process.stdout.write(typeof WebSocket)"],
  }).output();
  return new TextDecoder().decode(stdout) === "function";
}

for (const runtime of RUNTIMES) {
  Deno.test(`websocket: a client on ${runtime} calls a Deno server over WebSocket and exits by itself`, async () => {
    await using served = await serveWebSocket(actions);
    const output = await runToEnd(
      runtime,
      SCRIPT,
      [served.url],
      RUN_TIMEOUT_MS,
    );
    const line = output.split("\n").find((text) => text.startsWith("{"));
    assert.ok(line, output);
    const seen = JSON.parse(line);
    if (!await hasWebSocket(runtime)) {
      assert.deepStrictEqual(seen.failed, ["ClientError", "CONNECT_FAILED"]);
      assert.match(seen.message, /no WebSocket/);
      return;
    }
    assert.deepStrictEqual(seen, {
      big: String(2n ** 70n),
      when: new Date(0).toISOString(),
      items: 100,
      inOrder: true,
      error: ["RemoteError", "ACTION_FAILED", { reason: "test" }],
    });
  });
}

Deno.test("websocket: server.accept serves the WebSockets of Node's ws package", async () => {
  await assertToolsInstalled();
  const server = new RuntimeProcess("node", SERVER_ON_NODE);
  let other: Client | undefined;
  try {
    const [, port] = await server.waitFor(/listening on (\d+)/, 60_000);
    other = new Client({ url: `ws://127.0.0.1:${port}/` });
    const value = { big: 2n ** 70n, bytes: new Uint8Array([1, 2, 3]) };
    assert.deepStrictEqual(await other.runAction("echo", value), value);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => other!.runAction("echo", i)),
    );
    assert.deepStrictEqual(answers, Array.from({ length: 100 }, (_, i) => i));
  } finally {
    await other?.close();
    const { code, wasKilled, output } = await server.finish(10_000);
    assert.ok(!wasKilled, output);
    assert.equal(code, 0, output);
  }
});
