/**
 * examples/browser/ as `deno task example:browser` runs it: the page, its
 * script and the bundle served beside the WebSocket endpoint; Ctrl+C
 * stops it. In Chromium the page answers its buttons, and reconnects when
 * the server restarts, its clock going on.
 */

import assert from "node:assert/strict";
import { Client } from "../mod.ts";
import { freePort } from "./helpers.ts";
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

const DRIVER = new URL("runtimes/drive_example.mjs", import.meta.url);

function startExample(port: number) {
  return start([
    "run",
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-run",
    "examples/browser/server.ts",
    String(port),
  ]);
}

async function stopExample(server: Awaited<ReturnType<typeof startExample>>) {
  server.child.kill("SIGINT");
  const status = await server.child.status;
  assert.ok(status.success, await server.stderr);
  await server.output;
}

Deno.test("examples: the browser example in Chromium answers its buttons and reconnects after the server restarts, its clock going on", async () => {
  const port = freePort();
  let server = await startExample(port);
  const profile = await Deno.makeTempDir({ prefix: "isock_chromium_" });
  const driver = new Deno.Command("node", {
    args: [new URL(DRIVER).pathname, `http://127.0.0.1:${port}/`, profile],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => driver.kill("SIGKILL"), 150_000);
  const stderr = new Response(driver.stderr).text();
  const lines = driver.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`the driver ended: ${await stderr}`);
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return line;
  };
  const stdin = driver.stdin.getWriter();
  try {
    const first = JSON.parse(await nextLine());
    assert.equal(first.echoed, "Hello from the browser");
    assert.match(first.now, /^\d{4}-\d\d-\d\dT/);
    assert.ok(first.execOut.length > 0);
    await stopExample(server);
    server = await startExample(port);
    await stdin.write(new TextEncoder().encode("go\n"));
    const after = JSON.parse(await nextLine());
    assert.deepStrictEqual(after.pageErrors, []);
    assert.ok(after.statuses.includes("reconnecting…"), after.statuses);
    // The clock resumed: it went on past where it was, never back to 1.
    const ticks: number[] = after.ticks;
    assert.ok(ticks.at(-1)! > first.lastTick + 1, `ticks ${ticks}`);
    assert.ok(
      ticks.every((tick, i) => i === 0 || tick > ticks[i - 1]),
      `the clock started over: ${ticks}`,
    );
  } finally {
    await stdin.close().catch(() => {});
    await lines.cancel().catch(() => {});
    const status = await driver.status;
    clearTimeout(killer);
    await stderr;
    await stopExample(server);
    await Deno.remove(profile, { recursive: true });
    assert.ok(status.success, `the driver exited with ${status.code}`);
  }
});
