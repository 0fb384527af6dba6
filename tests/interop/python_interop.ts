/**
 * A Python client written from PROTOCOL.md alone talks to the example
 * server. Not part of `deno task test` (a fresh machine has no Python
 * MessagePack package): `deno task interop` runs it, and so does CI, which
 * installs Debian's python3-msgpack first.
 */

import assert from "node:assert/strict";
import { root, startExampleServer } from "../processes.ts";

Deno.test("interop: a Python client written from PROTOCOL.md talks to the server", async () => {
  const { server, port } = await startExampleServer();
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
