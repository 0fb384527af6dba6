/**
 * The cross-runtime matrix's server, on any runtime. It serves the matrix
 * actions on a free loopback port, prints "listening on <port>", and shuts
 * down gracefully when its stdin ends (so a parent that dies takes it
 * along), then ends by itself.
 *
 *     deno run --allow-net --allow-read --allow-run tests/conformance/matrix_server.ts
 *     node --import tsx tests/conformance/matrix_server.ts   # tsx from tests/runtimes
 *     bun tests/conformance/matrix_server.ts
 *
 * @module
 */

import process from "node:process";
import { Server } from "../../mod.ts";
import { addClassicActions } from "./classic.ts";
import { count, remove, serverRuntime } from "./matrix_actions.ts";
import { runtimeDescription } from "./runtime_name.ts";

const server = addClassicActions(new Server({ hostname: "127.0.0.1", port: 0 }))
  .addAction(count)
  .addAction(remove)
  .addAction(serverRuntime, () => runtimeDescription());
const { port } = await server.listen();
console.log(`listening on ${port} (${runtimeDescription()})`);

// Read stdin to its end; nothing is expected on it.
for await (const _ of process.stdin) {
  // Ignored.
}
await server.shutdown({ timeout: 2_000 });
console.log("stopped");
