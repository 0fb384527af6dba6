/**
 * The isock system's server: the library's {@linkcode Server} with one
 * echo action. Started by bench/main.ts (and bench/footprint.ts, which may
 * raise the frame size).
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
import { echo } from "./isock_echo.ts";

const { maxFrameSize } = readConfig<ServerConfig>();

await runServerProcess(async () => {
  const server = new Server({ hostname: HOSTNAME, port: 0, maxFrameSize })
    .addAction(echo);
  const { port } = await server.listen();
  return { port, stop: () => server.shutdown() };
});
