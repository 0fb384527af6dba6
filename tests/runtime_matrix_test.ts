/**
 * The cross-runtime matrix: a server on each of Deno, Node and Bun, called
 * by a client on each of the three (nine pairs), each running the classic
 * example, one stream and one two-way call, and every program ending by
 * itself. (The Python client's column is in tests/interop, which needs
 * python3-msgpack: `deno task interop`.)
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  MATRIX_CLIENT,
  RUNTIMES,
  runToEnd,
  startMatrixServer,
  stopMatrixServer,
} from "./runtime_processes.ts";

const CLIENT_TIMEOUT_MS = 60_000;

Deno.test("matrix: a client on each runtime calls a server on each runtime", async (t) => {
  // The servers start at once (startup is most of the time); each one's
  // failure is its own step's, so that the other pairs still run.
  const starting = RUNTIMES.map((runtime) => startMatrixServer(runtime));
  const settled = await Promise.allSettled(starting);
  const servers = settled.flatMap((result) =>
    result.status === "fulfilled" ? [result.value] : []
  );
  let stoppingFailure: unknown;
  try {
    for (const [index, runtime] of RUNTIMES.entries()) {
      await t.step(`server on ${runtime}`, async (t) => {
        const result = settled[index];
        if (result.status === "rejected") throw result.reason;
        const server = result.value;
        for (const client of RUNTIMES) {
          await t.step(`${client} client -> ${runtime} server`, async () => {
            const output = await runToEnd(
              client,
              MATRIX_CLIENT,
              [String(server.port)],
              CLIENT_TIMEOUT_MS,
            );
            assert.match(
              output,
              new RegExp(`^matrix ok: ${client} \\S+ -> ${runtime} \\S+$`, "m"),
              output,
            );
          });
        }
      });
    }
  } finally {
    // Every server is stopped, and each must have exited by itself.
    const stops = await Promise.allSettled(servers.map(stopMatrixServer));
    const failed = stops.find((stop) => stop.status === "rejected");
    if (failed) stoppingFailure = failed.reason;
  }
  if (stoppingFailure !== undefined) throw stoppingFailure;
});
