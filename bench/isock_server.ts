/**
 * The isock system's server: the library's {@linkcode Server} with the
 * echo action and the items action that streams (W5). Started by
 * bench/main.ts (and bench/footprint.ts, which may raise the frame size).
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

const { maxFrameSize } = readConfig<ServerConfig>();

await runServerProcess(async () => {
  const server = new Server({ hostname: HOSTNAME, port: 0, maxFrameSize })
    .addAction(echo)
    .addAction(items);
  const { port } = await server.listen();
  return { port, stop: () => server.shutdown() };
});
