/**
 * README's "Over NATS" example, run as the README says (`deno run
 * --allow-net`), against a real nats-server: the only change is the port,
 * since the test's nats-server runs on a free one instead of 4222.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startNatsServer } from "./fixtures/nats_server.ts";
import { deno, root } from "./processes.ts";

function natsExample(readme: string): string {
  const section = readme.indexOf("### Over NATS\n");
  const start = readme.indexOf("```ts ignore\n", section);
  const end = readme.indexOf("```\n", start + 1);
  assert.ok(
    section >= 0 && start >= 0 && end > start,
    "the README's NATS example",
  );
  return readme.slice(start + "```ts ignore\n".length, end);
}

Deno.test("readme: the NATS example runs as written and prints what the README says", async () => {
  await using nats = await startNatsServer();
  const example = natsExample(await Deno.readTextFile(`${root}README.md`));
  assert.ok(example.includes('"127.0.0.1:4222"'));
  const file = `.readme_nats_${crypto.randomUUID()}.ts`;
  await Deno.writeTextFile(
    `${root}${file}`,
    example.replaceAll('"127.0.0.1:4222"', JSON.stringify(nats.hostPort)),
  );
  try {
    const { code, stdout, stderr } = await deno(["run", "--allow-net", file]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split("\n");
    assert.equal(lines[0], "5");
    assert.equal(lines.length, 2, stdout);
    assert.match(lines[1], /^\S+ \[ "add: 1" \]$/);
  } finally {
    await Deno.remove(`${root}${file}`);
  }
});
