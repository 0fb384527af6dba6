/**
 * The isock system's server: the library's {@linkcode Server} with one
 * echo action. Started by bench/main.ts.
 *
 * @module
 */

import { Server } from "../mod.ts";
import { HOSTNAME, runServerProcess } from "./child.ts";
import { echo } from "./isock_echo.ts";

await runServerProcess(async () => {
  const server = new Server({ hostname: HOSTNAME, port: 0 }).addAction(echo);
  const { port } = await server.listen();
  return { port, stop: () => server.shutdown() };
});
