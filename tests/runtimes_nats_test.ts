/**
 * isock over NATS on Node and Bun, against Deno: a client on each calls a
 * Deno server through a real nats-server (a round trip, an error with its
 * fields, a stream read to its end and one left early, 16 MiB each way, `UNKNOWN_ACTION`,
 * `listInstances`), and a Deno client calls a server on each. Every
 * program must pass, see no unhandled rejection and exit by itself. A
 * wrong token is a CONNECT_FAILED that names the credentials (checked on
 * Node and Bun only: on Deno, nats.js can crash the process with an
 * uncaught ECONNRESET in that case, see the note in nats.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Server } from "../mod.ts";
import { natsTransport } from "../nats.ts";
import { startNatsServer } from "./fixtures/nats_server.ts";
import { add, count, echo, refuse } from "./fixtures/nats_runtime_actions.ts";
import {
  assertToolsInstalled,
  RuntimeProcess,
  runToEnd,
  START_TIMEOUT_MS,
} from "./runtime_processes.ts";

const PEER = new URL("./fixtures/nats_runtime_peer.ts", import.meta.url);
const RUN_TIMEOUT_MS = 60_000;

for (const runtime of ["node", "bun"] as const) {
  Deno.test(`runtimes over NATS: a ${runtime} client calls a Deno server`, async () => {
    await assertToolsInstalled();
    await using nats = await startNatsServer();
    const service = `rt-${runtime}-client`;
    await using bus = natsTransport({ servers: nats.hostPort, service });
    await using server = new Server().addAction(add).addAction(refuse)
      .addAction(count).addAction(echo);
    await server.listen(bus);
    const output = await runToEnd(
      runtime,
      PEER,
      ["client", nats.hostPort, service],
      RUN_TIMEOUT_MS,
    );
    assert.match(output, new RegExp(`^nats ok: ${runtime}$`, "m"), output);
    await server.shutdown();
  });

  Deno.test(`runtimes over NATS: a Deno client calls a ${runtime} server`, async () => {
    await assertToolsInstalled();
    await using nats = await startNatsServer();
    const service = `rt-${runtime}-server`;
    const child = new RuntimeProcess(runtime, PEER, [
      "server",
      nats.hostPort,
      service,
    ]);
    try {
      await child.waitFor(/^serving$/m, START_TIMEOUT_MS);
      const output = await runToEnd(
        "deno",
        PEER,
        ["client", nats.hostPort, service],
        RUN_TIMEOUT_MS,
      );
      assert.match(output, /^nats ok: deno$/m, output);
    } finally {
      const { code, wasKilled, output } = await child.finish(15_000);
      assert.ok(!wasKilled, `${child.name} did not exit by itself:\n${output}`);
      assert.equal(code, 0, `${child.name} exited with ${code}:\n${output}`);
      assert.match(output, /^stopped$/m, output);
    }
  });

  Deno.test(`runtimes over NATS: a wrong token on ${runtime} is a clear CONNECT_FAILED, and the program ends`, async () => {
    await assertToolsInstalled();
    await using nats = await startNatsServer({ token: "s3cret" });
    const output = await runToEnd(
      runtime,
      PEER,
      ["wrong-token", nats.hostPort, "lab"],
      RUN_TIMEOUT_MS,
    );
    assert.match(output, new RegExp(`^nats ok: ${runtime}$`, "m"), output);
  });
}
