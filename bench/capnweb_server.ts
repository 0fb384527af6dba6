/**
 * The capnweb peer's server, on Node: {@linkcode EchoApi} as the main
 * object of each WebSocket session (see capnweb_echo.ts). Bundled and
 * started by bench/main.ts.
 *
 * @module
 */

import { capnweb, EchoApi, ws } from "./capnweb_echo.ts";
import { HOSTNAME, runServerProcess } from "./child.ts";
import { NODE_RUNTIME } from "./node_child.ts";

await runServerProcess(() =>
  new Promise((resolve, reject) => {
    const server = new ws.WebSocketServer({ host: HOSTNAME, port: 0 });
    server.once("error", reject);
    server.on("connection", (socket) => {
      capnweb.newWebSocketRpcSession(socket, new EchoApi());
    });
    server.once("listening", () =>
      resolve({
        port: server.address().port,
        stop: () =>
          new Promise<void>((resolve) => {
            for (const socket of server.clients) socket.terminate();
            server.close(resolve);
          }),
      }));
  }), NODE_RUNTIME);
