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

Deno.test("runtimes: the isock command on Bun says in one line that it runs on Deno, with a usage exit code", async () => {
  await assertToolsInstalled();
  const { program, args, cwd } = runtimeCommand(
    "bun",
    new URL("../cli.ts", import.meta.url),
    ["ls", "127.0.0.1:1"],
  );
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args,
    cwd,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 2, text);
  assert.equal(new TextDecoder().decode(stdout), "");
  assert.match(text, /^isock: USAGE: the isock command runs on Deno/);
  assert.doesNotMatch(text, /ReferenceError|\n\s+at /);
});
