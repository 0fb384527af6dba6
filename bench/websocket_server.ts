/**
 * The isock-over-WebSocket system's server: the library's
 * {@linkcode Server} with the echo action, served by `Deno.serve` through
 * `server.upgrade`. Started by bench/main.ts.
 *
 * @module
 */

import { Server } from "../mod.ts";
import { HOSTNAME, runServerProcess } from "./child.ts";
import { echo } from "./isock_echo.ts";

await runServerProcess(() => {
  const server = new Server().addAction(echo);
  const http = Deno.serve(
    { hostname: HOSTNAME, port: 0, onListen() {} },
    (request, info) => server.upgrade(request, info),
  );
  return Promise.resolve({
    port: http.addr.port,
    async stop() {
      await server.shutdown();
      await http.shutdown();
    },
  });
});
