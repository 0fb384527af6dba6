/**
 * The examples and the permission promises, run as users run them: in
 * their own processes, with the permissions the README gives.
 */

import assert from "node:assert/strict";
import { action } from "../mod.ts";
import { delay, serve } from "./helpers.ts";

const root = new URL("../", import.meta.url).pathname;

/** Runs `deno <args>` in the project root and returns its exit status and output. */
async function deno(args: string[], stdin: "null" | "piped" = "null") {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** Starts a long-running `deno <args>`; resolves once it printed its first line. */
async function start(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  const reader = lines.getReader();
  const { value: firstLine = "" } = await reader.read();
  const rest = (async () => {
    let text = firstLine;
    for (
      let chunk = await reader.read();
      !chunk.done;
      chunk = await reader.read()
    ) text += chunk.value;
    return text;
  })();
  const stderr = new Response(child.stderr).text();
  return { child, firstLine, output: rest, stderr };
}

/** Starts examples/server.ts on a free port; resolves with it and the port it printed. */
async function startExampleServer() {
  const server = await start([
    "run",
    "--allow-net",
    "--allow-run",
    "examples/server.ts",
    "0",
  ]);
  const port = server.firstLine.match(/127\.0\.0\.1:(\d+)/)?.[1];
  assert.ok(port, server.firstLine);
  return { server, port };
}

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

Deno.test("interop: a Python client written from PROTOCOL.md talks to the server", async () => {
  const { server, port } = await startExampleServer();
  // Debian's python3 with its python3-msgpack package (.ci/run installs it).
  const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", {
    args: ["examples/python_client.py", "127.0.0.1", port],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  server.child.kill("SIGINT");
  await server.child.status;
  await server.child.stdin.close();
  await server.output;
  const decoder = new TextDecoder();
  assert.equal(code, 0, decoder.decode(stderr));
  const output = decoder.decode(stdout);
  assert.match(output, /### Echo test\nEcho test from Python!/);
  assert.match(output, /### Server time\n\d{4}-\d\d-\d\dT/);
  assert.match(
    output,
    /UNKNOWN_ACTION: RemoteError: No action named "nope" here\./,
  );
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
