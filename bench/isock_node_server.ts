/**
 * The isock system's server on Node or Bun: the same as isock_server.ts,
 * with the arguments and standard input of node:process (Bun has them
 * too). bench/main.ts runs it on Node through tsx, each module transpiled
 * as JSR serves them to Node users, and on Bun as it is.
 *
 * @module
 */

import { Server } from "../mod.ts";
import {
  HOSTNAME,
  readConfig,
  runServerProcess,
  type ServerConfig,
} from "./child.ts";
import { echo, items } from "./isock_echo.ts";
import { NODE_RUNTIME } from "./node_child.ts";

const { maxFrameSize } = readConfig<ServerConfig>(NODE_RUNTIME);

await runServerProcess(async () => {
  const server = new Server({ hostname: HOSTNAME, port: 0, maxFrameSize })
    .addAction(echo)
    .addAction(items);
  const { port } = await server.listen();
  return { port, stop: () => server.shutdown() };
}, NODE_RUNTIME);
