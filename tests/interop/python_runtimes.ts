/**
 * The cross-runtime matrix's Python column: the Python client written from
 * PROTOCOL.md (examples/python_client.py) calls the matrix server on each
 * of Deno, Node and Bun. Like python_interop.ts it needs python3-msgpack,
 * so it runs in `deno task interop` (and CI), not in `deno task test`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ROOT,
  RUNTIMES,
  startMatrixServer,
  stopMatrixServer,
} from "../runtime_processes.ts";

for (const runtime of RUNTIMES) {
  Deno.test(`interop: the Python client calls a server on ${runtime}`, async () => {
    const server = await startMatrixServer(runtime);
    try {
      const { code, stdout, stderr } = await new Deno.Command(
        "/usr/bin/python3",
        {
          args: ["examples/python_client.py", "127.0.0.1", String(server.port)],
          cwd: decodeURIComponent(ROOT.pathname),
          stdout: "piped",
          stderr: "piped",
        },
      ).output();
      const decoder = new TextDecoder();
      assert.equal(code, 0, decoder.decode(stderr));
      const output = decoder.decode(stdout);
      assert.match(output, /### Echo test\nEcho test from Python!/);
      assert.match(output, /### Server time\n\d{4}-\d\d-\d\dT/);
      assert.match(
        output,
        /UNKNOWN_ACTION: RemoteError: No action named "nope" here\./,
      );
    } finally {
      await stopMatrixServer(server);
    }
  });
}
