/**
 * examples/browser/ as `deno task example:browser` runs it: the page, its
 * script and the bundle served beside the WebSocket endpoint; Ctrl+C
 * stops it.
 */

import assert from "node:assert/strict";
import { Client } from "../mod.ts";
import { start } from "./processes.ts";

Deno.test("examples: the browser example serves its page and the bundle, answers over WebSocket, and stops on Ctrl+C", async () => {
  const server = await start([
    "run",
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-run",
    "examples/browser/server.ts",
    "0",
  ]);
  let client: Client | undefined;
  try {
    const url = server.firstLine.match(/http:\/\/127\.0\.0\.1:\d+\//)?.[0];
    assert.ok(url, server.firstLine);
    const page = await (await fetch(url)).text();
    assert.match(page, /<script type="module" src="\/app.js">/);
    const app = await fetch(new URL("app.js", url));
    assert.match(await app.text(), /from "\/isock.js"/);
    const bundle = await fetch(new URL("isock.js", url));
    assert.equal(bundle.headers.get("content-type"), "text/javascript");
    assert.match(await bundle.text(), /RemoteError/);
    client = new Client({ url: url.replace("http:", "ws:") + "isock" });
    assert.equal(await client.runAction("echo", "hi"), "hi");
    assert.ok(await client.runAction("time") instanceof Date);
    const ticks: number[] = [];
    for await (
      const { tick } of client.stream("clock") as AsyncIterable<
        { tick: number }
      >
    ) {
      ticks.push(tick);
      if (ticks.length === 2) break;
    }
    assert.deepStrictEqual(ticks, [1, 2]);
  } finally {
    await client?.close();
    server.child.kill("SIGINT");
    const status = await server.child.status;
    assert.ok(status.success, await server.stderr);
    assert.match(await server.output, /Stopped\./);
  }
});
