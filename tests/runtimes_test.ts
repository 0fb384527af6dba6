/**
 * The conformance suite (tests/conformance) on every runtime: in this
 * process on Deno, one Deno test per case with the sanitizers on; then as a
 * program of its own on Deno, Node (through tsx) and Bun, each of which
 * must pass every case, see no unhandled rejection, and exit by itself
 * once its servers and clients are closed (it is killed, and fails, if a
 * socket or timer keeps it alive).
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Server } from "../mod.ts";
import { cases } from "./conformance/cases.ts";
import {
  assertToolsInstalled,
  runtimeCommand,
  RUNTIMES,
  runToEnd,
} from "./runtime_processes.ts";

/** How long a whole suite run may take before it is killed (startup included). */
const RUN_TIMEOUT_MS = 60_000;
const RUN_SCRIPT = new URL("./conformance/run.ts", import.meta.url);

for (const { name, run } of cases) {
  Deno.test(`conformance in process (deno): ${name}`, run);
}

for (const runtime of RUNTIMES) {
  Deno.test(`conformance as a program on ${runtime}: every case passes and it exits by itself`, async () => {
    const output = await runToEnd(runtime, RUN_SCRIPT, [], RUN_TIMEOUT_MS);
    assert.match(output, new RegExp(`^conformance on ${runtime} `, "m"));
    assert.match(
      output,
      new RegExp(`^${cases.length} passed, 0 failed$`, "m"),
      output,
    );
    assert.doesNotMatch(output, /^FAIL /m, output);
  });
}

for (const runtime of ["node", "bun"] as const) {
  Deno.test(`runtimes: the isock command runs on ${runtime}: ls and call a live server, one-line errors with their exit codes`, async () => {
    await assertToolsInstalled();
    const add = action("add", ([a, b]: [number, number]) => a + b);
    await using server = new Server({ port: 0 }).addAction(add);
    const { port } = await server.listen();
    const cli = async (...cliArgs: string[]) => {
      const { program, args, cwd } = runtimeCommand(
        runtime,
        new URL("../cli.ts", import.meta.url),
        cliArgs,
      );
      const { code, stdout, stderr } = await new Deno.Command(program, {
        args,
        cwd,
        stdin: "null",
      }).output();
      return {
        code,
        out: new TextDecoder().decode(stdout),
        err: new TextDecoder().decode(stderr),
      };
    };
    const listed = await cli("ls", `127.0.0.1:${port}`);
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, /\badd\b/);
    const called = await cli("call", `127.0.0.1:${port}`, "add", "[2, 3]");
    assert.equal(called.code, 0, called.err);
    assert.equal(called.out.trim(), "5");
    const refused = await cli("ls", "127.0.0.1:1", "--timeout", "2000ms");
    assert.equal(refused.code, 4, refused.err);
    assert.equal(refused.out, "");
    assert.match(refused.err, /^isock: CONNECT_FAILED: /);
    assert.doesNotMatch(refused.err, /ReferenceError|\n\s+at /);
  });
}
