/**
 * The "Over NATS" example of docs/many-servers.md, run as the guide says (`deno run
 * --allow-net`), against a real nats-server: the only change is the port,
 * since the test's nats-server runs on a free one instead of 4222.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startNatsServer } from "./fixtures/nats_server.ts";
import { deno, root } from "./processes.ts";

function natsExample(guide: string): string {
  const section = guide.indexOf("## Over NATS\n");
  const start = guide.indexOf("```ts ignore\n", section);
  const end = guide.indexOf("```\n", start + 1);
  assert.ok(
    section >= 0 && start >= 0 && end > start,
    "the NATS example of docs/many-servers.md",
  );
  return guide.slice(start + "```ts ignore\n".length, end);
}

Deno.test("docs: the NATS example runs as written and prints what the guide says", async () => {
  await using nats = await startNatsServer();
  const example = natsExample(
    await Deno.readTextFile(`${root}docs/many-servers.md`),
  );
  assert.ok(example.includes('"127.0.0.1:4222"'));
  const file = `.docs_nats_${crypto.randomUUID()}.ts`;
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
