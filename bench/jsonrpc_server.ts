/**
 * The JSON-RPC peer's server, on Node: jayson's TCP server (JSON-RPC 2.0,
 * newline-delimited) with one `echo` method. Bundled and started by
 * bench/main.ts.
 *
 * @module
 */

import type { Server as NetServer } from "node:net";
import { HOSTNAME, runServerProcess } from "./child.ts";
import { NODE_RUNTIME, requirePeer } from "./node_child.ts";

/** The little of jayson's promise API the server uses. */
interface Jayson {
  Server: new (
    methods: Record<string, (params: unknown[]) => Promise<unknown>>,
  ) => { tcp(): NetServer };
}

const jayson = requirePeer("jayson/promise") as Jayson;

await runServerProcess(() => {
  const server = new jayson.Server({
    echo: ([value]) => Promise.resolve(value),
  }).tcp();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOSTNAME, () => {
      const { port } = server.address() as { port: number };
      resolve({
        port,
        // jayson's clients close each connection after its call.
        stop: () =>
          new Promise<void>((resolve) => server.close(() => resolve())),
      });
    });
  });
}, NODE_RUNTIME);
