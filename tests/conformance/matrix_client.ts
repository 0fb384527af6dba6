/**
 * The cross-runtime matrix's client, on any runtime: given a matrix
 * server's port, it runs the classic example, one stream and one two-way
 * call, prints "matrix ok: <client> -> <server>", and ends by itself.
 *
 *     deno run --allow-net --allow-read --allow-run tests/conformance/matrix_client.ts PORT
 *     node --import tsx tests/conformance/matrix_client.ts PORT
 *     bun tests/conformance/matrix_client.ts PORT
 *
 * @module
 */

import assert from "node:assert/strict";
import process from "node:process";
import { Client } from "../../mod.ts";
import {
  confirm,
  count,
  echo,
  exec,
  execHistory,
  remove,
  serverRuntime,
  time,
} from "./matrix_actions.ts";
import { runtimeDescription } from "./runtime_name.ts";

const port = Number(process.argv[process.argv.length - 1]);
assert.ok(
  Number.isInteger(port) && port > 0,
  `a port, not ${process.argv.at(-1)}`,
);

const me = runtimeDescription();
const client = new Client({ hostname: "127.0.0.1", port, retry: 3 }).addAction(
  confirm,
);
try {
  const server = await client.runAction(serverRuntime);

  // The classic example.
  assert.equal(
    await client.runAction(echo, `hello from ${me}`),
    `hello from ${me}`,
  );
  assert.ok(await client.runAction(time) instanceof Date);
  const command = [process.execPath, "--version"];
  assert.match(await client.runAction(exec, command), /\d+\.\d+\.\d+/);
  const history = await client.runAction(execHistory);
  assert.ok(history.some((entry) => entry.join(" ") === command.join(" ")));

  // One stream, with a small window so that credit goes back and forth.
  let next = 0;
  for await (const item of client.stream(count, 200, { window: 8 })) {
    assert.equal(item.i, next++);
    assert.ok(item.at instanceof Date);
  }
  assert.equal(next, 200);

  // One two-way call: the server asks this client before it answers.
  assert.equal(await client.runAction(remove, "/tmp/x"), "deleted /tmp/x");

  console.log(`matrix ok: ${me} -> ${server}`);
} finally {
  await client.close();
}
