/**
 * The root entry loads without a top-level await: bundled as CommonJS, a
 * Node program `require()`s it and calls a Deno server over TCP (the
 * built-in modules TCP needs are loaded on first use), then exits by
 * itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Server } from "../mod.ts";

const RUN_TIMEOUT_MS = 60_000;

Deno.test("commonjs: Node require()s the root entry, bundled as CommonJS, and calls a server over TCP", async () => {
  const dir = await Deno.makeTempDir({ prefix: "isock-cjs-" });
  await using server = new Server();
  server.addAction(action("echo", (text: string) => `echo ${text}`));
  try {
    const bundle = `${dir}/isock.cjs`;
    const bundled = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--platform",
        "deno",
        "--format",
        "cjs",
        "--quiet",
        "-o",
        bundle,
        new URL("../mod.ts", import.meta.url).pathname,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(
      bundled.success,
      new TextDecoder().decode(bundled.stderr),
    );
    const { port } = await server.listen();
    const program = `
      const { Client } = require(${JSON.stringify(bundle)});
      (async () => {
        const client = new Client({ port: ${port} });
        const answer = await client.runAction("echo", "from node");
        await client.close();
        process.stdout.write(JSON.stringify(answer));
      })();
    `;
    const run = await new Deno.Command("node", {
      args: ["-e", program],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, stderr);
    assert.equal(
      JSON.parse(new TextDecoder().decode(run.stdout)),
      "echo from node",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
