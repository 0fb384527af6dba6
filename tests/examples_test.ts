/**
 * The examples and the permission promises, run as users run them: in
 * their own processes, with the permissions the README and docs/ give.
 */

import assert from "node:assert/strict";
import { action } from "../mod.ts";
import { delay, serve } from "./helpers.ts";
import { deno, start, startExampleServer } from "./processes.ts";

Deno.test("examples: the classic example runs, prints each result, and exits 0", async () => {
  const { code, stdout, stderr } = await deno([
    "run",
    "--allow-net",
    "--allow-run",
    "examples/basic.ts",
  ]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /### Echo test\nEcho test!/);
  assert.match(stdout, /### Exec test\ndeno \d+\.\d+\.\d+/);
  assert.match(
    stdout,
    /### Exec history\n\[\s*\[\s*".*deno.*",\s*"--version"\s*\]\s*\]/,
  );
  assert.match(stdout, /### Server time\n\d{4}-\d\d-\d\dT/);
});

Deno.test("examples: the two-process example works, and Ctrl+C stops the server gracefully", async () => {
  const { server, port } = await startExampleServer();
  const client = await deno([
    "run",
    "--allow-net",
    "examples/client.ts",
    "127.0.0.1",
    port,
  ]);
  assert.equal(client.code, 0, client.stderr);
  assert.match(client.stdout, /### Echo test\nEcho test!/);
  assert.match(client.stdout, /### Exec history\n\[ \[ "hostname" \] \]/);
  server.child.kill("SIGINT");
  const status = await server.child.status;
  await server.child.stdin.close();
  assert.equal(status.code, 0, await server.stderr);
  assert.match(await server.output, /Stopped\./);
});

Deno.test("examples: the chat room passes every message to every client", async () => {
  const { code, stdout, stderr } = await deno([
    "run",
    "--allow-net",
    "examples/chat.ts",
  ]);
  assert.equal(code, 0, stderr);
  for (const name of ["alice", "bob", "carol"]) {
    assert.match(stdout, new RegExp(`\\[${name}\\] alice: hello, room`));
    assert.match(stdout, new RegExp(`\\[${name}\\] carol: hey both`));
  }
});

Deno.test("permissions: importing isock needs no permission at all", async () => {
  const { code, stdout, stderr } = await deno([
    "run",
    "--no-prompt",
    "tests/fixtures/import_only.ts",
  ]);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), '{"ok":true}');
});

Deno.test("permissions: a server and a client need --allow-net only", async () => {
  const server = await start([
    "run",
    "--no-prompt",
    "--allow-net",
    "tests/fixtures/net_only_server.ts",
  ]);
  const port = server.firstLine.trim();
  assert.match(port, /^\d+$/);
  const client = await deno([
    "run",
    "--no-prompt",
    "--allow-net",
    "tests/fixtures/net_only_client.ts",
    port,
  ]);
  assert.equal(client.code, 0, client.stderr);
  assert.equal(client.stdout.trim(), "echoed");
  await server.child.stdin.close();
  assert.equal((await server.child.status).code, 0, await server.stderr);
  await server.output;
});

Deno.test("process: a script that forgets to close its client still ends; one that offers actions waits for calls", async () => {
  await using served = await serve([action("echo", (data: unknown) => data)]);
  const forgetful = await deno([
    "run",
    "--allow-net",
    "tests/fixtures/forgetful_client.ts",
    String(served.port),
  ]);
  assert.equal(forgetful.code, 0, forgetful.stderr);
  assert.equal(forgetful.stdout.trim(), "done");
  const listening = await start([
    "run",
    "--allow-net",
    "tests/fixtures/listening_client.ts",
    String(served.port),
  ]);
  assert.equal(listening.firstLine.trim(), "joined");
  await delay(300); // Nothing to do but wait: the process must stay.
  await Promise.all(
    served.server.peers.map((peer) => peer.runAction("notify", "pushed")),
  );
  assert.equal((await listening.child.status).code, 0, await listening.stderr);
  assert.match(await listening.output, /pushed/);
  await listening.child.stdin.close();
});
